#!/bin/sh
# torture.sh - run pagegrab with allocation N failing, for every N a run
# reaches (sampled with a stride past PG_TORTURE_MAX runs per case).
#
#   make torture          (builds build/torture with -DPG_TORTURE and
#                          ASan+UBSan, then runs this script)
#   sh tests/torture.sh [CASE...]     cases: batch crawl resume process
#
# Each case is first run clean: the torture build prints
# "pg-torture: N allocations" at exit.  Then it is run with
# PG_FAIL_ALLOC=n for n = 1..N (stride N / PG_TORTURE_MAX), and each run
# must: not crash, not report ASan/UBSan/LSan errors, exit 0 (the failed
# allocation was recoverable), 1 (a URL failed, recorded) or 3 (a clean
# fatal error), and leave a manifest whose every line is complete JSON.
# Only allocations made through pg_malloc/pg_calloc/pg_realloc/pg_strdup
# are failed; libcurl, libxml2, pcre2 and libc allocate on their own.
# Process mode counts and fails the parent's allocations only (a worker
# inherits the countdown at fork, so the same N may also fail in it).
#
# Uses PAGEGRAB_BIN (default build/torture/pagegrab) and
# PG_BUILD_DIR/tests/pg-serve; the server listens on 127.0.0.1 only.

set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${PG_BUILD_DIR:-$root/build/torture}
bin=${PAGEGRAB_BIN:-$build/pagegrab}
serve=$build/tests/pg-serve
site=$here/data/site
max=${PG_TORTURE_MAX:-300}

. "$here/lib/serve.sh"

for f in "$bin" "$serve"; do
    if [ ! -x "$f" ]; then
        echo "torture: '$f' is not built; run 'make torture'" >&2
        exit 1
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pagegrab-torture.XXXXXX") || exit 1
trap 'pg_serve_stop; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP

pg_serve_start "$serve" "$site" "$work" || exit 1
port=$PG_SERVE_PORT
base=http://127.0.0.1:$port
pg_site_urls "$site" "$port" >"$work/urls.txt"
printf '%s\n' "$base/index.html" "$base/nothere.png" "not a url" \
    >>"$work/urls.txt"

ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=99
export ASAN_OPTIONS UBSAN_OPTIONS

# run CASE DIR: one pagegrab run of CASE writing into DIR.
run() {
    _d=$2
    rm -rf "$_d"
    mkdir -p "$_d"
    case $1 in
    batch)
        "$bin" -q -j 2 -i "$work/urls.txt" -o "$_d/out" \
            --manifest "$_d/m.jsonl" ;;
    crawl)
        "$bin" -q -j 2 --images --follow //a/@href --depth 2 \
            -o "$_d/out" --manifest "$_d/m.jsonl" "$base/index.html" ;;
    resume)
        head -n 6 "$work/batch.jsonl" >"$_d/m.jsonl"
        "$bin" -q -j 2 --resume -i "$work/urls.txt" -o "$_d/out" \
            --manifest "$_d/m.jsonl" ;;
    process)
        "$bin" -q --mode process -j 2 -i "$work/urls.txt" -o "$_d/out" \
            --manifest "$_d/m.jsonl" ;;
    esac
}

# check DIR RC: 0 if the run in DIR ended cleanly, else prints why.
check() {
    _d=$1
    _rc=$2
    case $_rc in
    0 | 1 | 3) ;;
    *) echo "exit $_rc"; return 1 ;;
    esac
    if grep -qE 'Sanitizer|runtime error|LeakSanitizer' "$_d/err"; then
        grep -m 3 -E 'ERROR|runtime error|SUMMARY' "$_d/err"
        return 1
    fi
    if [ -f "$_d/m.jsonl" ] && ! python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1], "rb"), 1):
    if not line.endswith(b"\n"):
        sys.exit("line %d torn" % n)
    json.loads(line)
' "$_d/m.jsonl" 2>"$_d/json"; then
        echo "manifest: $(tail -n 1 "$_d/json")"
        return 1
    fi
    return 0
}

status=0
total=0
cases=${*:-batch crawl resume process}
# The resume case starts from the batch case's clean manifest.
run batch "$work/clean" 2>/dev/null
cp "$work/clean/m.jsonl" "$work/batch.jsonl"

for c in $cases; do
    run "$c" "$work/clean" 2>"$work/err"
    rc=$?
    mv "$work/err" "$work/clean/err"
    n=$(sed -n 's/^pg-torture: \([0-9]*\) allocations$/\1/p' \
        "$work/clean/err" | head -n 1)
    if [ "$rc" -gt 1 ] || [ -z "$n" ]; then
        echo "torture: $c: the clean run failed (exit $rc)" >&2
        head -n 5 "$work/clean/err" >&2
        status=1
        continue
    fi
    stride=$(( (n + max - 1) / max ))
    tried=0
    bad=0
    counts=""
    i=1
    while [ "$i" -le "$n" ]; do
        PG_FAIL_ALLOC=$i run "$c" "$work/t" 2>"$work/err"
        rc=$?
        mv "$work/err" "$work/t/err"
        tried=$((tried + 1))
        counts="$counts $rc"
        if ! why=$(check "$work/t" "$rc"); then
            echo "torture: $c: PG_FAIL_ALLOC=$i: $why" >&2
            bad=$((bad + 1))
            status=1
        fi
        i=$((i + stride))
    done
    ok0=$(echo "$counts" | tr ' ' '\n' | grep -c '^0$')
    ok1=$(echo "$counts" | tr ' ' '\n' | grep -c '^1$')
    ok3=$(echo "$counts" | tr ' ' '\n' | grep -c '^3$')
    echo "torture: $c: $n allocations, $tried failed one by one" \
        "(stride $stride): exit 0 x$ok0, 1 x$ok1, 3 x$ok3, $bad bad"
    total=$((total + tried))
done
echo "torture: $total allocation sites exercised"
exit $status
