"""The training engine: one `Trainer.run()` generator of plain events, for the CLI and the UI alike.

    trainer = Trainer(config, runs_dir=Path("runs"))
    for event in trainer.run():      # in any thread; another may call pause()/unpause()/request_stop()
        ...

Stop and pause requests are checked between batches, so they take effect within one batch.
Every epoch ends with an evaluation on the whole test split (noise from a fixed seed, so epochs and
runs compare) and an atomic checkpoint from which `Trainer(resume=...)` continues exactly. A run
stopped inside an epoch also keeps that epoch as far as it went (partial.pt: weights, optimizer,
RNGs, data order, next batch, loss so far), and a resume continues from that very batch, ending
bit-equal on the CPU to the run left alone; the epoch's end removes it. While it
trains, the run folder carries a heartbeat (run.lock) and status.json, and keeps every epoch's
sample pictures, so other processes can list and show the run (`runs.files`, `runs.samples`).

May import torch, `dae_tui.core` and `dae_tui.runs`; never textual, rich or optuna.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from dae_tui.core.config import (
    FIELD_SPECS,
    RESUME_OVERRIDABLE,
    ConfigError,
    TrainConfig,
    check_resume_overrides,
    format_number,
    recipe_changes,
)
from dae_tui.core.events import (
    BatchProgress,
    EpochEnd,
    Event,
    Notice,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    Samples,
)
from dae_tui.core.psnr import best_epoch
from dae_tui.runs.classes import CLASS_COUNT
from dae_tui.runs.files import HEARTBEAT_INTERVAL_S, PARTIAL_NAME, RunMarker, load_run_config
from dae_tui.runs.live import ControlReader, LiveWriter
from dae_tui.runs.samples import SampleRecorder
from dae_tui.runs.worst import WORST_COUNT, WorstRecorder
from dae_tui.training import checkpoints as ckpt
from dae_tui.training.data import DataError, LoadedData, load_data
from dae_tui.training.device import (
    apply_threads,
    device_name,
    flush_denormals,
    peak_memory_mb,
    reset_peak_memory,
    resolve_device,
)
from dae_tui.training.metrics import per_class_scores, per_image_mse, per_image_ssim, psnr_from_mse
from dae_tui.training.models import build_model, count_parameters
from dae_tui.training.noise import add_noise
from dae_tui.training.pace import Pace
from dae_tui.training.samples import make_samples, pick_sample_indices
from dae_tui.training.steps import load_optimizer_state, make_optimizer, make_train_step, memory_format

__all__ = [
    "RESUME_OVERRIDABLE",
    "TEST_NOISE_SEED",
    "Trainer",
    "evaluate",
    "evaluate_scores",
    "fixed_noise",
    "input_scores",
]

TEST_NOISE_SEED = 20240531
"""Seed of the fixed noise on the test split: the same for every run, so runs compare."""

CONTROL_POLL_S = 0.25
"""How often a paused run looks for an attached dashboard's "continue" (at every batch otherwise)."""

PROGRESS_INTERVAL_S = 0.1
"""Least time between two BatchProgress events (about ten a second at most)."""

EVAL_BATCH = 250
"""Test images per forward pass during evaluation (no grad, so 4x a training batch): as fast as
1,000 a pass, with less peak memory (benchmarks/NOTES.md)."""


@dataclass
class _Loop:
    """What the training loop works on, and its running totals (for the ETA)."""

    config: TrainConfig
    train_images: torch.Tensor
    step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    """One optimisation step: (noisy, clean) -> loss on the device."""
    layout: torch.memory_format
    """Memory format of the batches (channels-last on CPU)."""
    shuffle_gen: torch.Generator
    noise_gen: torch.Generator
    batches: int
    """Training steps per epoch."""
    train_seconds: float = 0.0
    """Training seconds so far in this run (pauses excluded)."""
    batches_done: int = 0
    """Steps finished so far in this run."""
    epoch_start: float = 0.0
    """perf_counter() when the current epoch began."""
    pace: Pace = field(default_factory=Pace)
    """Recent seconds per batch, for the ETA."""
    eval_seconds: float = 0.0
    """What the last epoch spent after its batches (evaluation), for the ETA."""
    resume_at: _Position | None = None
    """Where the first epoch of this session continues (from a mid-epoch checkpoint)."""
    stopped_at: _Position | None = None
    """Where the epoch in progress stood when a stop came (after at least one batch)."""


@dataclass
class _Position:
    """An epoch part-way through: its data order, the next batch and the loss so far (CPU
    tensors), enough to go on exactly as if it had never stopped."""

    epoch: int
    batch: int
    """Batches done (the next one's index)."""
    batches: int
    """Batches in the epoch."""
    perm: torch.Tensor
    """The epoch's order of the training images (int64)."""
    loss_sum: torch.Tensor
    """Sum of the batches' loss times their size so far (0-dim)."""
    losses: torch.Tensor
    """Every batch's loss so far (one slot per batch of the epoch)."""
    seen: int
    """Images trained on so far in the epoch."""
    seconds: float
    """Training seconds spent on the epoch so far (pauses excluded)."""
    on_disk: bool = False
    """True when partial.pt already holds exactly this place (a resume stopped again at once)."""

    def to_state(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "batch": self.batch,
            "batches": self.batches,
            "perm": self.perm,
            "loss_sum": self.loss_sum,
            "losses": self.losses,
            "seen": self.seen,
            "seconds": self.seconds,
        }


_POSITION_TYPES: dict[str, type | tuple[type, ...]] = {
    "epoch": int,
    "batch": int,
    "batches": int,
    "perm": torch.Tensor,
    "loss_sum": torch.Tensor,
    "losses": torch.Tensor,
    "seen": int,
    "seconds": (int, float),
}


@dataclass
class _TestSet:
    """The test split, prepared once: clean and noisy float tensors on the device, and the
    labels (int64, on the device too) that the per-class scores are grouped by."""

    clean: torch.Tensor
    noisy: torch.Tensor
    noisy_psnr: float
    noisy_ssim: float
    labels: torch.Tensor


@contextmanager
def _inference(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode and no autograd inside; the model's previous mode after."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(was_training)


def evaluate(model: torch.nn.Module, clean: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
    """Per-image MSE of model(noisy) against clean, in eval mode without grad."""
    return evaluate_scores(model, clean, noisy, ssim=False)[0]


def evaluate_scores(
    model: torch.nn.Module, clean: torch.Tensor, noisy: torch.Tensor, ssim: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-image MSE and (with `ssim`) SSIM of model(noisy) against clean, in eval mode, no grad."""
    mse, similarity = [], []
    with _inference(model):
        for i in range(0, clean.shape[0], EVAL_BATCH):
            output, target = model(noisy[i : i + EVAL_BATCH]), clean[i : i + EVAL_BATCH]
            mse.append(per_image_mse(output, target))
            if ssim:
                similarity.append(per_image_ssim(output, target))
    return torch.cat(mse), torch.cat(similarity) if ssim else None


def _restore_noise(gen: torch.Generator, rng: Mapping[str, Any], fallback_seed: int) -> str | None:
    """Continue the saved noise stream; if it belongs to another kind of device, reseed and say so.

    A CUDA generator's state (Philox, 16 bytes) cannot be loaded into a CPU one (MT19937) or the
    other way round, so a run that moves between them cannot see the very noise it would have.
    """
    saved_on = rng.get("noise_device")
    here = gen.device.type
    if saved_on in (None, here):
        try:
            gen.set_state(rng["noise"])
            return None
        except RuntimeError:  # an old checkpoint without noise_device, from another device kind
            saved_on = "another kind of device"
    gen.manual_seed(fallback_seed)
    return (
        f"the noise stream restarts: it was saved on {saved_on} and cannot continue on {here}, "
        "so later epochs see different (equally random) noise than an unbroken run would"
    )


def _check_config_file(folder: Path, saved: TrainConfig, on_disk: TrainConfig) -> TrainConfig:
    """The checkpoint's config, with the resumable settings that config.json holds (the latest
    a user asked for). A recipe setting there that differs from the checkpoint's means the file
    was edited by hand: refused, naming the setting, rather than silently overwritten."""
    edited = recipe_changes(saved, {name: getattr(on_disk, name) for name in FIELD_SPECS})
    if edited:
        name = edited[0]
        shown = [
            format_number(v) if not isinstance(v, str) else repr(v)
            for v in (getattr(on_disk, name), getattr(saved, name))
        ]
        raise ConfigError(
            f"{folder / ckpt.CONFIG_NAME}: {FIELD_SPECS[name].flag} is {shown[0]} there but the "
            f"checkpoint was trained with {shown[1]} (the file was edited?); put it back: a run's "
            f"recipe cannot change, only {', '.join(sorted(RESUME_OVERRIDABLE))} can, by flags"
        )
    return replace(saved, **{name: getattr(on_disk, name) for name in RESUME_OVERRIDABLE})


def fixed_noise(clean: torch.Tensor, kind: str, factor: float, clamp: bool = False) -> torch.Tensor:
    """`clean` (on the CPU) with the noise every test measurement uses: drawn from
    `TEST_NOISE_SEED` on the CPU, so every device, run and curve sees the very same noisy images."""
    return add_noise(clean, kind, factor, torch.Generator().manual_seed(TEST_NOISE_SEED), clamp)


def input_scores(clean: torch.Tensor, noisy: torch.Tensor) -> tuple[float, float]:
    """(PSNR, mean SSIM) of the noisy inputs, clamped to [0, 1] as shown, against `clean`: the bar
    a model must beat. In slices: the whole test set at once would hold ~5 float copies (150 MB)."""
    mse, ssim = [], []
    for i in range(0, clean.shape[0], EVAL_BATCH):
        seen, target = noisy[i : i + EVAL_BATCH].clamp(0.0, 1.0), clean[i : i + EVAL_BATCH]
        mse.append(per_image_mse(seen, target))
        ssim.append(per_image_ssim(seen, target))
    return psnr_from_mse(torch.cat(mse).mean().item()), torch.cat(ssim).mean().item()


def _schedule_lr(model: torch.nn.Module, optimizer: torch.optim.Optimizer, config: TrainConfig, epoch: int) -> None:
    """The learning rate of `epoch`: the config's, times the model's own `lr_factor(epoch, epochs)`
    when it carries one (a schedule belongs to the architecture it was tuned for)."""
    factor = getattr(model, "lr_factor", None)
    if factor is None:
        return
    for group in optimizer.param_groups:
        group["lr"] = config.lr * float(factor(epoch, config.epochs))


class LossNotFinite(Exception):
    """The loss went NaN or infinite: the run stops before anything is saved from it."""


def _name(value: float) -> str:
    return "NaN" if math.isnan(value) else "infinite"


def _finite_mean(loss_sum: torch.Tensor, seen: int, losses: torch.Tensor, epoch: int, last: int) -> float:
    """The epoch's mean training loss so far; `LossNotFinite` naming the first bad batch."""
    mean = loss_sum.item() / seen
    if math.isfinite(mean):
        return mean
    bad = (~torch.isfinite(losses[: last + 1])).nonzero()
    batch = int(bad[0]) + 1 if len(bad) else last + 1
    value = float(losses[batch - 1]) if len(bad) else mean
    raise LossNotFinite(f"loss became {_name(value)} at epoch {epoch} batch {batch}")


def _as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 28, 28) to float (B, 1, 28, 28) in [0, 1]."""
    return images.unsqueeze(1).float().div_(255.0)


class EpochRefused(Exception):
    """`keep_epoch` said no: the run fails with its reason, the epoch unsaved."""


_NO_EPOCH_NOTE = "no epoch of this run had finished, so it starts again from epoch 1 with its saved config"


def _partial_mismatch(partial: dict[str, Any], config: TrainConfig, state: dict[str, Any] | None) -> str | None:
    """Why a mid-epoch checkpoint does not continue this resume (None: it does): it must hold
    a place in the epoch after checkpoint.pt's (epoch 1 without one), of the same recipe and
    the same finished epochs."""
    done = int(state["epoch"]) if state is not None else 0
    place = partial.get("partial")
    if not isinstance(place, dict) or any(
        not isinstance(place.get(key), kind) or isinstance(place.get(key), bool)
        for key, kind in _POSITION_TYPES.items()
    ):
        return "it does not say where in its epoch it stopped"
    rng = partial["rng"]
    if not all(isinstance(rng.get(key), torch.Tensor) for key in ("shuffle", "noise")):
        return "its random number states are missing"
    if partial["epoch"] != done or place["epoch"] != done + 1:
        after = f"checkpoint.pt's epoch {done}" if state is not None else "no finished epoch"
        return f"it belongs to epoch {place['epoch']}, not epoch {done + 1} (after {after})"
    try:
        saved = TrainConfig.from_json(partial["config"], folders_exist=False)
    except ConfigError as err:
        return f"its config is not usable ({err})"
    changed = recipe_changes(config, {name: getattr(saved, name) for name in FIELD_SPECS})
    if changed:
        return f"it was trained with another {FIELD_SPECS[changed[0]].flag}"
    if state is not None and partial["metrics"] != state["metrics"]:
        return "its finished epochs' figures differ from checkpoint.pt's (another run's file?)"
    return None


def _position_misfit(place: dict[str, Any], n: int, batches: int) -> str | None:
    """Why a mid-epoch place cannot apply to `n` training images in `batches` batches."""
    perm, losses = place["perm"], place["losses"]
    if place["batches"] != batches:
        return f"its epoch had {place['batches']} batches, this one has {batches}"
    if perm.dtype != torch.int64 or perm.shape != (n,) or not torch.equal(perm.sort().values, torch.arange(n)):
        return f"its data order does not fit these {n:,} training images"
    if not 0 < place["batch"] < batches or losses.shape != (batches,) or place["loss_sum"].shape != ():
        return f"its place (batch {place['batch']} of {batches}) does not fit this epoch"
    if not 0 < place["seen"] <= n:
        return f"its count of images seen ({place['seen']}) does not fit this epoch"
    return None


class Trainer:
    """Trains one run and yields its events; control methods are safe from any thread."""

    def __init__(
        self,
        config: TrainConfig | None = None,
        *,
        resume: str | Path | None = None,
        overrides: Mapping[str, Any] | None = None,
        runs_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
        fast: bool = True,
        keep_epoch: Callable[[int], str | None] | None = None,
        marker: RunMarker | None = None,
    ) -> None:
        """`config` for a new run, or `resume` (a run folder or checkpoint) with `overrides`.

        `keep_epoch(epoch)` is asked after each epoch's test pass, before anything of it is saved;
        a reason returned fails the run there with that reason and the epoch is not written (a
        sweep's trial that its study failed while the process was suspended must not go on).

        `fast=False` trains the plain way: NCHW, the model's layers as written, torch's default
        Adam, no CUDA graph. Same arithmetic, slower; the yardstick that the quality test and the
        benchmark hold the fast path to.

        `marker`: the resumed run's folder, already owned by this process (a hand-over takes it
        before torch is imported: `runs.handover.take_over`).
        """
        if config is None and resume is None:
            raise ValueError("Trainer needs a config or a checkpoint to resume")
        self.config = config or TrainConfig()
        self.resume_path = resume
        self.overrides = dict(overrides or {})
        self.runs_dir = Path(runs_dir) if runs_dir else None
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.run_dir: Path | None = None
        self.fast = fast
        self.keep_epoch = keep_epoch
        self._stop = threading.Event()
        self._stop_reason = "stopped on request"
        self._running = threading.Event()
        self._running.set()
        self._marker: RunMarker | None = marker
        """The run folder's lock and status, once the folder is known."""
        self._epochs_done = 0
        self._live: LiveWriter | None = None
        """live.json, once the run has started: what an attached dashboard shows."""
        self._control: ControlReader | None = None
        """control.json, once the run has started: what an attached dashboard asks."""

    # --- control, from any thread ---------------------------------------------------------

    def request_stop(self, reason: str = "stopped on request") -> None:
        """Stop before the next batch; a pause is ended by it too. `reason` goes to status.json."""
        if not self._stop.is_set():
            self._stop_reason = reason
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        """Hold before the next batch until `unpause()` or `request_stop()`."""
        self._running.clear()

    def unpause(self) -> None:
        """Go on after `pause()`."""
        self._running.set()

    @property
    def paused(self) -> bool:
        """True while a pause is requested."""
        return not self._running.is_set()

    @property
    def stop_requested(self) -> bool:
        """True once `request_stop()` was called."""
        return self._stop.is_set()

    # --- the run --------------------------------------------------------------------------

    def run(self) -> Iterator[Event]:
        """Train, yielding events; the last one is RunFinished, RunStopped or RunFailed.

        status.json says how the run ended before that last event is yielded; the run.lock
        heartbeat is gone once the generator is done or closed (then the run reads as interrupted).
        """
        threads = torch.get_num_threads()
        try:
            for event in self._events():
                self._publish(event)
                if isinstance(event, (RunFinished, RunStopped, RunFailed)):
                    self._mark_end(event)
                yield event
        finally:
            if self._live is not None:
                self._live.close()
            if self._marker is not None:
                self._marker.release()
            # The calling thread's torch settings as they were (the process's, on the main thread):
            # a run leaves no global state behind, denormal flushing back to torch's default.
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            torch.set_flush_denormal(False)

    def _publish(self, event: Event) -> None:
        """What a dashboard attached from another process sees (live.json, `runs.live`)."""
        if isinstance(event, RunStarted):
            self._live = LiveWriter(Path(event.run_dir))
            self._control = ControlReader(Path(event.run_dir))
            self._live.started(event)
            return
        if self._live is None:
            return
        match event:
            case BatchProgress():
                self._live.progress(event)
            case Paused() | Resumed():
                self._live.set_paused(isinstance(event, Paused))
            case EpochEnd():
                self._live.epoch_done(event)

    def _apply_control(self) -> None:
        """A command from the dashboard attached to this run (control.json), once each."""
        assert self._control is not None
        command = self._control.poll()
        if command is None:
            return
        who = f"the dashboard of pid {command.get('pid')} on {command.get('host')}"
        if command["command"] == "pause":
            self.pause()
        elif command["command"] == "continue":
            self.unpause()
        else:
            self.request_stop(f"stopped from {who}")

    def _mark_end(self, event: RunFinished | RunStopped | RunFailed) -> None:
        if self._marker is None:
            return
        kept = {}
        if isinstance(event, RunFinished):
            status, message = "finished", ""
        elif isinstance(event, RunStopped):
            status, message = "stopped", self._stop_reason
            kept = {"partial_batch": event.batch, "batches": event.batches}
        else:
            status, message = "failed", event.message
        try:
            self._marker.end(status, message, self._epochs_done, **kept)
        except OSError:
            pass  # a full disk must not turn the run's last event into a traceback; the lock is gone

    def _events(self) -> Iterator[Event]:
        try:
            yield from self._run()
        except ConfigError as err:
            yield RunFailed(str(err), self._run_dir_str(), usage=True)
        except LossNotFinite as err:
            kept = (
                f"; the checkpoint of epoch {self._epochs_done} is kept" if self._epochs_done else "; nothing was saved"
            )
            yield RunFailed(f"{err}; try a lower learning rate{kept}", self._run_dir_str())
        except EpochRefused as err:
            yield RunFailed(str(err), self._run_dir_str())
        except (DataError, OSError) as err:
            detail = getattr(err, "detail", "")
            if detail:
                yield Notice(f"detail: {detail}")
            yield RunFailed(str(err), self._run_dir_str())
        except Exception as err:  # noqa: BLE001 - a run must end in an event, never a traceback
            first = str(err).strip().splitlines()
            text = first[0] if first else ""
            yield RunFailed(f"{type(err).__name__}: {text}", self._run_dir_str())

    def _run_dir_str(self) -> str | None:
        return str(self.run_dir) if self.run_dir else None

    def _resolve_config(self) -> tuple[TrainConfig, dict[str, Any] | None, list[str]]:
        """The config to train, the checkpoint state to continue (None: from epoch 1) and notes.

        On resume this process owns the run folder before anything in it is read, so nothing
        changes underneath; a folder whose process died before its first checkpoint starts over
        from its config.json.
        """
        notes: list[str] = []
        if self.resume_path is None:
            config, state = self.config, None
        else:
            try:
                path: Path | None = ckpt.find_checkpoint(self.resume_path)
                folder = path.parent  # type: ignore[union-attr]
            except ckpt.NoCheckpoint as missing:
                if missing.config_folder is None:
                    raise
                path, folder = None, missing.config_folder
            self.run_dir = folder
            self._own_folder(folder)
            on_disk = load_run_config(folder) if (folder / ckpt.CONFIG_NAME).is_file() else None
            if path is None:
                assert on_disk is not None
                saved, state = on_disk, None
                notes.append(_NO_EPOCH_NOTE)
            else:
                state = ckpt.load_checkpoint(path, notes)
                try:
                    saved = TrainConfig.from_json(state["config"], folders_exist=False)
                except ConfigError as err:
                    raise ckpt.CheckpointError(f"{path}: its config is not usable: {err}") from None
                if on_disk is not None:
                    saved = _check_config_file(folder, saved, on_disk)
            check_resume_overrides(saved, self.overrides)
            config = replace(saved, **{k: v for k, v in self.overrides.items() if k in RESUME_OVERRIDABLE})
        errors = config.validate()
        if errors:
            raise ConfigError.from_errors(errors)
        return config, state, notes

    def _own_folder(self, folder: Path) -> None:
        """Take the run folder for this process (`RunMarker.acquire`): one line when it is taken."""
        if self._marker is not None and self._marker.run_dir.resolve() == folder.resolve():
            return  # taken already (a hand-over)
        if self._marker is not None:
            self._marker.release()
        self._marker = RunMarker(folder, self.config.epochs)
        self._marker.acquire()

    def _wait_if_paused(self, epoch: int, batch: int) -> Iterator[Event]:
        """Yield Paused, hold until unpaused or stopped, then yield Resumed."""
        if self._running.is_set():
            return
        yield Paused(epoch, batch)
        self._beat(epoch, paused=True, force=True)
        # request_stop() sets it too; waking now and then keeps a paused run's heartbeat fresh
        # (written every HEARTBEAT_INTERVAL_S) and reads an attached dashboard's commands.
        last = time.monotonic()
        while not self._running.wait(min(CONTROL_POLL_S, HEARTBEAT_INTERVAL_S)):
            due = time.monotonic() - last >= HEARTBEAT_INTERVAL_S
            if due:
                last = time.monotonic()
            self._beat(epoch, paused=True, force=due)
        self._beat(epoch, force=True)
        if not self._stop.is_set():
            yield Resumed(epoch, batch)

    def _beat(self, epoch: int, *, paused: bool = False, force: bool = False) -> None:
        """Called at every batch (and while paused): the heartbeat when it is due, and the
        attached dashboard's commands (one stat of control.json when there are none)."""
        if self._marker is not None:
            self._marker.beat(epoch, paused=paused, force=force)
        if self._control is not None:
            self._apply_control()

    def _train_one_epoch(self, loop: _Loop, epoch: int) -> Generator[Event, None, tuple[float, float, float] | None]:
        """One pass over the shuffled training set, yielding progress.

        Returns (mean train MSE, training seconds, paused seconds), or None when stopped (with
        `loop.stopped_at` saying where, once a batch of the epoch was trained). An epoch that
        `loop.resume_at` names goes on from there: same order, same running loss.
        """
        config, n = loop.config, len(loop.train_images)
        device = loop.train_images.device
        at, loop.resume_at = loop.resume_at, None
        if at is not None and at.epoch != epoch:
            at = None
        paused_s = 0.0
        if at is None:
            first, carried = 0, 0.0
            perm = torch.randperm(n, generator=loop.shuffle_gen).to(device)
            loss_sum = torch.zeros((), device=device)
            # Every step's loss, kept on the device: reading each one would sync every batch, but
            # once the sum goes NaN this says at which batch it began.
            losses = torch.zeros(loop.batches, device=device)
            seen = 0
        else:  # the shuffle generator drew this order before the stop: it is not drawn again
            first, carried, seen = at.batch, at.seconds, at.seen
            perm, loss_sum, losses = (t.clone().to(device) for t in (at.perm, at.loss_sum, at.losses))
        loop.epoch_start = last_progress = time.perf_counter() - carried
        self._beat(epoch, force=True)
        loop.pace.restart()
        for b in range(first, loop.batches):
            if not self._running.is_set():
                pause_start = time.perf_counter()
                yield from self._wait_if_paused(epoch, b)
                paused_s += time.perf_counter() - pause_start
                loop.pace.restart()
            if self._stop.is_set():
                if b > 0:
                    loop.stopped_at = _Position(
                        epoch,
                        b,
                        loop.batches,
                        perm.cpu(),
                        loss_sum.detach().cpu().clone(),
                        losses.cpu().clone(),
                        seen,
                        time.perf_counter() - loop.epoch_start - paused_s,
                        on_disk=at is not None and b == first,
                    )
                return None
            self._beat(epoch)  # writes only every HEARTBEAT_INTERVAL_S: a clock read per batch
            idx = perm[b * config.batch_size : (b + 1) * config.batch_size]
            clean = _as_float(loop.train_images[idx]).contiguous(memory_format=loop.layout)
            noisy = add_noise(clean, config.noise, config.noise_factor, loop.noise_gen, config.clamp)
            loss = loop.step(noisy.contiguous(memory_format=loop.layout), clean)
            losses[b] = loss
            loss_sum += loss * idx.numel()
            seen += idx.numel()
            now = time.perf_counter()
            loop.pace.add(now, b + 1)
            if now - last_progress >= PROGRESS_INTERVAL_S:
                last_progress = now
                mean = _finite_mean(loss_sum, seen, losses, epoch, b)
                active = now - loop.epoch_start - paused_s
                per_batch = loop.pace.seconds_per_batch()
                remaining = (loop.batches - b - 1) + (config.epochs - epoch) * loop.batches
                eta = (
                    None
                    if per_batch is None
                    else remaining * per_batch + (config.epochs - epoch + 1) * loop.eval_seconds
                )
                yield BatchProgress(
                    epoch,
                    config.epochs,
                    b + 1,
                    loop.batches,
                    mean,
                    seen / max(active, 1e-9),
                    eta,
                )
        train_seconds = time.perf_counter() - loop.epoch_start - paused_s
        loop.pace.epoch_done(train_seconds, loop.batches)
        loop.train_seconds += train_seconds
        loop.batches_done += loop.batches
        return _finite_mean(loss_sum, seen, losses, epoch, loop.batches - 1), train_seconds, paused_s

    def _run(self) -> Iterator[Event]:
        flush_denormals()
        config, state, notes = self._resolve_config()
        partial, partial_notes = self._read_partial(config, state)
        if partial is not None:
            notes = [note for note in notes if note is not _NO_EPOCH_NOTE] + partial_notes
        else:
            notes += partial_notes
        for note in notes:
            yield Notice(note)
        threads = apply_threads(config.threads)
        device = resolve_device(config.device)
        data = load_data(config, self.cache_dir)
        for note in data.notes:
            yield Notice(f"passed over {note}")
        dataset_label = config.dataset + (" (bundled offline sample)" if data.is_sample else "")

        train_images = data.train.images
        if config.train_limit is not None:
            if config.train_limit > len(train_images):
                yield Notice(
                    f"--train-limit {config.train_limit} is more than the {len(train_images):,} "
                    "training images; using all of them"
                )
            train_images = train_images[: config.train_limit]
        train_images = train_images.contiguous().to(device)
        n = len(train_images)
        batches = math.ceil(n / config.batch_size)
        if partial is not None:
            misfit = _position_misfit(partial["partial"], n, batches)
            if misfit:
                yield Notice(self._partial_refused(misfit, state))
                if state is None:
                    yield Notice(_NO_EPOCH_NOTE)
                partial = None
        layout = memory_format(device, self.fast)
        test = self._prepare_test(data, config, device, layout)

        torch.manual_seed(config.seed)
        model = build_model(config.model)
        if not self.fast and hasattr(model, "lowered"):
            # A plain attribute: Module.__setattr__ is typed for tensors and modules only.
            model.lowered = False  # type: ignore[assignment]
        # Module.to accepts a device with memory_format at run time; its typed overloads do not.
        model = model.to(device, memory_format=layout)  # type: ignore[call-overload]
        optimizer = make_optimizer(model, config, device, self.fast)
        shuffle_gen = torch.Generator().manual_seed(config.seed)
        noise_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
        records: list[dict[str, Any]] = []
        start_epoch = 1
        position: _Position | None = None

        # A mid-epoch checkpoint holds all that checkpoint.pt does, as it stood when it stopped.
        resumed = partial if partial is not None else state
        if resumed is not None:
            model.load_state_dict(resumed["model"])
            load_optimizer_state(optimizer, resumed["optimizer"])
            shuffle_gen.set_state(resumed["rng"]["shuffle"])
            records = list(resumed["metrics"])
            start_epoch = int(resumed["epoch"]) + 1
            restored = _restore_noise(noise_gen, resumed["rng"], config.seed + 1 + start_epoch)
            if restored:
                yield Notice(restored)
            if resumed.get("source") and resumed["source"] != data.source:
                yield Notice(f"the run trained on {resumed['source']} data; now it reads {data.source}")
        elif self.run_dir is None:
            self.run_dir = ckpt.new_run_dir(self.runs_dir or ckpt.default_runs_dir(), config)
            self._own_folder(self.run_dir)
        if partial is not None:
            place = partial["partial"]
            position = _Position(
                place["epoch"],
                place["batch"],
                batches,
                place["perm"],
                place["loss_sum"],
                place["losses"],
                place["seen"],
                float(place["seconds"]),
            )
            global_rng = partial["rng"].get("torch")
            if isinstance(global_rng, torch.Tensor):  # nothing draws from it today; restored all the same
                torch.set_rng_state(global_rng)
        assert self.run_dir is not None  # a resume found its folder in _resolve_config, a new run made one
        # Lock and status first: a reader that finds config.json must also find them, or it would
        # take a new run for an old one that never finished.
        self._epochs_done = start_epoch - 1
        assert self._marker is not None
        self._marker.epochs = config.epochs
        self._marker.start(self._epochs_done)
        ckpt.write_config(self.run_dir, config)
        ckpt.write_metrics(self.run_dir, records)
        recorder, worst = SampleRecorder(self.run_dir), WorstRecorder(self.run_dir)

        yield RunStarted(
            config=config,
            run_dir=str(self.run_dir),
            source=data.source,
            source_detail=data.detail,
            dataset_label=dataset_label,
            device=str(device),
            train_size=n,
            test_size=len(test.clean),
            batches_per_epoch=batches,
            start_epoch=start_epoch,
            parameters=count_parameters(model),
            threads=threads,
            resumed_from=str(self.resume_path) if self.resume_path else None,
            earlier=tuple((r["epoch"], r["train_mse"], r["test_mse"]) for r in records),
            start_batch=position.batch if position is not None else 0,
        )
        sample_idx = pick_sample_indices(data.test.labels, 8)
        samples = self._samples(model, test, sample_idx, data, start_epoch - 1)
        if position is None:  # mid-epoch weights are not the finished epoch's: its pictures stay
            recorder.record(samples)
        yield samples

        step = make_train_step(model, optimizer, device, config.batch_size, self.fast, config.loss)
        loop = _Loop(config, train_images, step, layout, shuffle_gen, noise_gen, batches, resume_at=position)
        board = device_name(device)
        for epoch in range(start_epoch, config.epochs + 1):
            _schedule_lr(model, optimizer, config, epoch)
            reset_peak_memory(device)
            trained = yield from self._train_one_epoch(loop, epoch)
            if trained is None:
                kept = yield from self._keep_partial(
                    loop, model, optimizer, records, device, data.source, dataset_label, position
                )
                yield RunStopped(str(self.run_dir), epoch - 1, batch=kept, batches=batches)
                return
            train_mse, train_seconds, paused_s = trained
            per_mse, per_ssim = evaluate_scores(model, test.clean, test.noisy)
            test_mse = per_mse.mean().item()
            test_ssim = per_ssim.mean().item()  # type: ignore[union-attr]
            class_psnr, class_ssim = per_class_scores(per_mse, per_ssim, test.labels, CLASS_COUNT)  # type: ignore[arg-type]
            if not math.isfinite(test_mse):
                raise LossNotFinite(f"the test loss became {_name(test_mse)} after epoch {epoch}")
            refused = self.keep_epoch(epoch) if self.keep_epoch is not None else None
            if refused:
                raise EpochRefused(refused)
            epoch_seconds = time.perf_counter() - loop.epoch_start - paused_s
            loop.eval_seconds = max(0.0, epoch_seconds - train_seconds)
            path = self.run_dir / ckpt.CHECKPOINT_NAME
            end = EpochEnd(
                epoch=epoch,
                epochs=config.epochs,
                train_mse=train_mse,
                test_mse=test_mse,
                test_psnr=psnr_from_mse(test_mse),
                noisy_psnr=test.noisy_psnr,
                test_ssim=test_ssim,
                noisy_ssim=test.noisy_ssim,
                seconds=epoch_seconds,
                images_per_s=n / max(train_seconds, 1e-9),
                checkpoint=str(path),
                device_name=board,
                peak_memory_mb=peak_memory_mb(device),
                class_psnr=class_psnr,
                class_ssim=class_ssim,
            )
            records.append(end.to_json(config.dataset, data.source))
            ckpt.save_checkpoint(
                path,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "config": config.to_dict(),
                    "epoch": epoch,
                    "metrics": records,
                    "rng": {
                        "shuffle": shuffle_gen.get_state(),
                        "noise": noise_gen.get_state(),
                        "noise_device": device.type,
                    },
                    "source": data.source,
                    "dataset_label": dataset_label,
                },
            )
            ckpt.write_metrics(self.run_dir, records)
            # Before the epoch's event: a dashboard reads them when it sees the epoch end.
            worst.record(self._worst(model, test, per_mse, epoch))
            self._epochs_done = epoch
            position = None
            gone = self._drop_partial()
            if gone:
                yield Notice(gone)
            yield end
            samples = self._samples(model, test, sample_idx, data, epoch)
            recorder.record(samples)
            yield samples

        best = best_epoch((r["epoch"], r["test_mse"]) for r in records)
        yield RunFinished(str(self.run_dir), config.epochs, best[1] if best else None)

    def _read_partial(
        self, config: TrainConfig, state: dict[str, Any] | None
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """The resumed run's mid-epoch checkpoint when there is one that continues `state`
        (checkpoint.pt's; None: no epoch finished), and the notes to show: why one there is not
        used (the run then goes on from checkpoint.pt, as without one)."""
        if self.resume_path is None or self.run_dir is None:
            return None, []
        path = self.run_dir / PARTIAL_NAME
        if not os.path.lexists(path):
            return None, []
        notes: list[str] = []
        try:
            partial = ckpt.load_partial(path, notes)
        except ckpt.CheckpointError as err:
            return None, [self._partial_refused(str(err), state, named=False)]
        why = _partial_mismatch(partial, config, state)
        if why:
            return None, [self._partial_refused(why, state)]
        return partial, notes

    def _partial_refused(self, why: str, state: dict[str, Any] | None, named: bool = True) -> str:
        """The one line for a mid-epoch checkpoint not used: the file, why, and where the run goes on."""
        assert self.run_dir is not None
        epoch = int(state["epoch"]) + 1 if state is not None else 1
        head = f"{self.run_dir / PARTIAL_NAME}: not used, {why}" if named else why
        return f"{head}; epoch {epoch} starts again from its first batch"

    def _keep_partial(
        self,
        loop: _Loop,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        records: list[dict[str, Any]],
        device: torch.device,
        source: str,
        dataset_label: str,
        resumed: _Position | None,
    ) -> Generator[Event, None, int]:
        """Save the stopped epoch's place (partial.pt); the batches it keeps (0: none).

        A full disk, or a loss gone NaN, keeps what was there and says so in one line: the stop
        itself never fails. What a mid-epoch checkpoint read at this session's start holds stays
        usable when nothing newer could be written."""
        assert self.run_dir is not None
        place, loop.stopped_at = loop.stopped_at, None
        earlier = resumed.batch if resumed is not None and resumed.epoch == self._epochs_done + 1 else 0
        if place is None:
            return earlier
        if place.on_disk:
            return place.batch
        loss = place.loss_sum.item()
        if not math.isfinite(loss):
            yield Notice(
                f"epoch {place.epoch}'s {place.batch} batches are not kept: the loss became "
                f"{_name(loss)} at batch {place.batch} or before"
            )
            return earlier
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "config": loop.config.to_dict(),
            "epoch": place.epoch - 1,
            "metrics": records,
            "rng": {
                "shuffle": loop.shuffle_gen.get_state(),
                "noise": loop.noise_gen.get_state(),
                "noise_device": device.type,
                "torch": torch.get_rng_state(),
            },
            "source": source,
            "dataset_label": dataset_label,
            "partial": place.to_state(),
        }
        try:
            ckpt.save_partial(self.run_dir / PARTIAL_NAME, state)
        except OSError as err:
            yield Notice(f"{err}; epoch {place.epoch}'s {place.batch} batches are not kept")
            return earlier
        return place.batch

    def _drop_partial(self) -> str | None:
        """Remove partial.pt once the epoch it held has ended (checkpoint.pt is newer); the one
        line to show when it cannot go (a resume then passes over it: it names another epoch)."""
        assert self.run_dir is not None
        try:
            ckpt.remove_partial(self.run_dir)
        except OSError as err:
            return (
                f"cannot remove {self.run_dir / PARTIAL_NAME} ({err.strerror or err}); "
                "a resume passes over it, as it belongs to a finished epoch"
            )
        return None

    @staticmethod
    def _prepare_test(
        data: LoadedData, config: TrainConfig, device: torch.device, layout: torch.memory_format
    ) -> _TestSet:
        clean = _as_float(data.test.images)
        noisy = fixed_noise(clean, config.noise, config.noise_factor, config.clamp)
        return _TestSet(
            clean.to(device, memory_format=layout),
            noisy.to(device, memory_format=layout),
            *input_scores(clean, noisy),
            labels=data.test.labels.to(device),
        )

    @staticmethod
    def _worst(model: torch.nn.Module, test: _TestSet, per_mse: torch.Tensor, epoch: int) -> Samples:
        """The `WORST_COUNT` test pictures of lowest PSNR (highest MSE) after `epoch`, worst first;
        of equal MSE, the earlier picture (a stable order, so a resumed run picks the same)."""
        idx = torch.sort(per_mse.float().cpu(), descending=True, stable=True).indices[:WORST_COUNT].tolist()
        with _inference(model):
            denoised = model(test.noisy[idx])
        labels = test.labels[idx].tolist()
        return make_samples(epoch, idx, labels, test.clean[idx], test.noisy[idx], denoised)

    @staticmethod
    def _samples(model: torch.nn.Module, test: _TestSet, idx: list[int], data: LoadedData, epoch: int) -> Samples:
        with _inference(model):
            denoised = model(test.noisy[idx])
        labels = [int(data.test.labels[i]) for i in idx]
        return make_samples(epoch, idx, labels, test.clean[idx], test.noisy[idx], denoised)
