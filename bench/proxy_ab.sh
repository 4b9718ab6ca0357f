#!/usr/bin/env bash
# bench/proxy_ab.sh — alternated A/B of two sovgw builds (and HAProxy) on the
# forwarded HTTP/1.1 keep-alive GET, for before/after measurements on a noisy
# shared machine: each round runs every contender once, in turn (the order
# rotates from round to round), so a busy stretch hits all of them. Prints CPU
# µs per request (proxy utime+stime from /proc / requests), req/s and syscalls
# per request (strace -c, one short run each) for every contender, the
# medians, and each sovgw's ratios to HAProxy round by round (their median:
# the figure least moved by the machine's swings).
#
#   bench/proxy_ab.sh OLD_SOVGW NEW_SOVGW [ROUNDS]      (default 5 rounds)
#   bench/proxy_ab.sh SOVGW - [ROUNDS]                  (one sovgw against HAProxy)
#
# Env: AB_DURATION (3s), AB_CONNS (50), AB_POST=1 (1 KiB POST instead of GET),
#      AB_H2C=1 (h2c GETs with prior knowledge, h2load -m10, instead of wrk),
#      AB_HAPROXY=0 (leave HAProxy out), AB_STRACE=0 (skip the syscall count).
# One worker each, decision log to a file, as in bench/proxy_bench.sh. Bounded:
# ROUNDS x contenders x AB_DURATION. Local servers only (127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OLD=${1:?usage: bench/proxy_ab.sh OLD_SOVGW NEW_SOVGW [ROUNDS]}
NEW=${2:?usage: bench/proxy_ab.sh OLD_SOVGW NEW_SOVGW [ROUNDS]}
ROUNDS=${3:-5}
DUR=${AB_DURATION:-3s}
CONNS=${AB_CONNS:-50}
POST=${AB_POST:-0}
H2C=${AB_H2C:-0}
. "$ROOT/bench/lib.sh"
WORK=$(mktemp -d /tmp/sgw-ab.XXXXXX)

cc -O2 -Wall -Wextra -pthread -o "$WORK/upstream_h1" "$ROOT/bench/upstream_h1.c"
UP=$(free_port)
"$WORK/upstream_h1" "$UP" 1 >"$WORK/up.log" 2>&1 &
PIDS+=($!)
wait_port "$UP"
UPHOST=origin.bench.test
cat >"$WORK/policy.yaml" <<EOF2
version: 1
defaults: { action: deny }
rules:
  - id: bench-upstream
    match: { host: [$UPHOST], port: [$UP] }
    action: allow
EOF2

declare -A PORT PID TARGET HOSTH
start_sovgw() { # NAME BINARY
  local p a
  p=$(free_port) a=$(free_port)
  ( cd "$WORK" && exec "$2" run --policy "$WORK/policy.yaml" --listen "127.0.0.1:$p" --admin "127.0.0.1:$a" \
      --workers 1 --resolve "$UPHOST:$UP:127.0.0.1" --log-file "$WORK/$1.log" --log-level warn ) \
      >"$WORK/$1.out" 2>&1 &
  PID[$1]=$! PORT[$1]=$p TARGET[$1]="http://$UPHOST:$UP/" HOSTH[$1]="$UPHOST:$UP"
  PIDS+=($!)
  wait_port "$p"
}
if [ "$NEW" = - ]; then
  NAMES=(sovgw)
  start_sovgw sovgw "$OLD"
else
  NAMES=(old new)
  start_sovgw old "$OLD"
  start_sovgw new "$NEW"
fi
if [ "${AB_HAPROXY:-1}" = 1 ] && command -v haproxy >/dev/null; then
  p=$(free_port)
  cat >"$WORK/haproxy.cfg" <<EOF2
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:$p
  default_backend be
backend be
  server s1 127.0.0.1:$UP
EOF2
  haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.out" 2>&1 &
  PID[haproxy]=$! PORT[haproxy]=$p TARGET[haproxy]=/ HOSTH[haproxy]="127.0.0.1:$p"
  PIDS+=($!)
  wait_port "$p"
  NAMES+=(haproxy)
fi

run_one() { # NAME -> prints "cpu_us rps"
  local n=$1 t0 t1 res rps reqs
  t0=$(cpu_ticks "${PID[$n]}")
  if [ "$H2C" = 1 ]; then
    # sovgw takes the target from :authority; HAProxy forwards to its backend
    res=$(h2load -c"$CONNS" -m10 -D"${DUR%s}" -H ":authority: ${HOSTH[$n]}" \
          "http://127.0.0.1:${PORT[$n]}/" 2>&1 |
          awk '/^finished in/ {r = $4} /^requests:/ {n = $8} END {print r + 0, n + 0}')
  else
    res=$(BENCH_PATH=${TARGET[$n]} BENCH_HOST=${HOSTH[$n]} BENCH_POST=$POST \
          wrk -t2 -c"$CONNS" -d"$DUR" -s "$ROOT/bench/proxy_wrk.lua" "http://127.0.0.1:${PORT[$n]}" 2>&1 |
          awk '/^RESULT/ {print $2, $5}')
  fi
  t1=$(cpu_ticks "${PID[$n]}")
  read -r rps reqs <<<"${res:-0 0}"
  awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" -v r="$rps" \
      'BEGIN { if (n > 0) printf "%.1f %.0f\n", d * 1e6 / hz / n, r; else print "n/a 0" }'
}
declare -A CPUS RPSS RRAT CRAT
for r in $(seq "$ROUNDS"); do
  line="round $r:"
  declare -A C Q
  k=${#NAMES[@]}
  for i in $(seq 0 $((k - 1))); do
    n=${NAMES[$(((i + r - 1) % k))]}
    read -r c q < <(run_one "$n")
    C[$n]=$c Q[$n]=$q
    CPUS[$n]+="$c " RPSS[$n]+="$q "
    line+=" $n ${c}µs ${q}/s;"
  done
  echo "$line"
  if [ -n "${PID[haproxy]:-}" ]; then
    for n in "${NAMES[@]}"; do
      [ "$n" = haproxy ] && continue
      RRAT[$n]+="$(awk -v a="${Q[$n]}" -v b="${Q[haproxy]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }') "
      CRAT[$n]+="$(awk -v a="${C[$n]}" -v b="${C[haproxy]}" 'BEGIN { if (b + 0 > 0 && a != "n/a") printf "%.3f", a / b; else print "n/a" }') "
    done
  fi
done
median() { printf '%s\n' $1 | grep -E '^[0-9.]+$' | sort -g |
  awk '{v[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print v[(NR+1)/2]; else printf "%.10g\n", (v[NR/2]+v[NR/2+1])/2}'; }
echo
echo "| contender | CPU µs/req (median of $ROUNDS) | req/s (median) | syscalls/req |"
echo "| --- | ---: | ---: | ---: |"
for n in "${NAMES[@]}"; do
  sc=n/a
  if [ "${AB_STRACE:-1}" = 1 ] && [ "$H2C" != 1 ] && command -v strace >/dev/null && [ "$n" != haproxy ]; then
    timeout 10 strace -q -c -f -o "$WORK/strace-$n.txt" -p "${PID[$n]}" &
    sp=$!
    sleep 0.5
    res=$(BENCH_PATH=${TARGET[$n]} BENCH_HOST=${HOSTH[$n]} BENCH_POST=$POST \
          wrk -t1 -c10 -d1s -s "$ROOT/bench/proxy_wrk.lua" "http://127.0.0.1:${PORT[$n]}" 2>&1 | awk '/^RESULT/ {print $5}')
    sleep 0.3
    kill -INT "$sp" 2>/dev/null || true
    wait "$sp" 2>/dev/null || true
    calls=$(awk '$NF == "total" {print $4}' "$WORK/strace-$n.txt" 2>/dev/null || true)
    [ -n "${calls:-}" ] && [ "${res:-0}" -gt 0 ] && sc=$(awk -v c="$calls" -v n="$res" 'BEGIN {printf "%.1f", c / n}')
  fi
  echo "| $n | $(median "${CPUS[$n]}") | $(median "${RPSS[$n]}") | $sc |"
done
if [ -n "${PID[haproxy]:-}" ]; then
  echo
  echo "| sovgw / HAProxy, same round | req/s ratio (median of $ROUNDS) | CPU/req ratio (median) | rounds with req/s ratio >= 1 |"
  echo "| --- | ---: | ---: | ---: |"
  for n in "${NAMES[@]}"; do
    [ "$n" = haproxy ] && continue
    wins=$(printf '%s\n' ${RRAT[$n]} | awk '$1 >= 1 {w++} END {print w + 0}')
    echo "| $n | $(median "${RRAT[$n]}") | $(median "${CRAT[$n]}") | $wins of $ROUNDS |"
  done
fi
