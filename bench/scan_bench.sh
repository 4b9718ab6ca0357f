#!/usr/bin/env bash
# bench/scan_bench.sh — single-core scan throughput of sovgw's classifiers
# against memchr, ripgrep, Hyperscan and PCRE2 on the shared JSON-prompt
# corpus, the stage breakdown, and the flatness sweeps. Prints MB/s per core
# and the ratios; the numbers belong in docs/performance.md ("## Scanning").
#
#   bench/scan_bench.sh [MB]        (default 200; corpus cached under build/;
#                                    also the first 50 MB as Converse text
#                                    blocks, bench/converse_shape.py)
#   bench/scan_bench.sh digests [MB] the findings references a scanner change
#                                    must leave identical (see below)
#   bench/scan_bench.sh worst [MB]   adversarial bodies, one shape each
#                                    (bench/adversarial_corpus.py, MB each,
#                                    default 5): sovgw, ripgrep, Hyperscan
#
# Everything runs pinned to one CPU (taskset) when available. Bounded: about
# five minutes on a 2-core machine, most of it generating the corpus once.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=bench
if [ "${1:-}" = digests ] || [ "${1:-}" = worst ]; then
    MODE=$1
    shift
fi
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
cmake --build "$OUT/build" -j2 --target sgw_classifiers sgw_common $([ $MODE = digests ] && echo sovgw) >/dev/null
CC=${CC:-clang}
$CC -O2 -std=c17 -D_GNU_SOURCE -I"$ROOT" "$ROOT/bench/scan_bench.c" \
    "$OUT/build/libsgw_classifiers.a" "$OUT/build/libsgw_common.a" \
    $(pkg-config --libs libhs libpcre2-8 zlib libbrotlidec libzstd liblzma) -lbz2 -lcrypto -lm -lstdc++ \
    -o "$OUT/scan_bench"
B="$PIN $OUT/scan_bench"

if [ $MODE = worst ]; then
    # The worst cases: MB/s of each scanner on each adversarial shape (best
    # of two), the ratios, and the slowest shape of each scanner.
    WMB=${1:-5}
    WDIR=$OUT/worst-$WMB
    [ -s "$WDIR/password.jsonl" ] || python3 "$ROOT/bench/adversarial_corpus.py" "$WDIR" "$WMB"
    have_rg=0
    command -v rg >/dev/null && have_rg=1
    mbs() { awk -v b="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.0f", b / 1e6 / (t1 - t0) }'; }
    printf '%-14s %8s %8s %10s %9s %9s\n' shape sovgw ripgrep hyperscan "/ripgrep" "/hyperscan"
    lo_s="" lo_r="" lo_h=""
    for f in "$WDIR"/*.jsonl; do
        name=$(basename "$f" .jsonl)
        bytes=$(stat -L -c %s "$f")
        s=0 r=0 h=0
        for round in 1 2; do
            v=$($B sovgw "$f" | awk '/^sovgw /{print $2}')
            [ "$v" -gt "$s" ] && s=$v
            if [ $have_rg = 1 ]; then
                t0=$(date +%s.%N)
                $PIN rg -j1 -c -f "$PATTERNS" "$f" >/dev/null || true
                t1=$(date +%s.%N)
                v=$(mbs "$bytes" "$t0" "$t1")
                [ "$v" -gt "$r" ] && r=$v
            fi
            v=$($B hyperscan "$PATTERNS" "$f" | awk '/^hyperscan /{print $2}')
            [ "$v" -gt "$h" ] && h=$v
        done
        printf '%-14s %8s %8s %10s %9s %9s\n' "$name" "$s" "$r" "$h" \
            "$(awk -v a=$s -v b=$r 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')" \
            "$(awk -v a=$s -v b=$h 'BEGIN { printf "%.2f", a / b }')"
        if [ -z "$lo_s" ] || [ "$s" -lt "${lo_s%% *}" ]; then lo_s="$s $name"; fi
        if [ -z "$lo_r" ] || [ "$r" -lt "${lo_r%% *}" ]; then lo_r="$r $name"; fi
        if [ -z "$lo_h" ] || [ "$h" -lt "${lo_h%% *}" ]; then lo_h="$h $name"; fi
    done
    echo "slowest: sovgw $lo_s; ripgrep $lo_r; hyperscan $lo_h (MB/s shape)"
    exit 0
fi

if [ ! -s "$CORPUS" ]; then
    echo "== corpus: $MB MB =="
    python3 "$GEN" "$CORPUS" "$MB"
fi
BYTES=$(stat -L -c %s "$CORPUS")

if [ $MODE = digests ]; then
    # Findings references: run before and after a scanner change, the output
    # must be identical. scan_bench digest hashes every finding (type, span,
    # confidence, flags, category, decoder path, masked excerpt, reason);
    # the jsonl lines are md5sums of `sovgw scan --format jsonl`. Inputs: a
    # 50 MB slice of the corpus, fed in 7- and 65,536-byte pieces; a corpus
    # dense in everything the scanner decides on (numbers, dates, context
    # words in random case, secret anchors, dictionary terms and
    # custom-regex hits of scan_bench's generators), generated with a fixed
    # seed, in 1-, 13- and 65,536-byte pieces with the default packs and
    # with 10,000 dictionary terms and 500 custom regexes ("all"); the
    # labelled set.
    SLICE50=$OUT/slice-50.jsonl
    DENSE=$OUT/dense.jsonl
    [ -s "$SLICE50" ] || head -c 50000000 "$CORPUS" | head -n -1 > "$SLICE50"
    python3 - "$ROOT/classifiers/packs.c" "$DENSE" <<'PY'
import json, random, re, sys
random.seed(4)
src = open(sys.argv[1], encoding='utf-8').read()
# the types' context words: only the W(...) lists, so that a comment or a
# validator's table added to packs.c does not change the corpus
types = src[src.find('cls_types[]'):src.find('cls_patterns[]')]
words = sorted(set(w for l in re.findall(r'W\(([^)]*)\)', types) for w in re.findall(r'"([^"%\\]{2,40})"', l)))
words = [w for w in words if w == w.lower() or not w.isascii()]
anchors = re.findall(r'\{"([^"]+)", CLS_A_', src)
syl = ["ka", "lo", "mi", "ne", "su", "ra", "to", "vi", "ze", "qu", "bor", "dan", "fel", "gri", "hux", "jor", "pim", "wex"]
def term(i):  # scan_bench.c make_terms
    x = (i * 2654435761 + 17) & 0xffffffffffffffff
    return "%s%s%s%d" % (syl[x % 18], syl[(x // 18) % 18], syl[(x // 324) % 18], i % 97)
def custom(i):  # matches scan_bench.c make_regexes
    return "K%s%s%d-%s" % (chr(65 + i % 26), chr(65 + (i // 26) % 26), i,
                           "".join(random.choice("0123456789") for _ in range(random.randint(3, 9))))
filler = "the of and to in is for on with as by at from this that data setting using single nation insurance transit registry birth pass born".split()
def num():
    k = random.randint(0, 9)
    if k == 0: return str(random.randint(0, 10 ** random.randint(1, 16)))
    if k == 1: return "%03d-%02d-%04d" % (random.randint(0, 999), random.randint(0, 99), random.randint(0, 9999))
    if k == 2: return "%04d-%02d-%02d" % (random.randint(1890, 2040), random.randint(0, 13), random.randint(0, 32))
    if k == 3: return "%02d.%02d.%04d" % (random.randint(0, 32), random.randint(0, 13), random.randint(1890, 2040))
    if k == 4: return " ".join("%04d" % random.randint(0, 9999) for _ in range(4))
    if k == 5: return "+%d %d" % (random.randint(1, 99), random.randint(10 ** 6, 10 ** 11))
    if k == 6: return "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(random.randint(6, 12)))
    if k == 7: return "%d.%d.%d.%d" % tuple(random.randint(0, 300) for _ in range(4))
    if k == 8: return "user%d@example%d.com" % (random.randint(0, 999), random.randint(0, 9))
    return "DE89 3704 0044 0532 0130 00" if random.random() < .3 else "%09d" % random.randint(0, 10 ** 9 - 1)
def tok():
    r = random.random()
    if r < .25: return random.choice(filler)
    if r < .45:
        w = random.choice(words)
        return w.upper() if random.random() < .2 else (w.title() if random.random() < .2 else w)
    if r < .70: return num()
    if r < .78: return random.choice(anchors) + "".join(random.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") for _ in range(random.randint(0, 44)))
    if r < .88: return term(random.randint(0, 10500))
    if r < .95: return custom(random.randint(0, 520))
    return random.choice(["password=", "api_key: ", "secret=", "token ", "://", "-----BEGIN RSA PRIVATE KEY-----"]) + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(random.randint(8, 40)))
def text(n):
    seps = [" ", " ", " ", ", ", ": ", "\n", "-", "/", "", "#"]
    return "".join(tok() + random.choice(seps) for _ in range(n))
with open(sys.argv[2], 'w') as out:
    for b in range(3000):
        keys = ["content", "text", random.choice(words), "ssn", "dob", "note", "phone_number", "iban"]
        body = {"model": "m", "messages": [{"role": "user", "content": text(random.randint(5, 120))} for _ in range(random.randint(1, 4))]}
        for _ in range(random.randint(0, 4)):
            body[random.choice(keys)] = text(random.randint(1, 10))
        out.write(json.dumps(body, ensure_ascii=random.random() < .5) + "\n")
PY
    SB="$OUT/scan_bench"
    SV="$OUT/build/sovgw"
    for c in 7 65536; do $SB digest "$SLICE50" $c; done
    # the slice's first 10 MB as Converse text blocks cut at random: the
    # seams between blocks (bench/converse_shape.py)
    SPLIT10=$OUT/split-10.jsonl
    [ -s "$SPLIT10" ] || python3 "$ROOT/bench/converse_shape.py" "$SLICE50" "$SPLIT10" split 10
    for c in 7 65536; do echo "$($SB digest "$SPLIT10" $c) (converse split)"; done
    for cfg in default all; do for c in 1 13 65536; do $SB digest "$DENSE" $c $cfg; done; done
    jl() { # name, sovgw scan arguments...
        local name=$1; shift
        echo "jsonl $name $("$SV" scan --format jsonl "$@" 2>&1 | md5sum | cut -d' ' -f1)"
    }
    jl labelled "$ROOT/tests/data/classifiers"
    jl slice50-ndjson --content-type application/x-ndjson "$SLICE50"
    jl dense-text --content-type text/plain "$DENSE"
    exit 0
fi
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

# The same prose in the shape Bedrock's Converse API sends it (each
# message's content a list of text blocks): one block per message, and cut
# at random into blocks of 20-300 characters, which the JSON decoder joins
# by seams. Against the corpus's own first 50 MB, alternated, best of three.
echo "== shapes: the corpus's first 50 MB as Converse text blocks (MB/s, one core) =="
SLICE50=$OUT/slice-50.jsonl
[ -s "$SLICE50" ] || head -c 50000000 "$CORPUS" | head -n -1 > "$SLICE50"
for shape in blocks split; do
    [ -s "$OUT/$shape-50.jsonl" ] || python3 "$ROOT/bench/converse_shape.py" "$SLICE50" "$OUT/$shape-50.jsonl" $shape
done
for round in 1 2 3; do
    for shape in slice blocks split; do
        f=$SLICE50
        [ $shape = slice ] || f=$OUT/$shape-50.jsonl
        best "shape_$shape" "$($B sovgw "$f" | awk '/^sovgw /{print $2}')"
    done
done

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
printf '%-28s %10s %14s\n' "shape (50 MB)" MB/s "vs plain"
for k in slice blocks split; do
    printf '%-28s %10s %14s\n' "$k" "${R[shape_$k]}" "$(ratio "${R[shape_$k]}" "${R[shape_slice]}")"
done
# each sweep point ran in five back-to-back pairs with the default packs
# (same binary, same moment): the median pair ratio is what stays comparable
# on a busy machine
printf '%-28s %10s %14s\n' "sweep point" MB/s "vs default"
lo=""
for k in regexes_10 regexes_50 regexes_100 regexes_500 dict_100 dict_1000 dict_10000; do
    q=${Q[$k]:-0}
    printf '%-28s %10s %14s\n' "$k" "${R[$k]}" "$q"
    if [ -z "$lo" ] || awk -v a="$q" -v b="$lo" 'BEGIN { exit !(a < b) }'; then lo=$q; fi
done
echo "flatness (slowest sweep point / default packs, median of 5 back-to-back pairs) $lo"
