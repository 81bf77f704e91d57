#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/report.py SAMPLES NOTES JSON PNG: turns bench/run.sh's samples
(lines "metric<TAB>candidate<TAB>value") into medians over the rounds (for
the SYN flood's slowest answer, the worst round), the main candidate's
ratios to the others, a printed table with the design's targets (MISSED
where one is missed), the same table in Markdown, a JSON file and a gnuplot
bar chart.

Candidates: redirect (ours, --tcp-path=redirect: kernel-to-kernel
delivery), bridge (ours, --tcp-path=bridge: the daemon copies the kernel TCP
path's frames), kernel (ours, --tcp-path=kernel, the default), slirp (ours,
--tcp-path=slirp), slirp4netns (Debian's 1.2.0), pasta, rootlesskit (its
builtin port driver, port forwarding only) and veth (no slirp at all: the
guest's kernel and the host's joined by a veth pair, throughput only; the
machine's ceiling, shown beside the others without a ratio). The main
candidate, whose ratios and targets are shown, is redirect, or kernel when
redirect was not run.
Its UDP figures are the kernel UDP path's; slirp's are libslirp's UDP (what
--udp-path=slirp runs), the reference for the UDP CPU target.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

CONNS = int(os.environ.get("BENCH_CONNS", "1000"))
IDLE_CONNS = int(os.environ.get("BENCH_IDLE_CONNS", "10000"))
PARALLEL = int(os.environ.get("BENCH_PARALLEL", "4"))
MOVE_KIB = int(os.environ.get("BENCH_MOVE_KIB", "256"))

# A target is a list of conditions on the main candidate's figure, all of
# which must hold:
#   ("cand", NAME, op, x):   main / NAME's figure op x
#   ("own", METRIC, op, x):  main / main's own figure of METRIC op x
#   ("abs", None, op, x):    the figure itself, in the row's unit
# The targets of the kernel-to-kernel delivery are "new"; "kept" ones are
# the earlier design's that still apply; "udp" ones the kernel UDP path's.
TPUT = ("new", [("cand", "bridge", ">=", 1.3), ("cand", "pasta", ">=", 1.25)])
UDP_TPUT = ("udp", [("cand", "slirp4netns", ">=", 3.0), ("cand", "pasta", ">=", 1.0)])
# The kernel UDP path's CPU against libslirp's UDP (our --tcp-path=slirp,
# which implies --udp-path=slirp).
UDP_CPU = ("udp", [("cand", "slirp", "<=", 0.5)])
P = PARALLEL
# name, label, unit, higher_is_better, target
METRICS = [
    ("out_1500", "netns->host MTU 1500", "Gbit/s", True, TPUT),
    ("in_1500", "host->netns MTU 1500", "Gbit/s", True, TPUT),
    ("out_65520", "netns->host MTU 65520", "Gbit/s", True, TPUT),
    ("in_65520", "host->netns MTU 65520", "Gbit/s", True, TPUT),
    (f"p{P}_out_65520", f"netns->host 65520, -P {P}", "Gbit/s", True,
     ("new", [("own", "out_65520", ">=", 1.0)])),
    (f"p{P}_in_65520", f"host->netns 65520, -P {P}", "Gbit/s", True,
     ("new", [("own", "in_65520", ">=", 1.0)])),
    ("cpu_out_65520", "daemon CPU/GB netns->host 65520", "s/GB", False,
     ("new", [("cand", "bridge", "<=", 0.5)])),
    ("cpu_in_65520", "daemon CPU/GB host->netns 65520", "s/GB", False,
     ("new", [("cand", "bridge", "<=", 0.5)])),
    ("cpu_out_1500", "daemon CPU/GB netns->host 1500", "s/GB", False, None),
    ("cpu_in_1500", "daemon CPU/GB host->netns 1500", "s/GB", False, None),
    ("mcpu_out_65520", "machine CPU/GB netns->host 65520", "s/GB", False,
     ("new", [("cand", "bridge", "<=", 0.85)])),
    ("mcpu_in_65520", "machine CPU/GB host->netns 65520", "s/GB", False,
     ("new", [("cand", "bridge", "<=", 0.85)])),
    ("mcpu_out_1500", "machine CPU/GB netns->host 1500", "s/GB", False, None),
    ("mcpu_in_1500", "machine CPU/GB host->netns 1500", "s/GB", False, None),
    ("latency_p50", "TCP latency p50 (sockperf 64 B)", "us", False,
     ("new", [("cand", "slirp", "<=", 1.0)])),
    ("latency_p99", "TCP latency p99 (sockperf 64 B)", "us", False,
     ("new", [("cand", "slirp", "<=", 1.0)])),
    # IDLE_CONNS connections with one byte moved, held open.
    ("idle_fds_per_conn", f"{IDLE_CONNS} idle conns: fds per conn", "fds", False,
     ("new", [("abs", None, "<=", 2)])),
    # Memory per 10,000 of them, when fewer were held.
    # The totals count a fall of the machine's TCP memory (others' work) as 0.
    ("idle_total", "idle conns: RSS+TCP mem growth per 10k", "MiB", False,
     ("new", [("abs", None, "<=", 64)])),
    ("idle_rss", "  growth of RSS", "MiB", False, None),
    ("idle_tcp", "  growth of TCP mem (sockstat)", "MiB", False, None),
    ("rss_conns", f"RSS, {IDLE_CONNS} conns open", "MiB", False, None),
    ("tput_with_conns", f"netns->host 65520, {IDLE_CONNS} conns open", "Gbit/s", True,
     ("kept", [("own", "out_65520", ">=", 0.9)])),
    # Growth after CONNS connections each moved MOVE_KIB both ways and went
    # idle: RSS plus the kernel's TCP memory, then the two parts, then the
    # kernel memory of the candidate's own sockets (a part of the second).
    ("moved_total", f"{CONNS} conns {MOVE_KIB} KiB each way, idle", "MiB", False,
     ("kept", [("abs", None, "<=", 32)])),
    ("moved_rss", "  growth of RSS", "MiB", False, None),
    ("moved_tcp", "  growth of TCP mem (sockstat)", "MiB", False, None),
    ("moved_own_sockets", "  of it, own sockets (SO_MEMINFO)", "MiB", False, None),
    ("rss_idle", "idle RSS", "MiB", False, ("new", [("cand", "bridge", "<=", 1.0)])),
    ("rss_quiet", "RSS 12 s after the steps above", "MiB", False, None),
    ("ready_ms", "time to ready-fd", "ms", False, ("new", [("cand", "bridge", "<=", 1.25)])),
    ("flood_api_p50", "list_hostfwd in SYN flood, p50", "ms", False, None),
    ("flood_api_max", "list_hostfwd in SYN flood, worst", "ms", False,
     ("kept", [("abs", None, "<=", 100)])),
    ("port_forward", "port forward MTU 65520", "Gbit/s", True, None),
    # UDP, 1400-byte datagrams: the best received rate at which the
    # receiver lost at most 1 %; then what iperf3 -b 0 got through.
    ("udp_out_1500", "UDP netns->host 1500, <=1% loss", "Gbit/s", True, UDP_TPUT),
    ("udp_in_1500", "UDP host->netns 1500, <=1% loss", "Gbit/s", True, UDP_TPUT),
    ("udp_out_65520", "UDP netns->host 65520, <=1% loss", "Gbit/s", True, UDP_TPUT),
    ("udp_in_65520", "UDP host->netns 65520, <=1% loss", "Gbit/s", True, UDP_TPUT),
    ("udp_gso_out_1500", "UDP netns->host 1500, 64 KB GSO", "Gbit/s", True,
     ("udp", [("cand", "slirp4netns", ">=", 5.0)])),
    ("udp_gso_out_65520", "UDP netns->host 65520, 64 KB GSO", "Gbit/s", True,
     ("udp", [("cand", "slirp4netns", ">=", 5.0)])),
    ("udp_gso_loss_out_1500", "  its loss, 1500", "%", False, None),
    ("udp_gso_loss_out_65520", "  its loss, 65520", "%", False, None),
    ("udp_blast_out_1500", "UDP netns->host 1500, -b 0 received", "Gbit/s", True, None),
    ("udp_blast_in_1500", "UDP host->netns 1500, -b 0 received", "Gbit/s", True, None),
    ("udp_blast_out_65520", "UDP netns->host 65520, -b 0 received", "Gbit/s", True, None),
    ("udp_blast_in_65520", "UDP host->netns 65520, -b 0 received", "Gbit/s", True, None),
    ("cpu_udp_out_1500", "daemon CPU/GB UDP netns->host 1500", "s/GB", False, UDP_CPU),
    ("cpu_udp_in_1500", "daemon CPU/GB UDP host->netns 1500", "s/GB", False, UDP_CPU),
    ("cpu_udp_out_65520", "daemon CPU/GB UDP netns->host 65520", "s/GB", False, UDP_CPU),
    ("cpu_udp_in_65520", "daemon CPU/GB UDP host->netns 65520", "s/GB", False, UDP_CPU),
    ("cpu_udp_gso_out_1500", "daemon CPU/GB UDP GSO 1500", "s/GB", False, UDP_CPU),
    ("cpu_udp_gso_out_65520", "daemon CPU/GB UDP GSO 65520", "s/GB", False, UDP_CPU),
    ("mcpu_udp_out_1500", "machine CPU/GB UDP netns->host 1500", "s/GB", False, None),
    ("mcpu_udp_in_1500", "machine CPU/GB UDP host->netns 1500", "s/GB", False, None),
    ("mcpu_udp_out_65520", "machine CPU/GB UDP netns->host 65520", "s/GB", False, None),
    ("mcpu_udp_in_65520", "machine CPU/GB UDP host->netns 65520", "s/GB", False, None),
    ("mcpu_udp_gso_out_1500", "machine CPU/GB UDP GSO 1500", "s/GB", False, None),
    ("mcpu_udp_gso_out_65520", "machine CPU/GB UDP GSO 65520", "s/GB", False, None),
    ("udp_latency_p50", "UDP latency p50 (sockperf 64 B)", "us", False,
     ("udp", [("cand", "slirp4netns", "<=", 0.8)])),
    ("udp_latency_p99", "UDP latency p99 (sockperf 64 B)", "us", False, None),
]
# Samples in KiB, reported in MiB.
KIB_METRICS = ("rss_", "moved_", "idle_rss", "idle_tcp", "idle_total")
# A bound on the slowest answer holds only if every round kept it: the worst
# round is reported, not the median one.
WORST_OF_ROUNDS = ("flood_api_max",)
# Column order; short names for the table's narrow columns.
ORDER = ["redirect", "kernel", "bridge", "slirp", "slirp4netns", "pasta", "veth"]
SHORT = {"redirect": "redir", "kernel": "kernel", "bridge": "bridge", "slirp": "slirp",
         "slirp4netns": "s4n", "pasta": "pasta", "veth": "veth"}
RATIO_TO = ["bridge", "pasta", "slirp", "slirp4netns"]


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


def judge(row, target, main, med):
    """Sets the row's target text, the figures each condition compares and,
    when they are all there, met."""
    group, conditions = target
    row["target_group"] = group
    texts, results = [], []
    for kind, ref, op, x in conditions:
        k = row["values"].get(main)
        if kind == "cand":
            text = f"{op} {x}x {SHORT.get(ref, ref)}"
            got = row.get(f"ratio_{ref}")
        elif kind == "own":
            text = f"{op} {x}x own {ref}"
            got = ratio(k, med.get(ref, {}).get(main))
        else:
            text = f"{op} {x} {row['unit']}"
            got = k
        if got is None:
            results.append(None)
            texts.append(f"{text} (-)")
            continue
        ok = got >= x if op == ">=" else got <= x
        results.append(ok)
        # Three decimals: a ratio a hair over its bound shows as such.
        texts.append(f"{text} ({fmt(got)})" if kind == "abs" else f"{text} ({got:.3f}x)")
    row["target"] = ", ".join(texts)
    if None not in results:
        row["met"] = all(results)


def build_rows(samples, med, main):
    rows = []
    for name, label, unit, higher, target in METRICS:
        values = med.get(name, {})
        row = {"metric": name, "label": label, "unit": unit, "higher_is_better": higher,
               "values": values, "samples": samples.get(name, {})}
        for peer in RATIO_TO + ["rootlesskit"]:
            r = ratio(values.get(main), values.get(peer))
            if r is not None:
                row[f"ratio_{peer}"] = r
        if target:
            judge(row, target, main, med)
        rows.append(row)
    return rows


def columns(rows, main):
    present = {c for row in rows for c in row["values"]}
    cands = [c for c in ORDER if c in present]
    ratios = [c for c in RATIO_TO if c in present and c != main]
    return cands, ratios


def verdict(row):
    return {True: "met", False: "MISSED"}.get(row.get("met"), "")


def summary(rows, main):
    lines = []
    for group, title in (("new", "targets of kernel-to-kernel delivery"),
                         ("kept", "earlier targets"),
                         ("udp", "targets of the kernel UDP path")):
        mine = [r for r in rows if r.get("target_group") == group]
        if not mine or all("met" not in r and not r["values"] for r in mine):
            continue
        met = sum(1 for r in mine if r.get("met") is True)
        missed = sum(1 for r in mine if r.get("met") is False)
        unjudged = sum(1 for r in mine if "met" not in r)
        lines.append(f"{main}: {title}: {met} met, {missed} MISSED, {unjudged} without figures")
    return lines


def print_table(rows, main):
    cands, ratios = columns(rows, main)
    m = SHORT[main][0]
    header = f"{'metric':40} {'unit':6} " + " ".join(f"{SHORT[c]:>7}" for c in cands) + " " + \
        " ".join(f"{m + '/' + SHORT[c]:>8}" for c in ratios) + "  target"
    print(header)
    print("-" * len(header))
    for row in rows:
        v = row["values"]
        if not v:
            continue
        extra = ""
        if "rootlesskit" in v:
            extra = f"  (rootlesskit builtin {fmt(v['rootlesskit'])}, {m}/rk " \
                    f"{fmt(row.get('ratio_rootlesskit'))})"
        print(f"{row['label']:40} {row['unit']:6} " +
              " ".join(f"{fmt(v.get(c)):>7}" for c in cands) + " " +
              " ".join(f"{fmt(row.get('ratio_' + c)):>8}" for c in ratios) +
              f"  {row.get('target', '')} {verdict(row)}{extra}")
    for line in summary(rows, main):
        print(line)


def print_markdown(rows, main):
    cands, ratios = columns(rows, main)
    print("| metric | unit | " + " | ".join(cands) + " | " +
          " | ".join(f"{main} / {c}" for c in ratios) + " | target |")
    print("|---" * (3 + len(cands) + len(ratios)) + "|")
    for row in rows:
        v = row["values"]
        if not v:
            continue
        label = row["label"].strip().replace("->", "→")
        if row["label"].startswith(" "):
            label = "… " + label
        target = row.get("target", "")
        if target:
            target = f"{target}: {verdict(row) or 'no figures'}"
        print(f"| {label} | {row['unit']} | " + " | ".join(fmt(v.get(c)) for c in cands) + " | " +
              " | ".join(fmt(row.get("ratio_" + c)) + ("×" if row.get("ratio_" + c) else "")
                         for c in ratios) + f" | {target} |")


def main():
    samples_path, notes_path, json_path, png_path = sys.argv[1:5]
    samples = load(samples_path)
    present = {c for by_cand in samples.values() for c in by_cand}
    main_cand = "redirect" if "redirect" in present or "kernel" not in present else "kernel"
    med = medians(samples)
    rows = build_rows(samples, med, main_cand)
    notes = []
    if os.path.exists(notes_path):
        with open(notes_path) as f:
            notes = [line.strip() for line in f if line.strip()]
    print_table(rows, main_cand)
    print("redir: ours --tcp-path=redirect; bridge: ours --tcp-path=bridge; kernel: ours "
          "--tcp-path=kernel; slirp: ours --tcp-path=slirp; s4n: Debian's slirp4netns 1.2.0. "
          "Daemon CPU, RSS and fds: the daemon plus its slirp4netns-tcp child. Machine CPU: "
          "/proc/stat, every process and interrupt. TCP mem (sockstat) is the machine's: the "
          "kernel keeps one TCP memory count, not one per network namespace, so it takes in "
          "every namespace involved and other work on the machine. UDP: redir, kernel and "
          "bridge use the kernel UDP path (redir and kernel get the guest's datagrams by tc, "
          "bridge reads them from the tap), slirp libslirp's (--tcp-path=slirp implies "
          "--udp-path=slirp); <=1% loss: the best received rate of the offered rates tried "
          "(iperf3 -u -l 1400) at which the receiver lost at most 1 %; GSO: the guest's "
          "64 KB UDP_SEGMENT writes, not paced, so its loss is shown beside it. veth: no "
          "slirp, the guest's kernel joined to the host's by a veth pair: what the machine "
          "allows any delivery (no daemon CPU; its machine CPU is shown).")
    background = samples.get("background_cpu", {}).get("machine")
    if background:
        print("machine busy while the bench idled, each round (others' work, in the machine CPU "
              "figures too): " + ", ".join(f"{v:.0f} %" for v in background) + " of one CPU")
    for n in notes:
        print(f"note: {n}")
    print()
    print_markdown(rows, main_cand)
    print()

    with open(json_path, "w") as f:
        json.dump({"main": main_cand, "metrics": rows, "notes": notes}, f, indent=2)
        f.write("\n")
    print(f"wrote {json_path}")
    chart(rows, png_path, main_cand)


CHART_SERIES = [("redirect", "ours, --tcp-path=redirect", "#9467bd"),
                ("kernel", "ours, --tcp-path=kernel", "#8c564b"),
                ("bridge", "ours, --tcp-path=bridge", "#17becf"),
                ("slirp", "ours, --tcp-path=slirp", "#1f77b4"),
                ("pasta", "pasta", "#ff7f0e"),
                ("rootlesskit", "rootlesskit builtin", "#2ca02c")]


def chart(rows, png_path, main):
    """Bars: each candidate against slirp4netns 1.2.0 (1.0 = equal, higher =
    better)."""
    present = {c for row in rows for c in row["values"]}
    series = [s for s in CHART_SERIES if s[0] in present]
    lines = []
    for row in rows:
        v = row["values"]
        base = v.get("slirp4netns")
        # The parts of the memory growth are near zero for some: a ratio of
        # those says nothing, they stay in the table.
        if not base or base <= 0 or row["label"].startswith(" "):
            continue
        cols = []
        for c, _, _ in series:
            x = v.get(c)
            if x is None or x <= 0:
                cols.append("NaN")
            else:
                cols.append(f"{(x / base) if row['higher_is_better'] else (base / x):.3f}")
        label = row["label"].strip().replace('"', "")
        lines.append(f"\"{label}\" " + " ".join(cols))
    if not lines or not series:
        print("no chart: no slirp4netns figures")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as data:
        data.write("\n".join(lines) + "\n")
    plots = [f'"{data.name}" using {i + 2}' + (":xtic(1)" if i == 0 else "") +
             f' title "{title}" lc rgb "{color}"'
             for i, (_, title, color) in enumerate(series)]
    plots.append('1 with lines lc rgb "black" dt 2 title "slirp4netns 1.2.0"')
    names = ", ".join(f"--tcp-path={c}" for c, _, _ in series
                      if c in ("redirect", "kernel", "bridge", "slirp"))
    script = f"""
set terminal pngcairo size {max(1600, 40 * len(lines))},760 font ",11"
set output "{png_path}"
set title "slirp4netns (C++), {names}, vs Debian slirp4netns 1.2.0 and pasta: advantage over slirp4netns 1.2.0 (higher is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing "NaN"
set xtics rotate by -35 scale 0
set ylabel "x slirp4netns 1.2.0 (throughput ratio, or inverse for time, memory, CPU)"
set logscale y 2
set yrange [0.03:*]
set rmargin 18
set bmargin 12
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
