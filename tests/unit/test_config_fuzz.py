"""Hostile values for every config field: typed, passed as flags, or found in a run's config.json.

Each must give a value or one clear line that quotes at most ~40 characters of what was given,
never an exception (issue 10, items 1 and 9).
"""

from __future__ import annotations

import json
import random

import pytest

from dae_tui.core.config import (
    CLIP_AT,
    FIELD_SPECS,
    ConfigError,
    TrainConfig,
    read_config,
)
from dae_tui.runs.files import load_run_config
from dae_tui.runs.info import read_run

PIECES = [
    "",
    " ",
    "0",
    "1",
    "-",
    "+",
    ".",
    "e",
    "E",
    "_",
    "9" * 50,
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e308",
    "1e309",
    "0x10",
    "0b1",
    "１２",
    "١٢٣",
    "\x00",
    "\t",
    "\n",
    "∞",
    "💥",
    "true",
    "none",
    "all",
    "cuda:",
    "cuda:0",
    "mnist",
    "auto",
    "/",
    "~",
    "é",
    "'",
    '"',
    "\\",
    "%s",
    "{}",
    "[]",
]


def hostile_strings(count: int, seed: int = 0) -> list[str]:
    """Generated inputs: glued pieces, long digit runs (past float range and Python's 4,300-digit
    int limit), and random printable junk."""
    rng = random.Random(seed)
    out = ["9" * 309, "9" * 4301, "-" + "9" * 400, "1" + "0" * 400 + ".5", "1e" + "9" * 50]
    while len(out) < count:
        roll = rng.random()
        if roll < 0.4:
            out.append("".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6))))
        elif roll < 0.6:
            out.append(
                rng.choice(["", "-"])
                + "".join(rng.choice("0123456789") for _ in range(rng.choice([1, 3, 20, 308, 309, 320, 1000, 5000])))
            )
        else:
            out.append("".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(1, 80))))
    return out


def assert_one_clear_line(message: str, given: str) -> None:
    assert "\n" not in message and "\r" not in message
    assert len(message) < 400
    # At most ~CLIP_AT characters of the input are quoted back.
    if len(given) > CLIP_AT + 5:
        for start in range(0, len(given) - CLIP_AT - 5, 7):
            assert given[start : start + CLIP_AT + 5] not in message


@pytest.mark.parametrize("name", list(FIELD_SPECS))
def test_every_field_takes_generated_text_as_a_value_or_one_clear_error(name):
    for text in hostile_strings(300, seed=len(name)):
        config, errors = read_config({name: text})
        if config is not None:
            assert errors == [] and config.validate() == []
            continue
        assert [e.field for e in errors] == [name]
        assert_one_clear_line(str(errors[0]), text)
        assert_one_clear_line(errors[0].labelled, text)


@pytest.mark.parametrize("name", ["batch_size", "epochs", "seed", "train_limit", "threads"])
@pytest.mark.parametrize("sign", [1, -1])
def test_huge_integers_are_refused_without_overflow_and_not_echoed(name, sign):
    value = sign * int("9" * 400)
    (error,) = TrainConfig(**{name: value}).validate()
    assert "number of 400 digits" in str(error) and "9" * 41 not in str(error)
    config, errors = read_config({name: str(value)})
    assert config is None and "9" * 41 not in str(errors[0])


def test_huge_numbers_in_float_fields_are_refused_without_overflow():
    for value in (int("9" * 400), -int("9" * 400), 10**5000):
        for name in ("lr", "noise_factor", "weight_decay"):
            with pytest.raises(ConfigError, match=f"{FIELD_SPECS[name].flag} must be"):
                TrainConfig.from_json({name: value})


@pytest.mark.parametrize(
    "doc, says",
    [
        ([], "holds a JSON list, expected an object of config fields"),
        ("mnist", "holds the string 'mnist'"),
        (5, "holds the number 5"),
        (None, "holds null"),
        (True, "holds the value true"),
        ({"dataset": 5}, "--dataset must be one of mnist, fashion-mnist, kmnist (got 5)"),
        ({"batch_size": "64"}, "--batch-size must be a whole number from 1 to 8192 (got '64')"),
        ({"batch_size": 64.0}, "--batch-size must be a whole number"),
        ({"clamp": 1}, "--clamp must be true or false (got 1)"),
        ({"epochs": int("9" * 400)}, "--epochs must be a whole number from 1 to 10000 (got a number of 400 digits)"),
        ({"data_dir": 7}, "--data-dir must be an existing folder, or empty for none (got 7)"),
        ({"lr": None}, "--lr must be a number above"),
    ],
)
def test_config_json_of_the_wrong_shape_is_one_line_from_the_one_validator(tmp_path, doc, says):
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as caught:
        load_run_config(tmp_path)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "config.json")) and says in message
    assert "\n" not in message
    # The run store lists such a folder without its config and says why, once.
    run = read_run(str(tmp_path))
    assert run is not None and run.config is None
    assert any("config.json" in w for w in run.warnings)


def test_a_json_number_in_a_float_field_is_a_float_and_a_gone_data_dir_is_kept(tmp_path):
    doc = {**TrainConfig().to_dict(), "lr": 1, "data_dir": str(tmp_path / "gone")}
    (tmp_path / "config.json").write_text(json.dumps(doc))
    config = load_run_config(tmp_path)
    assert config.lr == 1.0 and isinstance(config.lr, float)
    assert config.data_dir == str(tmp_path / "gone")
    with pytest.raises(ConfigError, match="--data-dir must be an existing folder"):
        TrainConfig.from_json(doc)


@pytest.mark.parametrize(
    "text",
    ["[" * 200_000, '{"a": ' * 100_000, "\xff\xfe", "{", "x" * 100_000],
    ids=["deep-list", "deep-object", "not-utf8", "cut-short", "long-garbage"],
)
def test_config_json_that_is_not_json_is_one_line(tmp_path, text):
    (tmp_path / "config.json").write_bytes(
        text.encode("utf-8", "surrogateescape") if text.isascii() else text.encode("latin-1")
    )
    with pytest.raises(ConfigError, match="not a JSON run config") as caught:
        load_run_config(tmp_path)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300
    read_run(str(tmp_path))  # the run store survives it too
