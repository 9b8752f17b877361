#!/usr/bin/env python3
"""OpenCV (1 thread) figures for every dip-bench filter op, same methodology as dip-bench and
../shared/bench/peers.py (warm-up, median of max(min-runs, runs in min-time) calls, at most 200;
aggregate = sum MP / sum of medians over images >= 2 MP and over the others).

peers.py has no box, sharpen, threshold, invert or edges; this script covers them too.

Usage: python3 Benchmarks/opencv_ops.py ../shared/corpus [--min-runs 5] [--min-time 0.2] [--ops a,b]
Needs: pip install opencv-python-headless numpy
"""
import argparse
import os
import statistics
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)


def sobel(g):
    return cv2.convertScaleAbs(cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)))


def edges(a):
    mask = cv2.Canny(cv2.blur(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), (3, 3)), 5, 15)
    return cv2.bitwise_and(a, a, mask=mask)


OPS = [
    ("grayscale", "rgb", lambda a: cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)),
    ("gauss_sigma2", "rgb", lambda a: cv2.GaussianBlur(a, (0, 0), 2)),
    ("gauss_5x5", "rgb", lambda a: cv2.GaussianBlur(a, (5, 5), 0)),
    ("box_5x5", "rgb", lambda a: cv2.blur(a, (5, 5))),
    ("sharpen", "rgb", lambda a: cv2.filter2D(a, -1, SHARPEN)),
    ("sobel_mag", "gray", sobel),
    ("canny_100_200", "gray", lambda g: cv2.Canny(g, 100, 200)),
    ("threshold_127", "rgb", lambda a: cv2.threshold(a, 127, 255, cv2.THRESH_BINARY)[1]),
    ("invert", "rgb", lambda a: cv2.bitwise_not(a)),
    ("resize_half", "rgb", lambda a: cv2.resize(a, (a.shape[1] // 2, a.shape[0] // 2), interpolation=cv2.INTER_AREA)),
    ("edges", "rgb", edges),
]


def timeit(fn, min_runs, min_time, max_runs=200):
    fn()
    times, start = [], time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= max_runs or (len(times) >= min_runs and time.perf_counter() - start >= min_time):
            return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", default=["../shared/corpus"])
    ap.add_argument("--min-runs", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--ops", default=None)
    args = ap.parse_args()
    wanted = set(args.ops.split(",")) if args.ops else None
    files = []
    for p in args.paths:
        if os.path.isfile(p):
            files.append(p)
            continue
        for dp, dn, fn in os.walk(p):
            dn.sort()
            files += [os.path.join(dp, f) for f in sorted(fn) if f.lower().endswith((".png", ".jpg", ".jpeg"))]
    acc = {}
    for path in files:
        a = cv2.imread(path, cv2.IMREAD_COLOR)
        if a is None:
            continue
        mp = a.shape[0] * a.shape[1] / 1e6
        if mp < 0.05:
            continue
        inputs = {"rgb": np.ascontiguousarray(a), "gray": cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)}
        for name, kind, fn in OPS:
            if wanted and name not in wanted:
                continue
            med = timeit(lambda: fn(inputs[kind]), args.min_runs, args.min_time)
            key = (name, "large" if mp >= 2 else "photos")
            m, s = acc.get(key, (0.0, 0.0))
            acc[key] = (m + mp, s + med)
        print(f"  done {path}", file=sys.stderr)
    print("| op | OpenCV MP/s, images >= 2 MP | OpenCV MP/s, images < 2 MP |")
    print("|---|---:|---:|")
    for name, _, _ in OPS:
        cells = []
        for group in ("large", "photos"):
            m, s = acc.get((name, group), (0, 0))
            cells.append(f"{m / s:.1f}" if s else "–")
        if any(c != "–" for c in cells):
            print(f"| {name} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
