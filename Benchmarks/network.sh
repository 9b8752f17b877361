#!/usr/bin/env bash
# The network path (Docs/Benchmarks.md, "Network (gRPC loopback)"; issue #14 item 2), release build:
#
#   1. one task's round trip, node half and server half in separate processes:
#        dip-grpc-bench --serve 127.0.0.1:0            (a node that answers at once, with its task port)
#        dip-grpc-bench --connect ADDRESS [--task-address TASK_ADDRESS | --unary]  (sequential, then 16 in flight)
#      the task port (RunTaskBatches's messages over TCP, what dip-server uses with a node that
#      has one), the task stream over gRPC (RunTaskBatches), the unary RunTask call, the gRPC
#      floor under both (--raw: the RunTasks stream echoing bare ids, nothing of ours), and the
#      floor under the task port (--lean: the same exchange as length-prefixed protobuf over
#      TCP), alternated ROUNDS times;
#   2. the network cost per task in a job: (wall of a N-image `identity` job over gRPC − the same
#      job embedded) / N, with N random 8×8 PNGs on tmpfs, alternated ROUNDS times, medians:
#        dip-server --storage-root ROOT --state-dir S1 + 2 × dip-node --policy mandatory --load 0 --delay 0
#        dip-client submit --server ADDRESS --pipeline identity --quiet DIR
#      against
#        dip-client submit --embedded --nodes 2 --policy mandatory --load 0 --delay 0 --pipeline identity --quiet --state-dir S2 DIR
#
# Usage: Benchmarks/network.sh          Environment: N (default 2000), ROUNDS (default 5),
# TASKS (round trips per run, default 5000), SKIP_BUILD=1, WORK (default /dev/shm/dip-network-bench).
# Prints the load average with every figure. Needs python3 with numpy and cv2 or Pillow.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
N="${N:-2000}"
ROUNDS="${ROUNDS:-5}"
TASKS="${TASKS:-5000}"
WORK="${WORK:-/dev/shm/dip-network-bench}"
if [[ -z "${SKIP_BUILD:-}" ]]; then swift build -c release >&2; fi
BIN="$(swift build -c release --show-bin-path)"

source "$ROOT/Benchmarks/lib.sh"
rm -rf "$WORK" && mkdir -p "$WORK"

echo "== machine: $(nproc) cores, $(uname -sr); $(date -u +%FT%TZ); load average $(load)"
echo "== 1. round trip, separate processes (dip-grpc-bench --serve / --connect), $TASKS tasks, $ROUNDS rounds"
"$BIN/dip-grpc-bench" --serve 127.0.0.1:0 >"$WORK/bench.out" 2>"$WORK/bench.err" &
PIDS+=($!)
ADDRESS=$(wait_for_line "$WORK/bench.out" "listening on" | awk '{print $4}')
TASK_ADDRESS=$(wait_for_line "$WORK/bench.out" "task port on" | awk '{print $5}')
# The floor: the same stream carrying bare ids, grpc-swift's generated code and nothing of ours.
"$BIN/dip-grpc-bench" --serve 127.0.0.1:0 --raw >"$WORK/raw.out" 2>"$WORK/raw.err" &
PIDS+=($!)
RAW_ADDRESS=$(wait_for_line "$WORK/raw.out" "listening on" | awk '{print $4}')
# Without HTTP/2 and gRPC: the same exchange as length-prefixed protobuf over TCP.
"$BIN/dip-grpc-bench" --serve 127.0.0.1:0 --lean >"$WORK/lean.out" 2>"$WORK/lean.err" &
PIDS+=($!)
LEAN_ADDRESS=$(wait_for_line "$WORK/lean.out" "listening on" | awk '{print $4}')
for round in $(seq 1 "$ROUNDS"); do
    for mode in port stream unary raw lean; do
        flag=""; address="$ADDRESS"
        [[ $mode == port ]] && flag="--task-address $TASK_ADDRESS"
        [[ $mode == unary ]] && flag="--unary"
        [[ $mode == raw ]] && flag="--raw" && address="$RAW_ADDRESS"
        [[ $mode == lean ]] && flag="--lean" && address="$LEAN_ADDRESS"
        echo "round $round, load $(load): $("$BIN/dip-grpc-bench" --connect "$address" --tasks "$TASKS" --concurrency 16 $flag)"
    done
done

echo "== 2. network cost per task: $N-image identity job, gRPC (1 server + 2 nodes) vs embedded, $ROUNDS rounds"
STORE="$WORK/store"
mkdir -p "$STORE"
python3 - "$N" "$STORE/input" <<'PY'
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
"$BIN/dip-server" --listen 127.0.0.1:0 --storage-root "$STORE" --state-dir "$WORK/server-state" --log-level warning \
    >"$WORK/server.out" 2>"$WORK/server.err" &
PIDS+=($!)
SERVER=$(wait_for_line "$WORK/server.out" "listening on" | awk '{print $4}')
for n in 1 2; do
    "$BIN/dip-node" --name "node-$n" --listen 127.0.0.1:0 --server "$SERVER" --storage-root "$STORE" \
        --policy mandatory --load 0 --delay 0 --log-level warning >"$WORK/node-$n.out" 2>"$WORK/node-$n.err" &
    PIDS+=($!)
    wait_for_line "$WORK/node-$n.out" "listening on" >/dev/null
done
for _ in $(seq 1 100); do
    [[ $("$BIN/dip-client" status --server "$SERVER" 2>/dev/null | grep -c node-) -ge 2 ]] && break
    sleep 0.1
done
seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$@"; }
GRPC=(); EMBEDDED=()
# Warm-up (page cache, connections).
"$BIN/dip-client" submit --server "$SERVER" --pipeline identity --quiet --output warm input >/dev/null
for round in $(seq 1 "$ROUNDS"); do
    start=$(date +%s.%N)
    "$BIN/dip-client" submit --server "$SERVER" --pipeline identity --quiet --output "grpc-$round" input >/dev/null
    GRPC+=("$(seconds "$start" "$(date +%s.%N)")")
    start=$(date +%s.%N)
    "$BIN/dip-client" submit --embedded --nodes 2 --policy mandatory --load 0 --delay 0 --pipeline identity --quiet \
        --state-dir "$WORK/embedded-state-$round" --storage-root "$STORE" --output "$STORE/embedded-$round" "$STORE/input" >/dev/null
    EMBEDDED+=("$(seconds "$start" "$(date +%s.%N)")")
    echo "round $round, load $(load): gRPC ${GRPC[-1]} s, embedded ${EMBEDDED[-1]} s"
done
python3 - "$N" "${GRPC[*]}" "${EMBEDDED[*]}" <<'PY'
import statistics, sys
n = int(sys.argv[1])
grpc = [float(x) for x in sys.argv[2].split()]
embedded = [float(x) for x in sys.argv[3].split()]
g, e = statistics.median(grpc), statistics.median(embedded)
paired = sorted((a - b) / n * 1e6 for a, b in zip(grpc, embedded))
print(f"median gRPC {g:.3f} s, embedded {e:.3f} s: network cost {(g - e) / n * 1e6:.0f} µs per task "
      f"(per-round differences {', '.join(f'{x:.0f}' for x in paired)} µs)")
PY
echo "== done $(date -u +%FT%TZ); load average $(load)"
