#!/usr/bin/env bash
# Network benchmark (Docs/Benchmarks.md, "Network (gRPC loopback)"):
#   1. per-task overhead of a RunTask round trip over gRPC loopback (dip-grpc-bench), with a node
#      that answers at once and with a real node running the `identity` pipeline;
#   2. end-to-end images/second of one job over ../shared/corpus/{photos,large}: one dip-server,
#      two dip-nodes (mandatory, load 0, no delay), dip-client submit --server, on 127.0.0.1;
#   3. the peer baseline: python3 ../shared/bench/peers.py CORPUS --skip-ops, same sitting.
#
# Usage: Benchmarks/e2e.sh [CORPUS_DIR] [PIPELINE]
#   CORPUS_DIR defaults to ../shared/corpus; PIPELINE to the issue's
#   'grayscale | gaussian(size: 5) | canny(low: 100, high: 200)' when those filters exist,
#   else 'invert'. REPS (default 3) jobs are timed; the median is reported.
#   SKIP_PEERS=1 skips step 3; SKIP_BUILD=1 uses the existing release build.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CORPUS="${1:-$ROOT/../shared/corpus}"
REPS="${REPS:-3}"
cd "$ROOT"

if [[ -z "${SKIP_BUILD:-}" ]]; then swift build -c release >&2; fi
BIN="$(swift build -c release --show-bin-path)"

FULL='grayscale | gaussian(size: 5) | canny(low: 100, high: 200)'
if [[ $# -ge 2 ]]; then
    PIPELINE="$2"
elif "$BIN/dip-client" submit --help 2>/dev/null | grep -q 'canny'; then
    PIPELINE="$FULL"
else
    PIPELINE="invert"
    echo "e2e: canny/gaussian/grayscale are not in this build; timing '$PIPELINE' instead" >&2
fi

WORK="$(mktemp -d /tmp/dip-e2e-bench.XXXXXX)"
source "$ROOT/Benchmarks/lib.sh"

echo "== machine: $(nproc) cores, $(uname -sr); $(date -u +%FT%TZ)"
echo "== 1. per-task overhead over gRPC loopback"
"$BIN/dip-grpc-bench" --tasks 5000 --concurrency 16
mkdir -p "$WORK/overhead"
cp "$CORPUS/photos/camera.png" "$WORK/overhead/"
"$BIN/dip-grpc-bench" --tasks 2000 --concurrency 16 --image "$WORK/overhead/camera.png" --storage-root "$WORK/overhead"

echo "== 2. end-to-end job: 1 server + 2 nodes on 127.0.0.1, pipeline '$PIPELINE' -> PNG"
STORE="$WORK/store"
mkdir -p "$STORE/corpus"
cp "$CORPUS"/photos/* "$CORPUS"/large/* "$STORE/corpus/"
IMAGES=$(ls "$STORE/corpus" | grep -ciE '\.(png|jpe?g)$')
MP=$(python3 - "$STORE/corpus" <<'PY'
import sys, os, struct
try:
    from PIL import Image
except ImportError:
    print("?"); sys.exit()
total = 0
for name in os.listdir(sys.argv[1]):
    try:
        with Image.open(os.path.join(sys.argv[1], name)) as im: total += im.width * im.height
    except Exception: pass
print(f"{total/1e6:.1f}")
PY
)
"$BIN/dip-server" --listen 127.0.0.1:0 --storage-root "$STORE" --state-dir "$WORK/state" --log-level warning >"$WORK/server.out" 2>"$WORK/server.err" &
PIDS+=($!)
SERVER=$(wait_for_line "$WORK/server.out" "listening on" | awk '{print $4}')
for n in 1 2; do
    "$BIN/dip-node" --name "node-$n" --listen 127.0.0.1:0 --server "$SERVER" --storage-root "$STORE" \
        --policy mandatory --load 0 --delay 0 --log-level warning >"$WORK/node-$n.out" 2>"$WORK/node-$n.err" &
    PIDS+=($!)
    wait_for_line "$WORK/node-$n.out" "listening on" >/dev/null
done
sleep 0.5
# Warm-up job (page cache, connections), then REPS timed jobs.
"$BIN/dip-client" submit --server "$SERVER" --pipeline "$PIPELINE" --output warm corpus --json >/dev/null 2>&1
TIMES=()
for rep in $(seq 1 "$REPS"); do
    start=$(date +%s.%N)
    "$BIN/dip-client" submit --server "$SERVER" --pipeline "$PIPELINE" --output "out-$rep" corpus --json >"$WORK/receipt-$rep.json" 2>/dev/null
    end=$(date +%s.%N)
    TIMES+=("$(python3 -c "print(f'{$end - $start:.3f}')")")
done
python3 - "$IMAGES" "$MP" "$WORK/receipt-1.json" "${TIMES[@]}" <<'PY'
import json, statistics, sys
images, mp, receipt = int(sys.argv[1]), sys.argv[2], json.load(open(sys.argv[3]))
walls = [float(t) for t in sys.argv[4:]]
median = statistics.median(walls)
print(f"job: {images} images ({mp} MP), status {receipt['status']}, {receipt['counts']['succeeded']} succeeded; "
      f"client wall times {walls} s; median {median:.3f} s = {images / median:.2f} images/s"
      + (f", {float(mp) / median:.1f} MP/s" if mp != '?' else "")
      + f"; server-side elapsed {receipt['elapsed']:.3f} s")
PY

echo "== 2b. the same job in one process (dip-client submit --embedded, 2 mandatory nodes, no delay)"
ETIMES=()
for rep in $(seq 1 "$REPS"); do
    start=$(date +%s.%N)
    "$BIN/dip-client" submit --embedded --nodes 2 --policy mandatory --load 0 --delay 0 --storage-root "$STORE" \
        --pipeline "$PIPELINE" --output "$STORE/embedded-$rep" "$STORE/corpus" --json >/dev/null 2>&1
    end=$(date +%s.%N)
    ETIMES+=("$(python3 -c "print(f'{$end - $start:.3f}')")")
done
python3 - "$IMAGES" "${ETIMES[@]}" <<'PY'
import statistics, sys
images, walls = int(sys.argv[1]), [float(t) for t in sys.argv[2:]]
median = statistics.median(walls)
print(f"embedded: wall times {walls} s; median {median:.3f} s = {images / median:.2f} images/s")
PY

if [[ -z "${SKIP_PEERS:-}" ]]; then
    echo "== 3. peers: python3 ../shared/bench/peers.py $CORPUS --skip-ops"
    python3 "$ROOT/../shared/bench/peers.py" "$CORPUS" --skip-ops 2>/dev/null | sed -n '/Pipeline/,$p'
    echo "== 3b. peers on the same images as step 2 (photos + large)"
    python3 "$ROOT/../shared/bench/peers.py" "$STORE/corpus" --skip-ops 2>/dev/null | sed -n '/Pipeline/,$p'
fi
