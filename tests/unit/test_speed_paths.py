"""The engine's fast paths compute what the plain ones do: lowered layers, fused Adam, CUDA graphs.

Device-agnostic: everything runs on CPU here; the CUDA-graph tests run where CUDA is available
(the GPU benchmark machine) and are skipped elsewhere.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from dae_tui.core.config import TrainConfig
from dae_tui.core.events import EpochEnd, Notice, RunFinished, RunStarted
from dae_tui.training import checkpoints as ckpt
from dae_tui.training.models import SeedAutoencoder
from dae_tui.training.steps import (
    CudaGraphStep,
    EagerStep,
    load_optimizer_state,
    make_optimizer,
    make_train_step,
    memory_format,
)
from dae_tui.training.trainer import Trainer

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="CUDA is not available here")


def _pair(seed: int = 0) -> tuple[SeedAutoencoder, SeedAutoencoder]:
    torch.manual_seed(seed)
    lowered = SeedAutoencoder().double()
    plain = SeedAutoencoder().double()
    plain.load_state_dict(lowered.state_dict())
    plain.lowered = False
    return lowered, plain


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_lowered_model_computes_the_sequential_function_and_gradients(layout):
    lowered, plain = _pair()
    lowered = lowered.to(memory_format=layout)
    x = torch.rand(6, 1, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    out_fast = lowered(x.contiguous(memory_format=layout))
    out_plain = plain(x)
    assert out_fast.shape == out_plain.shape == (6, 1, 28, 28)
    torch.testing.assert_close(out_fast, out_plain, rtol=0, atol=1e-12)
    torch.testing.assert_close(lowered.encode(x), plain.encode(x), rtol=0, atol=1e-12)
    grads_fast = torch.autograd.grad(out_fast.square().sum(), list(lowered.parameters()))
    grads_plain = torch.autograd.grad(out_plain.square().sum(), list(plain.parameters()))
    for fast, slow in zip(grads_fast, grads_plain, strict=True):
        torch.testing.assert_close(fast, slow, rtol=1e-10, atol=1e-12)


def test_lowered_model_keeps_the_state_dict_of_the_plain_one():
    lowered, plain = _pair()
    assert list(lowered.state_dict()) == list(plain.state_dict())
    assert [v.shape for v in lowered.state_dict().values()] == [v.shape for v in plain.state_dict().values()]


def test_cpu_uses_channels_last_fused_adam_and_the_eager_step():
    cpu = torch.device("cpu")
    model = SeedAutoencoder()
    optimizer = make_optimizer(model, TrainConfig(), cpu)
    group = optimizer.param_groups[0]
    assert group["fused"] and not group["capturable"]
    assert (group["lr"], group["weight_decay"]) == (1e-3, 1e-5)
    assert isinstance(make_train_step(model, optimizer, cpu, 64), EagerStep)
    assert memory_format(cpu) == torch.channels_last
    assert memory_format(cpu, fast=False) == torch.contiguous_format
    plain = make_optimizer(model, TrainConfig(), cpu, fast=False)
    assert not plain.param_groups[0]["fused"]


def test_fused_adam_steps_like_the_default_adam():
    torch.manual_seed(0)
    a, b = SeedAutoencoder(), SeedAutoencoder()
    b.load_state_dict(a.state_dict())
    opt_a = make_optimizer(a, TrainConfig(), torch.device("cpu"))
    opt_b = make_optimizer(b, TrainConfig(), torch.device("cpu"), fast=False)
    x = torch.rand(8, 1, 28, 28)
    for model, opt in ((a, opt_a), (b, opt_b)):
        step = EagerStep(model, opt)
        for _ in range(3):
            step(x, x)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-6)


def test_optimizer_state_from_another_device_keeps_our_flags():
    """A checkpoint written on CUDA (fused + capturable, step on the device) resumes on a CPU."""
    model = SeedAutoencoder()
    opt = make_optimizer(model, TrainConfig(), torch.device("cpu"), fast=False)
    EagerStep(model, opt)(torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28))
    saved = opt.state_dict()
    for group in saved["param_groups"]:
        group.update(fused=True, capturable=True)  # as written by the CUDA optimizer
    fresh = make_optimizer(model, TrainConfig(), torch.device("cpu"), fast=False)
    load_optimizer_state(fresh, saved)
    group = fresh.param_groups[0]
    assert not group["fused"] and not group["capturable"]
    assert all(s["step"].device.type == "cpu" for s in fresh.state.values())
    EagerStep(model, fresh)(torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28))  # and it steps
    assert int(next(iter(fresh.state.values()))["step"]) == 2


@pytest.mark.slow
def test_fast_and_plain_training_reach_the_same_quality(tiny_config, tmp_path):
    """The issue's guard: the optimisations may not move test PSNR by more than 0.3 dB."""
    config = replace(tiny_config, train_limit=1024, batch_size=64, epochs=2)
    results = {}
    for fast in (True, False):
        events = list(Trainer(config, runs_dir=tmp_path / str(fast), fast=fast).run())
        assert isinstance(events[-1], RunFinished)
        results[fast] = [e.test_psnr for e in events if isinstance(e, EpochEnd)]
    assert results[True][-1] > results[True][0] > 0
    for fast_psnr, plain_psnr in zip(results[True], results[False], strict=True):
        assert abs(fast_psnr - plain_psnr) <= 0.3
    # In practice they differ only by float rounding.
    assert abs(results[True][-1] - results[False][-1]) < 0.01


@pytest.mark.slow
@pytest.mark.parametrize("mark_device", [True, False])
def test_a_checkpoint_whose_noise_state_is_from_another_device_resumes_with_a_notice(
    tiny_config, tmp_path, mark_device
):
    """What a CUDA run resumed on a CPU meets: a 16-byte Philox state the CPU generator refuses."""
    config = replace(tiny_config, device="cpu", epochs=1)
    events = list(Trainer(config, runs_dir=tmp_path).run())
    run_dir = events[-1].run_dir
    path = ckpt.find_checkpoint(run_dir)
    state = ckpt.load_checkpoint(path)
    state["rng"]["noise"] = torch.cuda.default_generators[0].get_state() if CUDA else torch.zeros(16, dtype=torch.uint8)
    if mark_device:
        state["rng"]["noise_device"] = "cuda"
    else:
        del state["rng"]["noise_device"]  # as in checkpoints written before it was recorded
    ckpt.save_checkpoint(path, state)
    resumed = list(Trainer(resume=run_dir, overrides={"epochs": 2}).run())
    assert isinstance(resumed[-1], RunFinished), resumed[-1]
    notes = [e.text for e in resumed if isinstance(e, Notice)]
    assert len(notes) == 1 and notes[0].startswith("the noise stream restarts: it was saved on ")
    assert ("cuda" if mark_device else "another kind of device") in notes[0]
    assert isinstance(resumed[0], Notice) and isinstance(resumed[1], RunStarted)
    assert [e.epoch for e in resumed if isinstance(e, EpochEnd)] == [2]


@needs_cuda
def test_cuda_graph_step_trains_exactly_like_the_eager_step():
    cuda = torch.device("cuda")
    torch.manual_seed(0)
    a = SeedAutoencoder().to(cuda)
    b = SeedAutoencoder().to(cuda)
    b.load_state_dict(a.state_dict())
    opt_a = make_optimizer(a, TrainConfig(), cuda)
    opt_b = make_optimizer(b, TrainConfig(), cuda)
    graphed = make_train_step(a, opt_a, cuda, 16)
    eager = EagerStep(b, opt_b)
    assert isinstance(graphed, CudaGraphStep)
    gen = torch.Generator(device=cuda).manual_seed(5)
    batches = [torch.rand(16, 1, 28, 28, device=cuda, generator=gen) for _ in range(4)]
    batches.append(torch.rand(8, 1, 28, 28, device=cuda, generator=gen))  # a short last batch
    batches.append(torch.rand(16, 1, 28, 28, device=cuda, generator=gen))
    for x in batches:
        loss_graph = graphed(x, x)
        loss_eager = eager(x, x)
        torch.testing.assert_close(loss_graph, loss_eager, rtol=1e-4, atol=1e-6)
    assert graphed.graph is not None
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)
    assert int(opt_a.state[next(a.parameters())]["step"]) == len(batches)


@needs_cuda
def test_a_cuda_run_resumes_on_the_cpu(tiny_config, tmp_path):
    config = replace(tiny_config, device="cuda", epochs=1)
    events = list(Trainer(config, runs_dir=tmp_path).run())
    assert isinstance(events[-1], RunFinished), events[-1]
    run_dir = events[-1].run_dir
    resumed = list(Trainer(resume=run_dir, overrides={"epochs": 2, "device": "cpu"}).run())
    assert isinstance(resumed[-1], RunFinished), resumed[-1]
    assert [e.epoch for e in resumed if isinstance(e, EpochEnd)] == [2]


@pytest.mark.slow
def test_preload_pays_the_lazy_imports_of_the_first_step():
    code = (
        "import sys; from dae_tui.training.steps import preload; "
        "assert 'torch._dynamo' not in sys.modules; preload(); assert 'torch._dynamo' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
