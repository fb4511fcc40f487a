# Vizora: `make run` serves the app, `make test` runs every test, `make dev` watches.
# Each target installs what it needs first (scripts/bootstrap.sh skips what is there).
SHELL := /bin/bash
TOOLS_DIR ?= $(HOME)/.cache/vizora-tools
# The npm wasm-opt (binaryen 123) must come before any other on PATH.
export PATH := $(TOOLS_DIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export VIZORA_TOOLS_DIR := $(TOOLS_DIR)

.PHONY: run dev test setup build lint unit unit-postgres e2e attacks api-fuzz kill9 soak bench bench-library bench-timeline bench-analytics demo-videos clean-data size metrics-check loadtest

setup:
	@scripts/bootstrap.sh

## The release build; scripts/build.sh skips it when no source changed since the last.
build: setup
	@scripts/build.sh

## Serve at http://127.0.0.1:3000 on SQLite under ./data, with a demo fleet on first start.
run: build
	./target/release/vizora serve --demo --data-dir data

## cargo-leptos watch: rebuilds and restarts on every change.
dev: setup
	VIZORA_DEMO=true VIZORA_DATA_DIR=data cargo leptos watch

## Formatting, the server's import direction (and a check that the check
## catches a planted back-import), clippy for the server and browser builds.
lint:
	cargo fmt --check
	python3 scripts/layers.py
	python3 scripts/layers.py --self-test
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --features hydrate --lib --target wasm32-unknown-unknown -- -D warnings

PG_SERVER ?= postgres://postgres@127.0.0.1:5432

unit:
	cargo test --features ssr
	$(MAKE) unit-postgres

## The change-path and stream tests again on PostgreSQL, one fresh database per test.
unit-postgres:
	@if pg_isready -q -h 127.0.0.1 -p 5432; then \
	  VIZORA_TEST_POSTGRES=$(PG_SERVER) cargo test --features ssr server::tests; status=$$?; \
	  psql "$(PG_SERVER)/postgres" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'vizora_test_%'" \
	    | while read -r db; do psql -q "$(PG_SERVER)/postgres" -c "DROP DATABASE $$db"; done; \
	  exit $$status; \
	else echo "PostgreSQL is not running on 127.0.0.1:5432: skipping the PostgreSQL run"; fi

e2e: build
	@scripts/bootstrap.sh --browser
	cd end2end && npm ci --no-audit --no-fund --loglevel=error && npx playwright test

## Attacks that need a server process: floods, slow clients, too many connections.
attacks: build
	python3 scripts/attacks.py

## /metrics parses as Prometheus text and its counters move under a small load test.
metrics-check: build
	$(TOOLS_DIR)/promclient/bin/python scripts/metrics_check.py

## The fleet figures: the connect storm, a quiet fleet's status changes,
## heartbeat ingest and memory per display (LOAD_DISPLAYS, default 1000).
loadtest: build
	./target/release/vizora loadtest --displays $${LOAD_DISPLAYS:-1000} $(LOAD_ARGS)

## schemathesis against /api/v1/openapi.json of a fresh server, every check; must find nothing.
api-fuzz: build
	scripts/api-fuzz.sh

## SIGKILL the server amid idempotent writes, restart, retry: nothing lost, nothing doubled.
kill9: build
	python3 scripts/kill9.py

## kill9, many cycles (KILL9_CYCLES, default 20); not part of `make test`.
soak: build
	KILL9_CYCLES=$${KILL9_CYCLES:-20} python3 scripts/kill9.py

## What a first visit of each page transfers (HTML, JS, wasm, CSS, brotli as
## served), failing when a page is over its budget (end2end/size/budget.json);
## then where the wasm's bytes go, by crate and function.
size: build
	@scripts/bootstrap.sh --browser
	cd end2end && npm ci --no-audit --no-fund --loglevel=error && npx playwright test -c playwright.size.config.ts
	python3 scripts/wasm_profile.py --top 20

## Browser benchmarks (click to DOM, click to confirmation, outbox replay, /devices
## hydration with 1,000 displays at 4x CPU); prints figures.
bench: build
	@scripts/bootstrap.sh --browser
	cd end2end && npm ci --no-audit --no-fund --loglevel=error && npx playwright test -c playwright.bench.config.ts

## Library figures: 200 MB upload throughput and peak memory, /content render with 1,000 items.
bench-library: build
	scripts/bench-library.sh

## The schedule rule: 10,000 displays × 500 schedules over 48 hours (no server).
bench-timeline: build
	./target/release/vizora timeline-bench --displays 10000 --schedules 500 --hours 48

## Every test: formatting, clippy (server and browser builds), Rust tests, Playwright,
## the page-size budgets, attacks, the API fuzzer and the kill -9 test. Every stage runs even after one
## fails; a table of their times and results ends the output.
test: setup
	@scripts/bootstrap.sh --browser
	@scripts/stages.sh lint unit e2e size attacks metrics-check api-fuzz kill9

## Analytics figures: a year of proof of play (10 M plays, 1,000 displays) on
## SQLite, then reports, the page's server render and ingest under reads.
bench-analytics: build
	./target/release/vizora analytics-bench --plays $${PLAYS:-10000000} --displays 1000 --days 365

## Encode the demo's videos again into src/server/tools/demo_media (committed;
## compiles the AV1 encoder, which nothing else does).
demo-videos: setup
	cargo run --release --features demo-encoder -- demo-videos --out src/server/tools/demo_media

clean-data:
	rm -rf data
