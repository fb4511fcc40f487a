#!/usr/bin/env bash
# The release build (server binary and site), skipped when nothing it is made
# from changed since the last one finished. `cargo leptos build` alone always
# reruns wasm-bindgen, wasm-opt and precompression (about 2.3 minutes here even
# when cargo has nothing to compile), and `make test` builds for six stages.
# VIZORA_REBUILD=1 builds regardless.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=target/.release-build
inputs=(src style public migrations Cargo.toml Cargo.lock Leptos.toml)
if [ -z "${VIZORA_REBUILD:-}" ] && [ -f "$stamp" ] && [ -x target/release/vizora ] && [ -d target/site/pkg ] \
  && [ -z "$(find "${inputs[@]}" -newer "$stamp" -print -quit)" ]; then
  echo "release build is up to date (nothing in ${inputs[*]} changed since $(date -r "$stamp" '+%F %T'))"
  exit 0
fi
# Stamp the start, so a file edited during the build makes the next one run.
touch target/.release-build.next 2>/dev/null || { mkdir -p target && touch target/.release-build.next; }
cargo leptos build --release --precompress --split
mv target/.release-build.next "$stamp"
