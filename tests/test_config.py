"""The config: parsing text, judging values, and the messages users see."""

from __future__ import annotations

import pytest

from dae_tui.config import (
    FIELD_SPECS,
    ConfigError,
    FieldError,
    TrainConfig,
    config_from_strings,
    parse_field,
)


def test_defaults_are_the_reference_setup():
    c = TrainConfig()
    assert (c.batch_size, c.lr, c.weight_decay, c.epochs, c.seed) == (64, 1e-3, 1e-5, 10, 0)
    assert (c.noise, c.noise_factor, c.clamp, c.model, c.device) == ("gaussian", 0.5, False, "seed", "auto")
    assert c.validate() == []


def test_every_field_has_a_spec_and_round_trips_through_dict():
    c = TrainConfig(dataset="mnist", train_limit=100, clamp=True)
    assert TrainConfig.from_dict(c.to_dict()) == c
    assert TrainConfig.from_dict({**c.to_dict(), "from_the_future": 1}) == c
    assert set(FIELD_SPECS) == set(c.to_dict())


@pytest.mark.parametrize(
    "field, text, expected",
    [
        ("batch_size", "128", 128),
        ("lr", "3e-4", 3e-4),
        ("clamp", "yes", True),
        ("clamp", "off", False),
        ("dataset", "MNIST", "mnist"),
        ("train_limit", "", None),
        ("train_limit", "all", None),
        ("train_limit", "500", 500),
        ("device", "cuda:1", "cuda:1"),
        ("data_dir", "", None),
    ],
)
def test_parse_field_reads_text(field, text, expected):
    assert parse_field(field, text) == expected


@pytest.mark.parametrize(
    "field, text, words",
    [
        ("batch_size", "abc", ["--batch-size", "whole number from 1 to 8192", "'abc'"]),
        ("batch_size", "1.5", ["whole number"]),
        ("lr", "fast", ["--lr", "a number above 0 to 1"]),
        ("clamp", "maybe", ["--clamp", "true or false"]),
    ],
)
def test_unreadable_text_names_field_and_allowed(field, text, words):
    with pytest.raises(FieldError) as info:
        parse_field(field, text)
    for word in words:
        assert word in str(info.value)
    assert info.value.field == field


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"batch_size": 0}, "batch_size", ["from 1 to 8192", "got 0"]),
        ({"lr": 0.0}, "lr", ["above 0"]),
        ({"lr": float("nan")}, "lr", ["got nan"]),
        ({"weight_decay": -1e-3}, "weight_decay", ["from 0 to 1"]),
        ({"epochs": 0}, "epochs", ["from 1 to 10000"]),
        ({"noise_factor": 9.0}, "noise_factor", ["from 0 to 5"]),
        ({"dataset": "cifar"}, "dataset", ["one of mnist, fashion-mnist", "'cifar'"]),
        ({"source": "web"}, "source", ["auto, local, download, bundled"]),
        ({"model": "unet9"}, "model", ["one of seed"]),
        ({"device": "tpu"}, "device", ["cuda:N"]),
        ({"train_limit": 0}, "train_limit", ["or empty for all"]),
        ({"seed": -1}, "seed", ["from 0"]),
        ({"threads": -2}, "threads", ["from 0 to 1024"]),
        ({"data_dir": "/no/such/folder"}, "data_dir", ["existing folder", "/no/such/folder"]),
        ({"clamp": "yes"}, "clamp", ["true or false"]),
    ],
)
def test_validate_names_field_and_range(changes, field, words):
    errors = TrainConfig(**changes).validate()
    assert [e.field for e in errors] == [field]
    for word in words:
        assert word in errors[0].message


def test_config_from_strings_reports_every_bad_field_in_one_line():
    with pytest.raises(ConfigError) as info:
        config_from_strings({"epochs": "0", "batch_size": "x", "lr": "0.01"})
    message = str(info.value)
    assert "\n" not in message
    assert message.index("--batch-size") < message.index("--epochs")
    assert [e.field for e in info.value.errors] == ["batch_size", "epochs"]


def test_config_from_strings_applies_over_base():
    base = TrainConfig(epochs=3)
    c = config_from_strings({"lr": "0.01"}, base)
    assert (c.lr, c.epochs) == (0.01, 3)


def test_load_run_config_reads_a_run_folder_or_its_checkpoint(tmp_path):
    import json

    from dae_tui.config import load_run_config

    config = TrainConfig(dataset="mnist", epochs=3, train_limit=100)
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
    assert load_run_config(tmp_path) == config
    assert load_run_config(tmp_path / "checkpoint.pt") == config
    with pytest.raises(ConfigError, match="no run config there"):
        load_run_config(tmp_path / "no-such-run" / "checkpoint.pt")
