#!/usr/bin/env bash
# The whole job against OpenCV (Docs/Benchmarks.md, "Whole job against OpenCV"; issue #14 item 3).
#
# The 24 images of CORPUS/photos + CORPUS/large are copied into a storage root on the disk
# (/tmp), then ROUNDS rounds alternate (who goes first alternates too):
#   ours:   one dip-server (no extra flags, its own --state-dir) and two dip-nodes
#           (--policy mandatory --load 0 --delay 0) on 127.0.0.1, started once;
#           timed: `dip-client submit --server ADDRESS --pipeline PIPELINE --output out-R corpus`
#           (wall time around the client process: start-up, listing, reads and writes included);
#   OpenCV: python3 Benchmarks/opencv_job.py corpus opencv-R (2 processes × 1 thread, cv2.imread
#           -> gray -> GaussianBlur 5×5 -> Canny(100, 200) -> cv2.imwrite; wall of the job alone).
# Prints every round with the load average, the medians and the ratio OpenCV / ours (> 1: we are
# faster). One warm-up job of each first.
#
# PROFILE=DIR instead runs the server and both nodes under `perf record` (cpu-clock samples with
# call graphs, into DIR), times ROUNDS jobs of ours only, and prints where the CPU time went
# (Benchmarks/profile_breakdown.py).
#
# Usage: Benchmarks/job-vs-opencv.sh [CORPUS]     (default ../shared/corpus)
# Environment: ROUNDS (default 5), SKIP_BUILD=1, NODE_FLAGS (extra dip-node flags, default none),
# SERVER_FLAGS (extra dip-server flags, default none), PIPELINE.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CORPUS="$(cd "${1:-$ROOT/../shared/corpus}" && pwd)"
ROUNDS="${ROUNDS:-5}"
PIPELINE="${PIPELINE:-grayscale | gaussian(size: 5) | canny(low: 100, high: 200)}"
cd "$ROOT"
if [[ -z "${SKIP_BUILD:-}" ]]; then swift build -c release >&2; fi
BIN="$(swift build -c release --show-bin-path)"

WORK="$(mktemp -d /tmp/dip-job-vs-opencv.XXXXXX)"
STOP_SIGNAL=INT  # dip-client and the daemons shut down on SIGINT as on Ctrl-C
source "$ROOT/Benchmarks/lib.sh"
seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$@"; }

STORE="$WORK/store"
mkdir -p "$STORE/corpus"
cp "$CORPUS"/photos/* "$CORPUS"/large/* "$STORE/corpus/"
IMAGES=$(ls "$STORE/corpus" | grep -ciE '\.(png|jpe?g)$')

if [[ -n "${PROFILE:-}" ]]; then mkdir -p "$PROFILE"; PROFILE="$(cd "$PROFILE" && pwd)"; fi
launch() { # NAME COMMAND...
    local name=$1; shift
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PIDS+=($!)
}
# shellcheck disable=SC2086
launch server "$BIN/dip-server" --listen 127.0.0.1:0 --storage-root "$STORE" --state-dir "$WORK/state" --log-level warning ${SERVER_FLAGS:-}
SERVER=$(wait_for_line "$WORK/server.out" "listening on" | awk '{print $4}')
for n in 1 2; do
    # shellcheck disable=SC2086
    launch "node-$n" "$BIN/dip-node" --name "node-$n" --listen 127.0.0.1:0 --server "$SERVER" --storage-root "$STORE" \
        --policy mandatory --load 0 --delay 0 --log-level warning ${NODE_FLAGS:-}
    wait_for_line "$WORK/node-$n.out" "listening on" >/dev/null
done
for _ in $(seq 1 100); do
    [[ $("$BIN/dip-client" status --server "$SERVER" 2>/dev/null | grep -c node-) -ge 2 ]] && break
    sleep 0.1
done

ours() { # ROUND
    local start; start=$(date +%s.%N)
    "$BIN/dip-client" submit --server "$SERVER" --pipeline "$PIPELINE" --output "out-$1" corpus --quiet >/dev/null
    seconds "$start" "$(date +%s.%N)"
}
opencv() { # ROUND
    python3 "$ROOT/Benchmarks/opencv_job.py" "$STORE/corpus" "$STORE/opencv-$1" | awk '{print $(NF-1)}'
}

echo "== machine: $(nproc) cores, $(uname -sr); $(date -u +%FT%TZ); load average $(load)"
echo "== $IMAGES images, pipeline '$PIPELINE' -> PNG; $ROUNDS rounds"
ours warm >/dev/null
if [[ -n "${PROFILE:-}" ]]; then
    # Sample the server and both nodes during the timed jobs only.
    perf record -e cpu-clock -F 999 -g -p "$(IFS=,; echo "${PIDS[*]}")" -o "$PROFILE/job.data" 2>"$WORK/perf.err" &
    PERF=$!
    sleep 1
    WALLS=()
    for round in $(seq 1 "$ROUNDS"); do
        WALLS+=("$(ours "$round")")
        echo "round $round, load $(load): ours ${WALLS[-1]} s"
    done
    kill -INT "$PERF"; wait "$PERF" || true
    python3 "$ROOT/Benchmarks/profile_breakdown.py" "$PROFILE/job.data" --wall "$(python3 -c "import sys; print(sum(map(float, sys.argv[1:])))" "${WALLS[@]}")"
    exit 0
fi
opencv warm >/dev/null
OURS=(); CV=()
for round in $(seq 1 "$ROUNDS"); do
    if (( round % 2 )); then
        OURS+=("$(ours "$round")"); CV+=("$(opencv "$round")")
    else
        CV+=("$(opencv "$round")"); OURS+=("$(ours "$round")")
    fi
    echo "round $round, load $(load): ours ${OURS[-1]} s, OpenCV ${CV[-1]} s"
done
python3 - "${OURS[*]}" "${CV[*]}" "$IMAGES" <<'PY'
import statistics, sys
ours = [float(x) for x in sys.argv[1].split()]
cv = [float(x) for x in sys.argv[2].split()]
images = int(sys.argv[3])
o, c = statistics.median(ours), statistics.median(cv)
print(f"median ours {o:.3f} s ({images / o:.1f} images/s), OpenCV 2 processes {c:.3f} s ({images / c:.1f} images/s): "
      f"ratio {c / o:.2f}× (> 1: ours faster); per round {', '.join(f'{b / a:.2f}' for a, b in zip(ours, cv))}")
PY
echo "== done $(date -u +%FT%TZ); load average $(load)"
