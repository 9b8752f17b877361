#!/usr/bin/env python3
"""OpenCV's side of the whole-job benchmark (Benchmarks/job-vs-opencv.sh): the job's pipeline on
every image of a directory, read from and written to files like a dip job.

2 worker processes × 1 OpenCV thread (multiprocessing.Pool, started and warmed before the clock
starts); each image: cv2.imread -> cv2.cvtColor(BGR2GRAY) -> cv2.GaussianBlur((5, 5), 0) ->
cv2.Canny(100, 200) -> cv2.imwrite(OUTPUT/<stem>.png) at OpenCV's default PNG settings, images
handed out one at a time in name order. Prints the wall time of the job alone (pool start and
imports not counted, which favours OpenCV) as `opencv-job: N images in S s`.

Usage: python3 Benchmarks/opencv_job.py INPUT_DIR OUTPUT_DIR [--workers 2]
Needs: pip install opencv-python-headless numpy
"""
import argparse
import multiprocessing
import os
import sys
import time

import cv2

EXTENSIONS = (".png", ".jpg", ".jpeg")


def init_worker():
    cv2.setNumThreads(1)


def run_one(job):
    source, target = job
    image = cv2.imread(source, cv2.IMREAD_COLOR)
    if image is None:
        return f"cannot read {source}"
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    edges = cv2.Canny(cv2.GaussianBlur(gray, (5, 5), 0), 100, 200)
    if not cv2.imwrite(target, edges):
        return f"cannot write {target}"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    names = sorted(n for n in os.listdir(args.input) if n.lower().endswith(EXTENSIONS))
    if not names:
        sys.exit(f"opencv_job: no PNG or JPEG images in {args.input}")
    os.makedirs(args.output, exist_ok=True)
    jobs = [(os.path.join(args.input, n), os.path.join(args.output, os.path.splitext(n)[0] + ".png")) for n in names]
    with multiprocessing.Pool(args.workers, initializer=init_worker) as pool:
        pool.map(abs, range(args.workers * 4), chunksize=1)  # workers up and importing done
        start = time.perf_counter()
        errors = [e for e in pool.imap_unordered(run_one, jobs, chunksize=1) if e]
        elapsed = time.perf_counter() - start
    for error in errors:
        print(f"opencv_job: {error}", file=sys.stderr)
    print(f"opencv-job: {len(jobs)} images in {elapsed:.3f} s")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
