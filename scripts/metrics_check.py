#!/usr/bin/env python3
"""`/metrics` under load (`make metrics-check`).

Runs a small `vizora loadtest` (its own server; 300 simulated displays in two
processes, beating every second; two operator streams; a few quiet status
changes and operator ops), which saves the server's `/metrics` before and
after the load. Both must parse as Prometheus text with the reference parser
(prometheus_client, from PyPI: run with the tools venv's python, as
`make metrics-check` does), every family must carry
its declared type, and the counters and histograms must have moved under the
load. Prints the figures it compares; exits non-zero when one does not hold.
"""

import os
import subprocess
import sys
import tempfile

from prometheus_client.parser import text_string_to_metric_families

BIN = os.environ.get("VIZORA_BIN", "target/release/vizora")
DISPLAYS = 300
failures = []


def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def families(path):
    """{name: (type, {sample name + labels: value})} of one scrape."""
    with open(path) as f:
        text = f.read()
    out = {}
    for fam in text_string_to_metric_families(text):
        samples = {}
        for s in fam.samples:
            key = s.name + "".join(f"{{{k}={v}}}" for k, v in sorted(s.labels.items()))
            samples[key] = s.value
        out[fam.name] = (fam.type, samples)
    return out


def main():
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run(
            [BIN, "loadtest", "--displays", str(DISPLAYS), "--operators", "2", "--processes", "2",
             "--heartbeat-seconds", "1", "--quiet-samples", "5", "--spread-ms", "500",
             "--port", os.environ.get("METRICS_PORT", "3402"), "--metrics-dir", out],
            capture_output=True, text=True, timeout=600,
        )
        print(run.stdout)
        if run.returncode != 0:
            print(run.stderr)
            check(False, f"the load test ran (exit {run.returncode})")
            return
        before, after = families(os.path.join(out, "before.prom")), families(os.path.join(out, "after.prom"))

    want = {
        "vizora_display_connections": "gauge",
        "vizora_operator_connections": "gauge",
        "vizora_db_pool_connections": "gauge",
        "vizora_heartbeats": "counter",
        "vizora_events": "counter",
        "vizora_stream_deliveries": "counter",
        "vizora_op_duration_seconds": "histogram",
        "vizora_stream_delivery_seconds": "histogram",
        "vizora_operator_queue_depth": "histogram",
        "vizora_display_queue_depth": "histogram",
    }
    for name, kind in want.items():
        check(name in before and name in after, f"{name} is in both scrapes")
        check(after.get(name, ("?",))[0] == kind, f"{name} is a {kind}")

    def value(scrape, family, sample=None):
        return scrape.get(family, (None, {}))[1].get(sample or family, 0)

    for family, sample in [
        ("vizora_heartbeats", "vizora_heartbeats_total"),
        ("vizora_events", "vizora_events_total"),
        ("vizora_stream_deliveries", "vizora_stream_deliveries_total"),
        ("vizora_op_duration_seconds", "vizora_op_duration_seconds_count"),
        ("vizora_stream_delivery_seconds", "vizora_stream_delivery_seconds_count"),
    ]:
        a, b = value(before, family, sample), value(after, family, sample)
        check(b > a, f"{sample} moved under load: {a:.0f} -> {b:.0f}")
    displays = value(after, "vizora_display_connections")
    check(displays == DISPLAYS, f"vizora_display_connections is {displays:.0f} with {DISPLAYS} displays connected")
    operators = value(after, "vizora_operator_connections")
    check(operators == 2, f"vizora_operator_connections is {operators:.0f} with 2 operator streams")
    beats = value(after, "vizora_heartbeats", "vizora_heartbeats_total")
    check(beats >= DISPLAYS, f"at least one heartbeat per display counted ({beats:.0f})")


main()
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("metrics check: all held")
