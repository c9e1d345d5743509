#!/usr/bin/env python3
"""Turns qlinear_bench's JSON output into a Markdown ratio table and SVG plots.

Usage:
  bench/report.py results.json [--out-dir DIR] [--command "the command that made the JSON"]

Writes DIR/results.md (tables: every cell's GFLOP/s, qlinear ÷ best peer and ÷ each peer, the
cold M=1 bandwidth as a fraction of the memory-read benchmark, the issue's targets per cell)
and DIR/plot_<N>x<K>.svg (GFLOP/s against M, one panel per scheme and thread count, one line
per implementation). Python 3 standard library only: the SVG is written by hand.

Where repetitions ran, the median is used; otherwise the single run. Peers registered under
what they compute (f32/eigen, bf16/onednn, int8_per_channel/onednn) are compared with every
qlinear scheme; ggml only with its own GGUF type.
"""

import argparse
import json
import math
import os
import re
import sys
from collections import defaultdict

SCHEMES = ["q4_0", "q8_0", "q4_K", "q5_K", "q6_K", "int8_per_channel", "int4_g128", "nf4"]
GGUF = {"q4_0", "q8_0", "q4_K", "q5_K", "q6_K"}
FOUR_BIT = {"q4_0", "q4_K", "int4_g128", "nf4"}
# Storage bits per weight (scales included; int8 per-channel's one f32 per row is negligible).
BITS = {"q4_0": 4.5, "q8_0": 8.5, "q4_K": 4.5, "q5_K": 5.5, "q6_K": 6.5625, "int8_per_channel": 8.0,
        "int4_g128": 4.125, "nf4": 4.5}


def roofline(scheme, m, n, k, t, memory, ceilings, in_cache=False):
    """Attainable GFLOP/s with the weights streamed once per call: min(AMX int8 peak, arithmetic
    intensity × read bandwidth), both measured in this run; the read from DRAM, or with
    in_cache the read of an L3-sized buffer (where hot cells keep their weights)."""
    amx = ceilings.get(("amx_int8", t), {}).get("GOPS")
    bw = memory.get(t, {}).get("in_cache_GBps" if in_cache else "GBps")
    if not amx or not bw or scheme not in BITS:
        return None
    intensity = 2.0 * m * n * k / (n * k * BITS[scheme] / 8 + 4.0 * m * (n + k))  # flop per byte
    return min(amx, intensity * bw)
# Peer columns: (key, header). The key is (scheme or None for "same as the row", impl).
PEERS = [
    ("ggml", "ggml"),
    ("onednn_s8", "oneDNN s8"),
    ("onednn_bf16", "oneDNN bf16"),
    ("eigen", "Eigen f32"),
]
COLORS = {
    "qlinear": "#d62728",
    "qlinear_exact": "#ff9896",
    "ggml": "#1f77b4",
    "onednn_s8": "#2ca02c",
    "onednn_bf16": "#98df8a",
    "eigen": "#7f7f7f",
}
NAMES = {"qlinear": "qlinear", "qlinear_exact": "qlinear exact (f32 x)", "ggml": "ggml (best buffer)", "onednn_s8": "oneDNN s8 (+quant)",
         "onednn_bf16": "oneDNN bf16", "eigen": "Eigen f32"}

NAME_RE = re.compile(
    r"^(?P<scheme>[^/]+)/(?P<impl>[^/]+)/M:(?P<m>\d+)/N:(?P<n>\d+)/K:(?P<k>\d+)/threads:(?P<t>\d+)(?P<cold>/cold)?$")
MEM_RE = re.compile(r"^memory/read/bytes:(?P<bytes>\d+)/threads:(?P<t>\d+)$")
IN_CACHE_MAX_BYTES = 256 << 20  # a read of fewer bytes is the in-cache (L3) one
CEIL_RE = re.compile(r"^ceiling/(?P<what>[a-z0-9_]+)/threads:(?P<t>\d+)$")
CEILING_NAMES = {"fma_f32": "f32 FMA (AVX-512)", "vnni_int8": "int8 vpdpbusd (AVX-512 VNNI)",
                 "amx_int8": "int8 tdpbssd (AMX)"}


def run_name(b):
    name = b.get("run_name") or b["name"]
    for suffix in ("/real_time", "/manual_time"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def load(path):
    """Returns (context, cells, memory, ceilings, errors).

    cells[(scheme, impl, m, n, k, t, cold)], memory[t] and ceilings[(what, t)] are records."""
    with open(path) as f:
        data = json.load(f)
    medians, singles, errors = {}, defaultdict(list), {}
    for b in data.get("benchmarks", []):
        name = run_name(b)
        if b.get("error_occurred"):
            errors[name] = b.get("error_message", "error")
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = b
        else:
            singles[name].append(b)
    records = {}
    for name in set(medians) | set(singles):
        if name in medians:
            rec = dict(medians[name])
            runs = singles.get(name, [])
            if runs and "label" in runs[0] and "label" not in rec:
                rec["label"] = runs[0]["label"]
        else:
            runs = singles[name]
            rec = dict(runs[0])
            for key in ("GFLOPS", "GBps", "GOPS", "real_time"):
                if key in rec:
                    rec[key] = median([r[key] for r in runs if key in r])
        records[name] = rec
    cells, memory, ceilings, reads = {}, {}, {}, []
    for name, rec in records.items():
        m = CEIL_RE.match(name)
        if m:
            ceilings[(m["what"], int(m["t"]))] = rec
            continue
        m = NAME_RE.match(name)
        if m:
            key = (m["scheme"], m["impl"], int(m["m"]), int(m["n"]), int(m["k"]), int(m["t"]), bool(m["cold"]))
            cells[key] = rec
            continue
        m = MEM_RE.match(name)
        if m:
            reads.append((int(m["t"]), int(m["bytes"]), rec))
    # memory[t]: the read beyond the last-level cache (the largest); its "in_cache_GBps" the
    # read of a buffer that fits the L3 (the smallest), where the hot M = 1 weights sit.
    for t, size, rec in sorted(reads, key=lambda r: -r[1]):
        if t not in memory:
            memory[t] = dict(rec)
        elif size < IN_CACHE_MAX_BYTES:
            memory[t]["in_cache_GBps"] = rec.get("GBps")
    return data.get("context", {}), cells, memory, ceilings, errors


def peer_record(cells, column, scheme, m, n, k, t, cold):
    """The record a peer column shows on a qlinear row of `scheme`."""
    if column == "ggml":
        return cells.get((scheme, "ggml", m, n, k, t, cold)) if scheme in GGUF else None
    if column == "onednn_s8":
        return cells.get(("int8_per_channel", "onednn", m, n, k, t, cold))
    if column == "onednn_bf16":
        return cells.get(("bf16", "onednn", m, n, k, t, cold))
    if column == "eigen":
        return cells.get(("f32", "eigen", m, n, k, t, cold))
    return None


def ggml_buffer(rec):
    label = rec.get("label", "") if rec else ""
    m = re.search(r"buffer=(\S+)", label)
    return m.group(1) if m else "?"


def fmt(v, digits=3):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.{digits}g}"


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}×"


def shapes_of(cells):
    return sorted({(k[3], k[4]) for k in cells}, key=lambda s: (s[0] * s[1], s))


def ms_of(cells):
    return sorted({k[2] for k in cells if not k[6]})


def threads_of(cells):
    return sorted({k[5] for k in cells})


def gflops(rec):
    return rec.get("GFLOPS") if rec else None


def make_markdown(context, cells, memory, ceilings, errors, command):
    out = []
    w = out.append
    w("# qlinear_bench results\n")
    if command:
        w(f"Produced by:\n\n```sh\n{command}\n```\n")
    host = context.get("host_name", "?")
    caches = ", ".join(f"L{c['level']} {c['type'].lower()} {c['size'] // 1024} KiB"
                       for c in context.get("caches", []))
    w(f"Machine: {host}, {context.get('num_cpus', '?')} CPUs at {context.get('mhz_per_cpu', '?')} MHz "
      f"(as Google Benchmark reports it); caches: {caches}. Run {context.get('date', '?')}, "
      f"load average at start {', '.join(f'{x:.2f}' for x in context.get('load_avg', []))}.\n")
    for key in ("qlinear", "ggml", "onednn", "eigen"):
        if key in context:
            w(f"- {key}: {context[key]}")
    w("")
    w("\"of AMX peak\" is qlinear's GFLOP/s over the AMX int8 tile loop's GOP/s (same thread count); \"of "
      "roofline\" over min(that peak, flops per byte × memory-read GB/s) with the weights read once from "
      "DRAM per call, both measured in this run (hot cells can beat it: their weights sit in the L3); "
      "\"of L3 roofline\" the same with the read bandwidth of an L3-sized buffer, the bound of the "
      "hot cells whose weights exceed L2.\n")
    w("GFLOP/s are 2·M·N·K per second of wall time, medians over the repetitions; every "
      "implementation's output was checked against a double-precision reference before it was "
      "timed. The peers compute on the same float weights and activations: ggml on the very GGUF "
      "bytes qlinear quantized (its best buffer type per cell, named in brackets), oneDNN s8 on "
      "qlinear's int8 per-channel weights with per-tensor activation quantization included in its "
      "time, oneDNN bf16 and Eigen on the float weights.\n")

    if memory:
        w("## Memory read bandwidth\n")
        w("| threads | GB/s beyond the last-level cache | GB/s of an L3-sized buffer |\n|---|---|---|")
        for t in sorted(memory):
            w(f"| {t} | {fmt(memory[t].get('GBps'))} | {fmt(memory[t].get('in_cache_GBps'))} |")
        w("")

    if ceilings:
        w("## Arithmetic ceilings (register/tile-only loops)\n")
        ts = sorted({t for _, t in ceilings})
        w("| instruction | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}, GOP/s" for t in ts) + " |")
        w("|---|" + "---|" * len(ts))
        for what in CEILING_NAMES:
            if any((what, t) in ceilings for t in ts):
                w(f"| {CEILING_NAMES[what]} | " + " | ".join(fmt(ceilings.get((what, t), {}).get("GOPS")) for t in ts)
                  + " |")
        w("")

    have_qlinear = any(k[1] == "qlinear" for k in cells)
    have_exact = any(k[1] == "qlinear_exact" for k in cells)
    if have_qlinear:
        out.extend(summary(cells, memory))
    if not have_qlinear:
        w("**No qlinear cells in this run** (the binary was built without qlinear::cpu::Backend); "
          "the tables show the peers alone.\n")

    for (n, k) in shapes_of(cells):
        w(f"## N={n}, K={k}: GFLOP/s (weights in cache)\n")
        for scheme in SCHEMES:
            rows = []
            for m in ms_of(cells):
                for t in threads_of(cells):
                    q = cells.get((scheme, "qlinear", m, n, k, t, False))
                    peers = {c: peer_record(cells, c, scheme, m, n, k, t, False) for c, _ in PEERS}
                    own_peer = peers["ggml"] if scheme in GGUF else (
                        peers["onednn_s8"] if scheme == "int8_per_channel" else None)
                    if q is None and own_peer is None:
                        continue  # scheme-independent peers alone are shown under a scheme with cells
                    best_col = max((c for c in peers if peers[c]), key=lambda c: gflops(peers[c]), default=None)
                    qg = gflops(q)
                    amx = ceilings.get(("amx_int8", t), {}).get("GOPS")
                    roof = roofline(scheme, m, n, k, t, memory, ceilings)
                    roof_l3 = roofline(scheme, m, n, k, t, memory, ceilings, in_cache=True)
                    cols = [str(m), str(t), fmt(qg), f"{100 * qg / amx:.1f}%" if qg and amx else "—",
                            f"{100 * qg / roof:.0f}%" if qg and roof else "—",
                            f"{100 * qg / roof_l3:.0f}%" if qg and roof_l3 else "—"]
                    if have_exact:
                        cols.append(fmt(gflops(cells.get((scheme, "qlinear_exact", m, n, k, t, False)))))
                    for c, _ in PEERS:
                        rec = peers[c]
                        v = fmt(gflops(rec))
                        if c == "ggml" and rec:
                            v += f" [{ggml_buffer(rec)}]"
                        cols.append(v)
                    cols.append(dict(PEERS).get(best_col, "—"))
                    cols.append(fmt_ratio(ratio(qg, gflops(peers[best_col]) if best_col else None)))
                    for c, _ in PEERS:
                        cols.append(fmt_ratio(ratio(qg, gflops(peers[c]))))
                    if have_exact:
                        cols.append(fmt_ratio(ratio(gflops(cells.get((scheme, "qlinear_exact", m, n, k, t, False))),
                                                    gflops(peers["onednn_bf16"]))))
                    rows.append("| " + " | ".join(cols) + " |")
            if not rows:
                continue
            w(f"### {scheme}\n")
            w("| M | thr | qlinear | of AMX peak | of roofline | of L3 roofline | " + ("qlinear exact | " if have_exact else "") + " | ".join(h for _, h in PEERS)
              + " | best peer | qlinear ÷ best | " + " | ".join(f"÷ {h}" for _, h in PEERS)
              + (" | exact ÷ oneDNN bf16" if have_exact else "") + " |")
            w("|" + "---|" * (7 + 2 * len(PEERS) + 1 + (2 if have_exact else 0)))
            out.extend(rows)
            w("")

    # Cold decode: GB/s of weights read as a fraction of the memory-read benchmark.
    cold = [key for key in cells if key[6]]
    if cold:
        w("## Batch 1, cold (weights rotated over more than the last-level cache)\n")
        w("GB/s of weight bytes read per second; % of the memory-read benchmark with the same thread count.\n")
        for (n, k) in shapes_of(cells):
            rows = []
            for scheme in SCHEMES + ["f32", "bf16"]:
                for t in threads_of(cells):
                    impls = []
                    for impl in ("qlinear", "ggml", "onednn", "eigen"):
                        rec = cells.get((scheme, impl, 1, n, k, t, True))
                        if rec:
                            impls.append((impl, rec))
                    if not impls:
                        continue
                    mem = memory.get(t, {}).get("GBps")
                    for impl, rec in impls:
                        gb = rec.get("GBps")
                        frac = f"{100 * gb / mem:.0f}%" if gb and mem else "—"
                        extra = f" [{ggml_buffer(rec)}]" if impl == "ggml" else ""
                        rows.append(f"| {scheme} | {impl}{extra} | {t} | {fmt(gb)} | {frac} | "
                                    f"{fmt(rec.get('working_set_GiB'))} | {fmt(rec.get('real_time'))} |")
            if rows:
                w(f"### N={n}, K={k}\n")
                w("| scheme | impl | thr | GB/s | of memory read | working set GiB | ms/call |")
                w("|---|---|---|---|---|---|---|")
                out.extend(rows)
                w("")

    # The peers' own figures, as peers.md quotes them: GFLOP/s 1 thread / 2 threads, and what ran.
    w("## The peers' own figures (GFLOP/s, 1 thread / 2 threads, weights in cache)\n")
    for (n, k) in shapes_of(cells):
        rows = []
        peer_rows = [(s, "ggml") for s in SCHEMES if s in GGUF] + [
            ("int8_per_channel", "onednn"), ("bf16", "onednn"), ("f32", "eigen")]
        for scheme, impl in peer_rows:
            vals, picked = [], set()
            for m in ms_of(cells):
                per_t = []
                for t in threads_of(cells):
                    rec = cells.get((scheme, impl, m, n, k, t, False))
                    per_t.append(fmt(gflops(rec)))
                    if rec and impl == "ggml":
                        picked.add(ggml_buffer(rec))
                    elif rec and impl == "onednn":
                        picked.add(rec.get("label", "").replace("impl=", ""))
                vals.append(" / ".join(per_t))
            if any(v.replace(" / ", "").replace("—", "") for v in vals):
                rows.append(f"| {scheme} | {impl} | " + " | ".join(vals) + f" | {', '.join(sorted(picked)) or '—'} |")
        if rows:
            w(f"### N={n}, K={k}\n")
            w("| scheme | peer | " + " | ".join(f"M={m}" for m in ms_of(cells)) + " | implementation picked |")
            w("|---|---|" + "---|" * len(ms_of(cells)) + "---|")
            out.extend(rows)
            w("")

    if have_qlinear:
        out.extend(targets(cells, memory))

    # Thread scaling of qlinear (and of each peer, for context).
    if have_qlinear and len(threads_of(cells)) > 1:
        w("## Thread scaling (2 threads ÷ 1 thread, GFLOP/s, weights in cache)\n")
        w("| scheme | impl | N×K | " + " | ".join(f"M={m}" for m in ms_of(cells)) + " |")
        w("|---|---|---|" + "---|" * len(ms_of(cells)))
        for (n, k) in shapes_of(cells):
            for scheme, impl in [(s, "qlinear") for s in SCHEMES] + [(s, "ggml") for s in sorted(GGUF)] + [
                    ("int8_per_channel", "onednn"), ("bf16", "onednn"), ("f32", "eigen")]:
                vals = []
                for m in ms_of(cells):
                    r = ratio(gflops(cells.get((scheme, impl, m, n, k, 2, False))),
                              gflops(cells.get((scheme, impl, m, n, k, 1, False))))
                    vals.append(fmt_ratio(r))
                if any(v != "—" for v in vals):
                    w(f"| {scheme} | {impl} | {n}×{k} | " + " | ".join(vals) + " |")
        w("")

    if errors:
        w("## Cells that reported an error (not timed)\n")
        for name in sorted(errors):
            w(f"- `{name}`: {errors[name]}")
        w("")
    return "\n".join(out) + "\n"


def summary(cells, memory):
    """One row per scheme: the ratios the issue sets targets for, the worst over the shapes."""
    shapes, ts = shapes_of(cells), threads_of(cells)

    def worst(values):
        values = [v for v in values if v is not None]
        return min(values) if values else None

    def per_t(f):
        return " / ".join(fmt_ratio(worst(f(n, k, t) for (n, k) in shapes)) for t in ts)

    def pct_per_t(f):
        vals = []
        for t in ts:
            v = worst(f(n, k, t) for (n, k) in shapes)
            vals.append("—" if v is None else f"{100 * v:.0f}%")
        return " / ".join(vals)

    def vs(scheme, impl_scheme, impl, m):
        return lambda n, k, t: ratio(gflops(cells.get((scheme, "qlinear", m, n, k, t, False))),
                                     gflops(cells.get((impl_scheme, impl, m, n, k, t, False))))

    def vs_best(scheme, m):
        def f(n, k, t):
            q = gflops(cells.get((scheme, "qlinear", m, n, k, t, False)))
            best = [gflops(peer_record(cells, c, scheme, m, n, k, t, False)) for c, _ in PEERS]
            best = [b for b in best if b]
            return ratio(q, max(best)) if best else None
        return f

    def cold(scheme):
        return lambda n, k, t: ratio((cells.get((scheme, "qlinear", 1, n, k, t, True)) or {}).get("GBps"),
                                     memory.get(t, {}).get("GBps"))

    def hot(scheme):
        return lambda n, k, t: ratio((cells.get((scheme, "qlinear", 1, n, k, t, False)) or {}).get("GBps"),
                                     memory.get(t, {}).get("in_cache_GBps"))

    def scaling(scheme):
        def f(n, k, t):
            if t != ts[0]:
                return None
            rs = [ratio(gflops(cells.get((scheme, "qlinear", m, n, k, ts[-1], False))),
                        gflops(cells.get((scheme, "qlinear", m, n, k, ts[0], False)))) for m in ms_of(cells) if m >= 32]
            return worst(rs)
        return f

    big = [m for m in ms_of(cells) if m >= 128]
    headers = (["scheme", "M=1 ÷ ggml", "M=1 hot, of L3 read", "M=1 cold, of memory read"] + [f"M={m} ÷ best peer" for m in big]
               + [f"M={m} ÷ ggml" for m in big] + [f"M={m} ÷ oneDNN s8" for m in big] + ["2 thr ÷ 1 thr, M≥32"])
    out = ["## Summary (qlinear ÷ peer, the worst cell over the shapes; 1 thread / 2 threads)\n",
           "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for scheme in SCHEMES:
        if not any(key[0] == scheme and key[1] == "qlinear" for key in cells):
            continue
        row = [scheme, per_t(vs(scheme, scheme, "ggml", 1)) if scheme in GGUF else "—", pct_per_t(hot(scheme)),
               pct_per_t(cold(scheme))]
        row += [per_t(vs_best(scheme, m)) for m in big]
        row += [per_t(vs(scheme, scheme, "ggml", m)) if scheme in GGUF else "—" for m in big]
        row += [per_t(vs(scheme, "int8_per_channel", "onednn", m)) for m in big]
        sc = worst(scaling(scheme)(n, k, ts[0]) for (n, k) in shapes)
        row.append(fmt_ratio(sc))
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    return out


def targets(cells, memory):
    """The issue's targets, cell by cell: (target, cell, measured, goal, met)."""
    rows = []

    def add(target, cell, value, goal):
        if value is None:
            rows.append(f"| {target} | {cell} | — | {goal:.2f} | not measured |")
        else:
            rows.append(f"| {target} | {cell} | {value:.2f} | {goal:.2f} | {'yes' if value >= goal else '**no**'} |")

    for (n, k) in shapes_of(cells):
        shape = f"{n}×{k}"
        for t in threads_of(cells):
            for s in SCHEMES:
                if s in GGUF:
                    q = gflops(cells.get((s, "qlinear", 1, n, k, t, False)))
                    g = gflops(cells.get((s, "ggml", 1, n, k, t, False)))
                    add("M=1 hot ≥ 1.5× ggml", f"{s} {shape} t{t}", ratio(q, g), 1.5)
            for s in SCHEMES:
                rec = cells.get((s, "qlinear", 1, n, k, t, True))
                mem = memory.get(t, {}).get("GBps")
                if rec:
                    add("M=1 cold ≥ 90% of memory read", f"{s} {shape} t{t}",
                        ratio(rec.get("GBps"), mem), 0.9)
            for m in ms_of(cells):
                if m < 128:
                    continue
                for s in SCHEMES:
                    q = gflops(cells.get((s, "qlinear", m, n, k, t, False)))
                    if q is None:
                        continue
                    if s in GGUF:
                        add("M≥128 ≥ 2× ggml", f"{s} M={m} {shape} t{t}",
                            ratio(q, gflops(cells.get((s, "ggml", m, n, k, t, False)))), 2.0)
                    o = gflops(cells.get(("int8_per_channel", "onednn", m, n, k, t, False)))
                    if s in ("int8_per_channel", "q8_0"):
                        add("M≥128 ≥ 0.8× oneDNN s8", f"{s} M={m} {shape} t{t}", ratio(q, o), 0.8)
                    elif s in FOUR_BIT:
                        add("M≥128 ≥ 0.5× oneDNN s8", f"{s} M={m} {shape} t{t}", ratio(q, o), 0.5)
                    add("M≥128 far ahead of Eigen f32 (≥ 2×)", f"{s} M={m} {shape} t{t}",
                        ratio(q, gflops(cells.get(("f32", "eigen", m, n, k, t, False)))), 2.0)
        for m in ms_of(cells):
            if m < 32:
                continue
            for s in SCHEMES:
                r = ratio(gflops(cells.get((s, "qlinear", m, n, k, 2, False))),
                          gflops(cells.get((s, "qlinear", m, n, k, 1, False))))
                if r is not None:
                    add("M≥32: 2 threads ≥ 1.8× 1 thread", f"{s} M={m} {shape}", r, 1.8)
    if not rows:
        return []
    met = sum(1 for r in rows if r.endswith("| yes |"))
    return ["## The issue's targets, cell by cell\n",
            f"{met} of {len(rows)} cells meet their target.\n",
            "| target | cell | measured (ratio) | goal | met |", "|---|---|---|---|---|"] + rows + [""]


# ---------------------------------------------------------------------------------------------
# SVG plot, written by hand (no plotting library needed).

def svg_plot(cells, n, k):
    schemes = [s for s in SCHEMES if any(key[0] == s and key[3] == n and key[4] == k for key in cells)
               or s in GGUF or s == "int8_per_channel"]
    threads = threads_of(cells)
    ms = ms_of(cells)
    if not ms:
        return None
    impls = ("qlinear", "qlinear_exact", "ggml", "onednn_s8", "onednn_bf16", "eigen")
    cols, rows = len(threads), len(schemes)
    width = max(cols * 420, 840)
    pw, ph, ml, mr, mt, mb = width / cols, 220, 58, 12, 28, 36
    per_row = max(1, int(width // 180))
    legend_rows = (len(impls) + per_row - 1) // per_row
    legend_h = 30 + 18 * legend_rows
    height = rows * ph + legend_h
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect width="{width:.0f}" height="{height}" fill="white"/>']
    parts.append(f'<text x="{width / 2}" y="16" text-anchor="middle" font-weight="bold">'
                 f'N={n}, K={k}: GFLOP/s (log scale) against M (log scale), weights in cache</text>')
    step = width / per_row
    for i, impl in enumerate(impls):
        x, y = 10 + (i % per_row) * step, 34 + 18 * (i // per_row)
        dash = ' stroke-dasharray="5,3"' if impl == "qlinear_exact" else ""
        parts.append(f'<line x1="{x}" y1="{y}" x2="{x + 22}" y2="{y}" stroke="{COLORS[impl]}" stroke-width="2.5"{dash}/>')
        parts.append(f'<text x="{x + 27}" y="{y + 4}">{NAMES[impl]}</text>')
    for r, scheme in enumerate(schemes):
        series_all = {}
        for c, t in enumerate(threads):
            series = {}
            for impl in ("qlinear", "qlinear_exact"):
                series[impl] = [(m, gflops(cells.get((scheme, impl, m, n, k, t, False)))) for m in ms]
            for col, _ in PEERS:
                series[col] = [(m, gflops(peer_record(cells, col, scheme, m, n, k, t, False))) for m in ms]
            series_all[t] = series
        values = [v for s in series_all.values() for pts in s.values() for _, v in pts if v]
        if not values:
            continue
        lo = 10 ** math.floor(math.log10(min(values)))
        hi = 10 ** math.ceil(math.log10(max(values)))
        if hi <= lo:
            hi = lo * 10
        for c, t in enumerate(threads):
            ox, oy = c * pw, legend_h + r * ph
            x0, x1, y0, y1 = ox + ml, ox + pw - mr, oy + ph - mb, oy + mt
            mlo, mhi = math.log(ms[0]), math.log(ms[-1]) if ms[-1] > ms[0] else math.log(ms[0]) + 1

            def px(m):
                return x0 + (math.log(m) - mlo) / (mhi - mlo) * (x1 - x0)

            def py(v):
                return y0 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (y0 - y1)

            parts.append(f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="none" stroke="#444"/>')
            parts.append(f'<text x="{(x0 + x1) / 2}" y="{y1 - 8}" text-anchor="middle" font-weight="bold">'
                         f'{scheme}, {t} thread{"s" if t > 1 else ""}</text>')
            dec = lo
            while dec <= hi * 1.0001:
                yy = py(dec)
                parts.append(f'<line x1="{x0}" y1="{yy:.1f}" x2="{x1}" y2="{yy:.1f}" stroke="#ddd"/>')
                parts.append(f'<text x="{x0 - 4}" y="{yy + 4:.1f}" text-anchor="end">{dec:g}</text>')
                dec *= 10
            for m in ms:
                xx = px(m)
                parts.append(f'<line x1="{xx:.1f}" y1="{y0}" x2="{xx:.1f}" y2="{y1}" stroke="#eee"/>')
                parts.append(f'<text x="{xx:.1f}" y="{y0 + 14}" text-anchor="middle">{m}</text>')
            parts.append(f'<text x="{(x0 + x1) / 2}" y="{y0 + 28}" text-anchor="middle">M</text>')
            for impl, pts in series_all[t].items():
                pts = [(m, v) for m, v in pts if v]
                if not pts:
                    continue
                path = " ".join(f"{px(m):.1f},{py(v):.1f}" for m, v in pts)
                width_px = 2.5 if impl == "qlinear" else 1.6
                dash = ' stroke-dasharray="5,3"' if impl == "qlinear_exact" else ""
                parts.append(f'<polyline points="{path}" fill="none" stroke="{COLORS[impl]}" '
                             f'stroke-width="{width_px}"{dash}/>')
                for m, v in pts:
                    parts.append(f'<circle cx="{px(m):.1f}" cy="{py(v):.1f}" r="2.5" fill="{COLORS[impl]}">'
                                 f'<title>{NAMES[impl]} M={m}: {v:.1f} GFLOP/s</title></circle>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", help="qlinear_bench --benchmark_out=FILE --benchmark_out_format=json output")
    ap.add_argument("--out-dir", default=None, help="where results.md and the plots go (default: next to the JSON)")
    ap.add_argument("--command", default="", help="the command that produced the JSON, quoted in results.md")
    args = ap.parse_args(argv)
    out_dir = args.out_dir or os.path.dirname(os.path.abspath(args.json))
    os.makedirs(out_dir, exist_ok=True)
    context, cells, memory, ceilings, errors = load(args.json)
    if not cells and not memory:
        print(f"report.py: no qlinear_bench cells in {args.json}", file=sys.stderr)
        return 1
    md = make_markdown(context, cells, memory, ceilings, errors, args.command)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(md)
    written = ["results.md"]
    for (n, k) in shapes_of(cells):
        svg = svg_plot(cells, n, k)
        if svg:
            name = f"plot_{n}x{k}.svg"
            with open(os.path.join(out_dir, name), "w") as f:
                f.write(svg)
            written.append(name)
    print(f"report.py: wrote {', '.join(written)} in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
