"""What a run folder holds besides the checkpoint, and how each file is written: torch-free.

A run folder (`<runs dir>/<time>-<dataset>-<model>-<4 hex>/`) holds

    config.json     the run's `TrainConfig`, indented JSON (written when the run starts)
    metrics.jsonl   one JSON object per finished epoch (the whole file rewritten after each epoch)
    checkpoint.pt   model, optimizer, RNG states and metrics of the last finished epoch (torch)
    checkpoint.pt.sha256   its SHA-256 (`sha256sum -c` reads it), written with it: a checkpoint
                    that does not match is refused
    partial.pt      (+ partial.pt.sha256) only while a run is stopped mid-epoch: the epoch in
                    progress as it stood (weights, optimizer, RNGs, data order, next batch, loss
                    so far), so a resume continues from that very batch; removed once the epoch
                    ends. checkpoint.pt always means "the last finished epoch"
    status.json     {"status", "message", "last_epoch", "epochs", "started", "ended"}: "running"
                    while a process trains it, then "finished", "stopped" or "failed"; a run
                    stopped mid-epoch adds "partial_batch" and "batches" (its partial.pt's place)
    run.lock        heartbeat while a process trains it: {"pid", "host", "started", "updated",
                    "epoch", "paused"}; refreshed every few seconds, removed when the run ends
    samples/        the 8 fixed test pictures of every epoch (see `dae_tui.runs.samples`)

Every file is replaced atomically (`atomic_write`), so a reader never sees half a file; the temp
files a killed writer leaves are removed by the next process that owns the folder. One process
owns a run folder at a time (`RunMarker.acquire`: an flock on the folder, which dies with its
process, plus the heartbeat for processes on other hosts). Times are
ISO 8601 with the UTC offset. `status.json` keeps the run's first `started` across resumes, so a
listing can sort newest first without reading folder names.

Every reader of these files (and of a run's samples, checkpoint and robustness cache) goes through
`open_regular` / `read_file` / `read_tail`: regular files only, each read capped, so a FIFO, a
device or an endless file named like a run file is one "unreadable" line, never a hang.

The run store, `dae-tui runs` and the dashboard read these without torch: this module imports
only the standard library and `dae_tui.core.config` (platformdirs lazily).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from dae_tui.core.config import RUN_CONFIG_NAME, ConfigError, TrainConfig, clip
from dae_tui.core.errors import DaeError

__all__ = [
    "CHECKPOINT_NAME",
    "CHECKSUM_NAME",
    "CONFIG_NAME",
    "FileTooLarge",
    "HEARTBEAT_INTERVAL_S",
    "LOCK_NAME",
    "METRICS_NAME",
    "NAME_STAMP",
    "NoCheckpoint",
    "NotRegularFile",
    "PARTIAL_CHECKSUM_NAME",
    "PARTIAL_NAME",
    "STALE_AFTER_S",
    "STATUS_NAME",
    "RunMarker",
    "SaveError",
    "atomic_write",
    "atomic_write_json",
    "browse_only_reason",
    "busy_message",
    "check_runs_dir",
    "default_runs_dir",
    "find_checkpoint",
    "folder_busy",
    "live_lock",
    "load_run_config",
    "loads_json",
    "lock_is_live",
    "now_iso",
    "own_folder",
    "open_regular",
    "parse_time",
    "pid_alive",
    "read_file",
    "read_json",
    "release_folder",
    "read_tail",
    "remove_stale_temps",
    "started_from_name",
    "suspended_note",
    "this_host",
]

CONFIG_NAME = RUN_CONFIG_NAME
CHECKPOINT_NAME = "checkpoint.pt"
CHECKSUM_NAME = "checkpoint.pt.sha256"
PARTIAL_NAME = "partial.pt"
"""The mid-epoch checkpoint of a run stopped inside an epoch (torch; `training.trainer`)."""
PARTIAL_CHECKSUM_NAME = "partial.pt.sha256"
METRICS_NAME = "metrics.jsonl"
STATUS_NAME = "status.json"
LOCK_NAME = "run.lock"

TMP_SUFFIX = ".tmp"
"""How the temp files of `atomic_write` end (they begin with a dot and the file's name)."""

HEARTBEAT_INTERVAL_S = 5.0
"""Least time between two heartbeats written from the training loop."""

STALE_AFTER_S = 30.0
"""A heartbeat older than this means the training process is gone (or its host unreachable)."""

NAME_STAMP = "%Y%m%d-%H%M%S"
"""How a run folder's name begins (`new_run_dir`): its start time, local."""


def default_runs_dir() -> Path:
    """Where runs go unless `--runs-dir` says otherwise: the user data dir."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("dae-tui")) / "runs"


class SaveError(OSError, DaeError):
    """A file of a run could not be saved; `str()` is one line saying what is kept."""


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _save_error(err: OSError, path: Path, what: str | None) -> SaveError:
    what = what or path.name
    kept = "the previous one is kept" if path.is_file() else "nothing was saved"  # a folder there is no "previous one"
    if err.errno in _DISK_FULL:
        text = f"disk full while saving {what} in {path.parent}; {kept}"
    else:
        text = f"cannot save {what} in {path.parent} ({err.strerror or err}); {kept}"
    error = SaveError(text)
    error.errno = err.errno
    return error


def atomic_write(
    path: Path,
    write: Callable[[IO[bytes]], object],
    *,
    what: str | None = None,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Write `path` by calling `write(file)` on a temp file, fsync, then rename over `path`.

    A failure leaves the old `path` as it was and raises `SaveError` in one line ("disk full while
    saving {what} ...; the previous one is kept"). `before_replace` runs once the new file is
    safely on disk, just before it takes the old one's place (checkpoints record their checksum
    there).
    """
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    except OSError as err:
        raise _save_error(err, path, what) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, OSError) and not isinstance(err, SaveError):
            raise _save_error(err, path, what) from None
        raise


def remove_stale_temps(folder: Path) -> int:
    """Remove the temp files that a process killed mid-write left in `folder` and its samples
    folder; how many went. Only for the process that owns the run folder (nobody else writes)."""
    removed = 0
    for where in (folder, folder / "samples"):
        try:
            names = os.listdir(where)
        except OSError:
            continue
        for name in names:
            if name.startswith(".") and name.endswith(TMP_SUFFIX):
                try:
                    os.unlink(where / name)
                    removed += 1
                except OSError:
                    pass
    return removed


def check_runs_dir(path: str | os.PathLike[str] | None) -> str | None:
    """Why run folders cannot be made under `path` (None: the default folder), in one line; None
    when they can. Creates the folder (as a run would) and writes a probe file in it, so a file
    in the way, a read-only disk or a missing permission is said before torch spends seconds
    loading."""
    folder = Path(path).expanduser() if path is not None else default_runs_dir()
    if folder.exists() and not folder.is_dir():
        return f"--runs-dir {folder}: not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", suffix=TMP_SUFFIX, dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        return f"--runs-dir {folder}: cannot write there ({err.strerror or err})"
    return None


def browse_only_reason(path: str | os.PathLike[str] | None, problem: str) -> str | None:
    """The dashboard's one line for a runs folder it can read but not write (`problem` from
    `check_runs_dir`): it then starts for browsing only. None when there is nothing to browse
    (not a folder, or one that cannot even be listed): that stays an error."""
    folder = Path(path).expanduser() if path is not None else default_runs_dir()
    try:
        os.listdir(folder)
    except FileNotFoundError:
        pass  # nothing to show yet, but nothing in the way of looking either
    except OSError:
        return None
    if folder.exists() and not folder.is_dir():
        return None
    return f"browsing only: {problem}; pass --runs-dir DIR to train elsewhere"


def atomic_write_json(path: Path, value: Any) -> None:
    """`value` as one line of JSON, written atomically."""
    data = (json.dumps(value) + "\n").encode()
    atomic_write(path, lambda f: f.write(data))


MAX_DOC_BYTES = 64 * 1024
"""config.json, status.json and run.lock are under 1 KB; past this a file is not one of them."""


def loads_json(data: bytes | str) -> Any:
    """`json.loads`, but every way hostile text can fail is a ValueError (nesting 100,000 deep
    raises RecursionError in the parser; its text is kept: "maximum recursion depth exceeded
    while decoding a JSON array ...")."""
    try:
        return json.loads(data)
    except RecursionError as err:
        raise ValueError(str(err)) from None


class NotRegularFile(OSError, DaeError):
    """A run file's name that holds a FIFO, a device, a socket or a folder: never read.

    `strerror` says what it is ("a FIFO, not a regular file"), so the readers' usual
    "unreadable (...)" line names it."""


class FileTooLarge(ValueError, DaeError):
    """A file longer than its reader's cap; `size` is how long it is."""

    def __init__(self, path: str | os.PathLike[str], limit: int, size: int) -> None:
        super().__init__(f"{os.fspath(path)}: longer than {limit:,} bytes ({size:,})")
        self.size = size


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a plain file"


def _refuse(path: str | os.PathLike[str], mode: int) -> NotRegularFile:
    if stat.S_ISDIR(mode):  # as open() itself says it
        return NotRegularFile(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
    return NotRegularFile(errno.EINVAL, f"{_kind(mode)}, not a regular file", os.fspath(path))


def open_regular(path: str | os.PathLike[str]) -> int:
    """`path` opened read-only as a file descriptor, only when it is a regular file.

    Every reader of a run folder comes here, because a FIFO named `status.json` would block
    `open()` (and then `read()`) for ever and `/dev/zero` named `metrics.jsonl` never ends: a
    listing, the Runs tab or `eval` would hang with no way to quit. So: a stat first (a device
    is not even opened: opening some, such as a watchdog, does something), then the open with
    O_NONBLOCK (a FIFO swapped in between cannot block it) and an fstat of what was really
    opened; O_NONBLOCK is cleared again before reading.

    Symlinks are followed: a run folder assembled from links (a checkpoint on a bigger disk, a
    runs folder of links to runs elsewhere) is legitimate, and what is judged is the file that
    the link finally names, so a link to `/dev/zero` is refused like `/dev/zero` itself.
    Raises FileNotFoundError, `NotRegularFile` or another OSError.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(path, st.st_mode)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, st.st_mode)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_fd(fd: int, count: int) -> bytes:
    chunks, left = [], count
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_file(path: str | os.PathLike[str], limit: int = MAX_DOC_BYTES) -> bytes:
    """The bytes of the regular file `path` (see `open_regular`), refused past `limit` bytes.

    Raises OSError (missing, unreadable, `NotRegularFile`) or `FileTooLarge`, never reading
    more than `limit` + 1 bytes, so a file that grows without end costs at most that.
    """
    fd = open_regular(path)
    try:
        data = _read_fd(fd, limit + 1)
        if len(data) > limit:
            raise FileTooLarge(path, limit, max(os.fstat(fd).st_size, len(data)))
        return data
    finally:
        os.close(fd)


def read_tail(path: str | os.PathLike[str], limit: int) -> tuple[bytes, int]:
    """(the last `limit` bytes of the regular file `path`, how many bytes before them were left
    out): for append-like files such as metrics.jsonl, whose newest lines matter most. A cut
    read starts after the first newline in what was read, so no line is half there."""
    fd = open_regular(path)
    try:
        start = max(0, os.fstat(fd).st_size - limit)
        if not start:
            data = _read_fd(fd, limit)  # a file that grows meanwhile still costs `limit` at most
            return data, 0
        # From the byte before the tail: when that is a newline, the tail's first line is whole.
        os.lseek(fd, start - 1, os.SEEK_SET)
        data = _read_fd(fd, limit + 1)
        cut = data.find(b"\n") + 1 or len(data)  # no newline: one line longer than the tail
        return data[cut:], start - 1 + cut
    finally:
        os.close(fd)


def read_json(path: str | os.PathLike[str], limit: int = MAX_DOC_BYTES) -> Any:
    """The JSON in `path`; raises OSError (missing, unreadable, not a regular file) or
    ValueError (bad JSON or UTF-8, longer than `limit`). Reads through `read_file`."""
    return loads_json(read_file(path, limit))


def now_iso() -> str:
    """Now, local time with its UTC offset, to the millisecond."""
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def parse_time(text: object) -> datetime | None:
    """An ISO 8601 time as an aware datetime (a time without offset is taken as local); None if bad."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
        moment = moment if moment.tzinfo else moment.astimezone()
        # Year 9999 at -12:00 parses, yet shown in local time (or as a timestamp) it overflows:
        # a time no listing can show is no time.
        moment.astimezone().timestamp()
    except (ValueError, OverflowError, OSError):
        return None
    return moment


def started_from_name(name: str) -> datetime | None:
    """The start time in a run folder's name (`20240531-120000-...`), local; None if it has none."""
    try:
        return datetime.strptime(name[:15], NAME_STAMP).astimezone()
    except ValueError:
        return None


@lru_cache(maxsize=1)
def this_host() -> str:
    """This machine's host name, as locks record it."""
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """True when a process `pid` exists on this machine (perhaps another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def pid_stopped(pid: int) -> bool:
    """True when process `pid` on this machine is stopped (Ctrl-Z, SIGSTOP, a debugger): state
    T or t in /proc/PID/stat. False where there is no /proc (the heartbeat must then tell)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read(512)
    except OSError:
        return False
    # The state follows the command name in parentheses, and that name may hold ") " itself.
    state = stat[stat.rfind(b")") + 2 :][:1]
    return state in (b"T", b"t")


def suspended_note(pid: object, host: object) -> str:
    """The one line that says a run's process is suspended and what to do about it."""
    return f"process {pid} on {host} is suspended (SIGSTOP); `kill -CONT {pid}` to continue it, or stop it first"


def folder_busy(folder: Path) -> bool | None:
    """Whether a process on this host owns the run folder, by its flock: True when one holds it
    (alive, perhaps suspended, whatever its heartbeat says), False when free, None where flock is
    not to be had (the heartbeat must do).

    Takes the lock on a fresh open file and lets it go at once; a trainer that meets this probe
    in that instant retries (`RunMarker.acquire`), so looking never turns a trainer away. Costs
    an open, an flock and a close: cheap enough for every live run on every poll.
    """
    fd = _flock_folder(folder)
    if fd == _BUSY:
        return True
    if fd is None:
        return None
    _close(fd)
    return False


def lock_is_live(lock: Mapping[str, Any], now: float | None = None, mtime: float | None = None) -> bool:
    """Whether the lock's process is still training the run.

    Its heartbeat (`updated`, else the file's `mtime`) must be under `STALE_AFTER_S` old; when the
    lock comes from this host, its pid must also be alive. A lock from another host cannot be
    checked further: a fresh heartbeat is all there is to go on.
    """
    now = time.time() if now is None else now
    updated = parse_time(lock.get("updated"))
    beat = updated.timestamp() if updated else mtime
    if beat is None or now - beat > STALE_AFTER_S:
        return False
    pid = lock.get("pid")
    if lock.get("host") == this_host() and isinstance(pid, int):
        return pid_alive(pid)
    return True


def live_lock(run_dir: Path) -> dict[str, Any] | None:
    """The run's lock when a live process holds it, else None (no lock, or a dead one)."""
    lock = _read_lock(run_dir)
    try:
        mtime = (run_dir / LOCK_NAME).stat().st_mtime
    except OSError:
        return None
    return lock if lock is not None and lock_is_live(lock, mtime=mtime) else None


class RunMarker:
    """The lock and status files of one run, kept up by the process that trains it.

    marker = RunMarker(run_dir, epochs)
    marker.acquire()               # one owner: ConfigError naming the other's pid and host
    marker.start(last_epoch)       # status "running", first heartbeat
    marker.beat(epoch)             # from the loop: writes at most every HEARTBEAT_INTERVAL_S
    marker.end("finished", "", last_epoch)   # status.json, then the lock goes
    marker.end("stopped", why, last_epoch, partial_batch=38, batches=94)   # stopped mid-epoch
    """

    def __init__(self, run_dir: Path, epochs: int, interval_s: float | None = None) -> None:
        self.run_dir = run_dir
        self.epochs = epochs
        self.interval_s = HEARTBEAT_INTERVAL_S if interval_s is None else interval_s
        self.started = now_iso()
        """This session's start (the lock's); status.json keeps the run's first start instead."""
        self._first_started = self.started
        self._last_beat = -float("inf")
        self._held = False
        self._folder_fd: int | None = None
        """The run folder, open and flocked while this process owns it."""

    def acquire(self) -> None:
        """Own the run folder, or raise `ConfigError` naming the process that does.

        On this host an flock on the folder decides (the kernel drops it when its process dies,
        even by kill -9, so it cannot go stale); a process on another host sharing the folder is
        seen by its fresh heartbeat. The temp files a killed writer left are removed once owned.
        """
        if self._folder_fd is not None:
            return
        fd = _flock_folder(self.run_dir, retry_s=ACQUIRE_RETRY_S)
        if fd == _BUSY:
            raise ConfigError(self._busy_message(_read_lock(self.run_dir)))
        holder = live_lock(self.run_dir)
        if holder is not None:  # another host, or a process here that took no flock
            _close(fd)
            raise ConfigError(self._busy_message(holder))
        self._folder_fd = fd
        remove_stale_temps(self.run_dir)

    def _busy_message(self, holder: Mapping[str, Any] | None) -> str:
        return busy_message(self.run_dir, holder)

    def start(self, last_epoch: int) -> None:
        """Say the run is running: status.json (keeping an earlier start) and the first heartbeat."""
        try:
            earlier = read_json(self.run_dir / STATUS_NAME)
        except (OSError, ValueError):
            earlier = None
        if isinstance(earlier, dict) and parse_time(earlier.get("started")):
            self._first_started = earlier["started"]
        else:
            named = started_from_name(self.run_dir.name)
            if named is not None and last_epoch > 0:  # a run from before status.json existed
                self._first_started = named.isoformat(timespec="milliseconds")
        self._write_status("running", "", last_epoch, ended=None)
        self._held = True
        self.beat(last_epoch + 1, force=True)

    def beat(self, epoch: int, *, paused: bool = False, force: bool = False) -> None:
        """Refresh the heartbeat if `interval_s` has passed (or `force`); cheap to call per batch."""
        now = time.monotonic()
        if not self._held or (not force and now - self._last_beat < self.interval_s):
            return
        self._last_beat = now
        atomic_write_json(
            self.run_dir / LOCK_NAME,
            {
                "pid": os.getpid(),
                "host": this_host(),
                "started": self.started,
                "updated": now_iso(),
                "epoch": epoch,
                "paused": paused,
            },
        )

    def end(self, status: str, message: str, last_epoch: int, *, partial_batch: int = 0, batches: int = 0) -> None:
        """Write the final status.json ("finished", "stopped" or "failed"), then drop the lock.

        `partial_batch` > 0: the run stopped after that many of its `batches` of epoch
        `last_epoch` + 1, kept in partial.pt (said in status.json for readers without torch)."""
        if not self._held:
            return
        extra = {"partial_batch": partial_batch, "batches": batches} if partial_batch > 0 else {}
        try:
            self._write_status(status, message, last_epoch, ended=now_iso(), **extra)
        finally:
            self.release()

    def release(self) -> None:
        """Remove the lock and let the folder go (idempotent); without a final status the run
        then reads as interrupted."""
        if self._held:
            self._held = False
            try:
                os.unlink(self.run_dir / LOCK_NAME)
            except OSError:
                pass
        fd, self._folder_fd = self._folder_fd, None
        _close(fd)

    def _write_status(self, status: str, message: str, last_epoch: int, ended: str | None, **extra: int) -> None:
        atomic_write_json(
            self.run_dir / STATUS_NAME,
            {
                "status": status,
                "message": message,
                "last_epoch": last_epoch,
                "epochs": self.epochs,
                "started": self._first_started,
                "ended": ended,
                **extra,
            },
        )


def busy_message(run_dir: Path, holder: Mapping[str, Any] | None) -> str:
    """Why `run_dir` cannot be taken: the process that holds it, and whether it is suspended."""
    pid = holder.get("pid") if holder else None
    host = holder.get("host") if holder else None
    if isinstance(pid, int) and host == this_host() and pid_stopped(pid):
        return f"{run_dir}: {suspended_note(pid, host)}"
    who = f"process {pid} on {host}" if holder else "another process on this host"
    return f"{run_dir} is being trained by {who}; one process trains a run at a time"


def own_folder(run_dir: Path) -> int | None:
    """Take `run_dir` the way a trainer does, for a process that changes it wholesale (a delete):
    the folder's fd, flocked (None where flock is not to be had); `ConfigError` naming the
    process that owns it (one here, suspended or not, or another host's fresh heartbeat).
    `release_folder(fd)` lets it go."""
    fd = _flock_folder(run_dir, retry_s=ACQUIRE_RETRY_S)
    if fd == _BUSY:
        raise ConfigError(busy_message(run_dir, _read_lock(run_dir)))
    holder = live_lock(run_dir)
    if holder is not None:
        _close(fd)
        raise ConfigError(busy_message(run_dir, holder))
    return fd


def release_folder(fd: int | None) -> None:
    """Let go of a folder `own_folder` took."""
    _close(fd)


_BUSY = -1
ACQUIRE_RETRY_S = 0.5
"""How long taking a folder keeps trying while its flock is held: a reader's probe
(`folder_busy`) holds it for microseconds; a trainer holds it for good."""


def _flock_folder(folder: Path, retry_s: float = 0.0) -> int | None:
    """The folder opened and exclusively flocked; `_BUSY` when another open file holds it (after
    `retry_s` of trying); None where flock is not to be had (Windows, a filesystem without it):
    the heartbeat must do."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    deadline = time.monotonic() + retry_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return _BUSY
            time.sleep(0.02)
        except OSError:
            os.close(fd)
            return None


def _close(fd: int | None) -> None:
    if fd is not None and fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass


def _read_lock(folder: Path) -> dict[str, Any] | None:
    try:
        lock = read_json(folder / LOCK_NAME)
    except (OSError, ValueError):
        return None
    return lock if isinstance(lock, dict) else None


def load_run_config(path: str | os.PathLike[str]) -> TrainConfig:
    """The config of the run in folder `path` (or of the run a checkpoint file `path` belongs to).

    Raises `ConfigError` in one line when there is no readable config.json there.
    """
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    file = os.path.join(folder, CONFIG_NAME)
    try:
        # Regular files only (a FIFO named config.json must not hang a resume), at most the cap.
        data = read_json(file)
    except FileNotFoundError:
        raise ConfigError(f"{file}: no run config there") from None
    except OSError as err:
        raise ConfigError(f"{file}: cannot read the run config ({err.strerror or err})") from None
    except ValueError as err:  # bad JSON or UTF-8, cut off, nested 100k deep, longer than the cap
        raise ConfigError(f"{file}: not a JSON run config ({clip(str(err), 60)})") from None
    try:
        return TrainConfig.from_json(data, folders_exist=False)
    except ConfigError as err:
        raise ConfigError(f"{file}: {err}", err.errors) from None


class NoCheckpoint(ConfigError):
    """A `--resume` path without a checkpoint; `config_folder` is set when it is a run folder
    whose config.json is there (killed before its first epoch ended: it can start over)."""

    def __init__(self, message: str, config_folder: Path | None = None) -> None:
        super().__init__(message)
        self.config_folder = config_folder

    @classmethod
    def at(cls, named: str, config_folder: Path | None = None) -> NoCheckpoint:
        """The one line for `named` (a flag and its value, or a path): "no checkpoint there"."""
        return cls(f"{named}: no checkpoint there (expected a run folder or a {CHECKPOINT_NAME})", config_folder)


def find_checkpoint(path: str | Path, flag: str = "--resume") -> Path:
    """`path` itself when it is a file, else the checkpoint inside the run folder it names.

    Raises `NoCheckpoint` (a one-line `ConfigError`, naming `flag`'s value) when there is none.
    Torch-free, so the dashboard judges a `--resume` path the way the trainer will.
    """
    path = Path(path).expanduser()
    candidate = path / CHECKPOINT_NAME if path.is_dir() else path
    if not candidate.is_file():
        folder = path if path.is_dir() and (path / CONFIG_NAME).is_file() else None
        raise NoCheckpoint.at(f"{flag} {path}" if flag else str(path), folder)
    return candidate
