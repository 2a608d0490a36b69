"""The raw RSA private operation ``m^d mod n`` through OpenSSL's libcrypto (``EVP_PKEY_decrypt`` with
``RSA_NO_PADDING``): CRT, RSA blinding, constant-time, about 30x Python's ``pow``. One ``EVP_PKEY_CTX`` per thread
(a context is not thread-safe); ctypes releases the GIL during the call, so a thread pool uses every core.
None of this is needed for correctness: :class:`smpc.psi.rsa.RsaPrivateKey` falls back to Python integers."""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import weakref
from typing import Any

RSA_NO_PADDING = 3
EVP_PKEY_RSA = 6

_lib: Any = None
_lib_lock = threading.Lock()


def _load() -> Any:
    global _lib
    with _lib_lock:
        if _lib is None:
            names = ["libcrypto.so.3", ctypes.util.find_library("crypto") or ""]
            for name in names:
                if not name:
                    continue
                try:
                    lib = ctypes.CDLL(name)
                    break
                except OSError:
                    continue
            else:
                _lib = False
                return None
            lib.d2i_PrivateKey.restype = ctypes.c_void_p
            lib.d2i_PrivateKey.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]
            lib.EVP_PKEY_free.argtypes = [ctypes.c_void_p]
            lib.EVP_PKEY_CTX_new.restype = ctypes.c_void_p
            lib.EVP_PKEY_CTX_new.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
            lib.EVP_PKEY_CTX_free.argtypes = [ctypes.c_void_p]
            lib.EVP_PKEY_decrypt_init.argtypes = [ctypes.c_void_p]
            lib.EVP_PKEY_CTX_set_rsa_padding.argtypes = [ctypes.c_void_p, ctypes.c_int]
            lib.EVP_PKEY_decrypt.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t),
                                             ctypes.c_char_p, ctypes.c_size_t]
            _lib = lib
        return _lib or None


def available() -> bool:
    """Whether libcrypto could be loaded."""
    return _load() is not None


class RawRsaSigner:
    """``m^d mod n`` for k-byte big-endian ``m < n``, on OpenSSL's copy of a key given as PKCS#1 DER."""

    def __init__(self, pkcs1_der: bytes, k: int) -> None:
        lib = _load()
        if lib is None:
            raise OSError("libcrypto is not available")
        self._lib = lib
        self.k = k
        buffer = ctypes.c_char_p(pkcs1_der)
        self._pkey = lib.d2i_PrivateKey(EVP_PKEY_RSA, None, ctypes.byref(buffer), len(pkcs1_der))
        if not self._pkey:
            raise ValueError("OpenSSL could not load the RSA key")
        self._local = threading.local()
        self._contexts: list[int] = []
        self._lock = threading.Lock()
        weakref.finalize(self, RawRsaSigner._free, lib, self._pkey, self._contexts)

    @staticmethod
    def _free(lib: Any, pkey: int, contexts: list[int]) -> None:
        for ctx in contexts:
            lib.EVP_PKEY_CTX_free(ctx)
        lib.EVP_PKEY_free(pkey)

    def _context(self) -> int:
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            lib = self._lib
            ctx = lib.EVP_PKEY_CTX_new(self._pkey, None)
            if not ctx or lib.EVP_PKEY_decrypt_init(ctx) != 1 or lib.EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) != 1:
                raise ValueError("OpenSSL refused a raw RSA context")
            with self._lock:
                self._contexts.append(ctx)
            self._local.ctx = ctx
        return ctx

    def sign(self, m: bytes) -> bytes:
        """The raw private operation on exactly ``k`` bytes."""
        if len(m) != self.k:
            raise ValueError(f"the input must be exactly {self.k} bytes")
        ctx = self._context()
        out = ctypes.create_string_buffer(self.k)
        size = ctypes.c_size_t(self.k)
        if self._lib.EVP_PKEY_decrypt(ctx, out, ctypes.byref(size), m, self.k) != 1:
            raise ValueError("OpenSSL refused the raw RSA operation (input not below n?)")
        raw = out.raw[:size.value]
        return raw.rjust(self.k, b"\x00")
