"""A party's state on the pod's disk (secure-aggregation.md, "Resuming a party"): owner-only, replaced atomically, wiped.

The file holds secrets in the clear: ``0600`` in a ``0700`` directory, written as a temporary file, fsynced, renamed, the
directory fsynced; wiping overwrites it (and a leftover ``.tmp``) with zeros, fsyncs, unlinks and fsyncs the directory.
"""

from __future__ import annotations

import os
import pathlib

from .._durable import sync_directory, wipe, write_owner_only


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
        """Atomic, durable, owner-only replacement (0600 in a 0700 directory)."""
        write_owner_only(self.path, data)

    def delete(self) -> bool:
        """Overwrites with zeros, fsyncs and unlinks the file and any temporary file a crash left; True if anything was there."""
        leftovers = [self.temp, *self.path.parent.glob(f"{self.path.name}.*.tmp")] if self.path.parent.exists() else []
        wiped = [wipe(p) for p in (self.path, *leftovers)]
        if any(wiped):
            sync_directory(self.path.parent)
        return any(wiped)
