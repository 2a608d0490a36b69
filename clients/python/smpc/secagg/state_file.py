"""A party's state on the pod's disk (secure-aggregation.md, "Resuming a party"): owner-only, replaced atomically, wiped.

The file holds secrets in the clear: ``0600`` in a ``0700`` directory, written as a temporary file, fsynced, renamed, the
directory fsynced; wiping overwrites it (and a leftover ``.tmp``) with zeros, fsyncs, unlinks and fsyncs the directory.
"""

from __future__ import annotations

import os
import pathlib


def _sync_dir(directory: pathlib.Path) -> None:
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


class PartyStateFile:
    """``<state dir>/<session id>.party``."""

    def __init__(self, path: os.PathLike | str) -> None:
        self.path = pathlib.Path(path)
        self.temp = self.path.with_name(self.path.name + ".tmp")

    @classmethod
    def for_session(cls, state_dir: os.PathLike | str, session_id: str) -> "PartyStateFile":
        """The file of ``session_id`` in ``state_dir`` (same name as the .NET agent's)."""
        return cls(pathlib.Path(state_dir) / f"{session_id}.party")

    def load(self) -> bytes | None:
        """The saved state, or ``None``."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def save(self, data: bytes) -> None:
        """Atomic, durable, owner-only replacement."""
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.temp, self.path)
        _sync_dir(directory)

    def delete(self) -> bool:
        """Overwrites with zeros, fsyncs and unlinks the file and a leftover ``.tmp``; True if anything was there."""
        any_ = False
        for p in (self.path, self.temp):
            try:
                size = p.stat().st_size
            except FileNotFoundError:
                continue
            try:
                fd = os.open(p, os.O_WRONLY)
                try:
                    os.write(fd, bytes(size))
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:
                pass
            try:
                p.unlink()
                any_ = True
            except FileNotFoundError:
                pass
        if any_:
            _sync_dir(self.path.parent)
        return any_
