"""The real `dae-tui train`, stopped by Ctrl-C inside an epoch, then resumed (issue 20): the stop
line says how far the epoch got, and `--resume` continues after that very batch and finishes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from dae_tui.runs.files import PARTIAL_NAME
from dae_tui.training import checkpoints as ckpt

DAE_TUI = str(Path(sys.executable).with_name("dae-tui"))
# The whole bundled training split in batches of 16: 500 batches, a second or two an epoch.
RUN = ["--dataset", "mnist", "--source", "bundled", "--batch-size", "16", "--epochs", "2", "--threads", "1"]


def test_ctrl_c_mid_epoch_keeps_the_epoch_and_resume_continues_after_its_batch(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [DAE_TUI, "train", *RUN, "--runs-dir", str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 90
    # The samples index is written just before the first batch: a moment later the run is inside epoch 1.
    while not list(runs.glob("*/samples/index.json")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run did not start in time"
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and out == ""
    (run_dir,) = runs.iterdir()
    kept = re.search(r"(\d+)/500 batches of epoch (\d) kept; resume with --resume (.+)$", err, re.M)
    assert kept, err
    batch, epoch = int(kept[1]), int(kept[2])
    assert 0 < batch < 500 and kept[3] == str(run_dir)
    assert (run_dir / PARTIAL_NAME).is_file()
    status = json.loads((run_dir / "status.json").read_text())
    assert (status["status"], status["last_epoch"], status["partial_batch"]) == ("stopped", epoch - 1, batch)

    done = subprocess.run(
        [DAE_TUI, "train", "--resume", str(run_dir), "--json"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert f"continuing epoch {epoch} after batch {batch}/500" in done.stderr
    assert [json.loads(line)["epoch"] for line in done.stdout.splitlines()] == list(range(epoch, 3))
    assert "finished 2 epochs" in done.stderr
    assert ckpt.load_checkpoint(run_dir / ckpt.CHECKPOINT_NAME)["epoch"] == 2
    assert not (run_dir / PARTIAL_NAME).exists()
