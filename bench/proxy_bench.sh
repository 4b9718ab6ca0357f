#!/usr/bin/env bash
# bench/proxy_bench.sh — sovgw against peer proxies on one local upstream.
#
# Drives one fast local HTTP/1.1 origin (bench/upstream_h1.c, epoll, fixed 13-byte
# body) through: sovgw (release build; 1 and 2 workers; explicit forward proxy),
# HAProxy and nghttpx (fixed-upstream reverse forwarders), Squid and tinyproxy
# (explicit forward proxies), plus the origin directly as a ceiling. Loads: small
# GET and 1 KiB POST over HTTP/1.1 keep-alive (wrk, bench/proxy_wrk.lua), h2c
# downstream where the proxy speaks it (h2load). Per run: req/s, p99 latency,
# CPU µs per request of the proxy (utime+stime of its whole process tree from
# /proc, before/after), and resident memory per idle keep-alive client
# connection (bench/proxy_idle.py holds N of them) for sovgw and HAProxy.
#
# Not part of ctest. Every run is bounded (wrk -d). Root is needed only to
# install missing peers with apt. Output: a markdown table on stdout and in
# bench/out/proxy.md.
#
# Env: SOVGW_REL (a release sovgw binary; default: build it in build/itest-rel),
#      BENCH_DURATION (5s), BENCH_CONNS (50), BENCH_THREADS (2), BENCH_IDLE (5000),
#      BENCH_REPS (3: each wrk run is repeated, the table shows medians),
#      BENCH_PEERS ("haproxy nghttpx squid tinyproxy"), BENCH_SKIP_IDLE=1, BENCH_SKIP_H2=1,
#      BENCH_CONNECT_N (6400: 16 KiB responses through the CONNECT tunnel per run),
#      BENCH_AB_ROUNDS (5: alternated sovgw/HAProxy rounds per load: GET, POST, h2c GET),
#      BENCH_SKIP_AB=1, BENCH_SKIP_H2C=1 (no h2c rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DUR=${BENCH_DURATION:-5s}
CONNS=${BENCH_CONNS:-50}
THREADS=${BENCH_THREADS:-2}
IDLE_N=${BENCH_IDLE:-5000}
REPS=${BENCH_REPS:-3}
LAT_DUR=${BENCH_LAT_DURATION:-3s}
PEERS=${BENCH_PEERS:-haproxy nghttpx squid tinyproxy}
OUT=$ROOT/bench/out
mkdir -p "$OUT"
. "$ROOT/bench/lib.sh"
WORK=$(mktemp -d /tmp/sgw-bench.XXXXXX)
chmod 755 "$WORK"

# ---------------------------------------------------------------- tools
need() { # need CMD PKG: install PKG with apt when CMD is missing (root only)
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ]; then
    log "installing $2"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >/dev/null 2>&1 || true
    # Debian starts the service on install; the bench runs its own instance.
    case "$2" in haproxy|squid|tinyproxy|nghttp2-proxy)
      systemctl disable --now "${2/nghttp2-proxy/nghttpx}" >/dev/null 2>&1 || true ;; esac
  fi
  command -v "$1" >/dev/null 2>&1
}
need wrk wrk || { echo "wrk is required" >&2; exit 2; }
need h2load nghttp2-client || true
AVAIL=()
for p in $PEERS; do
  case $p in
    haproxy) need haproxy haproxy && AVAIL+=(haproxy) ;;
    nghttpx) need nghttpx nghttp2-proxy && AVAIL+=(nghttpx) ;;
    squid) need squid squid && AVAIL+=(squid) ;;
    tinyproxy) need tinyproxy tinyproxy && AVAIL+=(tinyproxy) ;;
    *) log "unknown peer $p" ;;
  esac
done

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
MAXCONN=$(( (NOFILE - 200) / 2 < 20000 ? (NOFILE - 200) / 2 : 20000 ))

# ---------------------------------------------------------------- builds
if [ -n "${SOVGW_REL:-}" ]; then
  SOVGW=$SOVGW_REL
else
  log "building release sovgw in build/itest-rel"
  cmake -S "$ROOT" -B "$ROOT/build/itest-rel" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$ROOT/build/itest-rel" -j2 --target sovgw >/dev/null
  SOVGW=$ROOT/build/itest-rel/sovgw
fi
cc -O2 -Wall -Wextra -pthread -o "$WORK/upstream_h1" "$ROOT/bench/upstream_h1.c"

# ---------------------------------------------------------------- helpers
rss_kb() { # resident KiB of a process tree
  local t=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
start_bg() { # start_bg LOGFILE CMD...: starts CMD in the background, sets BGPID
  local logf=$1
  shift
  "$@" >"$logf" 2>&1 &
  BGPID=$!
  PIDS+=("$BGPID")
}
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

RESULTS=$WORK/results.txt # name|proto|load|rps|p99_us|cpu_us|errors|requests
: >"$RESULTS"

# probe NAME PORT TARGET HOST: one request must answer 200, else the proxy is skipped
probe() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Host: $4" \
              --request-target "$3" "http://127.0.0.1:$2/" 2>/dev/null || true)
  if [ "$code" != 200 ]; then
    log "$1: probe answered '$code', skipped"
    return 1
  fi
}

median() { # median of the numbers given as arguments ("n/a" when none)
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
          else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# run_h1 NAME PORT TARGET HOST PID: wrk GET and POST, REPS runs each, medians
run_h1() {
  local name=$1 port=$2 target=$3 host=$4 pid=$5 load post t0 t1 res rps p99 errs reqs cpu r
  local -a RPS P99 CPU
  for load in GET POST-1KiB; do
    post=0
    [ "$load" = GET ] || post=1
    RPS=() P99=() CPU=()
    local toterr=0
    for r in $(seq "$REPS"); do
      t0=$(cpu_ticks "$pid")
      res=$(BENCH_PATH=$target BENCH_HOST=$host BENCH_POST=$post \
            wrk -t"$THREADS" -c"$CONNS" -d"$DUR" -s "$ROOT/bench/proxy_wrk.lua" \
            "http://127.0.0.1:$port" 2>&1 | awk '/^RESULT/ {print $2, $3, $4, $5}')
      t1=$(cpu_ticks "$pid")
      read -r rps p99 errs reqs <<<"${res:-0 0 0 0}"
      cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" \
            'BEGIN { if (n > 0) printf "%.1f", d * 1e6 / hz / n; else print "n/a" }')
      RPS+=("$rps") P99+=("$p99") CPU+=("$cpu")
      toterr=$((toterr + errs))
    done
    rps=$(median "${RPS[@]}") p99=$(median "${P99[@]}") cpu=$(median "${CPU[@]}")
    echo "$name|h1|$load|$rps|$p99|$cpu|$toterr|$reqs" >>"$RESULTS"
    log "$name h1 $load: $rps req/s, p99 ${p99} µs, ${cpu} µs CPU/req, $toterr errors (median of $REPS; req/s ${RPS[*]})"
  done
}

# run_h2c NAME PORT PID [AUTHORITY]: h2load over prior-knowledge h2c, REPS runs,
# medians; AUTHORITY (host:port of the origin) makes it a forward-proxy request
# for sovgw
run_h2c() {
  command -v h2load >/dev/null || return 0
  local name=$1 port=$2 pid=$3 t0 t1 out rps reqs ok cpu mean r toterr=0
  local -a hdr=() RPS=() CPU=() MEAN=()
  [ -n "${4:-}" ] && hdr=(-H ":authority: $4")
  for r in $(seq "$REPS"); do
    t0=$(cpu_ticks "$pid")
    out=$(h2load -c "$CONNS" -m 10 -t "$THREADS" -D "${DUR%s}" "${hdr[@]}" "http://127.0.0.1:$port/" 2>&1 || true)
    t1=$(cpu_ticks "$pid")
    rps=$(echo "$out" | awk '/^finished in/ {gsub(",", "", $4); print $4}')
    reqs=$(echo "$out" | awk '/^requests:/ {print $8}')
    ok=$(echo "$out" | awk '/^status codes:/ {print $3}')
    mean=$(echo "$out" | awk '/^time for request:/ {v = $6; if (v ~ /ms$/) { sub("ms", "", v); v *= 1000 } else sub("us", "", v); print v}')
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="${reqs:-0}" \
          'BEGIN { if (n > 0) printf "%.1f", d * 1e6 / hz / n; else print "n/a" }')
    RPS+=("${rps:-0}") CPU+=("$cpu") MEAN+=("${mean:-}")
    toterr=$((toterr + ${reqs:-0} - ${ok:-0}))
  done
  rps=$(median "${RPS[@]}") cpu=$(median "${CPU[@]}") mean=$(median "${MEAN[@]}")
  echo "$name|h2c|GET|$rps|mean $mean|$cpu|$toterr|${reqs:-0}" >>"$RESULTS"
  log "$name h2c GET: $rps req/s, $cpu µs CPU/req, $toterr errors (median of $REPS; req/s ${RPS[*]}; µs ${CPU[*]})"
}

# run_lat NAME PORT TARGET HOST: one connection, one request at a time, against
# the origin that writes head and body separately (Nagle/delayed-ACK detector)
LAT=$WORK/lat.txt
: >"$LAT"
run_lat() {
  local res rps p50 p99
  res=$(BENCH_PATH=$3 BENCH_HOST=$4 BENCH_POST=0 \
        wrk -t1 -c1 -d"$LAT_DUR" -s "$ROOT/bench/proxy_wrk.lua" "http://127.0.0.1:$2" 2>&1 |
        awk '/^RESULT/ {print $2, $6, $3}')
  read -r rps p50 p99 <<<"${res:-0 0 0}"
  echo "$1|$rps|$p50|$p99" >>"$LAT"
  log "$1 latency, 1 connection: p50 $p50 µs, p99 $p99 µs ($rps req/s)"
}

# run_connect NAME PORT HOST PID: bulk bytes through one CONNECT tunnel (curl -p,
# BENCH_CONNECT_N responses of 16 KiB over one keep-alive connection inside
# it, at most 20 s: what completed counts, written unbuffered to stderr so a
# timeout loses nothing), REPS runs; proxy CPU ms per
# 100 MiB and MB/s, medians
CONN=$WORK/connect.txt
: >"$CONN"
run_connect() {
  local name=$1 port=$2 host=$3 pid=$4 n=${BENCH_CONNECT_N:-6400} r t0 t1 a b bytes cpu mbs
  local -a CPU=() MBS=()
  for r in $(seq "$REPS"); do
    t0=$(cpu_ticks "$pid")
    a=$(date +%s%N)
    bytes=$({ timeout 20 curl -s -p -x "http://127.0.0.1:$port" "http://$host/c[1-$n]" -o /dev/null \
              -w '%{stderr}%{size_download}\n' 2>&1 || true; } | awk '{ s += $1 } END { print s + 0 }')
    b=$(date +%s%N)
    t1=$(cpu_ticks "$pid")
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$bytes" \
          'BEGIN { if (n > 0) printf "%.0f", d * 1e3 / hz * 104857600 / n; else print "n/a" }')
    mbs=$(awk -v n="$bytes" -v ns=$((b - a)) 'BEGIN { if (ns > 0) printf "%.1f", n / 1e6 / (ns / 1e9); else print "n/a" }')
    CPU+=("$cpu") MBS+=("$mbs")
  done
  cpu=$(median "${CPU[@]}") mbs=$(median "${MBS[@]}")
  echo "$name|$mbs|$cpu|$bytes" >>"$CONN"
  log "$name CONNECT bulk: $mbs MB/s, $cpu ms CPU per 100 MiB (median of $REPS; ms ${CPU[*]})"
}

# idle NAME PORT TARGET HOST PID [h2]: RSS per idle keep-alive client connection
# (h2: per idle HTTP/2 connection after the preface and SETTINGS exchange)
IDLE=$WORK/idle.txt
: >"$IDLE"
idle() {
  [ "${BENCH_SKIP_IDLE:-0}" = 1 ] && return 0
  local name=$1 port=$2 target=$3 host=$4 pid=$5 mode=${6:-h1} r0 r1 held failed i
  sleep 0.5
  r0=$(rss_kb "$pid")
  rm -f "$WORK/idle.ready"
  start_bg "$WORK/idle.log" python3 "$ROOT/bench/proxy_idle.py" "$port" "$IDLE_N" "$target" "$host" \
    "$WORK/idle.ready" "$mode"
  local ipid=$BGPID
  for i in $(seq 900); do [ -s "$WORK/idle.ready" ] && break; sleep 0.1; done
  # settle: sovgw gives the heap of a burst back at most once a second
  # (malloc_trim after the requests drain), so reading RSS 1 s after the ramp
  # caught it before or after that trim at random (1.8 vs 3.9 KiB/connection)
  sleep 2.5
  r1=$(rss_kb "$pid")
  read -r held failed <"$WORK/idle.ready" || { held=0; failed=$IDLE_N; }
  stop_pid "$ipid"
  awk -v n="$name" -v a="$r0" -v b="$r1" -v h="$held" -v f="$failed" 'BEGIN {
    printf "%s|%d|%d|%d|%d|%s\n", n, h, f, a, b, (h > 0 ? sprintf("%.2f", (b - a) / h) : "n/a") }' >>"$IDLE"
  log "$name idle: $held held ($failed failed), RSS $r0 -> $r1 KiB"
}

# ---------------------------------------------------------------- upstream
UP=$(free_port)
start_bg "$WORK/upstream.log" "$WORK/upstream_h1" "$UP" 1
UPPID=$BGPID
wait_port "$UP" || { echo "upstream did not start" >&2; exit 2; }
UP2=$(free_port) # same origin, head and body in two writes
start_bg "$WORK/upstream2.log" "$WORK/upstream_h1" "$UP2" 1 13 1
wait_port "$UP2" || { echo "split upstream did not start" >&2; exit 2; }
UPC=$(free_port) # 16 KiB responses, for the CONNECT tunnel bulk run
start_bg "$WORK/upstreamc.log" "$WORK/upstream_h1" "$UPC" 1 16384
wait_port "$UPC" || { echo "bulk upstream did not start" >&2; exit 2; }
UPHOST=up.bench.example
ABS="http://$UPHOST:$UP/"
ABS2="http://$UPHOST:$UP2/"

log "origin directly (ceiling)"
run_h1 "origin (no proxy)" "$UP" / "127.0.0.1:$UP" "$UPPID"
run_lat "origin (no proxy)" "$UP2" / "127.0.0.1:$UP2"

# ---------------------------------------------------------------- sovgw
cat >"$WORK/policy.yaml" <<EOF
version: 1
defaults: { action: deny }
rules:
  - id: bench-upstream
    match: { host: [$UPHOST], port: [$UP, $UP2, $UPC] }
    action: allow
EOF
for w in 1 2; do
  P=$(free_port)
  A=$(free_port)
  ( cd "$WORK" && exec "$SOVGW" run --policy "$WORK/policy.yaml" --listen "127.0.0.1:$P" \
      --admin "127.0.0.1:$A" --workers "$w" --resolve "$UPHOST:$UP:127.0.0.1" --resolve "$UPHOST:$UP2:127.0.0.1" \
      --resolve "$UPHOST:$UPC:127.0.0.1" \
      --log-file "$WORK/sovgw-$w.log" --log-level warn --max-connections "$MAXCONN" ) \
    >"$WORK/sovgw-$w.out" 2>&1 &
  SPID=$!
  PIDS+=("$SPID")
  if wait_port "$P" && probe "sovgw-$w" "$P" "$ABS" "$UPHOST:$UP"; then
    # idle first: on a fresh process, before load has warmed its pools
    [ "$w" = 1 ] && idle "sovgw (1 worker)" "$P" "$ABS" "$UPHOST:$UP" "$SPID"
    run_h1 "sovgw ($w worker$([ "$w" = 1 ] || echo s))" "$P" "$ABS" "$UPHOST:$UP" "$SPID"
    run_h2c "sovgw ($w worker$([ "$w" = 1 ] || echo s))" "$P" "$SPID" "$UPHOST:$UP"
    [ "$w" = 1 ] && run_lat "sovgw (1 worker)" "$P" "$ABS2" "$UPHOST:$UP2"
    [ "$w" = 1 ] && run_connect "sovgw (1 worker)" "$P" "$UPHOST:$UPC" "$SPID"
  else
    log "sovgw ($w worker(s)) did not run: $(tail -3 "$WORK/sovgw-$w.out" | tr '\n' ' ')"
  fi
  stop_pid "$SPID"
done

# Idle HTTP/2 connections on a fresh process (memory freed by the HTTP/1.1
# idle run would otherwise be reused and hide the cost).
if [ "${BENCH_SKIP_IDLE:-0}" != 1 ]; then
  P=$(free_port)
  ( cd "$WORK" && exec "$SOVGW" run --policy "$WORK/policy.yaml" --listen "127.0.0.1:$P" \
      --admin off --workers 1 --log-file "$WORK/sovgw-idle.log" --log-level warn --max-connections "$MAXCONN" ) \
    >"$WORK/sovgw-idle.out" 2>&1 &
  SPID=$!
  PIDS+=("$SPID")
  wait_port "$P" "$WORK/sovgw-idle.out" && idle "sovgw (1 worker), HTTP/2" "$P" / x "$SPID" h2
  stop_pid "$SPID"
fi

# ---------------------------------------------------------------- peers
for peer in "${AVAIL[@]}"; do
  P=$(free_port)
  case $peer in
    haproxy)
      for t in 1 2; do
        P=$(free_port)
        P2=$(free_port)
        cat >"$WORK/haproxy.cfg" <<EOF
global
  nbthread $t
  maxconn $MAXCONN
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:$P
  default_backend be
backend be
  server s1 127.0.0.1:$UP
frontend fe2
  bind 127.0.0.1:$P2
  default_backend be2
backend be2
  server s2 127.0.0.1:$UP2
EOF
        start_bg "$WORK/haproxy.log" haproxy -db -f "$WORK/haproxy.cfg"
        HP=$BGPID
        if wait_port "$P" "$WORK/haproxy.log" && probe haproxy "$P" / "127.0.0.1:$P"; then
          [ "$t" = 1 ] && idle "HAProxy (1 thread)" "$P" / "127.0.0.1:$P" "$HP"
          run_h1 "HAProxy ($t thread$([ "$t" = 1 ] || echo s))" "$P" / "127.0.0.1:$P" "$HP"
          run_h2c "HAProxy ($t thread$([ "$t" = 1 ] || echo s))" "$P" "$HP"
          [ "$t" = 1 ] && run_lat "HAProxy (1 thread)" "$P2" / "127.0.0.1:$P2"
        fi
        stop_pid "$HP"
      done
      if [ "${BENCH_SKIP_IDLE:-0}" != 1 ]; then # idle HTTP/2, fresh process
        P=$(free_port)
        sed -e "s/^  nbthread .*/  nbthread 1/" -e "s/^  bind 127.0.0.1:[0-9]*$/  bind 127.0.0.1:$P/" \
          -e "/^frontend fe2/,\$d" "$WORK/haproxy.cfg" >"$WORK/haproxy-idle.cfg"
        start_bg "$WORK/haproxy-idle.log" haproxy -db -f "$WORK/haproxy-idle.cfg"
        HP=$BGPID
        wait_port "$P" "$WORK/haproxy-idle.log" && idle "HAProxy (1 thread), HTTP/2" "$P" / x "$HP" h2
        stop_pid "$HP"
      fi
      ;;
    nghttpx)
      start_bg "$WORK/nghttpx.log" nghttpx "--frontend=127.0.0.1,$P;no-tls" "--backend=127.0.0.1,$UP" \
        --workers=1 --no-ocsp --errorlog-file="$WORK/nghttpx.err" --accesslog-file=/dev/null
      NP=$BGPID
      if wait_port "$P" "$WORK/nghttpx.log" && probe nghttpx "$P" / "127.0.0.1:$P"; then
        run_h1 "nghttpx (1 worker)" "$P" / "127.0.0.1:$P" "$NP"
        run_h2c "nghttpx (1 worker)" "$P" "$NP"
      fi
      stop_pid "$NP"
      ;;
    squid)
      mkdir -p "$WORK/squid"
      chmod 777 "$WORK/squid"
      cat >"$WORK/squid.conf" <<EOF
http_port 127.0.0.1:$P
http_access allow all
cache deny all
access_log none
cache_log $WORK/squid/cache.log
pid_filename $WORK/squid/squid.pid
coredump_dir $WORK/squid
workers 1
shutdown_lifetime 1 seconds
EOF
      # Squid resolves the host itself (no --resolve equivalent): target the IP.
      SABS="http://127.0.0.1:$UP/"
      start_bg "$WORK/squid.out" squid -N -f "$WORK/squid.conf"
      QP=$BGPID
      if wait_port "$P" "$WORK/squid/cache.log" && probe squid "$P" "$SABS" "127.0.0.1:$UP"; then
        run_h1 "Squid (1 worker)" "$P" "$SABS" "127.0.0.1:$UP" "$QP"
        run_lat "Squid (1 worker)" "$P" "http://127.0.0.1:$UP2/" "127.0.0.1:$UP2"
        run_connect "Squid (1 worker)" "$P" "127.0.0.1:$UPC" "$QP"
      fi
      stop_pid "$QP"
      ;;
    tinyproxy)
      cat >"$WORK/tinyproxy.conf" <<EOF
Port $P
Listen 127.0.0.1
Timeout 60
MaxClients 1000
Allow 127.0.0.1
LogLevel Critical
LogFile "$WORK/tinyproxy.log"
PidFile "$WORK/tinyproxy.pid"
DisableViaHeader Yes
EOF
      [ "$(id -u)" -eq 0 ] && printf 'User nobody\nGroup nogroup\n' >>"$WORK/tinyproxy.conf"
      touch "$WORK/tinyproxy.log"
      chmod 666 "$WORK/tinyproxy.log"
      start_bg "$WORK/tinyproxy.out" tinyproxy -d -c "$WORK/tinyproxy.conf"
      TP=$BGPID
      TABS="http://127.0.0.1:$UP/"
      if wait_port "$P" "$WORK/tinyproxy.out" && probe tinyproxy "$P" "$TABS" "127.0.0.1:$UP"; then
        run_h1 "tinyproxy" "$P" "$TABS" "127.0.0.1:$UP" "$TP"
        run_lat "tinyproxy" "$P" "http://127.0.0.1:$UP2/" "127.0.0.1:$UP2"
        run_connect "tinyproxy" "$P" "127.0.0.1:$UPC" "$TP"
      fi
      stop_pid "$TP"
      ;;
  esac
done

# ---------------------------------------------------------------- h2 upstream
# HTTP/1.1 clients, an HTTP/2-over-TLS origin (nghttpd, ALPN h2, verified
# against a throw-away CA): sovgw (https:// absolute-form), nghttpx and HAProxy
# (fixed h2 backends). nghttpd serves a 13-byte file.
H2RES=$WORK/h2res.txt
: >"$H2RES"
run_h2up() { # NAME PORT TARGET HOST PID: wrk GET, REPS runs, medians
  local -a RPS CPU
  local r t0 t1 res rps p99 errs reqs cpu toterr=0
  RPS=() CPU=()
  for r in $(seq "$REPS"); do
    t0=$(cpu_ticks "$5")
    res=$(BENCH_PATH=$3 BENCH_HOST=$4 BENCH_POST=0 \
          wrk -t"$THREADS" -c"$CONNS" -d"$DUR" -s "$ROOT/bench/proxy_wrk.lua" \
          "http://127.0.0.1:$2" 2>&1 | awk '/^RESULT/ {print $2, $3, $4, $5}')
    t1=$(cpu_ticks "$5")
    read -r rps p99 errs reqs <<<"${res:-0 0 0 0}"
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" \
          'BEGIN { if (n > 0) printf "%.1f", d * 1e6 / hz / n; else print "n/a" }')
    RPS+=("$rps") CPU+=("$cpu")
    toterr=$((toterr + errs))
  done
  echo "$1|$(median "${RPS[@]}")|$(median "${CPU[@]}")|$toterr" >>"$H2RES"
  log "$1 -> h2 upstream: $(median "${RPS[@]}") req/s, $(median "${CPU[@]}") µs CPU/req, $toterr errors"
}
if [ "${BENCH_SKIP_H2:-0}" != 1 ] && command -v nghttpd >/dev/null; then
  mkdir -p "$WORK/pki" "$WORK/htdocs"
  printf 'hello world\r\n' >"$WORK/htdocs/small"
  (
    cd "$WORK/pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
      -days 2 -subj /CN=bench-ca -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign >/dev/null 2>&1
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr \
      -subj "/CN=$UPHOST" >/dev/null 2>&1
    printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s\n' "$UPHOST" >leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 -extfile leaf.ext \
      -out leaf.pem >/dev/null 2>&1
  )
  H2P=$(free_port)
  start_bg "$WORK/nghttpd.log" nghttpd -n 1 -d "$WORK/htdocs" "$H2P" "$WORK/pki/leaf.key" "$WORK/pki/leaf.pem"
  NGD=$BGPID
  if wait_port "$H2P" "$WORK/nghttpd.log"; then
    cat >"$WORK/policy-h2.yaml" <<EOF
version: 1
defaults: { action: deny }
rules:
  - id: bench-h2
    match: { host: [$UPHOST], port: [$H2P] }
    action: allow
EOF
    P=$(free_port)
    ( cd "$WORK" && exec "$SOVGW" run --policy "$WORK/policy-h2.yaml" --listen "127.0.0.1:$P" \
        --admin off --workers 1 --resolve "$UPHOST:$H2P:127.0.0.1" --upstream-ca "$WORK/pki/ca.pem" \
        --log-file "$WORK/sovgw-h2.log" --log-level warn ) >"$WORK/sovgw-h2.out" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    if wait_port "$P" "$WORK/sovgw-h2.out" && probe sovgw-h2 "$P" "https://$UPHOST:$H2P/small" "$UPHOST:$H2P"; then
      run_h2up "sovgw (1 worker)" "$P" "https://$UPHOST:$H2P/small" "$UPHOST:$H2P" "$SPID"
    fi
    stop_pid "$SPID"
    if [[ " ${AVAIL[*]} " == *" nghttpx "* ]]; then
      P=$(free_port)
      start_bg "$WORK/nghttpx-h2.log" nghttpx "--frontend=127.0.0.1,$P;no-tls" \
        "--backend=127.0.0.1,$H2P;;proto=h2;tls;sni=$UPHOST" --cacert="$WORK/pki/ca.pem" \
        --workers=1 --no-ocsp --errorlog-file="$WORK/nghttpx-h2.err" --accesslog-file=/dev/null
      NP=$BGPID
      if wait_port "$P" "$WORK/nghttpx-h2.log" && probe nghttpx-h2 "$P" /small "127.0.0.1:$P"; then
        run_h2up "nghttpx (1 worker)" "$P" /small "127.0.0.1:$P" "$NP"
      fi
      stop_pid "$NP"
    fi
    if [[ " ${AVAIL[*]} " == *" haproxy "* ]]; then
      P=$(free_port)
      cat >"$WORK/haproxy-h2.cfg" <<EOF
global
  nbthread 1
  maxconn $MAXCONN
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:$P
  default_backend be
backend be
  server s1 127.0.0.1:$H2P ssl verify required ca-file $WORK/pki/ca.pem sni str($UPHOST) alpn h2
EOF
      start_bg "$WORK/haproxy-h2.log" haproxy -db -f "$WORK/haproxy-h2.cfg"
      HP=$BGPID
      if wait_port "$P" "$WORK/haproxy-h2.log" && probe haproxy-h2 "$P" /small "127.0.0.1:$P"; then
        run_h2up "HAProxy (1 thread)" "$P" /small "127.0.0.1:$P" "$HP"
      fi
      stop_pid "$HP"
    fi
  fi
  stop_pid "$NGD"
fi

# ---------------------------------------------------------------- head to head
# sovgw (1 worker) and HAProxy (1 thread) in turn, round by round, the order
# rotating (bench/proxy_ab.sh): the same-run req/s comparison that the
# machine's swings move least (the sequential tables above run each proxy's
# repetitions back to back).
AB=$WORK/ab.txt
: >"$AB"
AB_ROUNDS=${BENCH_AB_ROUNDS:-5}
if [ "${BENCH_SKIP_AB:-0}" != 1 ] && [[ " ${AVAIL[*]} " == *" haproxy "* ]]; then
  loads="GET POST-1KiB"
  command -v h2load >/dev/null && [ "${BENCH_SKIP_H2C:-0}" != 1 ] && loads+=" h2c-GET"
  for load in $loads; do
    log "head to head, $load: $AB_ROUNDS alternated rounds"
    AB_POST=$([ "$load" = POST-1KiB ] && echo 1 || echo 0) AB_H2C=$([ "$load" = h2c-GET ] && echo 1 || echo 0) \
      AB_STRACE=0 AB_DURATION=$DUR AB_CONNS=$CONNS \
      timeout 1200 "$ROOT/bench/proxy_ab.sh" "$SOVGW" - "$AB_ROUNDS" >"$WORK/ab-$load.txt" 2>&1 || true
    awk -v l="$load" -F'|' '$2 == " sovgw " && $5 ~ / of / && NF == 6 {
        for (i = 3; i <= 5; i++) gsub(/^ +| +$/, "", $i); print l "|" $3 "|" $4 "|" $5 }' \
      "$WORK/ab-$load.txt" >>"$AB"
  done
fi

# ---------------------------------------------------------------- report
{
  echo "Proxy benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)),"
  echo "wrk -t$THREADS -c$CONNS -d$DUR keep-alive, median of $REPS runs; origin: bench/upstream_h1 (1 thread, 13-byte body) on the same machine."
  echo "sovgw, Squid and tinyproxy are explicit forward proxies (absolute-form); HAProxy and nghttpx forward to a"
  echo "fixed upstream (less work per request). CPU µs/req = proxy utime+stime (all threads and children) / requests."
  echo "Load generator, origin and proxy share the machine: compare ratios, not absolute numbers."
  echo "tinyproxy does not keep client connections alive: its 'errors' are wrk reconnects, not failures."
  echo
  echo "| proxy | downstream | load | req/s | p99 latency (µs; h2c: mean) | CPU µs/req | errors |"
  echo "| --- | --- | --- | ---: | ---: | ---: | ---: |"
  while IFS='|' read -r name proto load rps p99 cpu errs reqs; do
    echo "| $name | $proto | $load | $rps | $p99 | $cpu | $errs |"
  done <"$RESULTS"
  if grep -q '^sovgw (1 worker)|h1|' "$RESULTS"; then
    echo
    echo "Ratios: sovgw (1 worker) / peer, HTTP/1.1 (req/s > 1: sovgw faster; CPU/req < 1: sovgw cheaper)"
    echo
    echo "| peer | load | req/s ratio | CPU/req ratio |"
    echo "| --- | --- | ---: | ---: |"
    awk -F'|' '
      $2 == "h1" { rps[$1 "|" $3] = $4; cpu[$1 "|" $3] = $6; if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
      END {
        for (i = 0; i < n; i++) {
          p = order[i]
          if (p ~ /^sovgw/ || p ~ /^origin/) continue
          for (l = 0; l < 2; l++) {
            load = (l == 0 ? "GET" : "POST-1KiB")
            s = "sovgw (1 worker)|" load
            if (!((p "|" load) in rps) || !(s in rps)) continue
            rr = (rps[p "|" load] > 0 ? sprintf("%.2f", rps[s] / rps[p "|" load]) : "n/a")
            cr = (cpu[p "|" load] + 0 > 0 && cpu[s] != "n/a" ? sprintf("%.2f", cpu[s] / cpu[p "|" load]) : "n/a")
            printf "| %s | %s | %s | %s |\n", p, load, rr, cr
          }
        }
      }' "$RESULTS"
  fi
  if grep -q '^sovgw (1 worker)|h2c|' "$RESULTS"; then
    echo
    echo "Ratios: sovgw (1 worker) / peer, h2c downstream (h2load -c$CONNS -m10 -D${DUR%s}, median of $REPS; sovgw forwards each stream"
    echo "to the HTTP/1.1 origin as an explicit proxy, the peers as fixed-upstream forwarders)"
    echo
    echo "| peer | req/s ratio | CPU/req ratio |"
    echo "| --- | ---: | ---: |"
    awk -F'|' '
      $2 == "h2c" { rps[$1] = $4; cpu[$1] = $6; if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
      END {
        s = "sovgw (1 worker)"
        for (i = 0; i < n; i++) {
          p = order[i]
          if (p ~ /^sovgw/) continue
          rr = (rps[p] > 0 ? sprintf("%.2f", rps[s] / rps[p]) : "n/a")
          cr = (cpu[p] + 0 > 0 && cpu[s] != "n/a" ? sprintf("%.2f", cpu[s] / cpu[p]) : "n/a")
          printf "| %s | %s | %s |\n", p, rr, cr
        }
      }' "$RESULTS"
  fi
  if [ -s "$AB" ]; then
    echo
    echo "Head to head, alternated: sovgw (1 worker) and HAProxy (1 thread) take turns, the order rotating,"
    echo "$AB_ROUNDS rounds of wrk -t2 -c$CONNS -d$DUR each (h2c: h2load -c$CONNS -m10; bench/proxy_ab.sh); each round's"
    echo "ratio, then their median:"
    echo
    echo "| load | req/s ratio sovgw / HAProxy | CPU/req ratio | rounds where sovgw served more |"
    echo "| --- | ---: | ---: | ---: |"
    while IFS='|' read -r load rr cr wins; do
      echo "| $load | $rr | $cr | $wins |"
    done <"$AB"
  fi
  if [ -s "$H2RES" ]; then
    echo
    echo "HTTP/1.1 clients through the proxy to an HTTP/2 origin over TLS (nghttpd, 1 thread, ALPN h2,"
    echo "certificate verified; 13-byte file), wrk GET, median of $REPS:"
    echo
    echo "| proxy | req/s | CPU µs/req | errors |"
    echo "| --- | ---: | ---: | ---: |"
    while IFS='|' read -r name rps cpu errs; do
      echo "| $name | $rps | $cpu | $errs |"
    done <"$H2RES"
  fi
  if [ -s "$LAT" ]; then
    echo
    echo "Latency with one connection and one request at a time (wrk -t1 -c1 -d$LAT_DUR), against an"
    echo "origin that writes each response head and body with separate write(2) calls:"
    echo
    echo "| proxy | req/s | p50 (µs) | p99 (µs) |"
    echo "| --- | ---: | ---: | ---: |"
    while IFS='|' read -r name rps p50 p99; do
      echo "| $name | $rps | $p50 | $p99 |"
    done <"$LAT"
  fi
  if [ -s "$CONN" ]; then
    echo
    echo "Bulk through a CONNECT tunnel (curl -p: ${BENCH_CONNECT_N:-6400} responses of 16 KiB on one keep-alive"
    echo "connection inside one tunnel; what HTTPS_PROXY clients do), median of $REPS:"
    echo
    echo "| proxy | MB/s | CPU ms per 100 MiB | ratio to sovgw's CPU |"
    echo "| --- | ---: | ---: | ---: |"
    awk -F'|' '{ name[NR] = $1; mbs[NR] = $2; cpu[NR] = $3; if ($1 == "sovgw (1 worker)") s = $3 }
      END { for (i = 1; i <= NR; i++)
              printf "| %s | %s | %s | %s |\n", name[i], mbs[i], cpu[i],
                     (s + 0 > 0 && cpu[i] + 0 > 0 ? sprintf("%.2f", cpu[i] / s) : "n/a") }' "$CONN"
  fi
  if [ -s "$IDLE" ]; then
    echo
    echo "Memory per idle keep-alive client connection ($IDLE_N connections, each after one request;"
    echo "HTTP/2 rows: after the preface and SETTINGS exchange, no request):"
    echo
    echo "| proxy | held | failed | RSS before (KiB) | RSS after (KiB) | KiB per connection |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    while IFS='|' read -r name held failed a b per; do
      echo "| $name | $held | $failed | $a | $b | $per |"
    done <"$IDLE"
  fi
} | tee "$OUT/proxy.md"
