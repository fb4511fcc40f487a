#!/usr/bin/env python3
"""kill -9 in the middle of idempotent writes loses nothing and doubles nothing.

Each cycle starts a server on a fresh SQLite data directory, makes an admin API
token, and sends KILL9_WRITES device creations (each with its own
Idempotency-Key) from KILL9_THREADS threads. Part-way it SIGKILLs the server,
starts it again on the same directory, and holds that:

- every write acknowledged (2xx) before the kill is there exactly once;
- retrying every write, acknowledged or not, with its own key leaves exactly
  one display per key (an acknowledged one keeps its id), and nothing else.

Python standard library only. VIZORA_BIN is the server binary (default
target/release/vizora, what `make build` makes); KILL9_CYCLES repeats the
whole thing (`make soak` runs 20).
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("VIZORA_BIN", os.path.join(ROOT, "target", "release", "vizora"))
CONFIG = os.path.join(ROOT, "Leptos.toml")
CYCLES = int(os.environ.get("KILL9_CYCLES", "1"))
WRITES = int(os.environ.get("KILL9_WRITES", "300"))
THREADS = int(os.environ.get("KILL9_THREADS", "2"))
TAG = "kill9"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir, port):
        self.data_dir, self.port = data_dir, port
        self.base = f"http://127.0.0.1:{port}"
        self.proc = None

    def start(self):
        log = open(os.path.join(self.data_dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--data-dir", self.data_dir, "--config", CONFIG,
             "--bind", f"127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "VIZORA_LOG": "warn"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"the server exited at start (code {self.proc.returncode}); see {self.data_dir}/server.log")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        sys.exit("the server did not become ready in 30 s")

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request(base, token, method, path, body=None, key=None, timeout=10):
    """(status, parsed JSON or None); status 0 when no answer came."""
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if key:
        headers["Idempotency-Key"] = key
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
    except (urllib.error.URLError, OSError):
        return 0, None


def make_token(data_dir):
    out = subprocess.run(
        [BIN, "token", "add", "--data-dir", data_dir, "--config", CONFIG,
         "--name", "kill9", "--role", "admin"],
        check=True, capture_output=True, text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def devices(base, token):
    status, snapshot = request(base, token, "GET", "/api/v1/devices", timeout=30)
    if status != 200:
        sys.exit(f"listing the displays answered {status}")
    return [d for d in snapshot["devices"] if TAG in d.get("tags", [])]


def create_body(key):
    return {"name": f"kill9 {key}", "tags": [TAG]}


def cycle(n):
    data_dir = tempfile.mkdtemp(prefix="vizora-kill9-")
    server = Server(data_dir, free_port())
    server.start()
    token = make_token(data_dir)
    keys = [f"k9-{n}-{i:05d}" for i in range(WRITES)]
    todo = list(reversed(keys))
    acked = {}  # key -> device id, for the 2xx answers before the kill
    lock = threading.Lock()
    kill_at = random.randint(WRITES // 4, WRITES * 3 // 4)
    killed = threading.Event()

    def writer():
        while not killed.is_set():
            with lock:
                if not todo:
                    return
                key = todo.pop()
            status, device = request(server.base, token, "POST", "/api/v1/devices", create_body(key), key)
            if 200 <= status < 300 and not killed.is_set():
                with lock:
                    acked[key] = device["id"]

    threads = [threading.Thread(target=writer) for _ in range(THREADS)]
    for t in threads:
        t.start()
    while not killed.is_set():
        with lock:
            if len(acked) >= kill_at or not todo:
                # SIGKILL under the lock: no answer can be counted as acknowledged after it.
                server.kill9()
                killed.set()
                acked_before = dict(acked)
        time.sleep(0.002)
    for t in threads:
        t.join()

    server.start()
    try:
        after_restart = devices(server.base, token)
        by_id = {}
        for d in after_restart:
            by_id[d["id"]] = by_id.get(d["id"], 0) + 1
        lost = [k for k, i in acked_before.items() if by_id.get(i, 0) != 1]
        if lost:
            sys.exit(f"cycle {n}: {len(lost)} acknowledged writes are not there exactly once, e.g. {lost[:3]}")

        changed = []
        for key in keys:
            status, device = request(server.base, token, "POST", "/api/v1/devices", create_body(key), key)
            if not 200 <= status < 300:
                sys.exit(f"cycle {n}: retrying {key} answered {status}")
            if key in acked_before and device["id"] != acked_before[key]:
                changed.append(key)
        if changed:
            sys.exit(f"cycle {n}: a retry of an acknowledged write made another display: {changed[:3]}")

        after_retry = devices(server.base, token)
        names = {}
        for d in after_retry:
            names[d["name"]] = names.get(d["name"], 0) + 1
        doubled = [name for name, count in names.items() if count != 1]
        missing = [k for k in keys if f"kill9 {k}" not in names]
        if doubled or missing or len(after_retry) != len(keys):
            sys.exit(
                f"cycle {n}: after the retry {len(after_retry)} displays for {len(keys)} keys "
                f"(doubled {doubled[:3]}, missing {missing[:3]})"
            )
    finally:
        server.stop()
    print(
        f"kill9 cycle {n}: {len(keys)} keys, {len(acked_before)} acknowledged before the kill, "
        f"{len(after_restart)} present after restart, {len(after_retry)} after retrying every key"
    )
    subprocess.run(["rm", "-rf", data_dir], check=False)


def main():
    if not os.access(BIN, os.X_OK):
        sys.exit(f"no server binary at {BIN} (make build, or set VIZORA_BIN)")
    for n in range(1, CYCLES + 1):
        cycle(n)
    print(f"kill9: {CYCLES} cycle(s), nothing lost and nothing doubled")


if __name__ == "__main__":
    main()
