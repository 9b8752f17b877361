#!/usr/bin/env bash
# Job size: does the per-task cost stay flat as a job grows? (Docs/Benchmarks.md, "Job size:
# linear cost".)
#
# For each size N, writes N random 8×8 PNGs to a fresh directory under $WORK (tmpfs by
# default, so the disk is not measured) and times, as a whole process — start-up, listing and
# the final receipt.json included — the release dip-client running them on an embedded cluster:
#
#   dip-client submit --embedded --nodes 2 --policy mandatory --load 0 --delay 0 \
#       --pipeline identity --quiet --state-dir STATE INPUT
#
# STATE is a fresh directory per size beside the input, outside the storage root (the input's
# parent is the root, so it is put one level up: $WORK.state/N), on the same file system: the
# durable SQLite job store is part of what is measured.
#
# Prints wall time, µs per task, peak RSS (from /usr/bin/time -v) and the ratio of the per-task
# cost at the largest size to that at the smallest.
#
# Usage: scripts/bench-job-size.sh [N ...]      (default: 1000 20000 100000)
# Environment: DIP_CLIENT (default .build/release/dip-client; built if missing), WORK (default
# /dev/shm/dip-bench-job-size, removed at the end unless KEEP=1).
# Needs python3 with numpy and OpenCV (cv2) or Pillow, and GNU time (`apt-get install time`).
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES=("$@")
if [ ${#SIZES[@]} -eq 0 ]; then SIZES=(1000 20000 100000); fi
CLIENT=${DIP_CLIENT:-.build/release/dip-client}
WORK=${WORK:-/dev/shm/dip-bench-job-size}

if [ ! -x /usr/bin/time ]; then
    echo "bench-job-size: /usr/bin/time (GNU time) is missing: apt-get install -y time" >&2
    exit 2
fi
if [ ! -x "$CLIENT" ]; then
    echo "bench-job-size: building the release dip-client" >&2
    swift build -c release --product dip-client >&2
fi

generate() {  # generate N DIRECTORY
    python3 - "$1" "$2" <<'PY'
import os, sys
import numpy as np
count, directory = int(sys.argv[1]), sys.argv[2]
os.makedirs(directory, exist_ok=True)
rng = np.random.default_rng(count)
try:
    import cv2
    def save(path, pixels): cv2.imwrite(path, pixels)
except ImportError:
    from PIL import Image
    def save(path, pixels): Image.fromarray(pixels).save(path)
for index in range(count):
    save(os.path.join(directory, "img-%06d.png" % index), rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
PY
}

rm -rf "$WORK"
mkdir -p "$WORK"
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK" "$WORK.state"' EXIT

printf '%-8s %10s %12s %14s\n' images "wall (s)" "µs/task" "peak RSS (MB)"
first=""
last=""
for n in "${SIZES[@]}"; do
    input="$WORK/in-$n"
    generate "$n" "$input"
    rm -rf "$input-out"
    state="$WORK.state/$n"
    rm -rf "$state"
    sync
    report="$WORK/time-$n.txt"
    if ! /usr/bin/time -v -o "$report" "$CLIENT" submit --embedded --nodes 2 --policy mandatory --load 0 --delay 0 \
        --pipeline identity --quiet --state-dir "$state" "$input" > "$WORK/out-$n.txt" 2>&1; then
        echo "bench-job-size: the $n-image job failed; its output:" >&2
        tail -20 "$WORK/out-$n.txt" >&2
        exit 1
    fi
    # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:02.91"
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$report")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$report")
    per=$(awk -v w="$wall" -v n="$n" 'BEGIN { printf "%.0f", w / n * 1e6 }')
    printf '%-8s %10.2f %12s %14s\n' "$n" "$wall" "$per" "$rss"
    [ -n "$first" ] || first=$per
    last=$per
    rm -rf "$input" "$input-out" "$state"
done
awk -v a="$first" -v b="$last" -v lo="${SIZES[0]}" -v hi="${SIZES[${#SIZES[@]}-1]}" \
    'BEGIN { printf "per-task ratio %s/%s images: %.2f\n", hi, lo, b / a }'
