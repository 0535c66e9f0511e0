"""One optimisation step, made as fast as the device allows, and the optimizer it steps.

    optimizer = make_optimizer(model, config, device)
    step = make_train_step(model, optimizer, device, batch_size)
    loss = step(noisy, clean)        # the batch's MSE, a 0-dim tensor on the device; reading it syncs

On CUDA a full batch runs as one replayed CUDA graph (forward, backward and Adam together: about
80 kernel launches become one); other batch sizes, and every other device, run eagerly. Both paths
do the same arithmetic on the same parameters, so a run may move between them (resume on another
device) and checkpoints stay plain state dicts.

May import torch, `dae_tui.core` and `dae_tui.runs`; never textual, rich or optuna.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from dae_tui.core.config import TrainConfig

__all__ = [
    "CudaGraphStep",
    "EagerStep",
    "load_optimizer_state",
    "losses",
    "make_optimizer",
    "make_train_step",
    "memory_format",
    "preload",
]

_GROUP_FLAGS = ("fused", "foreach", "capturable")
_WARMUP_STEPS = 3


def preload() -> None:
    """Pay torch's one-off lazy imports now rather than in a run's first step.

    The first optimizer step imports torch._dynamo (and triton where installed), a pause of its
    own (benchmarks/NOTES.md, "Preload torch's lazy imports").
    The dashboard calls this while it loads the engine in the background, so that Start trains
    at once. Tiny tensors: no OpenMP thread pool is started for the calling thread.
    """
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([weight])
    weight.sum().backward()
    optimizer.step()


def memory_format(device: torch.device, fast: bool = True) -> torch.memory_format:
    """Channels-last on CPU, where oneDNN's convolutions run faster in it (benchmarks/NOTES.md);
    default elsewhere."""
    return torch.channels_last if fast and device.type == "cpu" else torch.contiguous_format


def make_optimizer(
    model: torch.nn.Module, config: TrainConfig, device: torch.device, fast: bool = True
) -> torch.optim.Adam:
    """Adam with the config's lr and weight decay, in the fastest form the device has.

    Fused (one kernel for all parameters) on CPU and CUDA, capturable on CUDA so that its step can
    live inside a CUDA graph; the multi-tensor form elsewhere. Same update rule in every form;
    `fast=False` gives torch's default form.
    """
    params = list(model.parameters())
    kwargs: dict[str, Any] = {"lr": config.lr, "weight_decay": config.weight_decay}
    if not fast:
        return torch.optim.Adam(params, **kwargs)
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(params, fused=True, capturable=device.type == "cuda", **kwargs)
        except (RuntimeError, TypeError, ValueError):
            pass  # an older torch without fused Adam on this device
    return torch.optim.Adam(params, foreach=True, **kwargs)


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Load a saved optimizer state, keeping this optimizer's own implementation flags.

    A checkpoint written on CUDA says fused + capturable; loaded as is on a CPU it would ask the
    CPU for a capturable step. The moments and step counts carry over; the flags stay ours.
    """
    flags = [{k: group[k] for k in _GROUP_FLAGS if k in group} for group in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, own in zip(optimizer.param_groups, flags, strict=True):
        group.update(own)
        if not (own.get("fused") or own.get("capturable")):
            for param in group["params"]:
                step = optimizer.state.get(param, {}).get("step")
                if isinstance(step, torch.Tensor) and step.device.type != "cpu":
                    optimizer.state[param]["step"] = step.detach().to("cpu", torch.float32)


def losses(output: torch.Tensor, clean: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(the loss to minimise, the batch's MSE to report): the same tensor for `mse`. Reporting MSE
    whatever the loss keeps every run's curves on one scale."""
    mse = F.mse_loss(output, clean)
    if loss == "mse":
        return mse, mse
    if loss == "l1":
        return F.l1_loss(output, clean), mse.detach()
    raise ValueError(f"unknown loss {loss!r}")


class EagerStep:
    """forward, loss, backward, optimizer step: plain PyTorch, any device, any batch size.

    Returns the batch's MSE (the reported figure), whichever loss it minimises.
    """

    batch_dim = 0
    """The dimension of a batch that counts its images (a packed step's batches lead with members)."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss: str = "mse") -> None:
        self.model = model
        self.optimizer = optimizer
        self.loss = loss

    def objective(self, noisy: torch.Tensor, clean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(what backward starts from, what is reported): the forward pass and its loss."""
        return losses(self.model(noisy), clean, self.loss)

    def __call__(self, noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        objective, mse = self.objective(noisy, clean)
        self.optimizer.zero_grad(set_to_none=True)
        objective.backward()
        self.optimizer.step()
        return mse.detach()


class CudaGraphStep:
    """The eager step captured once as a CUDA graph and replayed for every batch of `batch_size`.

    Capture needs a few warm-up steps on a side stream (cuDNN picks its kernels, the allocator
    settles). They would train the model on the first batch three extra times, so the parameters
    and Adam's state are put back exactly as they were before the graph is recorded.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        batch_size: int,
        loss: str = "mse",
        eager: EagerStep | None = None,
    ) -> None:
        self.eager = eager or EagerStep(model, optimizer, loss)
        self.batch_size = batch_size
        self.graph: torch.cuda.CUDAGraph | None = None
        self._noisy: torch.Tensor | None = None
        self._clean: torch.Tensor | None = None
        self._loss: torch.Tensor | None = None
        self._lrs: list[float] = []

    def __call__(self, noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        if noisy.shape[self.eager.batch_dim] != self.batch_size:
            return self.eager(noisy, clean)  # the short last batch of an epoch
        lrs = [float(group["lr"]) for group in self.eager.optimizer.param_groups]
        if self.graph is None or lrs != self._lrs or noisy.shape != self._noisy.shape:  # type: ignore[union-attr]
            # A graph replays the learning rate it was captured with: a scheduled change
            # (once an epoch, from the model's lr_factor) is a new capture, and so is a pack that
            # lost a member (fewer members, other shapes).
            self._capture(noisy, clean)
            self._lrs = lrs
        assert self._noisy is not None and self._clean is not None and self._loss is not None
        self._noisy.copy_(noisy)
        self._clean.copy_(clean)
        self.graph.replay()  # type: ignore[union-attr]
        return self._loss.clone()  # the graph overwrites its output at the next replay

    def _capture(self, noisy: torch.Tensor, clean: torch.Tensor) -> None:
        optimizer = self.eager.optimizer
        self._noisy, self._clean = noisy.clone(), clean.clone()
        params = [p for group in optimizer.param_groups for p in group["params"]]
        saved_params = [p.detach().clone() for p in params]
        saved_state = {
            p: {k: v.clone() for k, v in optimizer.state[p].items() if isinstance(v, torch.Tensor)}
            for p in params
            if p in optimizer.state
        }

        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(_WARMUP_STEPS):
                self.eager(self._noisy, self._clean)
        torch.cuda.current_stream().wait_stream(side)

        with torch.no_grad():
            for param, before in zip(params, saved_params, strict=True):
                param.copy_(before)
            for param in params:
                for key, value in optimizer.state[param].items():
                    if not isinstance(value, torch.Tensor):
                        continue
                    if param in saved_state:
                        value.copy_(saved_state[param][key])
                    else:
                        value.zero_()  # a fresh Adam starts from zero moments and step 0

        optimizer.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            objective, mse = self.eager.objective(self._noisy, self._clean)
            objective.backward()
            optimizer.step()
        self._loss = mse.detach()
        self.graph = graph


def make_train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    batch_size: int,
    fast: bool = True,
    loss: str = "mse",
) -> EagerStep | CudaGraphStep:
    """The fastest correct step for the device: a CUDA graph on CUDA, eager elsewhere."""
    capturable = all(group.get("capturable") for group in optimizer.param_groups)
    if fast and device.type == "cuda" and capturable:
        return CudaGraphStep(model, optimizer, batch_size, loss)
    return EagerStep(model, optimizer, loss)
