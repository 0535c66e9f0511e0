"""Every error a user sees derives from `core.errors.DaeError` and keeps the base it had before."""

from __future__ import annotations

import pytest

from dae_tui.cli.parser import UsageError
from dae_tui.core.config import ConfigError, FieldError
from dae_tui.core.errors import DaeError
from dae_tui.runs.files import FileTooLarge, NoCheckpoint, NotRegularFile, SaveError
from dae_tui.runs.store import RunStoreError
from dae_tui.sweeps.study import StorageFailed
from dae_tui.training.checkpoints import CheckpointError
from dae_tui.training.data import DataError
from dae_tui.training.pictures import NotAPicture


@pytest.mark.parametrize(
    ("error", "base"),
    [
        (ConfigError, ValueError),
        (FieldError, ValueError),
        (NoCheckpoint, ConfigError),
        (SaveError, OSError),
        (NotRegularFile, OSError),
        (FileTooLarge, ValueError),
        (RunStoreError, Exception),
        (DataError, RuntimeError),
        (CheckpointError, DataError),
        (NotAPicture, ValueError),
        (UsageError, Exception),
        (StorageFailed, Exception),
    ],
)
def test_each_user_facing_error_is_a_dae_error_and_what_it_was(error, base):
    assert issubclass(error, DaeError) and issubclass(error, base)


def test_an_os_error_with_the_base_still_builds_as_one():
    err = NotRegularFile(22, "a FIFO, not a regular file", "status.json")
    assert (err.errno, err.strerror, err.filename) == (22, "a FIFO, not a regular file", "status.json")
    line = "disk full while saving x; nothing was saved"
    assert str(SaveError(line)) == line
