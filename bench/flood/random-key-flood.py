#!/usr/bin/env python3
"""Random-key flood against a running gateway, with the serving process's memory measured before, during and after.

Usage: random-key-flood.py URL PID [SECONDS] [ADDRESSES] [THREADS]
  URL        the gateway, e.g. http://127.0.0.1:5080
  PID        the process to measure (the embedded silo, or the silo hosting the credential grains)
  SECONDS    flood length (default 60)
  ADDRESSES  loopback source addresses to spread over (127.0.9.1 ...; default 64), so the per-address
             failed-authentication budget does not simply cut the flood off: this measures what reaches the grains
  THREADS    concurrent connections (default 16)

Each request is GET /v1/me with a well-formed random key (smpc_<16 hex>_<43 base64url>). Prints the status counts,
the request rate, and VmRSS/VmHWM of PID at the start, at the end, and 10 s after the end.
"""
import base64, collections, http.client, os, secrets, sys, threading, time
from urllib.parse import urlparse


def rss(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) // 1024
    return fields


def key():
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"smpc_{secrets.token_hex(8)}_{secret}"


def main():
    url, pid = urlparse(sys.argv[1]), int(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 60
    addresses = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 16
    counts, lock, stop = collections.Counter(), threading.Lock(), time.monotonic() + seconds

    def worker(n):
        i = n
        while time.monotonic() < stop:
            source = f"127.0.9.{1 + i % addresses}"
            i += threads
            try:
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10, source_address=(source, 0))
                conn.request("GET", "/v1/me", headers={"Authorization": "Bearer " + key()})
                status = conn.getresponse().status
                conn.close()
            except OSError as e:
                status = type(e).__name__
            with lock:
                counts[status] += 1

    start = rss(pid)
    began = time.monotonic()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool: t.start()
    for t in pool: t.join()
    elapsed = time.monotonic() - began
    end = rss(pid)
    time.sleep(10)
    after = rss(pid)
    total = sum(counts.values())
    print(f"requests {total} in {elapsed:.1f} s ({total / elapsed:.0f}/s) from {addresses} addresses: {dict(counts)}")
    print(f"VmRSS MiB: start {start['VmRSS']}, end {end['VmRSS']}, +10 s {after['VmRSS']}; VmHWM MiB {after['VmHWM']}")


if __name__ == "__main__":
    main()
