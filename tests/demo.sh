#!/bin/sh
# demo.sh - fetch the bundled sample site (tests/data/site) with pagegrab,
# once in thread mode and once in process mode, and check both copies.
#
#   sh tests/demo.sh            (what `make demo` runs after building)
#
# Uses PAGEGRAB_BIN (default build/pagegrab) and PG_BUILD_DIR/tests/pg-serve.
# The output stays in a fresh directory under $TMPDIR (or /tmp), printed at
# the end. The server listens on 127.0.0.1 only and is stopped on exit.

set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${PG_BUILD_DIR:-$root/build}
bin=${PAGEGRAB_BIN:-$build/pagegrab}
serve=$build/tests/pg-serve
site=$here/data/site

. "$here/lib/serve.sh"

for f in "$bin" "$serve"; do
    if [ ! -x "$f" ]; then
        echo "demo: '$f' is not built; run 'make all test-progs'" >&2
        exit 1
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pagegrab-demo.XXXXXX") || exit 1
trap 'pg_serve_stop' EXIT
trap 'exit 130' INT TERM HUP

pg_serve_start "$serve" "$site" "$work" || exit 1
port=$PG_SERVE_PORT
pg_site_urls "$site" "$port" >"$work/urls.txt"
count=$(wc -l <"$work/urls.txt" | tr -d ' ')
echo "demo: serving $site on http://127.0.0.1:$port/ ($count files)"

status=0
for mode in thread process; do
    out=$work/$mode
    echo
    echo "== $mode mode: pagegrab --mode $mode -j 4 -i urls.txt -o $out"
    # stderr (progress bar, summary line) goes where stdout goes.
    "$bin" --mode "$mode" -j 4 -i "$work/urls.txt" -o "$out" \
        --manifest "$work/$mode.jsonl" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "demo: pagegrab --mode $mode exited with $rc" >&2
        status=1
    fi
    if pg_check_tree "$site" "$out" "$port"; then
        echo "demo: $mode mode: all $count files identical to the site"
    else
        echo "demo: $mode mode: the copy differs from the site" >&2
        status=1
    fi
done

pg_serve_stop
echo
echo "output:    $work/thread/127.0.0.1:$port/"
echo "           $work/process/127.0.0.1:$port/"
echo "manifests: $work/thread.jsonl $work/process.jsonl"
if [ "$status" -eq 0 ]; then
    echo "demo: OK"
else
    echo "demo: FAILED" >&2
fi
exit $status
