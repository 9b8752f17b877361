#!/usr/bin/env python3
"""Where a job's CPU time goes: reads `perf record -g` data (cpu-clock samples of dip-server and
the dip-nodes during timed jobs, see Benchmarks/job-vs-opencv.sh with PROFILE=DIR) and sorts
every sample into one phase by the frames on its stack, the first rule that matches winning:

  decode   CImageCodec_decoder_* (libpng/libjpeg/zlib inflate under them)
  encode   CImageCodec_encode_* and ImageCodec.encode (deflate, the copy of the bytes out)
  filters  CImageKernels_* and the pipeline (Pipeline.apply, the filters' Swift code)
  read     FileIO.readFile (the read(2) of the input, page-cache copies included)
  write    FileIO.writeFile / writeAtomically (write(2), rename)
  RPC      gRPC, SwiftNIO, SwiftProtobuf, the generated dip.v1 code
  job store / scheduling   ImagingServer, Scheduler, Placement, JobStore, SQLite, receipts
  other    what is left (Swift runtime, allocation, threads parked, the kernel's scheduler)

With --wall SECONDS (the jobs' wall time) and --cores N (default: this machine's), prints also
the time the cores were not running our processes: waiting, or running someone else's work.

Usage: python3 Benchmarks/profile_breakdown.py PERF_DATA [--wall SECONDS] [--cores N]
"""
import argparse
import collections
import os
import re
import subprocess
import sys

# Leaf frame first (stripped libraries and C code leave short stacks), then the whole stack.
LEAF_RULES = [
    ("decode", re.compile(r"libjpeg|\binflate|inflate_fast|png_read|png_do_read|png_combine_row|png_read_filter|CImageCodec_decoder")),
    ("encode", re.compile(r"\bdeflate|longest_match|compress_block|send_tree|png_write|png_do_write|CImageCodec_encode|crc32")),
    ("filters", re.compile(r"_avx2|_sse2|gaussian|canny|gray_|sobel|CImageKernels|Filter")),
    ("page faults and zeroing of new memory", re.compile(r"clear_page|page_fault|do_anonymous_page|handle_mm_fault|__memset|memset_erms")),
    ("file read / write system calls", re.compile(r"copy_user|filemap_|ext4_|vfs_read|vfs_write|do_syscall.*(read|write)|generic_perform_write")),
]
RULES = [
    ("decode", re.compile(r"CImageCodec_decoder_|CImageCodec_decode\b|CImageCodec_orient|ImageCodec.*decode")),
    ("encode", re.compile(r"CImageCodec_encode|ImageCodec.*encode|10ImageCodecV6encode")),
    ("filters", re.compile(r"CImageKernels_|Pipeline.*apply|8Pipeline|ImageFilter|Filter")),
    ("file read / write system calls", re.compile(r"FileIO.*readFile|6FileIO.*8readFile|FileIO.*write|writeAtomically")),
    ("RPC", re.compile(r"GRPC|NIO|SwiftProtobuf|Dip_V1|grpc|nghttp|HTTP2")),
    ("job store / scheduling", re.compile(r"ImagingServer|Scheduler|Placement|JobStore|sqlite3|JobReceipt|SharedStorage|NodeRegistry")),
    ("page faults and zeroing of new memory", LEAF_RULES[3][1]),
]
PHASES = ["decode", "encode", "filters", "file read / write system calls", "page faults and zeroing of new memory", "RPC",
          "job store / scheduling", "zlib / libpng, not attributed (stripped frames)"]


def samples(path):
    """Yields (comm, frames) per sample."""
    text = subprocess.run(
        ["perf", "script", "-i", path, "-F", "comm,tid,ip,sym,dso", "--no-demangle"],
        capture_output=True, text=True, errors="replace").stdout
    comm, frames = None, []
    for line in text.splitlines():
        if not line.strip():
            if comm is not None:
                yield comm, frames
            comm, frames = None, []
        elif line[0] in " \t":
            parts = line.split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else parts[0])
        else:
            comm, frames = line.split()[0], []
    if comm is not None:
        yield comm, frames


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--wall", type=float)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--hz", type=float, default=999)
    args = parser.parse_args()
    phases = collections.Counter()
    total = 0
    for _, frames in samples(args.data):
        total += 1
        stack = " ".join(frames)
        leaf = frames[0] if frames else ""
        for name, rule in LEAF_RULES:
            if rule.search(leaf):
                phases[name] += 1
                break
        else:
            for name, rule in RULES:
                if rule.search(stack):
                    phases[name] += 1
                    break
            else:
                if re.search(r"libz|libpng", leaf):
                    phases[PHASES[-1]] += 1
                else:
                    phases["other"] += 1
    if total == 0:
        sys.exit("profile_breakdown: no samples in " + args.data)
    cpu = total / args.hz
    print(f"{total} samples = {cpu:.2f} CPU-seconds in dip-server + dip-nodes")
    rows = [(name, phases[name]) for name in PHASES] + [("other (Swift runtime, allocation, threads, kernel)", phases["other"])]
    budget = args.wall * args.cores if args.wall else None
    print("| phase | CPU s | share of CPU" + (f" | share of {args.cores} cores × wall" if budget else "") + " |")
    print("|---|---:|---:|" + ("---:|" if budget else ""))
    for name, count in rows:
        line = f"| {name} | {count / args.hz:.2f} | {100 * count / total:.1f} %"
        if budget:
            line += f" | {100 * count / args.hz / budget:.1f} %"
        print(line + " |")
    if budget:
        idle = max(0.0, budget - cpu)
        print(f"| not running our processes (idle, or other work on the machine) | {idle:.2f} | — | {100 * idle / budget:.1f} % |")
        print(f"wall {args.wall:.2f} s × {args.cores} cores = {budget:.2f} core-seconds")


if __name__ == "__main__":
    main()
