#!/usr/bin/env bash
# A node's peak memory at full load (Docs/Benchmarks.md, "Node memory"; issue #14 item 5):
# one dip-server and one dip-node (default 8 concurrent tasks, --policy mandatory --load 0
# --delay 0) on 127.0.0.1 run a job of IMAGES synthetic 8 MP JPEGs (4 000 × 2 000 RGB)
# with PIPELINE; the node's peak RSS is its VmHWM from /proc after the job.
# Goal: ≤ 1.5 × (decoded bytes of 8 images) + 64 MiB.
#
# Usage: Benchmarks/node-memory.sh     Environment: IMAGES (default 16), PIPELINE (default the job
# benchmark's), SKIP_BUILD=1. Needs python3 with numpy and cv2.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
IMAGES="${IMAGES:-16}"
PIPELINE="${PIPELINE:-grayscale | gaussian(size: 5) | canny(low: 100, high: 200)}"
if [[ -z "${SKIP_BUILD:-}" ]]; then swift build -c release >&2; fi
BIN="$(swift build -c release --show-bin-path)"
WORK="$(mktemp -d /tmp/dip-node-memory.XXXXXX)"
source "$ROOT/Benchmarks/lib.sh"

# 8 000 000 pixels each (4 000 × 2 000 RGB): smooth gradients plus noise, JPEG quality 90.
python3 - "$IMAGES" "$WORK/store/input" <<'PY'
import os, sys
import numpy as np, cv2
count, directory = int(sys.argv[1]), sys.argv[2]
os.makedirs(directory, exist_ok=True)
rng = np.random.default_rng(8)
h, w = 2000, 4000
y, x = np.mgrid[0:h, 0:w]
for i in range(count):
    base = np.stack([(x * (i + 1) // 16) % 256, (y // 8 + i * 30) % 256, ((x + y) // 24) % 256], axis=-1)
    noisy = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    cv2.imwrite(os.path.join(directory, f"img-{i:02d}.jpg"), noisy, [cv2.IMWRITE_JPEG_QUALITY, 90])
PY
"$BIN/dip-server" --listen 127.0.0.1:0 --storage-root "$WORK/store" --state-dir "$WORK/state" --log-level warning \
    >"$WORK/server.out" 2>"$WORK/server.err" &
PIDS+=($!)
SERVER=$(wait_for_line "$WORK/server.out" "listening on" | awk '{print $4}')
"$BIN/dip-node" --name node-1 --listen 127.0.0.1:0 --server "$SERVER" --storage-root "$WORK/store" \
    --policy mandatory --load 0 --delay 0 --log-level warning >"$WORK/node.out" 2>"$WORK/node.err" &
NODE=$!
PIDS+=($NODE)
wait_for_line "$WORK/node.out" "listening on" >/dev/null
for _ in $(seq 1 100); do
    [[ $("$BIN/dip-client" status --server "$SERVER" 2>/dev/null | grep -c node-1) -ge 1 ]] && break
    sleep 0.1
done
BEFORE=$(awk '/VmHWM/ {print $2}' "/proc/$NODE/status")
start=$(date +%s.%N)
"$BIN/dip-client" submit --server "$SERVER" --pipeline "$PIPELINE" --output out input --quiet >/dev/null
end=$(date +%s.%N)
AFTER=$(awk '/VmHWM/ {print $2}' "/proc/$NODE/status")
python3 - "$IMAGES" "$BEFORE" "$AFTER" "$start" "$end" <<'PY'
import sys
images, before, after, start, end = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
decoded = 8 * 8_000_000 * 3 / 2**20
goal = 1.5 * decoded + 64
print(f"node peak RSS {after / 1024:.0f} MiB (idle {before / 1024:.0f} MiB) over a job of {images} 8 MP images "
      f"({end - start:.2f} s), 8 slots; goal <= 1.5 x {decoded:.0f} + 64 = {goal:.0f} MiB: "
      + ("met" if after / 1024 <= goal else "NOT met"))
PY
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
