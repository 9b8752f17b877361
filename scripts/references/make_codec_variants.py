#!/usr/bin/env python3
"""Writes small PNG/JPEG variants (odd sizes, interlacing, tRNS, 16-bit, every JPEG chroma
subsampling, progressive, arithmetic coding, restart markers, CMYK, EXIF orientations) into
Tests/DistributedImagingTests/Resources/codec/ with a manifest.json holding, for each file, the
size, channel count and FNV-1a-64 checksum of what cv2.imread(IMREAD_COLOR) decodes, in our
layout (RGB order; one channel for gray sources).

    apt-get install libjpeg-turbo-progs optipng
    pip install opencv-python-headless numpy pillow
    python3 scripts/references/make_codec_variants.py ../shared/corpus
"""
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "DistributedImagingTests", "Resources", "codec")


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def is_gray_source(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(26)
    if head.startswith(b"\x89PNG"):
        return head[25] in (0, 4)
    return Image.open(path).mode == "L"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: python3 {sys.argv[0]} CORPUS_DIR  (the public image corpus, e.g. ../shared/corpus)")
    corpus = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    rgb = Image.open(os.path.join(corpus, "photos", "chelsea.png")).convert("RGB").crop((100, 60, 145, 91))  # 45x31
    arr = np.asarray(rgb)
    tmp = tempfile.mkdtemp()
    ppm = os.path.join(tmp, "in.ppm")
    pgm = os.path.join(tmp, "in.pgm")
    rgb.save(ppm)
    rgb.convert("L").save(pgm)

    def out(name):
        return os.path.join(OUT, name)

    # PNG variants
    rgb.save(out("rgb8.png"))
    subprocess.run(["optipng", "-quiet", "-i1", "-out", out("rgb8-interlaced.png"), out("rgb8.png")], check=True)
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray((np.arange(45 * 31).reshape(31, 45) % 256).astype(np.uint8)))
    rgba.save(out("rgba8.png"))
    subprocess.run(["optipng", "-quiet", "-i1", "-out", out("rgba8-interlaced.png"), out("rgba8.png")], check=True)
    rgb.convert("L").save(out("gray8-trns.png"), transparency=128)
    rgb.save(out("rgb8-trns.png"), transparency=tuple(int(v) for v in arr[0, 0]))
    rgb.convert("P", palette=Image.ADAPTIVE, colors=16).save(out("palette4-trns.png"), transparency=3)
    rgb.convert("1").save(out("gray1.png"))
    la = rgb.convert("LA")
    la.save(out("gray-alpha8.png"))
    bgr16 = (cv2.cvtColor(arr, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257 + 77).astype(np.uint16)
    cv2.imwrite(out("rgb16.png"), bgr16)
    bgra16 = np.dstack([bgr16, np.full(bgr16.shape[:2], 40000, np.uint16)])
    cv2.imwrite(out("rgba16.png"), bgra16)
    cv2.imwrite(out("gray16.png"), (np.asarray(rgb.convert("L")).astype(np.uint16) * 255 + 200))

    # JPEG variants
    for name, args in [
        ("q90-444.jpg", ["-quality", "90", "-sample", "1x1"]),
        ("q90-422.jpg", ["-quality", "90", "-sample", "2x1"]),
        ("q90-420.jpg", ["-quality", "90", "-sample", "2x2"]),
        ("q90-440.jpg", ["-quality", "90", "-sample", "1x2"]),
        ("q90-411.jpg", ["-quality", "90", "-sample", "4x1"]),
        ("progressive-420.jpg", ["-quality", "80", "-progressive"]),
        ("arithmetic-420.jpg", ["-quality", "80", "-arithmetic"]),
        ("arithmetic-progressive.jpg", ["-quality", "80", "-arithmetic", "-progressive"]),
        ("restart.jpg", ["-quality", "80", "-restart", "1"]),
        ("optimized.jpg", ["-quality", "80", "-optimize"]),
    ]:
        subprocess.run(["cjpeg", *args, "-outfile", out(name), ppm], check=True)
    subprocess.run(["cjpeg", "-quality", "85", "-outfile", out("gray.jpg"), pgm], check=True)
    rgb.convert("CMYK").save(out("cmyk.jpg"), quality=90)
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        rgb.save(out(f"orientation-{orientation}.jpg"), exif=exif.tobytes(), quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb.save(out("orientation-6.png"), exif=exif.tobytes())

    manifest = []
    for name in sorted(os.listdir(OUT)):
        if name == "manifest.json":
            continue
        path = out(name)
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if is_gray_source(path):
            pixels, channels = np.ascontiguousarray(bgr[:, :, 0]), 1
        else:
            pixels, channels = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), 3
        manifest.append({"file": name, "width": int(bgr.shape[1]), "height": int(bgr.shape[0]),
                         "channels": channels, "fnv1a64": f"{fnv1a64(pixels.tobytes()):016x}"})
    with open(out("manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {len(manifest)} files to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
