#!/usr/bin/env python3
"""Writes the filter reference images for FilterExactnessTests.

Usage (from the package root):
    pip install opencv-python-headless numpy pillow
    python3 scripts/references/make_references.py --corpus CORPUS_DIR   (e.g. ../shared/corpus)

Reads a few photos of the shared corpus, crops them to small inputs (one odd size, gray ones,
a synthetic RGBA one and a tiny one smaller than the largest kernels; for the threshold,
invert, fractional-area resize and Canny kernels also widths around the vector widths,
1-pixel images, sparse edge maps and flat images), runs OpenCV (one
thread) for every filter and several parameter values, and writes into
Tests/DistributedImagingTests/Resources/references/:
  * <input>.png                     the input (RGB, gray or RGBA PNG)
  * <input>__<spec slug>.png        OpenCV's output
  * manifest.json                   [{input, pipeline, expected, alpha}]

OpenCV works in BGR(A): arrays are kept in OpenCV's order and written with cv2.imwrite, which
stores them as RGB(A) PNGs, so the Swift side (RGB order) compares like with like.
"""
import argparse
import json
import os
import re

import cv2
import numpy as np

cv2.setNumThreads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "DistributedImagingTests", "Resources", "references")


def gray_of(a):
    if a.ndim == 2:
        return a
    return cv2.cvtColor(a, cv2.COLOR_BGRA2GRAY if a.shape[2] == 4 else cv2.COLOR_BGR2GRAY)


def sobel(a):
    g = gray_of(a)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.convertScaleAbs(cv2.magnitude(gx, gy))


def resize(a, f):
    h, w = a.shape[:2]
    return cv2.resize(a, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA)


def edges(a):
    mask = cv2.Canny(cv2.blur(gray_of(a), (3, 3)), 5, 15)
    out = a.copy()
    if a.ndim == 2:
        out[mask == 0] = 0
    elif a.shape[2] == 3:
        out[mask == 0] = 0
    else:  # RGBA: colour black, alpha kept
        out[mask == 0, :3] = 0
    return out


SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)

# spec -> OpenCV function on an array in OpenCV channel order
SPECS = {
    "identity": lambda a: a,
    "invert": lambda a: cv2.bitwise_not(a),
    "grayscale": gray_of,
    "gaussian(sigma: 0.8)": lambda a: cv2.GaussianBlur(a, (0, 0), 0.8),
    "gaussian(sigma: 1)": lambda a: cv2.GaussianBlur(a, (0, 0), 1),
    "gaussian(sigma: 2)": lambda a: cv2.GaussianBlur(a, (0, 0), 2),
    "gaussian(sigma: 3.5)": lambda a: cv2.GaussianBlur(a, (0, 0), 3.5),
    "gaussian(sigma: 9)": lambda a: cv2.GaussianBlur(a, (0, 0), 9),
    "gaussian(size: 3)": lambda a: cv2.GaussianBlur(a, (3, 3), 0),
    "gaussian(size: 5)": lambda a: cv2.GaussianBlur(a, (5, 5), 0),
    "gaussian(size: 7)": lambda a: cv2.GaussianBlur(a, (7, 7), 0),
    "gaussian(size: 9)": lambda a: cv2.GaussianBlur(a, (9, 9), 0),
    "gaussian(size: 15)": lambda a: cv2.GaussianBlur(a, (15, 15), 0),
    "box(size: 3)": lambda a: cv2.blur(a, (3, 3)),
    "box(size: 5)": lambda a: cv2.blur(a, (5, 5)),
    "box(size: 7)": lambda a: cv2.blur(a, (7, 7)),
    "box(size: 15)": lambda a: cv2.blur(a, (15, 15)),
    "box(size: 17)": lambda a: cv2.blur(a, (17, 17)),
    "box(size: 31)": lambda a: cv2.blur(a, (31, 31)),
    "sharpen": lambda a: cv2.filter2D(a, -1, SHARPEN),
    "sobel": sobel,
    "canny(low: 100, high: 200)": lambda a: cv2.Canny(gray_of(a), 100, 200),
    "canny(low: 50, high: 150)": lambda a: cv2.Canny(gray_of(a), 50, 150),
    "canny(low: 20.5, high: 80.9)": lambda a: cv2.Canny(gray_of(a), 20.5, 80.9),
    "canny(low: 200, high: 100)": lambda a: cv2.Canny(gray_of(a), 200, 100),
    "threshold(value: 127)": lambda a: cv2.threshold(a, 127, 255, cv2.THRESH_BINARY)[1],
    "threshold(value: 50)": lambda a: cv2.threshold(a, 50, 255, cv2.THRESH_BINARY)[1],
    "resize(scale: 0.5)": lambda a: resize(a, 0.5),
    "resize(scale: 0.25)": lambda a: resize(a, 0.25),
    "resize(scale: 0.3)": lambda a: resize(a, 0.3),
    "resize(scale: 0.75)": lambda a: resize(a, 0.75),
    "edges": edges,
    "canny(low: 0, high: 0)": lambda a: cv2.Canny(gray_of(a), 0, 0),
    "threshold(value: 127) | invert | threshold(value: 50)":
        lambda a: cv2.threshold(cv2.bitwise_not(cv2.threshold(a, 127, 255, cv2.THRESH_BINARY)[1]), 50, 255,
                                cv2.THRESH_BINARY)[1],
    "gaussian(size: 5) | invert | threshold(value: 100) | invert":
        lambda a: cv2.bitwise_not(cv2.threshold(cv2.bitwise_not(cv2.GaussianBlur(a, (5, 5), 0)), 100, 255,
                                                cv2.THRESH_BINARY)[1]),
    "identity | invert | invert | threshold(value: 200)":
        lambda a: cv2.threshold(a, 200, 255, cv2.THRESH_BINARY)[1],
    "grayscale | gaussian(size: 5) | canny(low: 100, high: 200)":
        lambda a: cv2.Canny(cv2.GaussianBlur(gray_of(a), (5, 5), 0), 100, 200),
}
# specs run only on the KERNEL_SET inputs below (the older inputs keep their references)
KERNEL_ONLY = ["canny(low: 0, high: 0)", "threshold(value: 127) | invert | threshold(value: 50)",
               "gaussian(size: 5) | invert | threshold(value: 100) | invert",
               "identity | invert | invert | threshold(value: 200)"]
ALL = [spec for spec in SPECS if spec not in KERNEL_ONLY]
# The kernels of issue #14 item 4 (threshold, invert, fractional-area resize, Canny with blocks
# skipped on flat ground) and in-place pipeline stages, on sizes around the vector widths.
KERNEL_SET = ["threshold(value: 127)", "threshold(value: 50)", "invert", "resize(scale: 0.5)",
              "resize(scale: 0.3)", "resize(scale: 0.75)", "canny(low: 100, high: 200)",
              "canny(low: 50, high: 150)", "canny(low: 0, high: 0)",
              "threshold(value: 127) | invert | threshold(value: 50)",
              "gaussian(size: 5) | invert | threshold(value: 100) | invert",
              "identity | invert | invert | threshold(value: 200)"]
SMALL_SET = ["grayscale", "gaussian(sigma: 2)", "gaussian(size: 5)", "gaussian(sigma: 9)", "box(size: 5)",
             "box(size: 17)", "sharpen", "sobel", "canny(low: 100, high: 200)", "canny(low: 50, high: 150)",
             "threshold(value: 127)", "resize(scale: 0.5)", "resize(scale: 0.3)", "edges", "invert"]


def load_inputs(corpus):
    photos = os.path.join(corpus, "photos")
    rd = lambda name, flag=cv2.IMREAD_COLOR: cv2.imread(os.path.join(photos, name), flag)
    inputs = {}
    inputs["astronaut"] = cv2.resize(rd("astronaut.png")[40:232, 120:376], (128, 96), interpolation=cv2.INTER_AREA)
    inputs["chelsea_odd"] = rd("chelsea.png")[60:135, 150:251].copy()  # 101 x 75, odd both ways
    inputs["coins_gray"] = rd("coins.png", cv2.IMREAD_GRAYSCALE)[100:172, 150:246].copy()  # 96 x 72
    inputs["camera_gray_odd"] = cv2.resize(rd("camera.png", cv2.IMREAD_GRAYSCALE), (77, 77), interpolation=cv2.INTER_AREA)
    inputs["grace_hopper"] = rd("grace_hopper.jpg")[60:150, 180:300].copy()  # 120 x 90
    inputs["coffee"] = cv2.resize(rd("coffee.png"), (100, 66), interpolation=cv2.INTER_AREA)
    base = rd("astronaut.png")[300:348, 200:264]
    alpha = np.add.outer(np.arange(48) * 4, np.arange(64) * 2).astype(np.uint8)
    inputs["astronaut_rgba"] = np.dstack([base, alpha])  # 64 x 48 BGRA
    inputs["tiny"] = rd("chelsea.png")[100:107, 200:209].copy()  # 9 x 7: smaller than most kernels
    inputs["row"] = rd("chelsea.png")[150:151, 100:140].copy()  # 40 x 1
    inputs["column_gray"] = rd("camera.png", cv2.IMREAD_GRAYSCALE)[100:131, 300:302].copy()  # 2 x 31
    return inputs


def load_kernel_inputs(corpus):
    """Inputs for KERNEL_SET: odd widths and widths just off the 16/32-sample vector widths,
    1-pixel images, a sparse edge map and flat images (Canny skips blocks with no gradient)."""
    photos = os.path.join(corpus, "photos")
    rd = lambda name, flag=cv2.IMREAD_COLOR: cv2.imread(os.path.join(photos, name), flag)
    rng = np.random.default_rng(14)
    inputs = {}
    inputs["coffee_w33"] = rd("coffee.png")[100:141, 200:233].copy()  # 33 x 41
    inputs["rocket_w65"] = rd("rocket.jpg")[200:231, 300:365].copy()  # 65 x 31
    inputs["chelsea_w47_gray"] = rd("chelsea.png", cv2.IMREAD_GRAYSCALE)[90:143, 180:227].copy()  # 47 x 53
    inputs["retina_w31_rgba"] = np.dstack([rd("retina.jpg")[600:629, 600:631],
                                           rng.integers(0, 256, (29, 31), dtype=np.uint8)])  # 31 x 29
    inputs["pixel"] = rd("chelsea.png")[150:151, 200:201].copy()  # 1 x 1
    inputs["pixel_gray"] = rd("camera.png", cv2.IMREAD_GRAYSCALE)[200:201, 200:201].copy()  # 1 x 1
    sparse = np.zeros((97, 131), np.uint8)  # an edge map: 1 % of the pixels 255
    sparse.flat[rng.choice(sparse.size, sparse.size // 100, replace=False)] = 255
    inputs["sparse_edges"] = sparse
    sparse = np.zeros((61, 211), np.uint8)  # 0.1 %, as in the benchmark
    sparse.flat[rng.choice(sparse.size, sparse.size // 1000, replace=False)] = 255
    inputs["sparse_edges_0.1"] = sparse
    inputs["flat0"] = np.zeros((29, 37), np.uint8)
    inputs["flat128"] = np.full((33, 65, 3), 128, np.uint8)
    step = np.zeros((23, 97), np.uint8)  # flat except one vertical step inside the second block
    step[:, 40:] = 200
    step[11, 70] = 90
    inputs["step"] = step
    return inputs


def slug(spec):
    return re.sub(r"[^a-z0-9.]+", "_", spec.lower()).strip("_")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True, help="the public image corpus folder (e.g. ../shared/corpus)")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    manifest = []
    for name, a in load_inputs(args.corpus).items():
        cv2.imwrite(os.path.join(OUT, f"{name}.png"), a)
        specs = ALL if name in ("astronaut", "chelsea_odd", "coins_gray") else SMALL_SET
        for spec in specs:
            try:
                out = SPECS[spec](a)
            except cv2.error:  # e.g. resize to an empty image: refused by OpenCV and by us
                continue
            expected = f"{name}__{slug(spec)}.png"
            cv2.imwrite(os.path.join(OUT, expected), out, [cv2.IMWRITE_PNG_COMPRESSION, 9])
            manifest.append({"input": f"{name}.png", "pipeline": spec, "expected": expected,
                             "alpha": bool(a.ndim == 3 and a.shape[2] == 4)})
    for name, a in load_kernel_inputs(args.corpus).items():
        cv2.imwrite(os.path.join(OUT, f"{name}.png"), a)
        for spec in KERNEL_SET:
            if spec.startswith("resize"):
                scale = float(spec.split(":")[1].strip(" )"))
                if int(a.shape[1] * scale) < 1 or int(a.shape[0] * scale) < 1:
                    continue  # an empty result: refused by us, and by OpenCV
            out = SPECS[spec](a)
            expected = f"{name}__{slug(spec)}.png"
            cv2.imwrite(os.path.join(OUT, expected), out, [cv2.IMWRITE_PNG_COMPRESSION, 9])
            manifest.append({"input": f"{name}.png", "pipeline": spec, "expected": expected,
                             "alpha": bool(a.ndim == 3 and a.shape[2] == 4)})
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{len(manifest)} references, {total / 1e6:.2f} MB in {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
