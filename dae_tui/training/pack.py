"""K runs of one structure trained in one process as one stacked model (`dae-tui sweep --pack K`).

    pack = PackTrainer(configs, runs_dir=Path("runs"))
    for k, event in pack.run():     # event: what `Trainer.run()` yields for run k alone
        ...

Each member is an ordinary run folder, written by the writers a solo run uses (RunMarker's lock
and status.json, config.json, metrics.jsonl, samples/, checkpoint.pt in the solo format, live.json),
so `dae-tui runs`, `--attach` and `dae-tui train --resume` take it as any other run.

What is shared and what is each member's own:

- Shared (the pack key, `pack_key`): the model, batch size, loss, epochs, dataset, its source and
  train limit, device and threads: what the stacked step and the one copy of the data need.
- Each member's own: learning rate, weight decay, noise kind, factor and clamp, and seed. The seed
  decides what it decides in a solo run: the initial weights (torch's global RNG, seeded just
  before the member's model is built), the data order (a CPU generator seeded with it) and the
  training noise (a device generator seeded with it + 1). Each member draws its own batch from the
  shared images in its own order and its own noise, so a packed member sees the very batches, noise
  and initial weights the same trial sees alone: only the arithmetic's order differs (grouped
  convolutions under vmap, `training.packing`), which is float32 noise (tests/unit/test_pack.py).

A member's stop (a pruned trial, a trial its study failed) drops it from the stack before the
next batch; its folder ends as a solo run stopped there does (partial.pt when mid-epoch). A
member whose loss goes NaN fails alone. A pack stops as a whole on `request_stop`.

May import torch, `dae_tui.core` and `dae_tui.runs`; never textual, rich or optuna.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dae_tui.core.config import ConfigError, TrainConfig
from dae_tui.core.events import BatchProgress, EpochEnd, Event, Notice, RunFailed, RunFinished, RunStarted, RunStopped
from dae_tui.core.psnr import best_epoch
from dae_tui.runs.classes import CLASS_COUNT
from dae_tui.runs.files import PARTIAL_NAME, RunMarker
from dae_tui.runs.live import LiveWriter
from dae_tui.runs.samples import SampleRecorder
from dae_tui.runs.worst import WorstRecorder
from dae_tui.training import checkpoints as ckpt
from dae_tui.training.data import DataError, load_data
from dae_tui.training.device import (
    apply_threads,
    device_name,
    flush_denormals,
    peak_memory_mb,
    reset_peak_memory,
    resolve_device,
)
from dae_tui.training.metrics import per_class_scores, psnr_from_mse
from dae_tui.training.models import build_model, count_parameters
from dae_tui.training.noise import add_noise
from dae_tui.training.pace import Pace
from dae_tui.training.packing import (
    PackedGraphStep,
    PackedStep,
    make_pack_optimizer,
    make_pack_step,
    member_optimizer_state,
)
from dae_tui.training.samples import pick_sample_indices
from dae_tui.training.steps import memory_format
from dae_tui.training.trainer import (
    PROGRESS_INTERVAL_S,
    LossNotFinite,
    Trainer,
    _as_float,
    _finite_mean,
    _name,
    _Position,
    _TestSet,
    evaluate_scores,
)

__all__ = ["MEMBER_SETTINGS", "PackTrainer", "pack_key"]

MEMBER_SETTINGS = ("lr", "weight_decay", "noise", "noise_factor", "clamp", "seed")
"""The settings the members of one pack may differ in; every other one is the pack's."""


def pack_key(config: TrainConfig) -> tuple[Any, ...]:
    """What trials must share to train in one pack: every setting but `MEMBER_SETTINGS`."""
    return tuple(sorted((name, repr(value)) for name, value in config.to_dict().items() if name not in MEMBER_SETTINGS))


@dataclass
class _Member:
    """One run of the pack: its model and folder, its generators and its epoch so far."""

    k: int
    """Its place in the configs given (the number its events are yielded with)."""
    config: TrainConfig
    model: nn.Module
    run_dir: Path
    marker: RunMarker
    shuffle_gen: torch.Generator
    noise_gen: torch.Generator
    test: _TestSet
    keep_epoch: Callable[[int], str | None] | None
    live: LiveWriter | None = None
    recorder: SampleRecorder | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    epochs_done: int = 0
    stop_reason: str | None = None
    """Set from any thread: the member leaves the pack before the next batch."""
    perm: torch.Tensor | None = None
    loss_sum: torch.Tensor | None = None
    losses: torch.Tensor | None = None
    seen: int = 0


class PackTrainer:
    """Trains `configs` (one `pack_key`) as one stacked model; yields (k, event) for config k."""

    def __init__(
        self,
        configs: list[TrainConfig],
        *,
        runs_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
        fast: bool = True,
        keep_epoch: list[Callable[[int], str | None] | None] | None = None,
    ) -> None:
        if not configs or len({pack_key(c) for c in configs}) != 1:
            raise ValueError("a pack needs one or more configs that differ only in " + ", ".join(MEMBER_SETTINGS))
        self.configs = list(configs)
        self.runs_dir = Path(runs_dir) if runs_dir else ckpt.default_runs_dir()
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.fast = fast
        self.keep_epoch = keep_epoch or [None] * len(configs)
        self._stop = threading.Event()
        self._stop_reason = "stopped on request"
        self._members: dict[int, _Member] = {}
        self._pending: dict[int, str] = {}
        """Stops asked for before the member was built."""
        self._step: PackedStep | PackedGraphStep | None = None
        self._alive: list[_Member] = []
        self._device = torch.device("cpu")
        self._source, self._label = "", ""

    def request_stop(self, reason: str = "stopped on request") -> None:
        """Stop every member before the next batch (each keeps what a stopped solo run keeps)."""
        if not self._stop.is_set():
            self._stop_reason = reason
        self._stop.set()

    def request_stop_member(self, k: int, reason: str) -> None:
        """Stop member k before the next batch; the others train on."""
        member = self._members.get(k)
        if member is None:
            self._pending.setdefault(k, reason)
        elif member.stop_reason is None:
            member.stop_reason = reason

    # --- the run --------------------------------------------------------------------------

    def run(self) -> Iterator[tuple[int, Event]]:
        """Train; each member's events in the order its solo run yields them, the last one
        RunFinished, RunStopped or RunFailed (status.json written before it is yielded)."""
        threads = torch.get_num_threads()
        try:
            yield from self._events()
        finally:
            for member in self._members.values():
                if member.live is not None:
                    member.live.close()
                member.marker.release()
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            torch.set_flush_denormal(False)

    def _events(self) -> Iterator[tuple[int, Event]]:
        alive: list[_Member] = []
        try:
            yield from self._train(alive)
        except ConfigError as err:
            yield from self._fail_all(alive, str(err), usage=True)
        except (DataError, OSError) as err:
            yield from self._fail_all(alive, str(err))
        except Exception as err:  # noqa: BLE001 - every member's run ends in an event, never a traceback
            first = str(err).strip().splitlines()
            yield from self._fail_all(alive, f"{type(err).__name__}: {first[0] if first else ''}")

    def _fail_all(self, alive: list[_Member], message: str, usage: bool = False) -> Iterator[tuple[int, Event]]:
        built = {m.k: m for m in alive}
        for k in range(len(self.configs)):
            if k in built or k not in self._members:
                member = built.get(k)
                event = RunFailed(message, str(member.run_dir) if member else None, usage=usage)
                if member is not None:
                    self._end(member, "failed", message)
                yield k, event
        alive.clear()

    def _emit(self, member: _Member, event: Event) -> tuple[int, Event]:
        """What a solo Trainer's `_publish` does with an event (live.json), then the pair."""
        if member.live is not None:
            if isinstance(event, BatchProgress):
                member.live.progress(event)
            elif isinstance(event, EpochEnd):
                member.live.epoch_done(event)
        return member.k, event

    def _end(self, member: _Member, status: str, message: str, **kept: int) -> None:
        try:
            member.marker.end(status, message, member.epochs_done, **kept)
        except OSError:
            pass  # a full disk must not turn the run's last event into a traceback
        if member.live is not None:
            member.live.close()
            member.live = None

    def _train(self, alive: list[_Member]) -> Iterator[tuple[int, Event]]:
        flush_denormals()
        for config in self.configs:
            errors = config.validate()
            if errors:
                raise ConfigError.from_errors(errors)
        first = self.configs[0]
        threads = apply_threads(first.threads)
        device = resolve_device(first.device)
        data = load_data(first, self.cache_dir)
        notes = [f"passed over {note}" for note in data.notes]
        dataset_label = first.dataset + (" (bundled offline sample)" if data.is_sample else "")
        train_images = data.train.images
        if first.train_limit is not None:
            if first.train_limit > len(train_images):
                notes.append(
                    f"--train-limit {first.train_limit} is more than the {len(train_images):,} "
                    "training images; using all of them"
                )
            train_images = train_images[: first.train_limit]
        train_images = train_images.contiguous().to(device)
        n, batch_size = len(train_images), first.batch_size
        batches = math.ceil(n / batch_size)
        layout = memory_format(device, self.fast)
        tests: dict[tuple[str, float, bool], _TestSet] = {}

        for k, config in enumerate(self.configs):
            key = (config.noise, config.noise_factor, config.clamp)
            if key not in tests:  # members with the same noise share one copy of the noisy test set
                tests[key] = Trainer._prepare_test(data, config, device, layout)
            torch.manual_seed(config.seed)  # as a solo run does, just before its model is built
            model = build_model(config.model)
            if not self.fast and hasattr(model, "lowered"):
                model.lowered = False  # type: ignore[assignment]
            model = model.to(device, memory_format=layout)  # type: ignore[call-overload]
            run_dir = ckpt.new_run_dir(self.runs_dir, config)
            marker = RunMarker(run_dir, config.epochs)
            member = _Member(
                k,
                config,
                model,
                run_dir,
                marker,
                torch.Generator().manual_seed(config.seed),
                torch.Generator(device=device).manual_seed(config.seed + 1),
                tests[key],
                self.keep_epoch[k],
                stop_reason=self._pending.get(k),
            )
            marker.acquire()
            self._members[k] = member
            alive.append(member)
        optimizer = make_pack_optimizer([m.model for m in alive], self.configs, device, self.fast)
        sample_idx = pick_sample_indices(data.test.labels, 8)
        parameters = count_parameters(alive[0].model)
        for member in alive:
            for note in notes:
                yield member.k, Notice(note)
            member.marker.start(0)
            ckpt.write_config(member.run_dir, member.config)
            ckpt.write_metrics(member.run_dir, [])
            member.recorder = SampleRecorder(member.run_dir)
            started = RunStarted(
                config=member.config,
                run_dir=str(member.run_dir),
                source=data.source,
                source_detail=data.detail,
                dataset_label=dataset_label,
                device=str(device),
                train_size=n,
                test_size=len(member.test.clean),
                batches_per_epoch=batches,
                start_epoch=1,
                parameters=parameters,
                threads=threads,
            )
            member.live = LiveWriter(member.run_dir)
            member.live.started(started)
            yield member.k, started
            samples = Trainer._samples(member.model, member.test, sample_idx, data, 0)
            member.recorder.record(samples)
            yield member.k, samples

        step = make_pack_step([m.model for m in alive], optimizer, device, batch_size, self.fast, first.loss)
        self._step, self._alive, self._device = step, alive, device
        self._source, self._label = data.source, dataset_label
        board = device_name(device)
        pace = Pace()
        train_seconds_total, batches_done = 0.0, 0
        lr_factor = getattr(alive[0].model, "lr_factor", None)

        def leave(member: _Member, event: Event, status: str, message: str, **kept: int) -> Iterator[Any]:
            """Member `member` out of the stack, its folder ended, its last event yielded."""
            step.drop(alive.index(member))
            alive.remove(member)
            self._end(member, status, message, **kept)
            yield self._emit(member, event)

        for epoch in range(1, first.epochs + 1):
            # Each member's rate times the model's own schedule, as `trainer._schedule_lr` sets it.
            factor = 1.0 if lr_factor is None else float(lr_factor(epoch, first.epochs))
            for group, member in zip(optimizer.param_groups, alive, strict=True):
                group["lr"] = member.config.lr * factor if lr_factor is not None else member.config.lr
            reset_peak_memory(device)
            for member in alive:
                member.perm = torch.randperm(n, generator=member.shuffle_gen).to(device)
                member.loss_sum = torch.zeros((), device=device)
                member.losses = torch.zeros(batches, device=device)
                member.seen = 0
                member.marker.beat(epoch, force=True)
            epoch_start = last_progress = time.perf_counter()
            pace.restart()
            for b in range(batches):
                for member in list(alive):
                    reason = self._stop_reason if self._stop.is_set() else member.stop_reason
                    if reason is not None:
                        kept = self._keep_partial(member, epoch, b, batches, epoch_start)
                        stopped = RunStopped(str(member.run_dir), member.epochs_done, batch=kept, batches=batches)
                        extra = {"partial_batch": kept, "batches": batches} if kept else {}
                        yield from leave(member, stopped, "stopped", reason, **extra)
                if not alive:
                    return
                clean, noisy, sizes = [], [], []
                for member in alive:
                    member.marker.beat(epoch)
                    assert member.perm is not None
                    idx = member.perm[b * batch_size : (b + 1) * batch_size]
                    image = _as_float(train_images[idx]).contiguous(memory_format=layout)
                    c = member.config
                    noisy.append(add_noise(image, c.noise, c.noise_factor, member.noise_gen, c.clamp))
                    clean.append(image)
                    sizes.append(idx.numel())
                mse = step(torch.stack(noisy), torch.stack(clean))
                for i, member in enumerate(alive):
                    assert member.losses is not None and member.loss_sum is not None
                    member.losses[b] = mse[i]
                    member.loss_sum += mse[i] * sizes[i]
                    member.seen += sizes[i]
                now = time.perf_counter()
                pace.add(now, b + 1)
                if now - last_progress >= PROGRESS_INTERVAL_S:
                    last_progress = now
                    per_batch = pace.seconds_per_batch()
                    remaining = (batches - b - 1) + (first.epochs - epoch) * batches
                    eta = None if per_batch is None else remaining * per_batch
                    for member in list(alive):
                        assert member.losses is not None and member.loss_sum is not None
                        try:
                            mean = _finite_mean(member.loss_sum, member.seen, member.losses, epoch, b)
                        except LossNotFinite as err:
                            yield from self._loss_failed(member, err, leave)
                            continue
                        rate = member.seen / max(now - epoch_start, 1e-9)
                        progress = BatchProgress(epoch, first.epochs, b + 1, batches, mean, rate, eta)
                        yield self._emit(member, progress)
            train_seconds = time.perf_counter() - epoch_start
            pace.epoch_done(train_seconds, batches)
            train_seconds_total += train_seconds
            batches_done += batches
            step.sync()
            for member in list(alive):
                try:
                    end = self._epoch_end(member, epoch, batches, train_seconds, epoch_start, board, n)
                except LossNotFinite as err:
                    yield from self._loss_failed(member, err, leave)
                    continue
                except _Refused as refused:
                    yield from leave(member, RunFailed(str(refused), str(member.run_dir)), "failed", str(refused))
                    continue
                yield self._emit(member, end)
                assert member.recorder is not None
                samples = Trainer._samples(member.model, member.test, sample_idx, data, epoch)
                member.recorder.record(samples)
                yield member.k, samples
            if not alive:
                return
        for member in list(alive):
            best = best_epoch((r["epoch"], r["test_mse"]) for r in member.records)
            finished = RunFinished(str(member.run_dir), first.epochs, best[1] if best else None)
            yield from leave(member, finished, "finished", "")

    def _loss_failed(self, member: _Member, err: LossNotFinite, leave: Callable[..., Iterator[Any]]) -> Iterator[Any]:
        kept = (
            f"; the checkpoint of epoch {member.epochs_done} is kept" if member.epochs_done else "; nothing was saved"
        )
        message = f"{err}; try a lower learning rate{kept}"
        yield from leave(member, RunFailed(message, str(member.run_dir)), "failed", message)

    def _epoch_end(
        self, member: _Member, epoch: int, batches: int, train_seconds: float, epoch_start: float, board: str, n: int
    ) -> EpochEnd:
        """The member's test pass, then its checkpoint and metrics.jsonl, as a solo run's epoch ends
        (`LossNotFinite` or `_Refused` before anything of the epoch is saved)."""
        assert member.loss_sum is not None and member.losses is not None
        train_mse = _finite_mean(member.loss_sum, member.seen, member.losses, epoch, batches - 1)
        per_mse, per_ssim = evaluate_scores(member.model, member.test.clean, member.test.noisy)
        test_mse = per_mse.mean().item()
        assert per_ssim is not None
        class_psnr, class_ssim = per_class_scores(per_mse, per_ssim, member.test.labels, CLASS_COUNT)
        if not math.isfinite(test_mse):
            raise LossNotFinite(f"the test loss became {_name(test_mse)} after epoch {epoch}")
        refused = member.keep_epoch(epoch) if member.keep_epoch is not None else None
        if refused:
            raise _Refused(refused)
        path = member.run_dir / ckpt.CHECKPOINT_NAME
        end = EpochEnd(
            epoch=epoch,
            epochs=member.config.epochs,
            train_mse=train_mse,
            test_mse=test_mse,
            test_psnr=psnr_from_mse(test_mse),
            noisy_psnr=member.test.noisy_psnr,
            test_ssim=per_ssim.mean().item(),
            noisy_ssim=member.test.noisy_ssim,
            seconds=time.perf_counter() - epoch_start,
            images_per_s=n / max(train_seconds, 1e-9),
            checkpoint=str(path),
            device_name=board,
            peak_memory_mb=peak_memory_mb(self._device),
            class_psnr=class_psnr,
            class_ssim=class_ssim,
        )
        member.records.append(end.to_json(member.config.dataset, self._source))
        ckpt.save_checkpoint(path, self._state(member, epoch))
        ckpt.write_metrics(member.run_dir, member.records)
        WorstRecorder(member.run_dir).record(Trainer._worst(member.model, member.test, per_mse, epoch))
        member.epochs_done = epoch
        return end

    def _state(self, member: _Member, epoch: int) -> dict[str, Any]:
        """The member's checkpoint in the solo format (`Trainer`'s): its model, its own Adam state,
        its generators. The members' BatchNorm statistics must be synced first."""
        assert self._step is not None
        return {
            "model": member.model.state_dict(),
            "optimizer": member_optimizer_state(self._step.optimizer, self._alive.index(member)),
            "config": member.config.to_dict(),
            "epoch": epoch,
            "metrics": member.records,
            "rng": {
                "shuffle": member.shuffle_gen.get_state(),
                "noise": member.noise_gen.get_state(),
                "noise_device": self._device.type,
            },
            "source": self._source,
            "dataset_label": self._label,
        }

    def _keep_partial(self, member: _Member, epoch: int, b: int, batches: int, epoch_start: float) -> int:
        """partial.pt for a member stopped after `b` batches of `epoch`, as a solo run's stop
        writes it, so that `train --resume` goes on from that very batch; the batches kept (0: none)."""
        if b == 0:
            return 0
        assert self._step is not None
        assert member.perm is not None and member.loss_sum is not None and member.losses is not None
        if not math.isfinite(member.loss_sum.item()):
            return 0
        self._step.sync()
        place = _Position(
            epoch,
            b,
            batches,
            member.perm.cpu(),
            member.loss_sum.detach().cpu().clone(),
            member.losses.cpu().clone(),
            member.seen,
            time.perf_counter() - epoch_start,
        )
        state = self._state(member, epoch - 1)
        state["rng"]["torch"] = torch.get_rng_state()
        state["partial"] = place.to_state()
        try:
            ckpt.save_partial(member.run_dir / PARTIAL_NAME, state)
        except OSError:
            return 0
        return b


class _Refused(Exception):
    """A member's `keep_epoch` said no: it fails with the reason, its epoch unsaved."""
