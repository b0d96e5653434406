#!/bin/sh
# spill.sh - peak memory of a huge --list crawl, with and without
# --queue-memory (a benchmark, not a test: it prints figures only).
#
#   sh tests/bench/spill.sh             200 pages x 10,000 links = 2,000,000
#   SPILL_PAGES=20 sh tests/bench/spill.sh   a smaller site
#
# A small Python server on 127.0.0.1 (ephemeral port) generates the pages
# on the fly: "/" links to SPILL_PAGES pages, each with 10,000 distinct
# image links.  pagegrab --list crawls it (-j 2, thread mode) once with
# the default --queue-memory (64M), once with --queue-memory 0 (never
# spill) and once with --queue-memory 8M; for each run the wall time,
# the peak RSS (/usr/bin/time -v) and the number of listed links are
# printed.  Each run is bounded by SPILL_TIMEOUT seconds (default 600).
# Everything lives in a fresh temp dir, removed on exit; the server is
# stopped by its pid.

set -u
PAGES=${SPILL_PAGES:-200}
LINKS=10000
TIMEOUT=${SPILL_TIMEOUT:-600}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PAGEGRAB_BIN:-$ROOT/build/pagegrab}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pagegrab-spill.XXXXXX") || exit 1
SRV_PID=

cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

[ -x "$BIN" ] || { echo "spill.sh: no binary '$BIN' (make first)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "spill.sh: needs /usr/bin/time" >&2; exit 1; }

cat > "$TMP/serve.py" <<'EOF'
import http.server, sys

PAGES, LINKS = int(sys.argv[1]), int(sys.argv[2])

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        p = self.path
        if p == "/":
            body = "".join('<a href="/p%d.html">p</a>\n' % i
                           for i in range(PAGES))
        elif p.startswith("/p") and p.endswith(".html"):
            n = int(p[2:-5])
            body = "".join('<img src="/img/%d/%05d.jpg">\n' % (n, i)
                           for i in range(LINKS))
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        b = ("<html><body>\n" + body + "</body></html>\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF

python3 "$TMP/serve.py" "$PAGES" "$LINKS" > "$TMP/port" &
SRV_PID=$!
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat "$TMP/port")
[ -n "$PORT" ] || { echo "spill.sh: the server did not start" >&2; exit 1; }
URL="http://127.0.0.1:$PORT/"

echo "site: $PAGES pages x $LINKS links = $((PAGES * LINKS)) links, $URL"
printf '%-22s %10s %14s %12s\n' "--queue-memory" "wall (s)" "peak RSS (MB)" "listed"
for q in default 0 8M; do
    out="$TMP/out-$q"
    mkdir -p "$out"
    set -- -j 2 -v --images --images-only --follow '//a/@href' --list \
        -o "$out"
    [ "$q" != default ] && set -- "$@" --queue-memory "$q"
    timeout "$TIMEOUT" /usr/bin/time -v "$BIN" "$@" "$URL" \
        > "$TMP/list-$q" 2> "$TMP/err-$q"
    rc=$?
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$TMP/err-$q")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' \
        "$TMP/err-$q")
    n=$(wc -l < "$TMP/list-$q")
    printf '%-22s %10s %14s %12s' "$q" "$wall" \
        "$(( ${rss:-0} / 1024 ))" "$n"
    [ $rc -ne 0 ] && printf '  (exit %d)' $rc
    echo
    grep 'frontier: spilled' "$TMP/err-$q" | sed 's/^/    /'
done
