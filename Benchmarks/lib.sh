# Sourced by the benchmark scripts that start dip-server, dip-node or dip-grpc-bench processes.
# Append each started process's pid to PIDS: on exit they are stopped (signal STOP_SIGNAL, default
# TERM; set it before sourcing) and waited for, and WORK is removed.
PIDS=()
cleanup() {
    for pid in "${PIDS[@]:-}"; do [[ -n "$pid" ]] && kill -"${STOP_SIGNAL:-TERM}" "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]:-}"; do [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# wait_for_line FILE MARKER: prints the first line of FILE that contains MARKER, waiting up to
# 30 s; otherwise names both (with the process's .err file beside FILE) and fails.
wait_for_line() {
    for _ in $(seq 1 600); do
        if grep -q "$2" "$1" 2>/dev/null; then grep -m1 "$2" "$1"; return 0; fi
        sleep 0.05
    done
    echo "$(basename "$0" .sh): '$2' not seen in $1" >&2; cat "${1%.out}.err" >&2 2>/dev/null || true; return 1
}

# The load average over 1, 5 and 15 minutes.
load() { cut -d' ' -f1-3 /proc/loadavg; }
