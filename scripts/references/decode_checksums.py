#!/usr/bin/env python3
"""Prints the decode table used by CodecTests.swift: for every conformance image, the size,
channel count and FNV-1a-64 checksum of the pixels that cv2.imread(IMREAD_COLOR) returns,
in our layout (RGB order; one channel when OpenCV's three channels are equal and the file is
gray).

    pip install opencv-python-headless numpy pillow
    python3 scripts/references/decode_checksums.py ../shared/corpus
"""
import glob
import os
import sys

import cv2
import numpy as np
from PIL import Image


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: python3 {sys.argv[0]} CORPUS_DIR  (the public image corpus, e.g. ../shared/corpus)")
    corpus = sys.argv[1]
    for path in sorted(glob.glob(os.path.join(corpus, "conformance", "*", "*"))):
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        # A gray source (gray PNG, gray+alpha PNG, gray JPEG) stays one channel in our decoder.
        with open(path, "rb") as f:
            head = f.read(26)
        if head.startswith(b"\x89PNG"):
            gray_source = head[25] in (0, 4)  # IHDR colour type: gray, gray+alpha
        else:
            gray_source = Image.open(path).mode == "L"
        if gray_source:
            pixels = np.ascontiguousarray(bgr[:, :, 0])
            channels = 1
        else:
            pixels = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            channels = 3
        name = os.path.relpath(path, os.path.join(corpus, "conformance"))
        print(f'        .init("{name}", {bgr.shape[1]}, {bgr.shape[0]}, {channels}, 0x{fnv1a64(pixels.tobytes()):016x}),')


if __name__ == "__main__":
    main()
