#!/usr/bin/env python3
# Copied from the project's shared peer-benchmark script (OpenCV / Pillow / libvips side by side),
# so that `make bench` runs with the repository alone. Usage and method: the docstring below.
"""Peer baselines for the image worker: OpenCV, Pillow and libvips (pyvips),
measured side by side on this machine.

Usage (from the project root):
    python3 Benchmarks/peers.py ../shared/corpus [--min-runs 5] [--min-time 0.2]
                           [--threads 1,2] [--csv OUT.csv] [--json OUT.json]
                           [--skip-ops] [--skip-pipeline] [--pipeline-reps 3]

Needs: pip install opencv-python-headless pillow pyvips pyvips-binary numpy

What is measured
  * every op is timed on in-memory data (file bytes are read once up front;
    file-system time is excluded), one call at a time, after one warm-up call;
    the reported figure is the MEDIAN of max(min-runs, runs that fit in
    min-time) calls (at most 200), and MP/s = input megapixels / median seconds.
  * "threads=1": cv2.setNumThreads(1), pyvips.concurrency_set(1); Pillow is
    single-threaded anyway.  "threads=2": cv2.setNumThreads(2),
    pyvips.concurrency_set(2) (Pillow unchanged, so it is listed once).
  * libvips operation cache is disabled (cache_set_max(0)) so repeats recompute.
  * filters run on the 8-bit 3-channel (RGB/BGR) version of each image;
    Sobel and Canny run on the 8-bit gray version made by the same library.
    Images under 0.05 MP (conformance images) only get the decode timing.
  * pipeline: decode -> grayscale -> 5x5 Gaussian -> Canny(100,200) -> PNG
    encode (library default compression), over every decodable file in
    CORPUS_DIR; run with 1 thread, 2 library threads, and 2 worker processes
    x 1 thread; median wall time of --pipeline-reps repetitions.
"""
import argparse
import csv
import io
import json
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import cv2  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

try:
    import pyvips  # noqa: E402
    pyvips.cache_set_max(0)
    HAVE_VIPS = True
except Exception as e:  # pragma: no cover
    print("pyvips unavailable:", e, file=sys.stderr)
    HAVE_VIPS = False

Image.MAX_IMAGE_PIXELS = None
EXTS = (".png", ".jpg", ".jpeg")
SMALL_MP = 0.05

BINOMIAL5 = [1, 4, 6, 4, 1]
PIL_K5 = ImageFilter.Kernel((5, 5), [a * b for a in BINOMIAL5 for b in BINOMIAL5], scale=256)


def set_threads(n):
    cv2.setNumThreads(n)
    if HAVE_VIPS:
        pyvips.concurrency_set(n)


def timeit(fn, min_runs, min_time, max_runs=200):
    fn()  # warm-up
    times = []
    t_start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= max_runs:
            break
        if len(times) >= min_runs and time.perf_counter() - t_start >= min_time:
            break
    return statistics.median(times), len(times)


# ----------------------------------------------------------------------------
# per-library op tables: name -> (input kind, function(prepared) -> result)
# input kinds: "bytes" (encoded file), "rgb" (8-bit 3 channel), "gray" (8-bit)
# ----------------------------------------------------------------------------

def cv2_sobel_mag(g):
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.convertScaleAbs(cv2.magnitude(gx, gy))


CV2_OPS = {
    "decode": ("bytes", lambda b: cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_UNCHANGED)),
    "grayscale": ("rgb", lambda a: cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)),
    "gauss_sigma2": ("rgb", lambda a: cv2.GaussianBlur(a, (0, 0), 2)),
    "gauss_5x5": ("rgb", lambda a: cv2.GaussianBlur(a, (5, 5), 0)),
    "sobel_mag": ("gray", cv2_sobel_mag),
    "canny_100_200": ("gray", lambda g: cv2.Canny(g, 100, 200)),
    "resize_half": ("rgb", lambda a: cv2.resize(a, (a.shape[1] // 2, a.shape[0] // 2), interpolation=cv2.INTER_AREA)),
    "resize_half_linear": ("rgb", lambda a: cv2.resize(a, (a.shape[1] // 2, a.shape[0] // 2), interpolation=cv2.INTER_LINEAR)),
    "jpeg_encode_q90": ("rgb", lambda a: cv2.imencode(".jpg", a, [cv2.IMWRITE_JPEG_QUALITY, 90])[1]),
    "png_encode_default": ("rgb", lambda a: cv2.imencode(".png", a)[1]),
    "png_encode_level6": ("rgb", lambda a: cv2.imencode(".png", a, [cv2.IMWRITE_PNG_COMPRESSION, 6])[1]),
}


def pil_decode(b):
    im = Image.open(io.BytesIO(b))
    im.load()
    return im


def pil_save(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


PIL_OPS = {
    "decode": ("bytes", pil_decode),
    "grayscale": ("rgb", lambda im: im.convert("L")),
    "gauss_sigma2": ("rgb", lambda im: im.filter(ImageFilter.GaussianBlur(2))),
    "gauss_5x5": ("rgb", lambda im: im.filter(PIL_K5)),
    "resize_half": ("rgb", lambda im: im.reduce(2)),
    "resize_half_linear": ("rgb", lambda im: im.resize((im.width // 2, im.height // 2), Image.BILINEAR)),
    "jpeg_encode_q90": ("rgb", lambda im: pil_save(im, "JPEG", quality=90)),
    "png_encode_default": ("rgb", lambda im: pil_save(im, "PNG")),
}

if HAVE_VIPS:
    VIPS_K5 = pyvips.Image.new_from_list([BINOMIAL5], scale=16)
    VIPS_OPS = {
        "decode": ("bytes", lambda b: pyvips.Image.new_from_buffer(b, "", access="sequential").copy_memory()),
        "grayscale": ("rgb", lambda im: im.colourspace("b-w").copy_memory()),
        "gauss_sigma2": ("rgb", lambda im: im.gaussblur(2).copy_memory()),
        "gauss_5x5": ("rgb", lambda im: im.convsep(VIPS_K5, precision="integer").copy_memory()),
        "sobel_mag": ("gray", lambda g: g.sobel().copy_memory()),
        "canny_vips_sigma1.4": ("gray", lambda g: g.canny(sigma=1.4).copy_memory()),
        "resize_half": ("rgb", lambda im: im.shrink(2, 2).copy_memory()),
        "resize_half_linear": ("rgb", lambda im: im.resize(0.5, kernel="linear").copy_memory()),
        "jpeg_encode_q90": ("rgb", lambda im: im.jpegsave_buffer(Q=90, subsample_mode="on")),
        "png_encode_default": ("rgb", lambda im: im.pngsave_buffer()),
    }
else:
    VIPS_OPS = {}

LIBS = {"opencv": CV2_OPS, "pillow": PIL_OPS, "vips": VIPS_OPS}


def to_u8_rgb(arr):
    """OpenCV array (any depth/channels) -> 8-bit BGR."""
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    if arr.shape[2] == 4:
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    return arr


def prepare(lib, data):
    """Untimed conversion of encoded bytes into the op inputs of that library."""
    if lib == "opencv":
        rgb = to_u8_rgb(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED))
        rgb = np.ascontiguousarray(rgb)
        return {"bytes": data, "rgb": rgb, "gray": cv2.cvtColor(rgb, cv2.COLOR_BGR2GRAY)}
    if lib == "pillow":
        im = Image.open(io.BytesIO(data))
        if im.mode in ("I;16", "I;16B", "I"):
            im = Image.fromarray((np.asarray(im, dtype=np.uint32) >> 8).astype(np.uint8))
        rgb = im.convert("RGB")
        return {"bytes": data, "rgb": rgb, "gray": rgb.convert("L")}
    if lib == "vips":
        im = pyvips.Image.new_from_buffer(data, "")
        if im.format != "uchar":
            im = im.colourspace("srgb") if im.bands >= 3 else im.colourspace("b-w")
            im = im.cast("uchar") if im.format == "uchar" else (im / 256).cast("uchar")
        if im.hasalpha():
            im = im.flatten()
        if im.bands == 1:
            im = im.bandjoin([im, im]).copy(interpretation="srgb")
        rgb = im.copy_memory()
        return {"bytes": data, "rgb": rgb, "gray": rgb.colourspace("b-w").copy_memory()}
    raise ValueError(lib)


def discover(corpus):
    files = []
    for dp, dn, fn in os.walk(corpus):
        dn.sort()
        for f in sorted(fn):
            if f.lower().endswith(EXTS):
                files.append(os.path.join(dp, f))
    items, skipped = [], []
    for p in files:
        data = open(p, "rb").read()
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if arr is None:
            skipped.append(os.path.relpath(p, corpus))
            continue
        fmt = "jpeg" if data[:2] == b"\xff\xd8" else "png" if data[:4] == b"\x89PNG" else "other"
        items.append({"path": p, "rel": os.path.relpath(p, corpus), "data": data, "fmt": fmt,
                      "w": arr.shape[1], "h": arr.shape[0], "mp": arr.shape[0] * arr.shape[1] / 1e6})
    return items, skipped


def bench_ops(items, threads_list, min_runs, min_time, log):
    rows = []
    for it in items:
        preps = {}
        for lib in LIBS:
            if LIBS[lib]:
                try:
                    preps[lib] = prepare(lib, it["data"])
                except Exception as e:  # decoder refused the file
                    log(f"  {lib}: cannot prepare {it['rel']}: {e}")
        for threads in threads_list:
            set_threads(threads)
            for lib, ops in LIBS.items():
                if lib not in preps:
                    continue
                if lib == "pillow" and threads != threads_list[0]:
                    continue  # Pillow has no intra-op threading knob
                for op, (kind, fn) in ops.items():
                    if it["mp"] < SMALL_MP and op != "decode":
                        continue
                    opname = f"{op}_{it['fmt']}" if op == "decode" else op
                    arg = preps[lib][kind]
                    try:
                        med, n = timeit(lambda: fn(arg), min_runs, min_time)
                    except Exception as e:
                        log(f"  {lib} {op} failed on {it['rel']}: {e}")
                        continue
                    rows.append({"image": it["rel"], "w": it["w"], "h": it["h"], "mp": round(it["mp"], 4),
                                 "lib": lib, "threads": threads if lib != "pillow" else 1, "op": opname,
                                 "median_ms": round(med * 1e3, 4), "runs": n,
                                 "mp_per_s": round(it["mp"] / med, 2)})
        log(f"  done {it['rel']} ({it['w']}x{it['h']})")
    return rows


# ----------------------------------------------------------------------------
# pipeline
# ----------------------------------------------------------------------------

def pipe_cv2(data):
    a = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    g = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)
    g = cv2.GaussianBlur(g, (5, 5), 0)
    e = cv2.Canny(g, 100, 200)
    return cv2.imencode(".png", e)[1]


def pipe_vips(data):
    im = pyvips.Image.new_from_buffer(data, "", access="sequential")
    if im.hasalpha():
        im = im.flatten()
    g = im.colourspace("b-w")
    if g.format != "uchar":
        g = (g / 256).cast("uchar") if g.format == "ushort" else g.cast("uchar")
    g = g.convsep(VIPS_K5, precision="integer")
    e = g.canny(sigma=1.4)
    return e.cast("uchar").pngsave_buffer()


def pipe_pil_nocanny(data):
    im = Image.open(io.BytesIO(data))
    if im.mode in ("I;16", "I;16B", "I"):
        im = Image.fromarray((np.asarray(im, dtype=np.uint32) >> 8).astype(np.uint8))
    g = im.convert("L").filter(PIL_K5).filter(ImageFilter.FIND_EDGES)
    return pil_save(g, "PNG")


PIPES = {"opencv": pipe_cv2, "pillow(no canny: FIND_EDGES)": pipe_pil_nocanny}
if HAVE_VIPS:
    PIPES["vips(vips canny, not OpenCV's)"] = pipe_vips

_WORK = None


def _init_worker(threads, datas):
    global _WORK
    _WORK = datas
    set_threads(threads)


def _run_one(args):
    name, idx = args
    PIPES[name](_WORK[idx])
    return idx


def bench_pipeline(items, reps, log):
    global _WORK
    import multiprocessing as mp
    datas = [it["data"] for it in items]
    _WORK = datas
    total_mp = sum(it["mp"] for it in items)
    rows = []
    for name, fn in PIPES.items():
        for mode in ("1 thread", "2 lib threads", "2 processes x 1 thread"):
            walls = []
            if mode == "2 processes x 1 thread":
                # spawn, not fork: forking after OpenCV/libvips started their
                # thread pools can deadlock the children
                ctx = mp.get_context("spawn")
                with ctx.Pool(2, initializer=_init_worker, initargs=(1, datas)) as pool:
                    list(pool.imap_unordered(_run_one, [(name, i) for i in range(len(datas))], chunksize=1))  # warm
                    for _ in range(reps):
                        t0 = time.perf_counter()
                        list(pool.imap_unordered(_run_one, [(name, i) for i in range(len(datas))], chunksize=1))
                        walls.append(time.perf_counter() - t0)
            else:
                set_threads(1 if mode == "1 thread" else 2)
                for d in datas:
                    fn(d)  # warm
                for _ in range(reps):
                    t0 = time.perf_counter()
                    for d in datas:
                        fn(d)
                    walls.append(time.perf_counter() - t0)
            med = statistics.median(walls)
            rows.append({"pipeline": name, "mode": mode, "images": len(datas), "total_mp": round(total_mp, 3),
                         "reps": reps, "median_s": round(med, 4), "images_per_s": round(len(datas) / med, 2),
                         "mp_per_s": round(total_mp / med, 2), "all_s": [round(w, 4) for w in walls]})
            log(f"  pipeline {name} [{mode}]: {med:.3f} s, {total_mp / med:.1f} MP/s")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--min-runs", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--csv", default=None, help="per-image op results (CSV)")
    ap.add_argument("--json", default=None, help="everything (JSON)")
    ap.add_argument("--skip-ops", action="store_true")
    ap.add_argument("--skip-pipeline", action="store_true")
    ap.add_argument("--pipeline-reps", type=int, default=3)
    args = ap.parse_args()
    threads_list = [int(t) for t in args.threads.split(",")]

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    env = {"python": sys.version.split()[0], "opencv": cv2.__version__, "pillow": Image.__version__,
           "numpy": np.__version__, "cpus": os.cpu_count()}
    if HAVE_VIPS:
        env["pyvips"] = pyvips.__version__
        env["libvips"] = f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
    log(f"env: {env}")
    items, skipped = discover(args.corpus)
    log(f"{len(items)} decodable images, {sum(i['mp'] for i in items):.2f} MP; skipped (OpenCV cannot decode): {skipped}")

    op_rows = [] if args.skip_ops else bench_ops(items, threads_list, args.min_runs, args.min_time, log)
    pipe_rows = [] if args.skip_pipeline else bench_pipeline(items, args.pipeline_reps, log)

    if args.csv and op_rows:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(op_rows[0].keys()))
            w.writeheader()
            w.writerows(op_rows)
    if args.json:
        json.dump({"env": env, "skipped": skipped, "ops": op_rows, "pipeline": pipe_rows,
                   "settings": vars(args)}, open(args.json, "w"), indent=1)

    # summary: aggregate MP/s per op over images >= 2 MP and over all non-tiny images
    def agg(rows, pred):
        acc = {}
        for r in rows:
            if not pred(r):
                continue
            k = (r["op"], r["lib"], r["threads"])
            mp_, t = acc.get(k, (0.0, 0.0))
            acc[k] = (mp_ + r["mp"], t + r["median_ms"] / 1e3)
        return {k: v[0] / v[1] for k, v in acc.items() if v[1] > 0}

    if op_rows:
        big = agg(op_rows, lambda r: r["mp"] >= 2.0)
        print("\nAggregate MP/s over images >= 2 MP (sum MP / sum of medians)")
        print(f"{'op':24s} {'lib':8s} {'thr':>3s} {'MP/s':>9s}")
        for (op, lib, thr), v in sorted(big.items()):
            print(f"{op:24s} {lib:8s} {thr:>3d} {v:9.1f}")
    if pipe_rows:
        print("\nPipeline decode->gray->blur5x5->canny->PNG over the corpus")
        for r in pipe_rows:
            print(f"{r['pipeline']:32s} {r['mode']:24s} {r['median_s']:8.3f} s {r['images_per_s']:8.2f} img/s {r['mp_per_s']:8.1f} MP/s")


if __name__ == "__main__":
    main()
