#!/bin/sh
# valgrind.sh - run a thread-mode and a process-mode batch and crawl of the
# sample site, each with K = 1 and K = 4 transfers per worker,
# under valgrind; fail on any memory error or definite/indirect leak
# (in the parent or in any worker process).
#
#   PAGEGRAB_BIN=build/pagegrab PG_BUILD_DIR=build sh tests/valgrind.sh
#
# (what `make valgrind` runs). The server is pg-serve on 127.0.0.1,
# stopped by pid on exit. Exit status: 0 both runs clean, 1 otherwise,
# 77 when valgrind is not installed.

set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${PG_BUILD_DIR:-$root/build}
bin=${PAGEGRAB_BIN:-$build/pagegrab}
serve=$build/tests/pg-serve
site=$here/data/site

. "$here/lib/serve.sh"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind.sh: valgrind is not installed (sh tests/install-deps.sh)" >&2
    exit 77
fi
for f in "$bin" "$serve"; do
    if [ ! -x "$f" ]; then
        echo "valgrind.sh: '$f' is not built" >&2
        exit 1
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pagegrab-valgrind.XXXXXX") || exit 1
trap 'pg_serve_stop; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP

pg_serve_start "$serve" "$site" "$work" || exit 1
port=$PG_SERVE_PORT
pg_site_urls "$site" "$port" >"$work/urls.txt"

status=0
# K = 1 (blocking workers) and K = 4 (the libcurl multi engine).
for k in 1 4; do
for mode in thread process; do
    out=$work/$mode-k$k
    echo "== valgrind: pagegrab --mode $mode -K $k"
    valgrind --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --trace-children=yes -q \
        "$bin" --mode "$mode" -j 4 -K "$k" -q -i "$work/urls.txt" -o "$out" \
        --manifest "$work/$mode-k$k.jsonl"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "FAIL valgrind $mode mode K=$k: exit status $rc"
        status=1
    elif ! pg_check_tree "$site" "$out" "$port"; then
        echo "FAIL valgrind $mode mode K=$k: the copy differs from the site"
        status=1
    else
        echo "PASS valgrind $mode mode K=$k"
    fi
    # A crawl: pages parsed by libxml2 in the workers, links followed,
    # robots.txt fetched, images saved.
    echo "== valgrind: pagegrab --mode $mode -K $k --images --follow (crawl)"
    valgrind --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --trace-children=yes -q \
        "$bin" --mode "$mode" -j 4 -K "$k" -q --images --follow '//a/@href' \
        --depth 2 -o "$work/crawl-$mode-k$k" \
        --manifest "$work/crawl-$mode-k$k.jsonl" \
        "http://127.0.0.1:$port/"
    rc=$?
    pages=$(grep -c '"kind":"page"' "$work/crawl-$mode-k$k.jsonl")
    images=$(grep -c '"kind":"image","depth":[0-9]*,"referrer":"http' \
        "$work/crawl-$mode-k$k.jsonl")
    if [ "$rc" -ne 0 ]; then
        echo "FAIL valgrind crawl $mode mode K=$k: exit status $rc"
        status=1
    elif [ "$pages" -lt 2 ] || [ "$images" -lt 2 ]; then
        echo "FAIL valgrind crawl $mode mode K=$k: $pages pages, $images images"
        status=1
    else
        echo "PASS valgrind crawl $mode mode K=$k ($pages pages, $images images)"
    fi
done
done

# A bounded subset of the fault suite with every pagegrab run (and its
# worker processes) under valgrind: retries, limits, hostile names and
# records, a second SIGINT, a URL that kills its workers.
faults=$build/tests/integration/test_faults
if [ -x "$faults" ]; then
    for k in 1 4; do
    echo "== valgrind: fault suite subset, K=$k"
    if ! PG_TEST_PER_WORKER=$k PG_TEST_QUICK=1 PG_TEST_TIME_SCALE=10 \
        PG_TEST_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --trace-children=yes" \
        PAGEGRAB_BIN=$bin "$faults" faults hostile_records path_safety \
        signal_twice worker_crash; then
        echo "FAIL valgrind fault suite subset, K=$k"
        status=1
    fi
    done
else
    echo "valgrind.sh: $faults is not built; fault subset skipped" >&2
fi
exit $status
