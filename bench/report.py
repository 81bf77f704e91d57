#!/usr/bin/python3
"""bench/report.py SAMPLES NOTES JSON PNG: turns bench/run.sh's samples
(lines "metric<TAB>candidate<TAB>value") into medians, our ratio to each peer,
a printed table with the project's targets, a JSON file and a gnuplot bar chart.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

# name, label, unit, higher_is_better, target on ours/slirp4netns as (op, x)
METRICS = [
    ("out_1500", "netns->host MTU 1500", "Gbit/s", True, (">=", 2.0)),
    ("out_65520", "netns->host MTU 65520", "Gbit/s", True, (">=", 1.5)),
    ("in_1500", "host->netns MTU 1500", "Gbit/s", True, (">=", 1.5)),
    ("in_65520", "host->netns MTU 65520", "Gbit/s", True, (">=", 1.5)),
    ("port_forward", "port forward MTU 65520", "Gbit/s", True, None),
    ("latency_p50", "TCP latency p50", "us", False, ("<=", 0.8)),
    ("latency_p99", "TCP latency p99", "us", False, None),
    ("ready_ms", "time to ready-fd", "ms", False, ("<=", 1.0)),
    ("rss_idle", "idle RSS", "MiB", False, ("<=", 1.0)),
    ("rss_conns", "RSS, 1000 connections", "MiB", False, None),
    ("tput_with_conns", "netns->host, 1000 conns", "Gbit/s", True, None),
    ("conns_keep", "tput kept w/ 1000 conns", "x own", True, None),
    ("cpu_out_1500", "CPU/GB netns->host 1500", "s/GB", False, ("<=", 0.7)),
    ("cpu_in_1500", "CPU/GB host->netns 1500", "s/GB", False, ("<=", 0.7)),
    ("cpu_out_65520", "CPU/GB netns->host 65520", "s/GB", False, ("<=", 0.7)),
    ("cpu_in_65520", "CPU/GB host->netns 65520", "s/GB", False, ("<=", 0.7)),
]
CANDIDATES = ["ours", "kernel", "slirp4netns", "pasta", "rootlesskit"]
# The kernel TCP path ("kernel": ours with --tcp-path=kernel) against ours
# with --tcp-path=slirp and pasta: metric -> (target on kernel/ours, and
# whether kernel must also match pasta).
KERNEL_TARGETS = {
    "out_1500": ((">=", 1.5), True), "in_1500": ((">=", 1.5), True),
    "out_65520": ((">=", 1.5), True), "in_65520": ((">=", 1.5), True),
    "cpu_out_65520": (("<=", 0.6), False), "cpu_in_65520": (("<=", 0.6), False),
    "latency_p50": (("<=", 1.0), False), "latency_p99": (("<=", 1.0), False),
    "rss_idle": (("<=", 1.0), False), "ready_ms": (("<=", 1.0), False),
    "conns_keep": ((">=", 0.9), False),
}


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
            if metric.startswith("rss_"):
                v /= 1024.0  # KiB -> MiB
            samples.setdefault(metric, {}).setdefault(cand, []).append(v)
    return samples


def medians(samples):
    out = {}
    for metric, by_cand in samples.items():
        out[metric] = {c: statistics.median(v) for c, v in by_cand.items() if v}
    # Throughput kept with 1000 idle connections open, against the same
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
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if v < 1 else f"{v:.2f}"


def main():
    samples_path, notes_path, json_path, png_path = sys.argv[1:5]
    samples = load(samples_path)
    med = medians(samples)
    notes = []
    if os.path.exists(notes_path):
        with open(notes_path) as f:
            notes = [line.strip() for line in f if line.strip()]

    rows = []
    for name, label, unit, higher, target in METRICS:
        values = med.get(name, {})
        ours = values.get("ours")
        row = {"metric": name, "label": label, "unit": unit,
               "higher_is_better": higher, "values": values,
               "samples": samples.get(name, {})}
        for peer in ("slirp4netns", "pasta", "rootlesskit"):
            p = values.get(peer)
            if ours is not None and p:
                row[f"ratio_{peer}"] = ours / p
        if name == "conns_keep" and ours is not None:
            row["target"] = ">= 0.8 (own)"
            row["met"] = ours >= 0.8
        elif target and "ratio_slirp4netns" in row:
            op, x = target
            r = row["ratio_slirp4netns"]
            row["target"] = f"{op} {x}"
            row["met"] = r >= x if op == ">=" else r <= x
            if name == "in_65520" and "ratio_pasta" in row:
                row["target"] += ", >= pasta"
                row["met"] = row["met"] and row["ratio_pasta"] >= 1.0
        elif target:
            row["target"] = f"{target[0]} {target[1]}"
        rows.append(row)

    header = f"{'metric':26} {'unit':6} {'ours':>8} {'slirp4netns':>11} {'pasta':>8} " \
             f"{'ours/s4n':>9} {'ours/pasta':>10}  target"
    print(header)
    print("-" * len(header))
    for row in rows:
        v = row["values"]
        met = {True: "met", False: "MISSED"}.get(row.get("met"), "")
        extra = ""
        if "rootlesskit" in v:
            extra = f"  (rootlesskit builtin {fmt(v['rootlesskit'])}, ours/rk " \
                    f"{fmt(row.get('ratio_rootlesskit'))})"
        print(f"{row['label']:26} {row['unit']:6} {fmt(v.get('ours')):>8} "
              f"{fmt(v.get('slirp4netns')):>11} {fmt(v.get('pasta')):>8} "
              f"{fmt(row.get('ratio_slirp4netns')):>9} {fmt(row.get('ratio_pasta')):>10}  "
              f"{row.get('target', '')} {met}{extra}")
    kernel_table(rows)
    for n in notes:
        print(f"note: {n}")

    with open(json_path, "w") as f:
        json.dump({"metrics": rows, "notes": notes}, f, indent=2)
        f.write("\n")
    print(f"wrote {json_path}")
    chart(rows, png_path)


def kernel_table(rows):
    """The kernel TCP path's own table: --tcp-path=kernel vs slirp vs pasta."""
    if not any("kernel" in row["values"] for row in rows):
        return
    header = f"{'kernel TCP path':26} {'unit':6} {'kernel':>8} {'slirp':>8} {'pasta':>8} " \
             f"{'k/slirp':>8} {'k/pasta':>8}  target"
    print()
    print(header)
    print("-" * len(header))
    for row in rows:
        v = row["values"]
        k, o, p = v.get("kernel"), v.get("ours"), v.get("pasta")
        if k is None:
            continue
        ko = k / o if o else None
        kp = k / p if p else None
        row["ratio_kernel_slirp"], row["ratio_kernel_pasta"] = ko, kp
        target, met = "", ""
        if row["metric"] in KERNEL_TARGETS:
            (op, x), vs_pasta = KERNEL_TARGETS[row["metric"]]
            r = k if row["metric"] == "conns_keep" else ko
            target = f"{op} {x}" + (" own" if row["metric"] == "conns_keep" else "") + \
                (", >= pasta" if vs_pasta else "")
            if r is not None:
                ok = r >= x if op == ">=" else r <= x
                if vs_pasta and kp is not None:
                    ok = ok and kp >= 1.0
                met = "met" if ok else "MISSED"
                row["kernel_met"] = ok
        print(f"{row['label']:26} {row['unit']:6} {fmt(k):>8} {fmt(o):>8} {fmt(p):>8} "
              f"{fmt(ko):>8} {fmt(kp):>8}  {target} {met}")


def chart(rows, png_path):
    """Bars: how much better than slirp4netns (1.0 = equal, higher = better)."""
    lines = []
    for row in rows:
        v = row["values"]
        base = v.get("slirp4netns")
        if not base:
            continue
        cols = []
        for c in ("ours", "pasta", "rootlesskit", "kernel"):
            x = v.get(c)
            if x is None or x == 0:
                cols.append("NaN")
            else:
                cols.append(f"{(x / base) if row['higher_is_better'] else (base / x):.3f}")
        label = row["label"].replace('"', "")
        lines.append(f"\"{label}\" " + " ".join(cols))
    if not lines:
        print("no chart: no slirp4netns figures")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as data:
        data.write("\n".join(lines) + "\n")
    script = f"""
set terminal pngcairo size 1400,700 font ",11"
set output "{png_path}"
set title "slirp4netns (C++) vs Debian slirp4netns 1.2.0 and pasta: advantage over slirp4netns 1.2.0 (higher is better)"
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
set bmargin 9
set grid ytics
set key top left
plot "{data.name}" using 2:xtic(1) title "ours" lc rgb "#1f77b4", \\
     "" using 5 title "ours, --tcp-path=kernel" lc rgb "#9467bd", \\
     "" using 3 title "pasta" lc rgb "#ff7f0e", \\
     "" using 4 title "rootlesskit builtin" lc rgb "#2ca02c", \\
     1 with lines lc rgb "black" dt 2 title "slirp4netns 1.2.0"
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
