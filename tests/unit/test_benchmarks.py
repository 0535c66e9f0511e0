"""The speed benchmark stays runnable and fair: its reference is the notebook's, its table is whole.

No wall-clock time is asserted anywhere: the smoke runs check that every figure is produced.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks.reference import NotebookAutoencoder, reference_epochs, write_torchvision_root
from benchmarks.run import Row, format_table
from benchmarks.tui_speed import percentile
from dae_tui.training.models import SeedAutoencoder

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_reference_model_is_the_engine_model_with_the_same_initial_weights():
    torch.manual_seed(0)
    notebook = NotebookAutoencoder()
    torch.manual_seed(0)
    ours = SeedAutoencoder()
    theirs, mine = notebook.state_dict(), ours.state_dict()
    assert list(theirs) == list(mine)
    for name in theirs:
        assert torch.equal(theirs[name], mine[name]), name
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(ours(x), notebook(x), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_reference_loop_reads_the_same_images_through_torchvision(tmp_path):
    from torchvision import datasets

    images = torch.randint(0, 256, (70, 28, 28), dtype=torch.uint8)
    labels = torch.arange(70) % 10
    root = write_torchvision_root(tmp_path, "fashion-mnist", (images[:50], labels[:50]), (images[50:], labels[50:]))
    train = datasets.FashionMNIST(str(root), train=True, download=False)
    assert len(train) == 50 and torch.equal(train.data, images[:50])
    assert torch.equal(train.targets, labels[:50])
    seconds = reference_epochs(root, "fashion-mnist", epochs=1)
    assert len(seconds) == 1 and seconds[0] > 0


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0


def test_table_is_markdown_with_a_verdict_column():
    table = format_table(
        [
            Row("speed", "7.7", "4.6", "1.67x", ">= 1.6x", True),
            Row("lag", "", "9 ms", "", "<= 50 ms", False),
            Row("note", "", "x", "", ""),
        ]
    )
    lines = table.splitlines()
    assert lines[0].startswith("| figure") and set(lines[1]) <= {"|", "-"}
    assert lines[2].rstrip().endswith("| yes |") and lines[3].rstrip().endswith("| NO  |")
    assert len({len(line) for line in lines}) == 1


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_benchmark_runs_end_to_end_on_a_tiny_subset(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--parts",
            "train,tui,gpu",
            "--rounds",
            "1",
            "--epochs",
            "1",
            "--train-limit",
            "256",
            "--tui-limit",
            "256",
            "--json",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=230,
    )
    # Exit 1 only says a target was missed, which a 256-image run may well do.
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(out.read_text())
    figures = [row["figure"] for row in report["rows"]]
    for expected in (
        "CPU s/epoch, notebook loop vs engine",
        "CPU test PSNR, plain vs engine (same epochs)",
        "peak RSS, notebook loop vs `dae-tui train`",
        "training img/s, engine alone vs in the TUI",
        "event-loop lag while training p50 / p99 / max",
    ):
        assert expected in figures
    psnr = next(r for r in report["rows"] if r["figure"].startswith("CPU test PSNR"))
    assert psnr["met"] == "yes"  # quality, not time: the fast path may not move PSNR
    if not torch.cuda.is_available():
        assert any(note.startswith("gpu: skipped") for note in report["notes"])
    assert "| figure" in result.stdout
