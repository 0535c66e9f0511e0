"""The config: parsing text, judging values, and the messages users see."""

from __future__ import annotations

import pytest

from dae_tui.core.config import (
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

    from dae_tui.runs.files import load_run_config

    config = TrainConfig(dataset="mnist", epochs=3, train_limit=100)
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
    assert load_run_config(tmp_path) == config
    assert load_run_config(tmp_path / "checkpoint.pt") == config
    with pytest.raises(ConfigError, match="no run config there"):
        load_run_config(tmp_path / "no-such-run" / "checkpoint.pt")


# --- a noise kind's own default factor (issue 18) ---------------------------------------------


@pytest.mark.parametrize("kind", ["gaussian", "salt-pepper", "speckle", "poisson", "mask"])
def test_a_kind_named_without_a_factor_takes_its_own_default(kind):
    from dae_tui.cli import parse_invocation
    from dae_tui.core.config import NOISE_KINDS

    assert set(NOISE_KINDS) == {"gaussian", "salt-pepper", "speckle", "poisson", "mask"}  # a new one: add it above
    default = NOISE_KINDS[kind].default
    for command in (["train"], ["sweep"], []):  # headless, a sweep's fixed settings, the dashboard's form
        invocation = parse_invocation([*command, "--noise", kind])
        assert (invocation.config.noise, invocation.config.noise_factor) == (kind, default)
        assert "noise_factor" not in invocation.given  # so --resume keeps the run's own factor
    # A factor given is kept, even one equal to another kind's default.
    assert parse_invocation(["train", "--noise", kind, "--noise-factor", "0.1"]).config.noise_factor == 0.1
    # A run's config.json naming only its kind, and a sweep trial's searched kind, mean the same.
    assert TrainConfig.from_json({"noise": kind}).noise_factor == default
    from dae_tui.core.config import with_changes

    assert with_changes(TrainConfig(), {"noise": kind}).noise_factor == default


def test_a_chosen_factor_is_carried_to_a_new_kind_and_a_default_one_is_not():
    from dae_tui.core.config import carried_factor, with_changes

    assert carried_factor("gaussian", "mask", 0.5) == 0.25  # gaussian's default: nobody chose it
    assert carried_factor("gaussian", "mask", 0.3) == 0.3  # chosen: kept, for validate to judge
    assert carried_factor("mask", "mask", 0.25) == 0.25 and carried_factor("gaussian", "mask", None) == 0.25
    assert carried_factor("gaussian", "no-such-kind", 0.5) == 0.5
    # A study fixing --noise-factor 0.3 and searching the kind keeps 0.3 for every kind.
    fixed = TrainConfig(noise_factor=0.3)
    assert with_changes(fixed, {"noise": "salt-pepper"}).noise_factor == 0.3
    assert with_changes(fixed, {"lr": 0.01}) == TrainConfig(noise_factor=0.3, lr=0.01)


def test_resume_with_the_kind_named_keeps_the_runs_own_factor():
    from dae_tui.cli import parse_invocation
    from dae_tui.core.config import check_resume_overrides

    saved = TrainConfig(noise="salt-pepper", noise_factor=0.3)
    given = parse_invocation(["train", "--resume", "/some/run", "--noise", "salt-pepper"]).given
    check_resume_overrides(saved, given)  # nothing of the recipe changes
    assert given == {"noise": "salt-pepper"}


# --- a data source that cannot serve the dataset (issue 18) -----------------------------------


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (
            {"dataset": "kmnist", "source": "bundled"},
            "source",
            "must be auto, local or download for kmnist: its licence keeps it out of the bundled sample "
            "(got 'bundled')",
        ),
        (
            {"dataset": "kmnist", "source": "local"},
            "data_dir",
            "must name the folder holding kmnist's four IDX files when the source is local (only "
            "fashion-mnist has one without it: Debian's package)",
        ),
        (
            {"dataset": "mnist", "source": "local"},
            "data_dir",
            "must name the folder holding mnist's four IDX files when the source is local (only "
            "fashion-mnist has one without it: Debian's package)",
        ),
    ],
)
def test_a_source_that_cannot_serve_the_dataset_is_refused_before_any_start(changes, field, message):
    errors = TrainConfig(**changes).validate()
    assert [(e.field, e.message) for e in errors] == [(field, message)]
    with pytest.raises(ConfigError) as info:
        config_from_strings(changes)
    assert "\n" not in str(info.value) and str(info.value) == f"{FIELD_SPECS[field].flag} {message}"


def test_every_source_that_can_serve_a_dataset_is_allowed(tmp_path):
    from dae_tui.core.config import BUNDLED, DATASETS, SOURCES

    for dataset in DATASETS:
        for source in SOURCES:
            folder = str(tmp_path) if source == "local" and dataset != "fashion-mnist" else None
            config = TrainConfig(dataset=dataset, source=source, data_dir=folder)
            assert (config.validate() == []) is (source != "bundled" or dataset in BUNDLED), (dataset, source)


def test_a_run_read_back_with_a_source_that_cannot_serve_it_is_still_listed():
    # It failed at once, but its folder is there: the listing shows it and resume may change the source.
    data = TrainConfig(dataset="kmnist", source="bundled").to_dict()
    assert TrainConfig.from_json(data, folders_exist=False).source == "bundled"
    with pytest.raises(ConfigError, match="--source must be auto, local or download for kmnist"):
        TrainConfig.from_json(data)
