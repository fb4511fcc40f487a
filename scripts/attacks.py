#!/usr/bin/env python3
"""Attacks that need a real server process and its memory (`make attacks`).

Starts the release build on a fresh data directory and, from this process:
1. floods /device/ws with small bad frames without ever reading the
   replies (50 MiB once raised the server from 53 MB to 1.42 GB): the server
   hangs up, and its memory stays under a ceiling;
2. floods a paired display's socket with proof-of-play messages without
   reading the acknowledgements: the server hangs up rather than buffer;
3. opens connections that never finish their request head: they are closed
   after the header timeout;
4. opens more connections from one address than it allows: the extra ones
   are refused at once.
Prints each figure; exits non-zero when a bound does not hold. Standard
library only.
"""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

PORT = int(os.environ.get("ATTACK_PORT", "3401"))
BIN = os.environ.get("VIZORA_BIN", "target/release/vizora")
ADMIN = ("admin@attacks.test", "attack-admin-password")
CEILING_MIB = 120  # above the idle server's own memory
PER_ADDRESS = 64
HEADER_TIMEOUT = 2

failures = []


def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Peak(threading.Thread):
    """Samples the server's RSS until stopped."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.05)


def frame(payload, opcode=1):
    """One masked client frame."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws(path, rcvbuf=4096):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", PORT))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            raise RuntimeError("closed during the handshake")
        head += chunk
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    return s


def read_frame(s):
    """One server frame's text (unmasked, short or medium)."""
    b = s.recv(2)
    n = b[1] & 0x7F
    if n == 126:
        n = struct.unpack(">H", s.recv(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", s.recv(8))[0]
    data = b""
    while len(data) < n:
        data += s.recv(n - len(data))
    return data.decode()


def flood(s, payload, total):
    """Sends `payload` frames until `total` bytes went out or the server
    hung up; returns the bytes sent."""
    one = frame(payload)
    sent = 0
    s.settimeout(10)
    try:
        while sent < total:
            s.sendall(one * 64)
            sent += len(one) * 64
    except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
        pass
    return sent


def hung_up(s, within=10):
    """Whether the server closed `s` (reading what it sent meanwhile)."""
    s.settimeout(within)
    try:
        while s.recv(65536):
            pass
        return True
    except (ConnectionResetError, OSError):
        return True
    except socket.timeout:
        return False


def post(path, body, cookie=None, form=False):
    data = urllib.parse.urlencode(body).encode() if form else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=data, method="POST")
    req.add_header("content-type", "application/x-www-form-urlencoded" if form else "application/json")
    if cookie:
        req.add_header("cookie", cookie)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(req, timeout=10)
    except urllib.error.HTTPError as e:
        return e


def main():
    data = tempfile.mkdtemp(prefix="vizora-attacks-")
    config = os.path.join(data, "attacks.toml")
    with open(config, "w") as f:
        f.write(
            f"[vizora]\nconnections-per-address = {PER_ADDRESS}\n"
            f"header-timeout-seconds = {HEADER_TIMEOUT}\nheartbeat-seconds = 5\n"
        )
    env = dict(os.environ, VIZORA_ADMIN_EMAIL=ADMIN[0], VIZORA_ADMIN_PASSWORD=ADMIN[1], VIZORA_LOG="error")
    server = subprocess.Popen(
        [BIN, "serve", "--bind", f"127.0.0.1:{PORT}", "--data-dir", data, "--config", config],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        idle = rss_mib(server.pid)
        print(f"server pid {server.pid}, {idle:.0f} MiB at rest")

        # 1. Bad frames, never read.
        peak = Peak(server.pid)
        peak.start()
        s = ws("/device/ws")
        started = time.time()
        sent = flood(s, b'{"not":"the protocol"}', 50 << 20)
        closed = hung_up(s)
        peak.running = False
        peak.join()
        print(f"  bad-frame flood: {sent / (1 << 20):.1f} MiB sent before the server hung up "
              f"({time.time() - started:.2f} s); peak {peak.peak:.0f} MiB")
        check(closed, "a display socket that only sends bad frames is closed")
        check(peak.peak < idle + CEILING_MIB, f"memory stays under {idle:.0f} + {CEILING_MIB} MiB during the flood")

        # 2. A paired display that never reads its acknowledgements.
        login = post("/auth/login", {"email": ADMIN[0], "password": ADMIN[1]}, form=True)
        cookie = login.headers.get("set-cookie", "").split(";")[0]
        d = ws("/device/ws")
        d.sendall(frame(json.dumps({"type": "hello", "token": None, "player_version": "attack"}).encode()))
        code = json.loads(read_frame(d))["code"]
        op = {"op_id": "attack-pair", "base_version": None,
              "change": {"kind": "pair_device", "device_id": "attack-display", "code": code,
                         "name": "Attack", "group_id": None, "timezone": "UTC"}}
        answer = post("/api/v1/ops", op, cookie=cookie)
        check(answer.status == 200, f"the attack display is paired ({answer.status})")
        peak = Peak(server.pid)
        peak.start()
        plays = b"".join(
            frame(json.dumps({"type": "played", "id": f"p{i}", "content_id": "c", "playlist_id": None,
                              "started_at": 1, "duration_ms": 1}).encode())
            for i in range(2000)
        )
        sent = 0
        d.settimeout(10)
        try:
            while sent < (20 << 20):
                d.sendall(plays)
                sent += len(plays)
        except OSError:
            pass
        closed = hung_up(d)
        peak.running = False
        peak.join()
        print(f"  unread-ack flood: {sent / (1 << 20):.1f} MiB of proof of play sent; peak {peak.peak:.0f} MiB")
        check(closed, "a display that does not read its acknowledgements is hung up on")
        check(peak.peak < idle + CEILING_MIB, "memory stays under the ceiling while it floods")

        # 3. Request heads that never end.
        slow = []
        for _ in range(8):
            c = socket.create_connection(("127.0.0.1", PORT))
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            slow.append(c)
        started = time.time()
        closed = all(hung_up(c, within=HEADER_TIMEOUT + 5) for c in slow)
        print(f"  slow request heads: closed after {time.time() - started:.1f} s")
        check(closed and time.time() - started < HEADER_TIMEOUT + 5,
              f"connections that never finish their head are closed after about {HEADER_TIMEOUT} s")

        # 4. More connections from one address than allowed.
        held = []
        for _ in range(PER_ADDRESS - 2):
            held.append(ws("/device/ws", rcvbuf=65536))
        refused = 0
        for _ in range(10):
            try:
                extra = ws("/device/ws", rcvbuf=65536)
                held.append(extra)
            except (RuntimeError, OSError):
                refused += 1
        print(f"  connections from one address: {len(held)} held, {refused} refused (cap {PER_ADDRESS})")
        check(refused >= 8, "connections past the per-address cap are refused")
        for c in held:
            c.close()
        time.sleep(0.5)
        ok = post("/auth/login", {"email": ADMIN[0], "password": ADMIN[1]}, form=True)
        check(ok.status == 303, "closed connections give their places back")
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data, ignore_errors=True)
    if failures:
        print(f"attacks: {len(failures)} bound(s) did not hold")
        sys.exit(1)
    print("attacks: every bound held")


if __name__ == "__main__":
    main()
