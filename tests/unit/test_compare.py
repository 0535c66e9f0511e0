"""The one "what differs" piece (`runs.compare`): labels as users write settings, the noise
factor by its kind, the legend's fitting, and the numbers table and its CSV from real run folders."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.runfolders import TINY_CONFIG, iso, make_run

from dae_tui import cli
from dae_tui.core.config import NOISE_KINDS, TrainConfig
from dae_tui.core.formatting import format_setting
from dae_tui.runs.compare import (
    NUMBERS_CSV_COLUMNS,
    differing,
    factor_symbol,
    figures_of,
    number_rows,
    run_labels,
    setting_text,
    settings_text,
    short_label,
    write_numbers_csv,
)
from dae_tui.runs.info import read_run
from dae_tui.runs.store import list_runs
from dae_tui.ui.widgets.loss_chart import LEGEND_SEP, fit_legend

START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")


def test_only_the_settings_that_differ_written_as_a_user_writes_them():
    configs = [TINY_CONFIG, replace(TINY_CONFIG, lr=3e-3, epochs=10), replace(TINY_CONFIG, lr=1e-2)]
    names = differing(configs)
    assert names == ["lr", "epochs"]
    assert [short_label(c, names, "?") for c in configs] == ["lr 1e-3 · 3 ep", "lr 3e-3 · 10 ep", "lr 0.01 · 3 ep"]


def test_floats_read_as_the_sweep_tab_shows_them():
    trial = replace(TINY_CONFIG, lr=5.106666818276e-3, weight_decay=3.3333333e-6)
    assert setting_text(trial, "lr") == "lr 5.11e-3" == f"lr {format_setting(trial.lr)}"
    assert setting_text(trial, "weight_decay") == "wd 3.33e-6"
    assert "5.106" not in settings_text(trial)


@pytest.mark.parametrize(
    ("noise", "factor", "label"),
    [("gaussian", 0.5, "σ 0.5"), ("salt-pepper", 0.2, "p 0.2"), ("mask", 0.25, "p 0.25"), ("poisson", 0.5, "σ 0.5")],
)
def test_the_factor_is_named_by_what_it_means_for_its_kind(noise, factor, label):
    config = TrainConfig(noise=noise, noise_factor=factor)
    assert setting_text(config, "noise_factor") == label
    assert settings_text(config).startswith(label + " · ")


def test_every_noise_kind_names_its_factor_and_an_unknown_one_says_factor():
    assert {kind: factor_symbol(kind) for kind in NOISE_KINDS} == {
        "gaussian": "σ",
        "salt-pepper": "p",
        "speckle": "σ",
        "poisson": "σ",
        "mask": "p",
    }
    assert factor_symbol("pink") == "factor"


def test_a_kind_and_its_factor_are_named_together():
    gaussian, salt = TrainConfig(), TrainConfig(noise="salt-pepper", noise_factor=0.2)
    names = differing([gaussian, salt])
    assert names == ["noise", "noise_factor"]
    assert (
        short_label(salt, names, "?") == "salt-pepper p 0.2" and short_label(gaussian, names, "?") == "gaussian σ 0.5"
    )


def test_a_label_fitted_to_a_width_keeps_whole_settings_first():
    config = replace(TINY_CONFIG, lr=3e-3, epochs=10, seed=4)
    names = ["lr", "epochs", "seed"]
    assert short_label(config, names, "?") == "lr 3e-3 · 10 ep · seed 4"
    assert short_label(config, names, "?", width=18) == "lr 3e-3 · 10 ep"
    assert short_label(None, names, "fallback") == "fallback" and short_label(config, [], "fallback") == "fallback"


def test_a_run_alone_or_runs_alike_are_named_by_their_start_never_a_slice_of_the_folder(tmp_path):
    make_run(tmp_path, "20240101-120000-mnist-seed", started=iso(7200))
    alone = list_runs(tmp_path)
    label = run_labels(alone)["20240101-120000-mnist-seed"]
    assert START.fullmatch(label) and "120000" not in label
    # Two alike that started apart: their starts; two in the same minute: their folders' names.
    make_run(tmp_path, "20240101-130000-mnist-seed", started=iso(60))
    assert all(START.fullmatch(v) for v in run_labels(list_runs(tmp_path)).values())
    make_run(tmp_path, "20240101-140000-mnist-seed", started=iso(60))
    labels = run_labels(list_runs(tmp_path))
    assert labels["20240101-140000-mnist-seed"] == "20240101-140000-mnist-seed"
    assert START.fullmatch(labels["20240101-120000-mnist-seed"])


def test_the_legend_is_whole_where_it_fits_and_loses_the_longest_labels_last_settings_first():
    items = [("1", "lr 1e-3 · 1 ep"), ("2", "lr 3e-3 · 2 ep"), ("3", "lr 1e-2 · 1 ep · fashion-mnist")]
    whole = fit_legend(items, 196)
    assert whole == [label for _, label in items]
    narrow = fit_legend(items, 50)
    assert narrow[:2] == ["lr 1e-3 · 1 ep", "lr 3e-3 · 2 ep"] and narrow[2].startswith("lr 1e-2") and "…" in narrow[2]
    for width in (60, 50, 40, 30, 12):
        labels = fit_legend(items, width)
        line = LEGEND_SEP.join(f"{prefix} {label}" for (prefix, _), label in zip(items, labels, strict=True))
        assert len(line) <= width or all(label == "" for label in labels)
        # Never a value cut in two: what is kept of each setting is the setting itself.
        for label in labels:
            for part in label.replace(" …", "").replace("…", "").split(" · "):
                assert part == "" or any(part in full for _, full in items), part


def test_the_numbers_of_real_runs_and_their_csv(trained_run, tmp_path):
    """The session's real run (3 epochs) beside a variant with another learning rate."""
    run = read_run(trained_run)
    assert run is not None
    other = replace(run, name="variant", config=replace(run.config, lr=3e-3))
    f = figures_of(run)
    psnrs = [r["test_psnr"] for r in run.records]
    assert f.best_psnr == (max(psnrs), psnrs.index(max(psnrs)) + 1) and f.last_psnr == psnrs[-1]
    assert f.best_mse is not None and f.best_mse[0] == min(r["test_mse"] for r in run.records)
    assert f.seconds == pytest.approx(sum(r["seconds"] for r in run.records)) and f.parameters == 210_369
    rows = dict(number_rows([run, other]))
    assert list(rows)[:9] == [
        "best test PSNR",
        "last test PSNR",
        "best SSIM",
        "last SSIM",
        "best MSE",
        "last MSE",
        "img/s",
        "time",
        "parameters",
    ]
    assert rows["best test PSNR"][0] == f"{f.best_psnr[0]:.2f} dB @ {f.best_psnr[1]}"
    assert rows["learning rate"] == ["1e-3", "3e-3"] and "epochs" not in rows  # only what differs
    assert rows["parameters"] == ["210,369", "210,369"] and rows["run"] == [run.name, "variant"]
    assert "run" not in dict(number_rows([run, other], folders=False))
    out = io.StringIO()
    write_numbers_csv([run, other], out)
    header, *body = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == [*NUMBERS_CSV_COLUMNS, "lr"]
    first = dict(zip(header, body[0], strict=True))
    assert first["run"] == run.name and first["label"] == "lr 1e-3" and first["lr"] == "0.001"
    assert float(first["best_test_psnr"]) == f.best_psnr[0] and int(first["best_test_psnr_epoch"]) == f.best_psnr[1]
    assert float(first["last_test_ssim"]) == run.last_test_ssim and first["parameters"] == "210369"


def test_runs_compare_prints_the_table_and_the_csv_of_the_runs_named(capsys, trained_run, tmp_path):
    runs_dir = tmp_path / "runs"
    variant = replace(TINY_CONFIG, lr=3e-3, train_limit=1024)  # the real run's settings but its lr
    make_run(runs_dir, "20240101-120000-mnist-seed", config=variant, started=iso(7200))
    # One by its name in the runs folder, one by its path (the session's real run, elsewhere).
    args = ["runs", "--runs-dir", str(runs_dir), "--compare", "20240101-120000-mnist-seed", str(trained_run)]
    assert cli.main(args) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == "" and lines[0].split() == ["lr", "3e-3", "lr", "1e-3"]
    assert lines[1].startswith("best test PSNR") and "13.00 dB @ 3" in lines[1]
    assert any(line.split()[:3] == ["learning", "rate", "3e-3"] for line in lines)
    assert cli.main([*args, "--csv"]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["run"] for r in rows] == ["20240101-120000-mnist-seed", Path(trained_run).name]
    assert [r["label"] for r in rows] == ["lr 3e-3", "lr 1e-3"] and [r["lr"] for r in rows] == ["0.003", "0.001"]
    assert rows[0]["best_test_psnr"] == "13.0" and rows[0]["best_test_psnr_epoch"] == "3"


def test_runs_compare_names_a_run_that_is_not_there_in_one_line(capsys, tmp_path):
    make_run(tmp_path, "20240101-120000-mnist-seed")
    assert cli.main(["runs", "--runs-dir", str(tmp_path), "--compare", "20240101-120000-mnist-seed", "nope"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert "no run 'nope'" in err and "folder's name as `dae-tui runs` lists it, or its path" in err


def test_a_compared_rows_label_goes_a_setting_a_line_beside_its_pictures():
    from dae_tui.ui.widgets.image_strip import label_lines

    assert label_lines("clean", 7) == ["", "", "", "clean", "", "", ""]
    assert label_lines("2 lr 3e-3 · 10 ep", 7) == ["", "", "", "2 lr 3e-3", "10 ep", "", ""]
    assert label_lines("3 lr 5.11e-3 · 10 ep", 7) == ["", "", "3", "lr", "5.11e-3", "10 ep", ""]
    assert label_lines("1 lr 5.11e-3 · 2 ep", 3) == ["1 lr", "5.11e-3", "2 ep"]  # no line to spare
    assert label_lines("1 lr 1e-3 · 2 ep", 1) == ["1 lr 1e-3 · 2 ep"]  # one line: as before


def test_the_numbers_csv_is_named_by_the_time_and_never_replaces_an_earlier_one(tmp_path):
    from datetime import datetime

    from dae_tui.ui.dialogs.numbers import csv_path

    now = datetime(2024, 1, 2, 3, 4, 5)
    first = csv_path(tmp_path, now)
    assert first == tmp_path / "compare-20240102-030405.csv"
    first.write_text("")
    assert csv_path(tmp_path, now) == tmp_path / "compare-20240102-030405-2.csv"
    assert list_runs(tmp_path) == []  # a file in the runs folder is no run
