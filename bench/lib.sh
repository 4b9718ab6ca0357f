# bench/lib.sh — helpers shared by the proxy benchmarks (sourced, not run).
# The sourcing script sets WORK (its scratch directory) before it starts
# anything and appends every background pid it starts to PIDS; the EXIT
# trap set here stops exactly those pids and removes WORK.
PIDS=()
CLK_TCK=$(getconf CLK_TCK)

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${WORK:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { echo "# $*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() { # wait_port PORT [LOGFILE]: up to 10 s; says why when it fails
  local i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  [ -n "${2:-}" ] && log "nothing listening on $1: $(tail -3 "$2" 2>/dev/null | tr '\n' ' ')"
  return 1
}
tree_pids() { # a pid and all its descendants
  local p=$1 c
  echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_pids "$c"; done
}
cpu_ticks() { # utime+stime (clock ticks) of a process tree, all threads
  local t=0 p v
  for p in $(tree_pids "$1"); do
    v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
