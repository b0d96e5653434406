#!/bin/sh
# demo.sh - show what pagegrab is for, on the bundled sample site
# (tests/data/site, served by pg-serve on 127.0.0.1):
#
#   1. a crawl: list page -> detail pages -> the full-size images only,
#      in thread mode and in process mode;
#   2. `pagegrab compare` on that crawl: the table, and an SVG chart;
#   3. a scripted batch: every file of the site with a manifest, then
#      `--update` re-runs: one that transfers nothing, one after the
#      site changed (changed, unchanged, gone and new URLs).
#
#   sh tests/demo.sh            (what `make demo` runs after building)
#
# Uses PAGEGRAB_BIN (default build/pagegrab) and PG_BUILD_DIR/tests/pg-serve.
# Everything is written under a fresh directory in $TMPDIR (or /tmp),
# printed at the end. The server listens on 127.0.0.1 only and is stopped
# on exit. Each step checks its result; the exit status is 0 if all did.

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

# Serve a copy: step 3 edits it to show what --update does.
served=$work/site
cp -R "$site" "$served" || exit 1
pg_serve_start "$serve" "$served" "$work" || exit 1
port=$PG_SERVE_PORT
base=http://127.0.0.1:$port
status=0

fail() {
    echo "demo: $*" >&2
    status=1
}

# show CMD...: print a command as the user would type it, then run it.
show() {
    printf '\n$'
    for a in "$@"; do
        case $a in
        "$bin") a=pagegrab ;;
        *[!A-Za-z0-9_./:=,@%+-]*) a="'$a'" ;;
        esac
        printf ' %s' "$a"
    done | sed "s|$work/||g"
    printf '\n'
    "$@" 2>&1
}

# ---- 1. the crawl ----------------------------------------------------------
# The wallpaper site: wallpapers/index.html links 12 detail pages through
# thumbnails; each detail page shows one full image in <div id="img">.
# --follow picks the detail pages, --xpath the one image on each,
# --images-only keeps the images and not the pages.
follow='//*[@id="main"]//li/a/@href'
xpath='//*[@id="img"]/img/@src'
want=$( (cd "$site/wallpapers/full" && ls) | wc -l | tr -d ' ')
echo "== 1. crawl: list page -> detail pages -> $want full-size images"
for mode in thread process; do
    out=$work/crawl-$mode
    show "$bin" --mode "$mode" --follow "$follow" --xpath "$xpath" \
        --depth 1 --images-only -o "$out" --manifest "$out.jsonl" \
        "$base/wallpapers/"
    rc=$?
    [ "$rc" -eq 0 ] || fail "crawl in $mode mode exited with $rc"
    dir=$out/127.0.0.1:$port/wallpapers/full
    got=$(find "$out" -type f | wc -l | tr -d ' ')
    same=0
    for f in "$site"/wallpapers/full/*; do
        cmp -s "$f" "$dir/$(basename "$f")" && same=$((same + 1))
    done
    if [ "$got" -eq "$want" ] && [ "$same" -eq "$want" ]; then
        echo "demo: $mode mode: $want of $want full images, no thumbnails," \
            "no pages, in ${dir#$work/}/"
    else
        fail "$mode mode: $got files saved, $same of $want full images" \
            "identical to the site"
    fi
done

# ---- 2. compare the models on the same crawl ---------------------------------
echo
echo "== 2. compare: the same crawl in thread and process mode, 3 runs each"
mkdir -p "$work/compare"
show "$bin" compare --repeat 3 -q -o "$work/compare" \
    --svg "$work/compare.svg" --follow "$follow" --xpath "$xpath" \
    --depth 1 --images-only "$base/wallpapers/"
rc=$?
[ "$rc" -eq 0 ] || fail "compare exited with $rc"
if [ -s "$work/compare.svg" ]; then
    echo "demo: chart written to $work/compare.svg"
else
    fail "compare wrote no chart"
fi

# ---- 3. a scripted batch with a manifest, then nightly --update runs ---------
echo
pg_site_urls "$site" "$port" >"$work/urls.txt"
count=$(wc -l <"$work/urls.txt" | tr -d ' ')
echo "== 3. batch: the $count files of the site, with a manifest"
show "$bin" -i "$work/urls.txt" -o "$work/batch" \
    --manifest "$work/batch.jsonl"
rc=$?
[ "$rc" -eq 0 ] || fail "the batch exited with $rc"
if pg_check_tree "$served" "$work/batch" "$port"; then
    echo "demo: all $count files identical to the site;" \
        "$(wc -l <"$work/batch.jsonl" | tr -d ' ') records in batch.jsonl"
else
    fail "the batch copy differs from the site"
fi

# The next night nothing changed: every URL is asked "changed since?"
# (If-None-Match / If-Modified-Since) and answered 304, no body.
echo
echo "== the next night, nothing changed: --update transfers no body"
show "$bin" -i "$work/urls.txt" -o "$work/batch" \
    --manifest "$work/batch.jsonl" --update --report "$work/night2.json"
rc=$?
[ "$rc" -eq 0 ] || fail "the first --update run exited with $rc"
grep -q "\"unchanged\":$count," "$work/night2.json" ||
    fail "night2.json does not count $count unchanged URLs"

# The night after, one page changed, one file is gone, one URL is new.
printf '<p>Updated.</p>\n' >>"$served/pages/news.html"
rm -f "$served/data/readme.txt"
cp "$served/pages/about.html" "$served/pages/team.html"
echo "$base/pages/team.html" >>"$work/urls.txt"
echo
echo "== the night after: news.html edited, readme.txt removed, team.html added"
show "$bin" -i "$work/urls.txt" -o "$work/batch" \
    --manifest "$work/batch.jsonl" --update --report "$work/night3.json"
rc=$?
[ "$rc" -eq 0 ] || fail "the second --update run exited with $rc"
for want in '"changed":1,' "\"unchanged\":$((count - 2))," '"gone":1,' \
    '"new":1,'; do
    grep -q "$want" "$work/night3.json" ||
        fail "night3.json lacks $want"
done
cmp -s "$served/pages/news.html" \
    "$work/batch/127.0.0.1:$port/pages/news.html" ||
    fail "news.html was not refreshed"
echo "demo: the manifest still holds one record per URL:" \
    "$(wc -l <"$work/batch.jsonl" | tr -d ' ') records" \
    "(reports: night2.json, night3.json)"

pg_serve_stop
echo
echo "output: $work/"
if [ "$status" -eq 0 ]; then
    echo "demo: OK"
else
    echo "demo: FAILED" >&2
fi
exit $status
