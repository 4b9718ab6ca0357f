#!/usr/bin/env bash
# bench/scan_bench.sh — single-core scan throughput of sovgw's classifiers
# against memchr, ripgrep, Hyperscan and PCRE2 on the shared JSON-prompt
# corpus, the stage breakdown, and the flatness sweeps. Prints MB/s per core
# and the ratios; the numbers belong in docs/performance.md ("## Scanning").
#
#   bench/scan_bench.sh [MB]        (default 200; corpus cached under build/)
#
# Everything runs pinned to one CPU (taskset) when available. Bounded: about
# five minutes on a 2-core machine, most of it generating the corpus once.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MB=${1:-200}
OUT=${SGW_BUILD:-$ROOT/build}/scan-bench
mkdir -p "$OUT"
PATTERNS=/work/shared/bench/reference-patterns.txt
GEN=/work/shared/bench/gen_corpus.py
[ -f "$PATTERNS" ] || PATTERNS=$ROOT/bench/reference-patterns.txt
CORPUS=$OUT/corpus-$MB.jsonl
PIN=""
command -v taskset >/dev/null && PIN="taskset -c $(( $(nproc) - 1 ))"

echo "== build (Release, clang) =="
cmake -S "$ROOT" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang >/dev/null
cmake --build "$OUT/build" -j2 --target sgw_classifiers sgw_common >/dev/null
CC=${CC:-clang}
$CC -O2 -std=c17 -D_GNU_SOURCE -I"$ROOT" "$ROOT/bench/scan_bench.c" \
    "$OUT/build/libsgw_classifiers.a" "$OUT/build/libsgw_common.a" \
    $(pkg-config --libs libhs libpcre2-8 zlib libbrotlidec libzstd) -lcrypto -lm -lstdc++ \
    -o "$OUT/scan_bench"
B="$PIN $OUT/scan_bench"

if [ ! -s "$CORPUS" ]; then
    echo "== corpus: $MB MB =="
    python3 "$GEN" "$CORPUS" "$MB"
fi
BYTES=$(stat -L -c %s "$CORPUS")
echo "corpus: $CORPUS ($BYTES bytes), cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

declare -A R
declare -A Q
run() { # name, command...; keeps the MB/s figure (2nd field of the line named name)
    local name=$1; shift
    local line
    line=$("$@" | grep "^$name " | tail -1)
    echo "$line"
    R[$name]=$(echo "$line" | awk '{print $2}')
    Q[$name]=$(echo "$line" | sed -n 's/.*ratio=\([0-9.]*\).*/\1/p')
}

echo "== peers and sovgw (MB/s, one core) =="
run memchr $B memchr "$CORPUS"
# sovgw, ripgrep and Hyperscan in three alternated rounds, best of each, so
# that the load of a shared machine weighs on all three alike
best() { # name value: keeps the larger
    if [ -z "${R[$1]:-}" ] || [ "$2" -gt "${R[$1]}" ]; then R[$1]=$2; fi
}
have_rg=0
command -v rg >/dev/null && have_rg=1
[ $have_rg = 1 ] || echo "ripgrep: not installed (scripts/deps.sh bench)"
for round in 1 2 3; do
    line=$($B sovgw "$CORPUS" | grep '^sovgw ')
    [ $round = 1 ] && echo "$line"
    best sovgw "$(echo "$line" | awk '{print $2}')"
    if [ $have_rg = 1 ]; then
        t0=$(date +%s.%N)
        $PIN rg -j1 -c -f "$PATTERNS" "$CORPUS" >/dev/null || true
        t1=$(date +%s.%N)
        best ripgrep "$(echo "$BYTES $t0 $t1" | awk '{printf "%.0f", $1/1e6/($3-$2)}')"
    fi
    line=$($B hyperscan "$PATTERNS" "$CORPUS" | grep '^hyperscan ')
    [ $round = 1 ] && echo "$line"
    best hyperscan "$(echo "$line" | awk '{print $2}')"
    echo "round $round: sovgw ${R[sovgw]} ripgrep ${R[ripgrep]:-n/a} hyperscan ${R[hyperscan]} (best so far)"
done
run pcre2 $B pcre2 "$PATTERNS" "$CORPUS" 20

echo "== stages (sovgw, default packs) =="
$B stages "$CORPUS"

echo "== flatness: custom regexes and dictionary terms on top of the default packs =="
for n in 10 50 100 500; do run regexes_$n $B regexes $n "$CORPUS"; done
for n in 100 1000 10000; do run dict_$n $B dict $n "$CORPUS"; done

echo "== summary =="
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf '%-28s %10s\n' scanner MB/s
for k in memchr sovgw ripgrep hyperscan pcre2; do printf '%-28s %10s\n' "$k" "${R[$k]:-n/a}"; done
echo "sovgw/ripgrep   $(ratio "${R[sovgw]}" "${R[ripgrep]:-0}")"
echo "sovgw/hyperscan $(ratio "${R[sovgw]}" "${R[hyperscan]}")"
# each sweep point ran alternately with the default packs (same binary,
# same moment): its ratio to them is what stays comparable on a busy machine
printf '%-28s %10s %14s\n' "sweep point" MB/s "vs default"
lo=""
for k in regexes_10 regexes_50 regexes_100 regexes_500 dict_100 dict_1000 dict_10000; do
    q=${Q[$k]:-0}
    printf '%-28s %10s %14s\n' "$k" "${R[$k]}" "$q"
    if [ -z "$lo" ] || awk -v a="$q" -v b="$lo" 'BEGIN { exit !(a < b) }'; then lo=$q; fi
done
echo "flatness (slowest sweep point / default packs, alternated runs) $lo"
