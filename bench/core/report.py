#!/usr/bin/env python3
"""Markdown table of a Google Benchmark JSON file (medians of repetitions,
CPU time) with issue 5's targets checked.

    rmp_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
              --benchmark_out=core.json --benchmark_out_format=json
    python3 bench/core/report.py core.json
"""
import json
import sys

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# (benchmark run_name, figure, its value from the row, target, unit)
TARGETS = [
    ("BM_tick_rate001_unsampled_only", "unsampled decision (rate 0.01, ticks returning 0)", "ns/tick", 1.0, "ns"),
    ("BM_tick_rate0_unsampled", "unsampled decision (rate 0)", "ns/tick", 1.0, "ns"),
    ("BM_tick_rate001_amortised", "decision at rate 0.01, refills amortised", "ns/tick", 1.0, "ns"),
    ("BM_intern_repeat/60", "re-intern a seen 60-frame stack", "cpu", 150.0, "ns"),
    ("BM_live_lookup_hit/50000", "live-table lookup at 50k", "cpu", 25.0, "ns"),
    ("BM_live_insert_delete_pair/50000", "live-table insert or delete at 50k (pair / 2)", "ns/op", 25.0, "ns"),
    ("BM_encode_raw_50k_10k_d40", "raw encode, 50k samples / 10k stacks / depth 40", "cpu", 20e6, "ns"),
    ("BM_live_lookup_hit/50000", "live-table bytes per slot (sizeof entry)", "B/slot", 32.0, "B"),
    ("BM_live_lookup_hit/50000", "live-table bytes per live entry at 50k (sizeof x capacity / count)", "B/entry", 32.0, "B"),
]


def fmt_ns(ns):
    if ns >= 1e6:
        return "%.2f ms" % (ns / 1e6)
    if ns >= 1e3:
        return "%.2f µs" % (ns / 1e3)
    return "%.2f ns" % ns


def main(path):
    data = json.load(open(path))
    rows = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        rows[b["run_name"]] = b
    ctx = data["context"]
    print("Run %s on %d CPUs at %.0f MHz; load average %s; library build: %s" % (
        ctx.get("date"), ctx.get("num_cpus"), ctx.get("mhz_per_cpu"),
        ", ".join("%.2f" % x for x in ctx.get("load_avg", [])), ctx.get("library_build_type")))
    print()
    print("| benchmark | CPU time / iteration | counters |")
    print("| --- | ---: | --- |")
    for name, b in rows.items():
        cpu = b["cpu_time"] * UNIT_NS[b["time_unit"]]
        skip = {"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
                "threads", "aggregate_name", "aggregate_unit", "iterations", "real_time", "cpu_time",
                "time_unit", "repetition_index", "error_occurred", "error_message"}
        counters = []
        for k, v in b.items():
            if k in skip:
                continue
            if k.startswith("ns/"):
                counters.append("%s %s" % (k, fmt_ns(v * 1e9)))
            else:
                counters.append("%s %s" % (k, ("%.4g" % v) if isinstance(v, float) else v))
        print("| %s | %s | %s |" % (name, fmt_ns(cpu), ", ".join(counters)))
    print()
    print("| target | measured | goal | met? |")
    print("| --- | ---: | ---: | --- |")
    for name, what, key, goal, unit in TARGETS:
        b = rows.get(name)
        if b is None:
            print("| %s | not run | %s | - |" % (what, goal))
            continue
        if key == "cpu":
            v = b["cpu_time"] * UNIT_NS[b["time_unit"]]
        elif key.startswith("ns/"):
            v = b[key] * 1e9
        else:
            v = b[key]
        shown = fmt_ns(v) if unit == "ns" else "%.1f B" % v
        goal_s = fmt_ns(goal) if unit == "ns" else "%.0f B" % goal
        verdict = "yes" if v <= goal else "NO (%.0f%% over)" % ((v / goal - 1) * 100)
        print("| %s | %s | ≤ %s | %s |" % (what, shown, goal_s, verdict))


if __name__ == "__main__":
    main(sys.argv[1])
