#!/usr/bin/env python3
"""Plots the scheduling experiment's results.csv (dip-bench experiment) for Docs/Scheduling.md.

Usage: python3 scripts/plot-scheduling.py [RESULTS_CSV] [OUT_DIR]
       (defaults: experiment/results.csv, Docs/scheduling)

Needs matplotlib (pip install matplotlib). Writes:
  job-time-vs-load.png    mean job time at M = 6, unbounded slots, by mean load, per policy and
                          placement, with the analytic curves and the analytic value per vector
  model-match.png         measured against analytic, every cell that has a closed form
  latency.png             mean and p99 task latency, 100 images, 8 slots, per load vector
  makespan-bounded.png    mean job time (makespan) at 1,000 images with 8 and 1 slots per node
                          and with heterogeneous node speeds (default node room and unbounded)
  tables.md               the tables Docs/Scheduling.md quotes: model match, placements against
                          random, bounded slots against the fluid bound
"""

import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

T = 3.0
PLACEMENTS = ["random", "p2c", "least-loaded", "untried-first"]
POLICIES = ["mandatory", "optional"]
MARKERS = {"random": "o", "p2c": "s", "least-loaded": "^", "untried-first": "D"}
COLOURS = {"mandatory": "tab:red", "optional": "tab:blue"}


def load(path):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["loads_list"] = [float(x) for x in row["loads"].split("/")]
        row["mean_load"] = sum(row["loads_list"]) / len(row["loads_list"])
        row["hetero"] = any(float(x) != 1 for x in row["node_speeds"].split("/"))
        row["node_room"] = row.get("node_room") or "2"
        for key in ("mean_job_seconds", "ci95_seconds", "mean_task_latency_seconds", "p99_task_latency_seconds",
                    "mean_attempts", "makespan_seconds"):
            row[key] = float(row[key])
        row["analytic"] = float(row["analytic_seconds"]) if row["analytic_seconds"] else None
        bound = row.get("capacity_bound_seconds") or ""
        row["capacity_bound"] = float(bound) if bound else None
        row["images"] = int(row["images"])
        row["slots"] = int(row["slots"])
    return rows


def select(rows, **conditions):
    return [r for r in rows if all(r[k] == v for k, v in conditions.items())]


def job_time_vs_load(rows, out):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    cells = [r for r in select(rows, images=6, slots=0) if not r["hetero"]]
    processing = min(r["mean_job_seconds"] for r in cells)  # the job time with no delay
    grid = [i / 100 for i in range(101)]
    for axis, policy in zip(axes, POLICIES):
        # Uniform loads p: q = p under both policies.
        axis.plot(grid, [T * (1 - (1 - p) ** 6) for p in grid], color="grey", lw=1,
                  label="analytic, equal loads: T(1−(1−p)^6)")
        for placement in PLACEMENTS:
            points = sorted(select(cells, policy=policy, placement=placement), key=lambda r: r["mean_load"])
            axis.errorbar([r["mean_load"] for r in points], [r["mean_job_seconds"] for r in points],
                          yerr=[r["ci95_seconds"] for r in points], fmt=MARKERS[placement], ls="none", ms=6,
                          label=f"{placement} (measured)", alpha=0.85)
            analytic = [(r["mean_load"], r["analytic"]) for r in points if r["analytic"] is not None]
            if analytic and placement == "random":
                axis.plot([a for a, _ in analytic], [b for _, b in analytic], "k_", ms=18, mew=2,
                          label="analytic, random placement")
        for r in select(cells, policy=policy, placement="random"):
            axis.annotate(r["loads"], (r["mean_load"], r["mean_job_seconds"]), textcoords="offset points",
                          xytext=(4, -12), fontsize=7, color="dimgrey")
        axis.set_title(f"{policy}: M = 6 images, unbounded slots, T = 3 s")
        axis.set_xlabel("mean node load")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("mean job time (s)")
    axes[1].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Mean job time against load (processing {processing:.2f} s included)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "job-time-vs-load.png"), dpi=110)
    plt.close(fig)


def model_match(rows, out):
    fig, axis = plt.subplots(figsize=(6, 6))
    cells = [r for r in rows if r["analytic"] is not None]
    for policy in POLICIES:
        for placement in PLACEMENTS:
            points = select(cells, policy=policy, placement=placement)
            if not points:
                continue
            axis.scatter([r["analytic"] for r in points], [r["mean_job_seconds"] for r in points],
                         marker=MARKERS[placement], color=COLOURS[policy], alpha=0.7, label=f"{policy}, {placement}")
    top = max([r["analytic"] for r in cells] + [r["mean_job_seconds"] for r in cells]) * 1.05
    axis.plot([0, top], [0, top], color="grey", lw=1)
    axis.plot([0, top], [0, top * 1.03], color="grey", lw=0.5, ls="--")
    axis.plot([0, top], [0, top * 0.97], color="grey", lw=0.5, ls="--", label="±3 %")
    axis.set_xlabel("analytic mean job time (s)")
    axis.set_ylabel("measured mean job time (s)")
    axis.set_title("Measured against the closed form\n(unbounded slots, every M and load vector)")
    axis.legend(fontsize=7)
    axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "model-match.png"), dpi=110)
    plt.close(fig)


def latency(rows, out):
    vectors = []
    for r in rows:
        if r["loads"] not in vectors:
            vectors.append(r["loads"])
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    width = 0.8 / len(PLACEMENTS)
    for axis, policy in zip(axes, POLICIES):
        for k, placement in enumerate(PLACEMENTS):
            cells = [next((r for r in select(rows, policy=policy, placement=placement, images=100, slots=8, loads=v)
                           if not r["hetero"]), None) for v in vectors]
            xs = [i + (k - 1.5) * width for i in range(len(vectors))]
            axis.bar(xs, [c["p99_task_latency_seconds"] if c else 0 for c in cells], width, alpha=0.35,
                     color=f"C{k}")
            axis.bar(xs, [c["mean_task_latency_seconds"] if c else 0 for c in cells], width, color=f"C{k}",
                     label=f"{placement} (solid: mean, pale: p99)")
        axis.set_xticks(range(len(vectors)))
        axis.set_xticklabels(vectors, fontsize=8)
        axis.set_title(f"{policy}: task latency, 100 images, 8 slots per node")
        axis.set_xlabel("node loads")
        axis.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("task latency (s): placed first → answered")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "latency.png"), dpi=110)
    plt.close(fig)


def makespan(rows, out):
    vectors = []
    for r in rows:
        if r["loads"] not in vectors:
            vectors.append(r["loads"])
    setups = [("8 slots", lambda r: r["slots"] == 8 and not r["hetero"]),
              ("1 slot", lambda r: r["slots"] == 1 and not r["hetero"]),
              ("8 slots, speeds 1/1/0.5/0.5 (1 s work)", lambda r: r["hetero"] and r["node_room"] == "2"),
              ("as before, node room unbounded (seed's dispatch)", lambda r: r["hetero"] and r["node_room"] == "unbounded")]
    fig, axes = plt.subplots(2, len(setups), figsize=(21, 8))
    width = 0.8 / len(PLACEMENTS)
    for row_index, policy in enumerate(POLICIES):
        for column, (title, keep) in enumerate(setups):
            axis = axes[row_index][column]
            for k, placement in enumerate(PLACEMENTS):
                cells = [next((r for r in select(rows, policy=policy, placement=placement, images=1000, loads=v)
                               if keep(r)), None) for v in vectors]
                xs = [i + (k - 1.5) * width for i in range(len(vectors))]
                axis.bar(xs, [c["makespan_seconds"] if c else 0 for c in cells], width, color=f"C{k}",
                         label=placement)
            axis.set_xticks(range(len(vectors)))
            axis.set_xticklabels(vectors, fontsize=7)
            axis.set_title(f"{policy}, 1,000 images, {title}", fontsize=9)
            axis.grid(axis="y", alpha=0.3)
            if column == 0:
                axis.set_ylabel("makespan (s)")
    axes[0][len(setups) - 1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "makespan-bounded.png"), dpi=110)
    plt.close(fig)


def tables(rows, out, processing, hetero_processing):
    lines = ["## Model match: unbounded slots, random placement, M = 6", "",
             "| policy | loads | trials | measured (s) | ± 95 % | analytic (s) | error |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in select(rows, images=6, slots=0, placement="random"):
        if r["hetero"] or r["analytic"] is None:
            continue
        error = f"{100 * (r['mean_job_seconds'] / r['analytic'] - 1):+.2f} %" if r["analytic"] > 0.1 else "n/a (≈ 0)"
        lines.append(f"| {r['policy']} | {r['loads']} | {r['trials']} | {r['mean_job_seconds']:.4f} | {r['ci95_seconds']:.4f} "
                     f"| {r['analytic']:.4f} | {error} |")
    lines += ["", "## Placements against random: unbounded slots, M = 6 (mean job time, s; mean attempts)", "",
              "| policy | loads | " + " | ".join(PLACEMENTS) + " |", "|---|---|" + "---:|" * len(PLACEMENTS)]
    for policy in POLICIES:
        seen = []
        for r in select(rows, images=6, slots=0, policy=policy, placement="random"):
            if r["hetero"] or r["loads"] in seen:
                continue
            seen.append(r["loads"])
            cells = []
            for placement in PLACEMENTS:
                c = select(rows, images=6, slots=0, policy=policy, placement=placement, loads=r["loads"])[0]
                change = "" if placement == "random" else f" ({100 * (c['mean_job_seconds'] / r['mean_job_seconds'] - 1):+.1f} %)"
                cells.append(f"{c['mean_job_seconds']:.3f}{change}; {c['mean_attempts']:.2f}")
            lines.append(f"| {policy} | {r['loads']} | " + " | ".join(cells) + " |")
    for slots, hetero, room, title in [
            (8, False, "2", "8 slots"), (1, False, "2", "1 slot"), (8, True, "2", "8 slots, speeds 1/1/0.5/0.5"),
            (8, True, "unbounded", "8 slots, speeds 1/1/0.5/0.5, node room unbounded (the seed's dispatch)")]:
        lines += ["", f"## Bounded slots: 1,000 images, {title} (mean makespan, s)", "",
                  "| policy | loads | trials | capacity bound | " + " | ".join(PLACEMENTS) + " |",
                  "|---|---|---:|---:|" + "---:|" * len(PLACEMENTS)]
        for policy in POLICIES:
            for r in select(rows, images=1000, slots=slots, policy=policy, placement="random"):
                if r["hetero"] != hetero or r["node_room"] != room:
                    continue
                cells = []
                for placement in PLACEMENTS:
                    o = [x for x in select(rows, images=1000, slots=slots, policy=policy, placement=placement, loads=r["loads"])
                         if x["hetero"] == hetero and x["node_room"] == room][0]
                    change = "" if placement == "random" else f" ({100 * (o['makespan_seconds'] / r['makespan_seconds'] - 1):+.1f} %)"
                    cells.append(f"{o['makespan_seconds']:.1f}{change}")
                capacity = f"{r['capacity_bound']:.1f}" if r["capacity_bound"] is not None else "–"
                lines.append(f"| {policy} | {r['loads']} | {r['trials']} | {capacity} | " + " | ".join(cells) + " |")
    with open(os.path.join(out, "tables.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "experiment/results.csv"
    out = sys.argv[2] if len(sys.argv) > 2 else "Docs/scheduling"
    os.makedirs(out, exist_ok=True)
    rows = load(source)
    job_time_vs_load(rows, out)
    model_match(rows, out)
    latency(rows, out)
    makespan(rows, out)
    processing = float(os.environ.get("PROCESSING", "0.02"))
    hetero_processing = float(os.environ.get("HETERO_PROCESSING", "1.0"))
    tables(rows, out, processing, hetero_processing)
    print(f"wrote 4 plots and tables.md to {out}")


if __name__ == "__main__":
    main()
