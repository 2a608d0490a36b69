"""Progress of long steps for every protocol driver: a callback, tqdm bars (Debian's python3-tqdm), or nothing."""

from __future__ import annotations

from typing import Any, Callable


class Progress:
    """Progress of a long step: ``callback(step, done, total)``, or tqdm bars (``True``; python3-tqdm), or nothing."""

    BATCH = 4096

    def __init__(self, progress: Any = None, unit: str = "el") -> None:
        self._unit = unit
        self._callback = progress if callable(progress) else None
        self._tqdm = None
        self._bars: dict[str, Any] = {}
        if progress is True:
            try:
                from tqdm import tqdm  # noqa: PLC0415 (optional)
                self._tqdm = tqdm
            except ImportError:
                self._tqdm = None

    def __call__(self, step: str, done: int, total: int | None = None) -> None:
        if self._callback is not None:
            self._callback(step, done, total)
        if self._tqdm is not None:
            bar = self._bars.get(step)
            if bar is None:
                bar = self._bars[step] = self._tqdm(total=total, desc=step, unit=self._unit, leave=True)
            bar.update(done - bar.n)
            if total is not None and done >= total:
                bar.close()

    def close(self) -> None:
        """Closes any open bars."""
        for bar in self._bars.values():
            bar.close()

    def batches(self, step: str, items: list[Any], work: Callable[[list[Any]], bytes]) -> bytes:
        """``work`` over ``items`` in batches, reporting ``step`` after each; the outputs concatenated."""
        out = bytearray()
        total = len(items)
        for start in range(0, total, self.BATCH):
            out += work(items[start:start + self.BATCH])
            self(step, min(start + self.BATCH, total), total)
        return bytes(out)
