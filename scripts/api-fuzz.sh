#!/usr/bin/env bash
# schemathesis against the OpenAPI document of a fresh server: a temporary
# data directory (SQLite), a free port, an admin API token, every check, a
# bounded number of examples per operation (schemathesis.toml). Exits non-zero
# on any failure. VIZORA_BIN picks the server binary (default: the release
# build `make build` makes).
set -euo pipefail

cd "$(dirname "$0")/.."
TOOLS_DIR="${VIZORA_TOOLS_DIR:-$HOME/.cache/vizora-tools}"
ST="$TOOLS_DIR/schemathesis/bin/schemathesis"
BIN="${VIZORA_BIN:-target/release/vizora}"
[ -x "$ST" ] || { echo "schemathesis is not installed: run scripts/bootstrap.sh" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no server binary at $BIN (make build, or set VIZORA_BIN)" >&2; exit 1; }

DATA="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$DATA"
}
trap cleanup EXIT

VIZORA_LOG=warn "$BIN" serve --data-dir "$DATA" --config Leptos.toml --bind "127.0.0.1:$PORT" \
  >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA/server.log" >&2; exit 1; }
  sleep 0.1
done
TOKEN="$("$BIN" token add --data-dir "$DATA" --config Leptos.toml --name api-fuzz --role admin)"

# One worker: with two threads, hypothesis' ast.parse in CPython 3.11.7 can
# fail with "SystemError: AST constructor recursion depth mismatch" (a CPython
# bug with threads, fixed in later releases), which schemathesis reports as
# an error of the run.
status=0
"$ST" --config-file schemathesis.toml run "$BASE/api/v1/openapi.json" \
  --checks all \
  --header "Authorization: Bearer $TOKEN" \
  --request-timeout 35 \
  --workers 1 \
  --seed "${API_FUZZ_SEED:-1}" \
  "$@" || status=$?
if [ "$status" != 0 ]; then
  echo "--- server log (last 40 lines)" >&2
  tail -n 40 "$DATA/server.log" >&2
fi
exit "$status"
