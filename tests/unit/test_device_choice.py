"""`--device cuda:N` judged by the GPUs there (issue 21): one rule in core (`device_problem`), the
GPUs from NVML through CUDA_VISIBLE_DEVICES (`system.gpus`), `dae-tui train` refusing a GPU the
machine lacks in one line naming those it has (exit 2) before torch loads. No GPU here: readings
are the sampler's dataclasses, and DAE_TUI_GPU_COUNT (the test hook) fakes a box's count."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers.machine import two_gpus

from dae_tui.cli import main
from dae_tui.core.config import GpuChoice, TrainConfig, device_problem, read_config
from dae_tui.system.gpus import FAKED_NAME, GPU_COUNT_ENV, choices_of, cuda_choices
from dae_tui.system.sampler import NO_GPU, SystemSample, unavailable

H200 = GpuChoice(0, "NVIDIA H200", 127 * 2**30)


def test_one_rule_for_every_device():
    for device in ("auto", "cpu", "mps", "cuda", "cuda:0"):
        assert device_problem(device, [H200]) is None
        assert device_problem(device, None) is None  # NVML could not say: torch judges at the start
    assert device_problem("cuda:3", [H200]) == (
        "must be auto, cpu, cuda or a GPU this machine has: cuda:0 (H200, 127 GB free) (got 'cuda:3')"
    )
    assert device_problem("cuda", []) == "must be auto or cpu: no NVIDIA GPU is visible here (got 'cuda')"
    assert device_problem("cpu", []) is None and device_problem("auto", []) is None
    # The validator says it with the field's flag; without the GPUs, only the form of the name counts.
    assert [str(e) for e in TrainConfig(device="cuda:3").validate([H200])] == [
        "--device must be auto, cpu, cuda or a GPU this machine has: cuda:0 (H200, 127 GB free) (got 'cuda:3')"
    ]
    assert TrainConfig(device="cuda:3").validate() == []
    config, errors = read_config({"device": "cuda:1"}, gpus=[H200, GpuChoice(1, "Tesla T4")])
    assert config is not None and config.device == "cuda:1" and not errors
    _, errors = read_config({"device": "tpu"}, gpus=[H200])  # a bad name is the usual message, said once
    assert [e.field for e in errors] == ["device"] and "cuda:N" in errors[0].message


def test_the_gpus_are_numbered_as_cuda_visible_devices_numbers_them():
    sample = two_gpus()
    assert [(g.number, g.free) for g in choices_of(sample, {}) or ()] == [(0, 128 * 2**30), (1, 128 * 2**30)]
    assert [g.number for g in choices_of(sample, {"CUDA_VISIBLE_DEVICES": "1"}) or ()] == [0]
    assert [g.note for g in choices_of(sample, {"CUDA_VISIBLE_DEVICES": "1,0"}) or ()] == ["H200, 128 GB free"] * 2
    assert choices_of(sample, {"CUDA_VISIBLE_DEVICES": "1,7,0"}) == choices_of(sample, {"CUDA_VISIBLE_DEVICES": "1"})
    assert choices_of(sample, {"CUDA_VISIBLE_DEVICES": "-1"}) == ()
    assert choices_of(sample, {"CUDA_VISIBLE_DEVICES": ""}) == ()
    assert choices_of(sample, {"CUDA_VISIBLE_DEVICES": "GPU-8f6e"}) is None  # UUIDs: cannot tell
    assert choices_of(SystemSample(gpu_note=NO_GPU), {}) == ()
    assert choices_of(SystemSample(gpu_note=unavailable("driver not loaded")), {}) is None


def test_the_test_hook_fakes_a_box():
    assert cuda_choices({GPU_COUNT_ENV: "2"}) == (GpuChoice(0, FAKED_NAME), GpuChoice(1, FAKED_NAME))
    real = cuda_choices({})
    assert real is None or all(isinstance(g, GpuChoice) for g in real)


def test_train_refuses_a_gpu_the_machine_lacks_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(GPU_COUNT_ENV, "1")
    assert main(["train", "--device", "cuda:3", "--epochs", "1", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"dae-tui train: error: --device must be auto, cpu, cuda or a GPU this machine has: cuda:0 ({FAKED_NAME}) "
        "(got 'cuda:3')\n"
    )
    assert not list(tmp_path.iterdir())  # no run folder


@pytest.mark.slow
def test_train_says_so_before_torch_loads(tmp_path):
    code = (
        "import sys; from dae_tui.cli import main;"
        f"code = main(['train', '--device', 'cuda:3', '--runs-dir', {str(tmp_path)!r}]);"
        "print(code, 'torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={GPU_COUNT_ENV: "1", "PATH": ""}
    )
    assert done.stdout.split() == ["2", "False"], done.stderr
    assert len(done.stderr.splitlines()) == 1 and "cuda:0" in done.stderr
