#!/usr/bin/env python3
"""Ours against OpenCV (1 thread) in the regimes of issue #14 item 4, as ratios of one sitting.

Each regime is timed on our side with the release `dip-bench` (its `--spec` / `--gray-spec`
options) and on OpenCV's side in this process, alternately, round after round; the ratio of a
round is OpenCV's median time / ours (> 1: we are faster). Timing as in dip-bench and
opencv_ops.py: one warm-up call, then the median of max(min-runs, calls that fit in min-time).

Regimes:
  threshold_chain100  threshold(value: 127) applied 100 times in a row (a pipeline of 100
                      stages; OpenCV: 100 calls, each on the previous output), 4 MP RGB photo
  invert_chain100     the same with invert (cv2.bitwise_not)
  resize_half_odd     resize(scale: 0.5) on the corpus photos whose sides are odd (OpenCV:
                      INTER_AREA to (W // 2, H // 2), the fractional-area path), aggregated
                      as sum of MP / sum of medians
  canny_sparse        canny(low: 100, high: 200) on a 4 MP edge map: 0.1 % of the pixels 255
                      at seeded random places, the rest 0
  canny_flat0/128     the same on 4 MP flat images (every pixel 0, every pixel 128)

Usage (from the package root, after `swift build -c release --product dip-bench`):
    python3 Benchmarks/regimes.py [--corpus ../shared/corpus] [--rounds 3] [--only a,b]
Needs: pip install opencv-python-headless numpy
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

cv2.setNumThreads(1)

LARGE_RGB = "large/LadyBird.jpg"  # 2560 x 1600 = 4.1 MP
ODD_PHOTOS = ["photos/chelsea.png", "photos/coins.png", "photos/retina.jpg", "photos/rocket.jpg"]
CHAIN = 100


def chain(fn):
    def run(a):
        for _ in range(CHAIN):
            a = fn(a)
        return a
    return run


def threshold(a):
    return cv2.threshold(a, 127, 255, cv2.THRESH_BINARY)[1]


def half(a):
    return cv2.resize(a, (a.shape[1] // 2, a.shape[0] // 2), interpolation=cv2.INTER_AREA)


def canny(g):
    return cv2.Canny(g, 100, 200)


def make_inputs(corpus, folder):
    """name -> (files, dip-bench option, our spec, OpenCV function, input kind)."""
    sparse = np.zeros((1600, 2560), np.uint8)
    rng = np.random.default_rng(14)
    sparse.flat[rng.choice(sparse.size, sparse.size // 1000, replace=False)] = 255
    paths = {}
    for name, image in [("sparse", sparse), ("flat0", np.zeros_like(sparse)), ("flat128", np.full_like(sparse, 128))]:
        paths[name] = os.path.join(folder, f"{name}.png")
        cv2.imwrite(paths[name], image)
    large = [os.path.join(corpus, LARGE_RGB)]
    odd = [os.path.join(corpus, p) for p in ODD_PHOTOS]
    return {
        "threshold_chain100": (large, "--spec", " | ".join(["threshold(value: 127)"] * CHAIN), chain(threshold), "rgb"),
        "invert_chain100": (large, "--spec", " | ".join(["invert"] * CHAIN), chain(cv2.bitwise_not), "rgb"),
        "resize_half_odd": (odd, "--spec", "resize(scale: 0.5)", half, "rgb"),
        "canny_sparse": ([paths["sparse"]], "--gray-spec", "canny(low: 100, high: 200)", canny, "gray"),
        "canny_flat0": ([paths["flat0"]], "--gray-spec", "canny(low: 100, high: 200)", canny, "gray"),
        "canny_flat128": ([paths["flat128"]], "--gray-spec", "canny(low: 100, high: 200)", canny, "gray"),
    }


def timeit(fn, min_runs, min_time, max_runs=200):
    fn()
    times, start = [], time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= max_runs or (len(times) >= min_runs and time.perf_counter() - start >= min_time):
            return statistics.median(times)


def opencv_mps(files, fn, kind, args):
    mp, seconds = 0.0, 0.0
    for path in files:
        a = cv2.imread(path, cv2.IMREAD_COLOR)
        a = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY) if kind == "gray" else np.ascontiguousarray(a)
        mp += a.shape[0] * a.shape[1] / 1e6
        seconds += timeit(lambda: fn(a), args.min_runs, args.min_time)
    return mp / seconds


def our_mps(name, files, option, spec, args):
    command = [args.bench, *files, "--groups", "filters", "--ops", name, option, f"{name}={spec}",
               "--min-runs", str(args.min_runs), "--min-time", str(args.min_time)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == name:
            return float(cells[3])  # the "all" column
    raise RuntimeError(f"no row for {name} in dip-bench output:\n{result.stdout}\n{result.stderr}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="../shared/corpus")
    ap.add_argument("--bench", default=".build/release/dip-bench")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-runs", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--only", default=None, help="comma-separated regime names")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        regimes = make_inputs(args.corpus, folder)
        wanted = args.only.split(",") if args.only else list(regimes)
        results = {name: [] for name in wanted}
        for round_index in range(args.rounds):
            for name in wanted:
                files, option, spec, fn, kind = regimes[name]
                ours = our_mps(name, files, option, spec, args)
                theirs = opencv_mps(files, fn, kind, args)
                results[name].append((ours, theirs))
                print(f"  round {round_index + 1} {name}: ours {ours:.1f} MP/s, OpenCV {theirs:.1f} MP/s, "
                      f"{ours / theirs:.2f}x", file=sys.stderr)
    env = "baseline (CIMAGEKERNELS_DISABLE_AVX2 set)" if os.environ.get("CIMAGEKERNELS_DISABLE_AVX2", "0") not in ("", "0") else "AVX2 when the CPU has it"
    print(f"kernels: {env}; {args.rounds} rounds; MP/s counts input pixels per pipeline call")
    print("| regime | ours MP/s (median) | OpenCV MP/s (median) | ratio (median) | ratio range |")
    print("|---|---:|---:|---:|---:|")
    for name in wanted:
        pairs = results[name]
        ratios = [o / t for o, t in pairs]
        print(f"| {name} | {statistics.median(o for o, _ in pairs):.1f} | {statistics.median(t for _, t in pairs):.1f} "
              f"| **{statistics.median(ratios):.2f}×** | {min(ratios):.2f}–{max(ratios):.2f} |")


if __name__ == "__main__":
    main()
