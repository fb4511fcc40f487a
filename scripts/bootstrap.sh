#!/usr/bin/env bash
# Installs what building and testing Vizora needs, skipping every step that is
# already done. Safe to run again; `make run` and `make test` both call it.
#
# Pinned versions (see ../shared/TOOLCHAIN.md for why each one):
#   cargo-leptos 0.3.11, wasm-bindgen-cli 0.2.130 (= the wasm-bindgen crate),
#   binaryen (wasm-opt) 123 from npm, Debian chromium for Playwright,
#   schemathesis 4.32.5 from PyPI in a venv (make api-fuzz),
#   prometheus-client 0.21.1 from PyPI in a venv (make metrics-check).
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.11
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=123.0.0
SCHEMATHESIS_VERSION=4.32.5
PROMETHEUS_CLIENT_VERSION=0.21.1
TOOLS_DIR="${VIZORA_TOOLS_DIR:-$HOME/.cache/vizora-tools}"
WANT_BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --browser) WANT_BROWSER=1 ;;
  esac
done

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  step "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes on 2 cores, once)"
  # Its own lock file pins cargo-util-schemas 0.14.2, which needs a newer rustc
  # than 1.95; 0.14.1 builds. So: fetch the source, repin that one crate, and
  # install from the patched copy with the lock file honoured.
  src_root="$(ls -d "$HOME"/.cargo/registry/src/*/cargo-leptos-"$CARGO_LEPTOS_VERSION" 2>/dev/null | head -n1 || true)"
  if [ -z "$src_root" ]; then
    # Fails at dependency resolution, after the crate's source is unpacked.
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads >/dev/null 2>&1 || true
    src_root="$(ls -d "$HOME"/.cargo/registry/src/*/cargo-leptos-"$CARGO_LEPTOS_VERSION" 2>/dev/null | head -n1 || true)"
  fi
  if [ -z "$src_root" ]; then
    echo "could not fetch the cargo-leptos $CARGO_LEPTOS_VERSION source from crates.io" >&2
    exit 1
  fi
  work="$(mktemp -d)"
  cp -r "$src_root" "$work/cargo-leptos"
  (cd "$work/cargo-leptos" \
    && cargo update -p cargo-util-schemas --precise 0.14.1 \
    && cargo install --path . --locked --features no_downloads)
  rm -rf "$work"
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes, once)"
  # Not --locked: its lock file wants a webpki-roots version the registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ ! -x "$TOOLS_DIR/node_modules/.bin/wasm-opt" ]; then
  step "installing wasm-opt (binaryen $BINARYEN_VERSION from npm)"
  # Never Debian's binaryen 108: its output breaks hydration in the browser.
  mkdir -p "$TOOLS_DIR"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" "binaryen@$BINARYEN_VERSION"
fi

st_venv="$TOOLS_DIR/schemathesis"
if ! "$st_venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  step "installing schemathesis $SCHEMATHESIS_VERSION (PyPI, in $st_venv)"
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$st_venv"
  "$st_venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The reference Prometheus text parser, for `make metrics-check`.
pc_venv="$TOOLS_DIR/promclient"
if ! "$pc_venv/bin/python" -c 'import prometheus_client' 2>/dev/null; then
  step "installing prometheus-client $PROMETHEUS_CLIENT_VERSION (PyPI, in $pc_venv)"
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$pc_venv"
  "$pc_venv/bin/pip" install --quiet "prometheus-client==$PROMETHEUS_CLIENT_VERSION"
fi

if [ "$WANT_BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  step "installing Debian chromium for the Playwright suite"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
