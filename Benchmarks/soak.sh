#!/usr/bin/env bash
# Soak: JOBS jobs × TASKS tasks against four Optional nodes at load 0.5 with a short delay,
# over gRPC between real processes on 127.0.0.1. Prints every job's result and the resident
# memory (VmRSS from /proc) of the server and nodes before the first job and after the last.
#
#   Benchmarks/soak.sh                 # 10 jobs × 500 tasks
#   JOBS=3 TASKS=100 Benchmarks/soak.sh
#
# Needs a debug build (swift build) or BIN=.build/release. Exits non-zero if any job fails.
set -euo pipefail
JOBS=${JOBS:-10}
TASKS=${TASKS:-500}
DELAY=${DELAY:-0.02}
BIN=${BIN:-.build/debug}
ROOT=$(mktemp -d /tmp/dip-soak.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$ROOT"; }
trap cleanup EXIT

# TASKS distinct 64x48 RGB PNGs, written with Python's zlib (no imaging library needed).
python3 - "$ROOT/in" "$TASKS" <<'PY'
import os, struct, sys, zlib
out, count = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
for i in range(count):
    rows = b"".join(b"\0" + bytes(((x * 4 + i) & 255, (y * 5 + i * 7) & 255, ((x ^ y) + i * 13) & 255)[c]
                                  for x in range(64) for c in range(3)) for y in range(48))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    open(os.path.join(out, "img-%04d.png" % i), "wb").write(png)
PY

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

"$BIN/dip-server" --listen 127.0.0.1:0 --storage-root "$ROOT" --state-dir "$ROOT.state" --log-level warning --heartbeat-interval 1 --task-timeout 30 \
    > "$ROOT/server.out" 2> "$ROOT/server.err" &
SERVER=$!; PIDS+=("$SERVER")
for _ in $(seq 200); do grep -q "listening on" "$ROOT/server.out" && break; sleep 0.05; done
ADDRESS=$(awk '/listening on/ {print $4; exit}' "$ROOT/server.out")
NODES=()
for i in 1 2 3 4; do
    "$BIN/dip-node" --name "soak-$i" --listen 127.0.0.1:0 --server "$ADDRESS" --storage-root "$ROOT" \
        --policy optional --load 0.5 --delay "$DELAY" --seed "$i" --log-level warning \
        > "$ROOT/node-$i.out" 2> "$ROOT/node-$i.err" &
    NODES+=("$!"); PIDS+=("$!")
done
for _ in $(seq 200); do
    [ "$(grep -l "listening on" "$ROOT"/node-*.out 2>/dev/null | wc -l)" -eq 4 ] && break; sleep 0.05
done
sleep 1.5  # registrations

echo "soak: $JOBS jobs x $TASKS tasks, 4 optional nodes at load 0.5, delay $DELAY s, server $ADDRESS"
before="server $(rss "$SERVER") kB; nodes"; for pid in "${NODES[@]}"; do before+=" $(rss "$pid")"; done
FAILED=0
START=$(date +%s.%N)
for job in $(seq "$JOBS"); do
    if "$BIN/dip-client" submit --server "$ADDRESS" --pipeline "grayscale | gaussian(size: 3)" --output "out-$job" --json in \
        > "$ROOT/job-$job.json" 2> "$ROOT/job-$job.err"; then
        python3 -c "import json,sys; r=json.load(open(sys.argv[1])); c=r['counts']; print('job %s: %s, %d/%d succeeded, %d rejections, %d delayed, %.2f s' % (sys.argv[2], r['status'], c['succeeded'], c['total'], c['rejections'], c['delayed'], r['elapsed']))" "$ROOT/job-$job.json" "$job"
    else
        echo "job $job: FAILED"; tail -3 "$ROOT/job-$job.err"; FAILED=1
    fi
    rm -rf "${ROOT:?}/out-$job"
    echo "  server RSS $(rss "$SERVER") kB"
done
END=$(date +%s.%N)
after="server $(rss "$SERVER") kB; nodes"; for pid in "${NODES[@]}"; do after+=" $(rss "$pid")"; done
echo "RSS before: $before kB"
echo "RSS after:  $after kB"
echo "total: $(python3 -c "print('%.1f' % ($END - $START))") s"
exit $FAILED
