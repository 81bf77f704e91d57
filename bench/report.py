#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/report.py SAMPLES NOTES JSON PNG: turns bench/run.sh's samples
(lines "metric<TAB>candidate<TAB>value") into medians over the rounds (for
the SYN flood's slowest answer, the worst round), the
kernel TCP path's ratios to the other candidates, a printed table with the
design's targets (MISSED where one is missed), a JSON file and a gnuplot bar
chart.

Candidates: kernel (ours, --tcp-path=kernel), slirp (ours, --tcp-path=slirp),
slirp4netns (Debian's 1.2.0), pasta, and rootlesskit (its builtin port
driver, port forwarding only).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

CONNS = int(os.environ.get("BENCH_CONNS", "1000"))
MOVE_KIB = int(os.environ.get("BENCH_MOVE_KIB", "256"))

# Targets on the kernel path's figure:
#   ("slirp", op, x, pasta): kernel/slirp op x, and with pasta=True also
#                            kernel/pasta >= 1.0
#   ("own", op, x):          the figure itself is a ratio to the kernel
#                            path's own (throughput kept with connections open)
#   ("abs", op, x):          the figure itself, in the row's unit
TPUT = ("slirp", ">=", 1.5, True)
# name, label, unit, higher_is_better, target
METRICS = [
    ("out_1500", "netns->host MTU 1500", "Gbit/s", True, TPUT),
    ("in_1500", "host->netns MTU 1500", "Gbit/s", True, TPUT),
    ("out_65520", "netns->host MTU 65520", "Gbit/s", True, TPUT),
    ("in_65520", "host->netns MTU 65520", "Gbit/s", True, TPUT),
    ("cpu_out_65520", "CPU/GB netns->host 65520", "s/GB", False, ("slirp", "<=", 0.6, False)),
    ("cpu_in_65520", "CPU/GB host->netns 65520", "s/GB", False, ("slirp", "<=", 0.6, False)),
    ("cpu_out_1500", "CPU/GB netns->host 1500", "s/GB", False, None),
    ("cpu_in_1500", "CPU/GB host->netns 1500", "s/GB", False, None),
    ("latency_p50", "TCP latency p50", "us", False, ("slirp", "<=", 1.0, False)),
    ("latency_p99", "TCP latency p99", "us", False, ("slirp", "<=", 1.0, False)),
    ("tput_with_conns", f"netns->host, {CONNS} idle conns", "Gbit/s", True, None),
    ("conns_keep", f"tput kept w/ {CONNS} idle conns", "x own", True, ("own", ">=", 0.9)),
    # Growth after CONNS connections each moved MOVE_KIB both ways and went
    # idle: RSS plus the kernel's TCP memory, then the two parts, then the
    # kernel memory of the candidate's own sockets (a part of the second).
    ("moved_total", f"{CONNS} conns {MOVE_KIB} KiB each way, idle", "MiB", False,
     ("abs", "<=", 32)),
    ("moved_rss", "  growth of RSS", "MiB", False, None),
    ("moved_tcp", "  growth of TCP mem (sockstat)", "MiB", False, None),
    ("moved_own_sockets", "  of it, own sockets (SO_MEMINFO)", "MiB", False, None),
    ("rss_conns", f"RSS, {CONNS} conns open", "MiB", False, None),
    ("rss_idle", "idle RSS", "MiB", False, ("slirp", "<=", 1.0, False)),
    ("rss_quiet", "RSS 12 s after the steps above", "MiB", False, None),
    ("ready_ms", "time to ready-fd", "ms", False, ("slirp", "<=", 1.0, False)),
    ("flood_api_p50", "list_hostfwd in SYN flood, p50", "ms", False, None),
    ("flood_api_max", "list_hostfwd in SYN flood, worst", "ms", False, ("abs", "<=", 100)),
    ("port_forward", "port forward MTU 65520", "Gbit/s", True, None),
]
# Samples in KiB, reported in MiB.
KIB_METRICS = ("rss_", "moved_")
# A bound on the slowest answer holds only if every round kept it: the worst
# round is reported, not the median one.
WORST_OF_ROUNDS = ("flood_api_max",)
PEERS = ("slirp", "pasta", "slirp4netns")


def load(path):
    samples = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            metric, cand, value = parts
            try:
                v = float(value)
            except ValueError:
                continue
            if metric.startswith(KIB_METRICS):
                v /= 1024.0
            samples.setdefault(metric, {}).setdefault(cand, []).append(v)
    return samples


def medians(samples):
    out = {}
    for metric, by_cand in samples.items():
        pick = max if metric in WORST_OF_ROUNDS else statistics.median
        out[metric] = {c: pick(v) for c, v in by_cand.items() if v}
    # Throughput kept with the idle connections open, against the same
    # candidate's figure without them (both netns->host, MTU 65520).
    keep = {}
    for c, with_conns in out.get("tput_with_conns", {}).items():
        base = out.get("out_65520", {}).get(c)
        if base:
            keep[c] = with_conns / base
    out["conns_keep"] = keep
    return out


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"


def ratio(a, b):
    # Only between positive figures: a growth near zero or below makes none.
    return a / b if a is not None and b is not None and a > 0 and b > 0 else None


def judge(row, target):
    """Sets the row's target text and, when the figures are there, met."""
    kind, op, x = target[:3]
    k = row["values"].get("kernel")
    if kind == "slirp":
        row["target"] = f"{op} {x} slirp" + (", >= 1.0 pasta" if target[3] else "")
        r = row.get("ratio_slirp")
        if r is None:
            return
        ok = r >= x if op == ">=" else r <= x
        if target[3]:
            if row.get("ratio_pasta") is None:
                return
            ok = ok and row["ratio_pasta"] >= 1.0
    else:
        row["target"] = f"{op} {x}" + (" own" if kind == "own" else f" {row['unit']}")
        if k is None:
            return
        ok = k >= x if op == ">=" else k <= x
    row["met"] = ok


def build_rows(samples, med):
    rows = []
    for name, label, unit, higher, target in METRICS:
        values = med.get(name, {})
        row = {"metric": name, "label": label, "unit": unit, "higher_is_better": higher,
               "values": values, "samples": samples.get(name, {})}
        for peer in PEERS + ("rootlesskit",):
            r = ratio(values.get("kernel"), values.get(peer))
            if r is not None:
                row[f"ratio_{peer}"] = r
        if target:
            judge(row, target)
        rows.append(row)
    return rows


def print_table(rows):
    header = f"{'metric':36} {'unit':6} {'kernel':>7} {'slirp':>7} {'s4n':>7} {'pasta':>7} " \
             f"{'k/slirp':>7} {'k/pasta':>7} {'k/s4n':>7}  target"
    print(header)
    print("-" * len(header))
    for row in rows:
        v = row["values"]
        if not v:
            continue
        met = {True: "met", False: "MISSED"}.get(row.get("met"), "")
        extra = ""
        if "rootlesskit" in v:
            extra = f"  (rootlesskit builtin {fmt(v['rootlesskit'])}, k/rk " \
                    f"{fmt(row.get('ratio_rootlesskit'))})"
        print(f"{row['label']:36} {row['unit']:6} {fmt(v.get('kernel')):>7} "
              f"{fmt(v.get('slirp')):>7} {fmt(v.get('slirp4netns')):>7} {fmt(v.get('pasta')):>7} "
              f"{fmt(row.get('ratio_slirp')):>7} {fmt(row.get('ratio_pasta')):>7} "
              f"{fmt(row.get('ratio_slirp4netns')):>7}  {row.get('target', '')} {met}{extra}")
    met = sum(1 for row in rows if row.get("met") is True)
    missed = sum(1 for row in rows if row.get("met") is False)
    unjudged = sum(1 for row in rows if "target" in row and "met" not in row)
    print(f"kernel TCP path: {met} targets met, {missed} MISSED, {unjudged} without figures")


def main():
    samples_path, notes_path, json_path, png_path = sys.argv[1:5]
    samples = load(samples_path)
    rows = build_rows(samples, medians(samples))
    notes = []
    if os.path.exists(notes_path):
        with open(notes_path) as f:
            notes = [line.strip() for line in f if line.strip()]
    print_table(rows)
    print("s4n: Debian's slirp4netns 1.2.0. TCP mem (sockstat) is the machine's: the kernel "
          "keeps one TCP memory count, not one per network namespace, so other work on the "
          "machine enters it.")
    for n in notes:
        print(f"note: {n}")

    with open(json_path, "w") as f:
        json.dump({"metrics": rows, "notes": notes}, f, indent=2)
        f.write("\n")
    print(f"wrote {json_path}")
    chart(rows, png_path)


CHART_SERIES = [("kernel", "ours, --tcp-path=kernel", "#9467bd"),
                ("slirp", "ours, --tcp-path=slirp", "#1f77b4"),
                ("pasta", "pasta", "#ff7f0e"),
                ("rootlesskit", "rootlesskit builtin", "#2ca02c")]


def chart(rows, png_path):
    """Bars: each candidate against slirp4netns 1.2.0 (1.0 = equal, higher =
    better)."""
    lines = []
    for row in rows:
        v = row["values"]
        base = v.get("slirp4netns")
        # The parts of the memory growth are near zero for some: a ratio of
        # those says nothing, they stay in the table.
        if not base or base <= 0 or row["label"].startswith(" "):
            continue
        cols = []
        for c, _, _ in CHART_SERIES:
            x = v.get(c)
            if x is None or x <= 0:
                cols.append("NaN")
            else:
                cols.append(f"{(x / base) if row['higher_is_better'] else (base / x):.3f}")
        label = row["label"].strip().replace('"', "")
        lines.append(f"\"{label}\" " + " ".join(cols))
    if not lines:
        print("no chart: no slirp4netns figures")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as data:
        data.write("\n".join(lines) + "\n")
    plots = [f'"{data.name}" using {i + 2}' + (":xtic(1)" if i == 0 else "") +
             f' title "{title}" lc rgb "{color}"'
             for i, (_, title, color) in enumerate(CHART_SERIES)]
    plots.append('1 with lines lc rgb "black" dt 2 title "slirp4netns 1.2.0"')
    script = f"""
set terminal pngcairo size 1400,700 font ",11"
set output "{png_path}"
set title "slirp4netns (C++), --tcp-path=kernel and --tcp-path=slirp, vs Debian slirp4netns 1.2.0 and pasta: advantage over slirp4netns 1.2.0 (higher is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing "NaN"
set xtics rotate by -35 scale 0
set ylabel "x slirp4netns 1.2.0 (throughput ratio, or inverse for time, memory, CPU)"
set logscale y 2
set yrange [0.03:*]
set rmargin 10
set bmargin 11
set grid ytics
set key top left
plot {", ".join(plots)}
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        print(f"wrote {png_path}")
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"no chart: gnuplot failed: {e}")
    finally:
        os.unlink(data.name)


if __name__ == "__main__":
    main()
