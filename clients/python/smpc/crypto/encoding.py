"""Byte-level building blocks shared by the protocol encodings: ``str(s)``, big-endian integers, IEEE bits."""

from __future__ import annotations

import struct

from .errors import Malformed


def be16(x: int) -> bytes:
    """Big-endian unsigned 16-bit."""
    return struct.pack(">H", x)


def be32(x: int) -> bytes:
    """Big-endian unsigned 32-bit."""
    return struct.pack(">I", x)


def be64(x: int) -> bytes:
    """Big-endian unsigned 64-bit."""
    return struct.pack(">Q", x)


def text(s: str) -> bytes:
    """``str(s) = BE16 |utf8(s)| ‖ utf8(s)``."""
    b = s.encode("utf-8")
    if len(b) > 0xFFFF:
        raise Malformed("string longer than 65535 bytes")
    return be16(len(b)) + b


def bits(x: float) -> bytes:
    """The IEEE 754 binary64 bit pattern of ``x`` as BE64, with −0 written as +0."""
    return struct.pack(">d", 0.0 if x == 0 else float(x))


class Reader:
    """Reads a message front to back; every shortfall is ``Malformed``."""

    def __init__(self, data: bytes, what: str = "message") -> None:
        self.data = memoryview(bytes(data))
        self.pos = 0
        self.what = what

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes."""
        if n < 0 or self.pos + n > len(self.data):
            raise Malformed(f"{self.what} is truncated")
        out = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return out

    def u8(self) -> int:
        """One byte."""
        return self.take(1)[0]

    def u32(self) -> int:
        """BE32."""
        return struct.unpack(">I", self.take(4))[0]

    def text(self) -> str:
        """``str(s)``."""
        n = struct.unpack(">H", self.take(2))[0]
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed(f"{self.what} holds a string that is not UTF-8") from None

    def remaining(self) -> int:
        """Bytes left."""
        return len(self.data) - self.pos

    def end(self) -> None:
        """Refuses trailing bytes."""
        if self.pos != len(self.data):
            raise Malformed(f"{self.what} has {len(self.data) - self.pos} trailing bytes")
