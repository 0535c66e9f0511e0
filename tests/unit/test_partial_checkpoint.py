"""The mid-epoch checkpoint (issue 20): a run stopped inside an epoch keeps it in partial.pt, and
a resume continues from that very batch, ending bit-equal on the CPU to the run left alone.

Real runs on the bundled data (256 images, batch 32: 8 batches an epoch, one thread), real files."""

from __future__ import annotations

import json

import pytest
import torch

from dae_tui.core.config import TrainConfig
from dae_tui.runs.files import PARTIAL_CHECKSUM_NAME, PARTIAL_NAME, RunMarker
from dae_tui.training import checkpoints as ckpt

CONFIG = TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=2, threads=1)


def test_a_partial_has_its_own_checksum_and_leaves_checkpoint_pt_alone(tmp_path):
    state = {"model": {"w": torch.ones(3)}, "optimizer": {}, "config": CONFIG.to_dict(), "epoch": 1,
             "metrics": [], "rng": {}}
    ckpt.save_checkpoint(tmp_path / ckpt.CHECKPOINT_NAME, state)
    sums = (tmp_path / ckpt.CHECKSUM_NAME).read_text()
    ckpt.save_partial(tmp_path / PARTIAL_NAME, {**state, "partial": {"batch": 3}})
    assert (tmp_path / ckpt.CHECKSUM_NAME).read_text() == sums
    assert (tmp_path / PARTIAL_CHECKSUM_NAME).read_text().endswith(f"  {PARTIAL_NAME}\n")
    assert ckpt.load_partial(tmp_path / PARTIAL_NAME)["partial"] == {"batch": 3}
    assert ckpt.load_checkpoint(tmp_path / ckpt.CHECKPOINT_NAME)["epoch"] == 1
    (tmp_path / PARTIAL_NAME).write_bytes((tmp_path / ckpt.CHECKPOINT_NAME).read_bytes())
    with pytest.raises(ckpt.CheckpointError, match=f"does not match its checksum in {PARTIAL_CHECKSUM_NAME}"):
        ckpt.load_partial(tmp_path / PARTIAL_NAME)
    ckpt.remove_partial(tmp_path)
    ckpt.remove_partial(tmp_path)  # nothing there: no error
    assert sorted(p.name for p in tmp_path.iterdir()) == [ckpt.CHECKPOINT_NAME, ckpt.CHECKSUM_NAME]


def test_status_json_says_where_a_run_stopped_mid_epoch_only_when_it_did(tmp_path):
    for kept, extra in ((0, {}), (38, {"partial_batch": 38, "batches": 94})):
        marker = RunMarker(tmp_path, 5)
        marker.acquire()
        marker.start(2)
        marker.end("stopped", "stopped on request", 2, partial_batch=kept, batches=94)
        status = json.loads((tmp_path / "status.json").read_text())
        assert {k: status[k] for k in ("status", "last_epoch", "epochs")} == {
            "status": "stopped", "last_epoch": 2, "epochs": 5}
        assert {k: v for k, v in status.items() if k in ("partial_batch", "batches")} == extra
