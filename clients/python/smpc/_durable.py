"""Owner-only, durable file writes shared by the pin store, the pod's state and its ledger (like the .NET PartyStateFile)."""

from __future__ import annotations

import os
import pathlib
import stat
import threading
from typing import Union

PathLike = Union[str, os.PathLike]

_counter = 0
_counter_lock = threading.Lock()


def owner_only_directory(directory: PathLike) -> None:
    """Creates ``directory`` owner-only (0700), or narrows an existing one to that."""
    d = pathlib.Path(directory)
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(d.stat().st_mode) != 0o700:
        os.chmod(d, 0o700)


def sync_directory(directory: PathLike) -> None:
    """fsync of a directory (POSIX), so renames and deletions in it are durable."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_owner_only(path: PathLike, data: bytes, *, narrow_directory: bool = True) -> None:
    """
    Replaces ``path`` atomically and durably with ``data``: a fresh owner-only (0600) temporary file, fsynced, renamed over
    the old one, then the directory fsynced. With ``narrow_directory`` the directory is made owner-only (0700) too.
    """
    global _counter
    p = pathlib.Path(path)
    directory = p.resolve().parent
    if narrow_directory:
        owner_only_directory(directory)
    else:
        directory.mkdir(parents=True, exist_ok=True)
    with _counter_lock:
        _counter += 1
        n = _counter
    temp = p.with_name(f"{p.name}.{os.getpid()}.{n}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, p)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    sync_directory(directory)


def wipe(path: PathLike) -> bool:
    """Overwrites a file with zeros, then deletes it (deleting matters more than wiping); False if there was none."""
    p = pathlib.Path(path)
    if not p.exists():
        return False
    try:
        size = p.stat().st_size
        with open(p, "r+b") as f:
            block = b"\0" * min(size, 1 << 20)
            left = size
            while left > 0:
                n = min(left, len(block))
                f.write(block[:n])
                left -= n
            f.flush()
            os.fsync(f.fileno())
    except OSError:
        pass
    p.unlink(missing_ok=True)
    return True
