#!/usr/bin/env bash
# Every table of Docs/Benchmarks.md in one sitting, ours and the peers side by side (`make bench`).
#
# Usage: Benchmarks/all.sh [CORPUS]     (default ../shared/corpus; `make bench CORPUS=DIR`)
# Needs: pip install opencv-python-headless pillow pyvips pyvips-binary numpy; GNU time; perf for
# the profile (skipped when `perf` is missing).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CORPUS="$(cd "${1:-$ROOT/../shared/corpus}" && pwd)"
cd "$ROOT"
swift build -c release >&2
BIN="$(swift build -c release --show-bin-path)"
export SKIP_BUILD=1
section() { echo; echo "######## $1 — $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"; }

section "Machine"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr), $(swift --version 2>/dev/null | head -1)"
section "Filters, codec, pipeline: ours (dip-bench)"
"$BIN/dip-bench" "$CORPUS"
section "Peers: OpenCV / Pillow / libvips (Benchmarks/peers.py)"
python3 Benchmarks/peers.py "$CORPUS"
section "OpenCV for every dip-bench op (Benchmarks/opencv_ops.py)"
python3 Benchmarks/opencv_ops.py "$CORPUS"
section "Filters, baseline kernels (CIMAGEKERNELS_DISABLE_AVX2=1)"
CIMAGEKERNELS_DISABLE_AVX2=1 "$BIN/dip-bench" "$CORPUS" --groups filters
section "Regimes where OpenCV won (Benchmarks/regimes.py)"
python3 Benchmarks/regimes.py --corpus "$CORPUS" --bench "$BIN/dip-bench" --rounds 3
section "Decode against the libraries (Benchmarks/decode-anchors.sh)"
Benchmarks/decode-anchors.sh "$CORPUS"/large/* || echo "(decode-anchors.sh failed; see above)"
section "Scheduling overhead (dip-bench scheduling)"
"$BIN/dip-bench" scheduling --dir /dev/shm
section "Network path (Benchmarks/network.sh)"
Benchmarks/network.sh
section "Whole job against OpenCV (Benchmarks/job-vs-opencv.sh)"
Benchmarks/job-vs-opencv.sh "$CORPUS"
if command -v perf >/dev/null; then
    section "Where the job's time goes (PROFILE, Benchmarks/profile_breakdown.py)"
    PROFILE="$(mktemp -d /tmp/dip-profile.XXXXXX)" ROUNDS=3 Benchmarks/job-vs-opencv.sh "$CORPUS"
fi
section "Node memory (Benchmarks/node-memory.sh)"
Benchmarks/node-memory.sh
section "Job size (scripts/bench-job-size.sh)"
DIP_CLIENT="$BIN/dip-client" scripts/bench-job-size.sh
section "Fair sharing (dip-bench fairness)"
"$BIN/dip-bench" fairness --dir /dev/shm
section "Done"
