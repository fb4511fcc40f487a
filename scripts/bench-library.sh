#!/usr/bin/env bash
# Library figures for the release build (`make bench-library`):
#   1. upload throughput of one 200 MB video and the server's peak memory during it;
#   2. server render time of /content with 1,000 library items.
# Runs its own server on a fresh SQLite data directory on port 3190.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=./target/release/vizora
PORT=3190
DATA=$(mktemp -d)
SIZE_MB=${SIZE_MB:-200}
ITEMS=${ITEMS:-1000}
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT

VIZORA_ADMIN_EMAIL=bench@vizora.test VIZORA_ADMIN_PASSWORD=bench-password VIZORA_LOG=warn \
  "$BIN" serve --bind "127.0.0.1:$PORT" --data-dir "$DATA" >/dev/null &
SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
JAR="$DATA/cookies"
curl -fs -c "$JAR" -o /dev/null -d "email=bench@vizora.test&password=bench-password&next=/" "http://127.0.0.1:$PORT/auth/login"
rss() { awk -v k="$1" '$1 == k":" { print int($2 / 1024) }' "/proc/$SERVER/status"; }

# An MP4 the sniffer accepts and the prober reads: ftyp, a large mdat, then moov/mvhd.
VIDEO="$DATA/big.mp4"
python3 - "$VIDEO" "$SIZE_MB" <<'PY'
import struct, sys
path, mb = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 512, b"isom", b"mp41"))
    body = mb * 1024 * 1024
    f.write(struct.pack(">I4s", body + 8, b"mdat"))
    chunk = bytes(range(256)) * 4096
    left = body
    while left:
        n = min(left, len(chunk)); f.write(chunk[:n]); left -= n
    mvhd = struct.pack(">I4sB3xIIII", 108, b"mvhd", 0, 0, 0, 1000, 95_000) + b"\0" * 80
    f.write(struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd)
PY
echo "upload: $(du -m "$VIDEO" | cut -f1) MB video; server RSS before: $(rss VmRSS) MB"
OUT=$(curl -fs -b "$JAR" -H "Origin: http://127.0.0.1:$PORT" -F "file=@$VIDEO;type=video/mp4" \
  -w '\n%{time_total} %{speed_upload}' "http://127.0.0.1:$PORT/api/v1/content")
read -r SECS SPEED <<<"$(tail -n1 <<<"$OUT")"
echo "upload: ${SECS} s, $(awk -v s="$SPEED" 'BEGIN { printf "%.0f", s / 1048576 }') MB/s; duration read: $(head -n1 <<<"$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["duration_ms"], "ms")')"
echo "upload: server peak RSS (VmHWM) $(rss VmHWM) MB, RSS after $(rss VmRSS) MB"
echo "upload: stored $(find "$DATA/media" -maxdepth 1 -name '*.mp4' -printf '%f %s bytes\n')"

# 1,000 items through the REST API, then time the server-rendered page.
for i in $(seq "$ITEMS"); do
  printf '{"name":"Page %04d","url":"https://example.com/%d","tags":["bench","t%d"]}\n' "$i" "$i" $((i % 10))
done | while read -r body; do
  curl -fs -o /dev/null -b "$JAR" -H 'content-type: application/json' -d "$body" "http://127.0.0.1:$PORT/api/v1/content/web-pages"
done
TIMES=()
for _ in $(seq 15); do
  TIMES+=("$(curl -fs -o "$DATA/page.html" -b "$JAR" -w '%{time_total}' "http://127.0.0.1:$PORT/content")")
done
CARDS=$(grep -o 'class="content-card' "$DATA/page.html" | wc -l)
printf '%s\n' "${TIMES[@]}" | sort -n | awk -v items="$ITEMS" -v cards="$CARDS" '
  { t[NR] = $1 * 1000 }
  END { printf "render /content with %d items (%d cards in the HTML): median %.0f ms, best %.0f ms, worst %.0f ms (n=%d)\n", items, cards, t[int((NR + 1) / 2)], t[1], t[NR], NR }'
echo "server peak RSS overall: $(rss VmHWM) MB"
