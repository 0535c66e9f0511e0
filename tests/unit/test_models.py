"""Every model keeps the contract in `dae_tui.training.models` (issue 11): shapes, [0, 1] outputs,
encode/decode, its stated parameter count, a portable state dict, its schedule, and it learns."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
import torch

from dae_tui.core.architectures import MODEL_SPECS
from dae_tui.core.config import MODEL_PARAMETERS, MODELS
from dae_tui.core.events import EpochEnd, RunFinished
from dae_tui.training import checkpoints as ckpt
from dae_tui.training.models import MODELS as BUILDERS
from dae_tui.training.models import build_model, count_parameters
from dae_tui.training.trainer import Trainer


def batch(n: int = 5, dtype=torch.float32) -> torch.Tensor:
    return torch.rand((n, 1, 28, 28), generator=torch.Generator().manual_seed(3), dtype=dtype)


def test_the_registry_and_the_config_name_the_same_models():
    assert set(BUILDERS) == set(MODELS) == set(MODEL_PARAMETERS)


@pytest.mark.parametrize("name", list(MODELS))
def test_a_model_maps_images_to_images_in_0_1_through_encode_and_decode(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    x = batch()
    with torch.no_grad():
        out = model(x)
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
        assert torch.equal(model.decode(model.encode(x)), out)
    assert count_parameters(model) == MODEL_PARAMETERS[name]


@pytest.mark.parametrize("name", list(MODELS))
def test_every_weighted_layer_is_the_one_its_spec_describes(name):
    """The torch-free figures the count comes from are the built model's, layer by layer."""
    model = build_model(name)
    spec = MODEL_SPECS[name]
    weighted = [place for place, module in model.named_modules() if list(module.parameters(recurse=False))]
    assert weighted == list(spec.layers)
    kinds = {"conv": torch.nn.Conv2d, "conv_t": torch.nn.ConvTranspose2d, "norm": torch.nn.BatchNorm2d}
    for place, layer in spec.layers.items():
        module = model.get_submodule(place)
        assert type(module) is kinds[layer.kind], place
        assert sum(p.numel() for p in module.parameters()) == layer.parameters, place
        if layer.kind == "norm":
            assert module.num_features == layer.out_channels, place
            continue
        assert (
            module.in_channels,
            module.out_channels,
            module.kernel_size,
            module.stride,
            module.padding,
            module.bias is not None,
        ) == (
            layer.in_channels,
            layer.out_channels,
            (layer.kernel,) * 2,
            (layer.stride,) * 2,
            (layer.padding,) * 2,
            layer.bias,
        ), place
        if layer.kind == "conv_t":
            assert module.output_padding == (layer.output_padding,) * 2, place
    assert spec.parameters == MODEL_PARAMETERS[name]


@pytest.mark.parametrize("name", list(MODELS))
def test_a_state_dict_saved_on_one_device_loads_on_another(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    again = build_model(name).eval()
    again.load_state_dict(torch.load(buffer, map_location="cpu", weights_only=True))
    with torch.no_grad():
        assert torch.equal(model(batch()), again(batch()))
    # Plain tensors only: nothing device-bound or pickled besides weights and BatchNorm's buffers.
    assert all(isinstance(v, torch.Tensor) for v in again.state_dict().values())


@pytest.mark.parametrize("name", list(MODELS))
def test_the_fast_layout_matches_the_plain_one_in_float64(name):
    """The engine trains channels-last on CPU (its fast path); the sums must be the same."""
    torch.manual_seed(0)
    model = build_model(name).double().eval()
    x = batch(dtype=torch.float64)
    with torch.no_grad():
        plain = model(x)
        fast = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(plain, fast, atol=1e-12, rtol=0)


@pytest.mark.slow
def test_unet_carries_its_schedule_and_the_trainer_applies_it(tiny_config, tmp_path):
    model = build_model("unet")
    assert model.lr_factor(1, 10) == 2.0 and model.lr_factor(10, 10) < 0.05
    assert [round(model.lr_factor(e, 2), 6) for e in (1, 2)] == [2.0, 1.0]
    config = replace(tiny_config, model="unet", epochs=1)
    events = list(Trainer(config, runs_dir=tmp_path).run())
    state = ckpt.load_checkpoint(ckpt.find_checkpoint(events[-1].run_dir))
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(2 * config.lr)


@pytest.mark.slow
def test_unet_learns_in_a_short_run(tiny_config, tmp_path):
    config = replace(tiny_config, model="unet", train_limit=512, epochs=3)
    events = list(Trainer(config, runs_dir=tmp_path).run())
    assert isinstance(events[-1], RunFinished)
    ends = [e for e in events if isinstance(e, EpochEnd)]
    assert ends[-1].test_mse < ends[0].test_mse and ends[-1].test_psnr > ends[-1].noisy_psnr
