"""K models of one architecture trained as one: one forward, backward and optimizer step for all.

    optimizer = make_pack_optimizer(models, configs, device)   # one Adam, a param group a member
    step = make_pack_step(models, optimizer, device, batch_size)
    mse = step(noisy, clean)      # (K, B, 1, 28, 28) each -> the K members' batch MSEs, (K,)

The members stay ordinary modules with their own parameters, which are the optimizer's leaves:
each step stacks them (`torch.stack`, differentiable) and runs the architecture once under
`torch.func.vmap`, which turns every convolution into one grouped convolution over the members
and every matrix product into one batched product. The objective is the sum of the members'
own losses, so each member's gradient is exactly its own loss's.

Per-member rates: Adam gets one param group a member, with that member's learning rate and
weight decay (torch.optim's per-group hyperparameters; fused, one kernel a group). One stacked
leaf for all members could take only one rate: torch.optim's `lr` is a float or a one-element
tensor. So a member's optimizer state is a solo run's, and `member_optimizer_state` gives the
state dict a solo Adam loads (a member's checkpoint resumes with `dae-tui train --resume`).

BatchNorm's running statistics live stacked here while the pack trains (vmap updates them in
place) and `sync()` copies them back into the members before anything reads one (its test pass,
pictures, checkpoint). On CUDA a full batch is one replayed CUDA graph, as a solo run's step is.

May import torch, `dae_tui.core` and `dae_tui.runs`; never textual, rich or optuna.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.func import functional_call, vmap

from dae_tui.core.config import TrainConfig
from dae_tui.training.steps import CudaGraphStep, EagerStep, losses

__all__ = ["PackedStep", "drop_member", "make_pack_optimizer", "make_pack_step", "member_optimizer_state"]


def make_pack_optimizer(
    models: list[nn.Module], configs: list[TrainConfig], device: torch.device, fast: bool = True
) -> torch.optim.Adam:
    """One Adam over every member, member k's parameters in param group k with its own lr and
    weight decay; the same forms as `steps.make_optimizer` (fused, capturable on CUDA)."""
    groups: list[dict[str, Any]] = [
        {"params": list(model.parameters()), "lr": config.lr, "weight_decay": config.weight_decay}
        for model, config in zip(models, configs, strict=True)
    ]
    if not fast:
        return torch.optim.Adam(groups)
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(groups, fused=True, capturable=device.type == "cuda")
        except (RuntimeError, TypeError, ValueError):
            pass  # an older torch without fused Adam on this device
    return torch.optim.Adam(groups, foreach=True)


def member_optimizer_state(optimizer: torch.optim.Optimizer, k: int) -> dict[str, Any]:
    """Param group k's part of `optimizer`'s state dict, numbered as a solo run's Adam numbers it."""
    full = optimizer.state_dict()
    group = full["param_groups"][k]
    state = {i: full["state"][index] for i, index in enumerate(group["params"]) if index in full["state"]}
    return {"state": state, "param_groups": [{**group, "params": list(range(len(group["params"])))}]}


def drop_member(optimizer: torch.optim.Optimizer, k: int) -> None:
    """Forget param group k and its state: the pack trains on without that member."""
    group = optimizer.param_groups.pop(k)
    for param in group["params"]:
        optimizer.state.pop(param, None)


class PackedStep(EagerStep):
    """The members' step as one: stacked parameters, the architecture once under vmap.

    Reports each member's batch MSE (K,), whichever loss it minimises."""

    batch_dim = 1

    def __init__(self, models: list[nn.Module], optimizer: torch.optim.Optimizer, loss: str = "mse") -> None:
        super().__init__(models[0], optimizer, loss)
        self.models = list(models)
        self._names = [name for name, _ in models[0].named_parameters()]
        self._buffers: dict[str, torch.Tensor] = {}
        self._stack_buffers()

        def member(
            params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], noisy: torch.Tensor, clean: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            # The first member's module is the template: functional_call runs it on each member's
            # tensors, so the members' own forward code (the lowered 7x7 layers and all) runs.
            return losses(functional_call(self.model, (params, buffers), (noisy,)), clean, self.loss)

        self._vmapped = vmap(member)

    def _stack_buffers(self) -> None:
        names = [name for name, _ in self.models[0].named_buffers()]
        own = [dict(model.named_buffers()) for model in self.models]
        self._buffers = {name: torch.stack([b[name] for b in own]) for name in names}

    def objective(self, noisy: torch.Tensor, clean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        own = [dict(model.named_parameters()) for model in self.models]
        params = {name: torch.stack([p[name] for p in own]) for name in self._names}
        objectives, mse = self._vmapped(params, self._buffers, noisy, clean)
        return objectives.sum(), mse.detach()

    def sync(self) -> None:
        """The stacked running statistics back into the members' own buffers."""
        with torch.no_grad():
            for k, model in enumerate(self.models):
                for name, buffer in model.named_buffers():
                    buffer.copy_(self._buffers[name][k])

    def drop(self, k: int) -> None:
        """Train on without member k (pruned or failed): its buffers synced first, its Adam group gone."""
        self.sync()
        drop_member(self.optimizer, k)
        del self.models[k]
        if self.models:
            self.model = self.models[0]
            self._stack_buffers()


class PackedGraphStep(CudaGraphStep):
    """`PackedStep` captured as one CUDA graph for a full batch of every member, as a solo run's
    step is (`steps.CudaGraphStep`); a short batch, or a pack that lost a member, captures anew."""

    def __init__(self, packed: PackedStep, batch_size: int) -> None:
        super().__init__(packed.model, packed.optimizer, batch_size, packed.loss, eager=packed)
        self.packed = packed

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        return self.packed.optimizer

    def sync(self) -> None:
        self.packed.sync()

    def drop(self, k: int) -> None:
        self.packed.drop(k)
        self.graph = None  # its tensors were the old pack's


def make_pack_step(
    models: list[nn.Module],
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    batch_size: int,
    fast: bool = True,
    loss: str = "mse",
) -> PackedStep | PackedGraphStep:
    """The fastest correct packed step for the device: a CUDA graph on CUDA, eager elsewhere."""
    packed = PackedStep(models, optimizer, loss)
    capturable = all(group.get("capturable") for group in optimizer.param_groups)
    if fast and device.type == "cuda" and capturable:
        return PackedGraphStep(packed, batch_size)
    return packed
