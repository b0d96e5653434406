#!/bin/sh
# shape.sh - the shape of the house, checked (STYLE.md, "The shape of the
# house"): no file in src/ or cmd/ over 800 lines, no function over 100
# lines (cmd/args.c's flat option switch excepted), and no #include cycle
# among the modules of src/.  Prints what it finds; exits 1 on a miss.
#
#   sh tests/lint/shape.sh          check
#   sh tests/lint/shape.sh graph    also print the include graph of src/

cd "$(dirname "$0")/../.." || exit 2
MAX_FILE=800
MAX_FUNC=100
fail=0

# Files.
for f in src/*.c src/*.h cmd/*.c cmd/*.h; do
    n=$(wc -l <"$f")
    if [ "$n" -gt "$MAX_FILE" ]; then
        echo "shape: $f: $n lines (limit $MAX_FILE)"
        fail=1
    fi
done

# Functions: the house style opens a function body with '{' alone in
# column 0 and closes it with '}' in column 0; the name is on the line
# before (or the one before that, for a wrapped parameter list).
long=$(awk -v max="$MAX_FUNC" '
    FNR == 1 { prev = ""; prev2 = ""; inside = 0 }
    inside && /^}/ {
        if (FNR - start > max)
            printf "%s:%d: %s: %d lines (limit %d)\n", FILENAME, start,
                   name, FNR - start - 1, max
        inside = 0
    }
    !inside && /^\{$/ {
        inside = 1; start = FNR
        name = (prev ~ /\(/) ? prev : prev2 " " prev
        sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
    }
    { prev2 = prev; prev = $0 }
' src/*.c cmd/*.c | grep -v '^cmd/args\.c:.*: apply:')
if [ -n "$long" ]; then
    echo "$long" | sed 's/^/shape: /'
    fail=1
fi

# The include graph of src/: module -> module it includes.  tsort(1)
# reports a loop on stderr.
edges=$(for f in src/*.c src/*.h; do
    m=$(basename "$f"); m=${m%.*}
    sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$f" |
        while read -r h; do
            h=$(basename "$h")
            [ "$h" != "$m" ] && echo "$m $h"
        done
done | sort -u)
[ "$1" = graph ] && echo "$edges"
loop=$(echo "$edges" | tsort 2>&1 >/dev/null)
if [ -n "$loop" ]; then
    echo "shape: #include cycle in src/:"
    echo "$loop" | sed "s/^tsort: //; s/^/shape:   /"
    fail=1
fi

[ "$fail" = 0 ] && echo "shape: ok"
exit "$fail"
