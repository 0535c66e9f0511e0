"""The ETA's pace: a recent window that settles fast, not a mean that carries the warm-up."""

from __future__ import annotations

import pytest

from dae_tui.training.pace import Pace


def test_no_pace_until_the_window_has_settled():
    pace = Pace(window_s=3.0, settle_s=0.5, settle_batches=5)
    for i in range(4):  # 4 batches over 0.6 s: too few batches
        pace.add(i * 0.2, i + 1)
    assert pace.seconds_per_batch() is None
    pace.add(0.8, 5)
    pace.add(1.0, 6)
    assert pace.seconds_per_batch() == pytest.approx(0.2)


def test_a_slow_warm_up_leaves_the_window_and_stops_counting():
    # The case the issue saw: the first batches cost many times the rest, and a mean over the
    # whole epoch so far put the ETA at 0:00:45 for an epoch of 1.9 s.
    pace = Pace(window_s=1.0, settle_s=0.2, settle_batches=3)
    pace.add(2.0, 1)  # batch 1 took 2 s (warm-up); its time is never counted
    now = 2.0
    for n in range(2, 200):
        now += 0.01
        pace.add(now, n)
    assert pace.seconds_per_batch() == pytest.approx(0.01)


def test_an_epoch_too_short_to_settle_a_window_is_a_pace_of_its_own():
    pace = Pace(settle_s=0.5)
    pace.add(0.0, 1)
    pace.add(0.1, 10)
    assert pace.seconds_per_batch() is None
    pace.epoch_done(0.2, 10)
    assert pace.seconds_per_batch() == pytest.approx(0.02)
    pace.epoch_done(5.0, 10)  # a settled pace is not overwritten by a whole-epoch mean
    assert pace.seconds_per_batch() == pytest.approx(0.02)


def test_after_a_restart_the_last_pace_stands_until_the_new_window_settles():
    pace = Pace(window_s=1.0, settle_s=0.2, settle_batches=3)
    for n in range(1, 50):
        pace.add(n * 0.02, n)
    assert pace.seconds_per_batch() == pytest.approx(0.02)
    pace.restart()  # a pause of 100 s, or an evaluation: not training time
    pace.add(100.0, 50)
    pace.add(100.05, 51)
    assert pace.seconds_per_batch() == pytest.approx(0.02)  # the gap did not count
    for n in range(52, 80):
        pace.add(100.05 + (n - 51) * 0.05, n)
    assert pace.seconds_per_batch() == pytest.approx(0.05)  # the machine got slower: followed


@pytest.mark.slow
def test_the_trainer_shows_no_eta_before_its_pace_settles_and_a_plausible_one_after(tmp_path):
    from dae_tui.core.config import TrainConfig
    from dae_tui.core.events import BatchProgress, RunFinished
    from dae_tui.training.trainer import Trainer

    config = TrainConfig(source="bundled", epochs=2, batch_size=16, train_limit=1600, device="cpu", threads=1)
    events = list(Trainer(config, runs_dir=tmp_path).run())
    progress = [e for e in events if isinstance(e, BatchProgress)]
    assert progress and isinstance(events[-1], RunFinished)
    assert progress[0].eta_s is None  # 0.1 s in: nothing settled yet
    late = [e for e in progress if e.epoch == 2]
    assert late and all(e.eta_s is not None for e in late)  # a whole epoch is a pace, however short
    # It counts down within the epoch, and ends near nothing left (only the evaluation).
    assert late[-1].eta_s < late[0].eta_s
    assert all(e.eta_s >= 0 for e in late)
