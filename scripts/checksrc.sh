#!/usr/bin/env bash
# Standing source checks, run by ctest: banned calls and DESIGN.md's module
# fences (which module may include which third-party header). Prints every
# violation as file:line: message and exits 1 when there is any.
set -u
cd "$(dirname "$0")/.."
rc=0
report() { echo "$1: $2"; rc=1; }

src=$(find common proxy rules store classifiers -name '*.[ch]' | sort)

# Banned calls: unbounded or unchecked conversions and copies (STYLE.md).
while IFS= read -r hit; do
  [ -n "$hit" ] && report "${hit%%:*}:$(echo "$hit" | cut -d: -f2)" "banned call: $(echo "$hit" | grep -oE '\b(sscanf|atoi|atol|atoll|strcpy|strcat|sprintf|vsprintf|strtok|gets)\b' | head -1)"
done < <(grep -nE '(^|[^_a-zA-Z0-9])(sscanf|atoi|atol|atoll|strcpy|strcat|sprintf|vsprintf|strtok|gets)[[:space:]]*\(' $src /dev/null | grep -vE '^\S+:[0-9]+:\s*(/\*|\*|//)')

# Module fences: header -> folders allowed to include it.
fence() { # $1 = include regex, $2 = allowed folder regex
  while IFS= read -r hit; do
    f=${hit%%:*}
    echo "$f" | grep -qE "^($2)/" || report "$f:$(echo "$hit" | cut -d: -f2)" "includes $(echo "$hit" | grep -oE '<[^>]+>') outside $2/"
  done < <(grep -nE "#include[[:space:]]*<($1)" $src /dev/null)
}
fence 'lmdb\.h' 'store'
fence 'pcre2\.h|hs/|hs\.h' 'classifiers'
fence 'event2/|nghttp2/|openssl/ssl\.h' 'proxy'
fence 'maxminddb\.h' 'rules'
fence 'yaml\.h' 'rules|proxy'
exit $rc
