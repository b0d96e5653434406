#!/bin/sh
# fleet.sh - the shared (Redis) frontier against the in-memory one, and
# Redis memory per queued URL (a benchmark, not a test: figures only).
#
#   sh tests/bench/fleet.sh                   5 runs of each, 1M URLs seeded
#   FLEET_RUNS=9 FLEET_SEED_URLS=200000 sh tests/bench/fleet.sh
#
# Everything runs on 127.0.0.1 in a fresh temp dir (removed on exit):
#  - the gallery site of the bench suite (gen_site.py: 50 list pages ->
#    1,000 detail pages -> 1,000 images), served by the project's test
#    server build/tests/pg-serve on an ephemeral port;
#  - a redis-server of its own on a free port (never 6379), --save ''
#    --appendonly no, flushed before every run.
# 1. overhead: the gallery crawl (FLEET_MODE, -j FLEET_JOBS, the bench
#    suite's gallery options) with the memory frontier and with
#    --frontier redis://..., 1 instance, alternating run by run
#    (mem, redis, redis, mem, ...); median pages/s (pages = the 2,050
#    URLs fetched: 50 lists, 1,000 details, 1,000 images), min-max.
# 2. scaling: 1, 2 and 4 instances sharing one job, -j FLEET_JOBS/N
#    each (the same total concurrency), started together; the wall time
#    is from the first start to the last exit.  Runs alternate the
#    instance counts.
# 3. memory: FLEET_SEED_URLS distinct URLs (default 1,000,000) are seeded
#    into a job by one instance that cannot fetch them (their host is
#    127.0.0.1:9, refused, with --per-host 1 --wait 3600: one URL is
#    tried and fails, the rest stay queued); INFO memory's used_memory
#    before and after, per million URLs, and the 100M-URL figure it
#    implies; then without the queue (only the seen set: what a done URL
#    keeps); also the seeding rate and Redis's share of it.
# Every run is bounded by FLEET_TIMEOUT seconds (default 120) and checked:
# exit 0 and the 1,000 images present (in the union of the instances'
# output directories).  The servers are stopped by their pids.

set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PAGEGRAB_BIN:-$ROOT/build/pagegrab}
SERVE=${PG_SERVE_BIN:-$ROOT/build/tests/pg-serve}
RUNS=${FLEET_RUNS:-5}
MODE=${FLEET_MODE:-thread}
JOBS=${FLEET_JOBS:-32}
SEED_URLS=${FLEET_SEED_URLS:-1000000}
TIMEOUT=${FLEET_TIMEOUT:-120}
SCENARIOS=${FLEET_SCENARIOS:-overhead,scaling,memory}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pagegrab-fleet.XXXXXX") || exit 1
REDIS_PID=
PG_SERVE_PID=
PAGES=2050
IMAGES=1000

say() { printf 'fleet: %s\n' "$*"; }

cleanup() {
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    pg_serve_stop 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=../lib/serve.sh
. "$ROOT/tests/lib/serve.sh"

for f in "$BIN" "$SERVE"; do
    [ -x "$f" ] || { echo "fleet.sh: no '$f' (make build/pagegrab build/tests/pg-serve)" >&2; exit 1; }
done
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
    { echo "fleet.sh: needs redis-server and redis-cli (apt-get install redis-server)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "fleet.sh: needs python3" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "fleet.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

now() { python3 -c 'import time; print("%.6f" % time.time())'; }

# ------------------------------------------------------------- servers
python3 "$ROOT/tests/bench/gen_site.py" "$TMP/site" --small 0 --large 0 >/dev/null ||
    { echo "fleet.sh: gen_site.py failed" >&2; exit 1; }
pg_serve_start "$SERVE" "$TMP/site" "$TMP" || exit 1
SITE=http://127.0.0.1:$PG_SERVE_PORT
for f in "$TMP"/site/gallery/list/*.html; do
    echo "$SITE/gallery/list/$(basename "$f")"
done > "$TMP/lists.txt"

RPORT=$(python3 -c 'import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p != 6379: print(p); break')
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --logfile "$TMP/redis.log" >/dev/null 2>&1 &
REDIS_PID=$!
RCLI="redis-cli -h 127.0.0.1 -p $RPORT"
i=0
until $RCLI ping >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "fleet.sh: redis-server did not start" >&2; exit 1; }
    sleep 0.1
done
FRONTIER=redis://127.0.0.1:$RPORT/0

say "site $SITE (pg-serve pid $PG_SERVE_PID), redis $FRONTIER (pid $REDIS_PID)"
say "pagegrab $BIN --mode $MODE, $RUNS runs each; load: $(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------- one crawl
# crawl TAG N [redis]: N instances (-j JOBS/N each) crawl the gallery;
# prints the wall seconds, or FAILED and the reason.
crawl() {
    tag=$1 n=$2 fr=${3:-}
    j=$((JOBS / n))
    [ "$j" -lt 1 ] && j=1
    rm -rf "$TMP/run"
    mkdir -p "$TMP/run"
    [ -n "$fr" ] && $RCLI flushall >/dev/null
    r0=$(rcpu)
    t0=$(now)
    pids=
    k=0
    while [ $k -lt "$n" ]; do
        set -- --mode "$MODE" -j "$j" -q \
            --follow '//*[@id="main"]/div[4]/ul/li/a/@href' \
            --xpath '//*[@id="img"]/img/@src' --depth 1 --images-only \
            -o "$TMP/run/out$k" -i "$TMP/lists.txt"
        [ -n "$fr" ] && set -- "$@" --frontier "$FRONTIER" --job "bench-$tag"
        /usr/bin/time -f '%U %S' -o "$TMP/run/cpu$k" \
            timeout "$TIMEOUT" "$BIN" "$@" > "$TMP/run/log$k" 2>&1 &
        pids="$pids $!"
        k=$((k + 1))
    done
    bad=
    for p in $pids; do
        wait "$p" || bad="exit $?"
    done
    t1=$(now)
    r1=$(rcpu)
    imgs=$(find "$TMP/run" -name '*.jpg' -type f | wc -l)
    [ "$imgs" -ne $IMAGES ] && bad="${bad:+$bad, }$imgs images, not $IMAGES"
    if [ -n "$bad" ]; then
        echo "FAILED ($bad)"
        tail -n 3 "$TMP"/run/log* >&2
        return
    fi
    # wall s, pagegrab CPU s (every instance and its workers), Redis CPU s
    cpu=$(cat "$TMP"/run/cpu* | awk '{ s += $1 + $2 } END { print s + 0 }')
    python3 -c "print('%.3f %.3f %.3f' % ($t1 - $t0, $cpu, $r1 - $r0))"
}

# redis-server's CPU seconds so far (user + sys)
rcpu() {
    $RCLI info cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.6f", s }'
}

# stats FILE: median pages/s (min, max), and the median wall and CPU
# seconds, from the "wall cpu redis-cpu" lines of crawl()
stats() {
    python3 - "$1" "$PAGES" <<'EOF2'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip() and l[0].isdigit()]
bad = sum(1 for l in open(sys.argv[1]) if l.startswith("FAILED"))
p = int(sys.argv[2])
if not rows:
    print("no good run (%d failed)" % bad)
else:
    med = [statistics.median(float(r[i]) for r in rows) for i in range(3)]
    rate = sorted(p / float(r[0]) for r in rows)
    print("%5.0f pages/s (min %.0f, max %.0f); median %.2f s, CPU pagegrab "
          "%.2f s, redis %.3f s; %d good%s"
          % (statistics.median(rate), rate[0], rate[-1], med[0], med[1],
             med[2], len(rows), ", %d FAILED" % bad if bad else ""))
EOF2
}

median_rate() {
    python3 - "$1" "$PAGES" <<'EOF2'
import statistics, sys
t = [float(l.split()[0]) for l in open(sys.argv[1]) if l.strip() and l[0].isdigit()]
print(statistics.median(int(sys.argv[2]) / x for x in t) if t else 0)
EOF2
}

case ",$SCENARIOS," in *,overhead,*)
    say "overhead: gallery crawl, 1 instance, memory vs redis frontier (alternating)"
    : > "$TMP/t-mem"
    : > "$TMP/t-redis"
    r=0
    while [ $r -lt "$RUNS" ]; do
        if [ $((r % 2)) = 0 ]; then order="mem redis"; else order="redis mem"; fi
        for w in $order; do
            if [ $w = mem ]; then x=$(crawl m$r 1); else x=$(crawl r$r 1 redis); fi
            echo "$x" >> "$TMP/t-$w"
            say "  run $((r + 1)) $w: $x (wall, CPU, redis CPU s)"
        done
        r=$((r + 1))
    done
    say "  memory frontier: $(stats "$TMP/t-mem")"
    say "  redis frontier:  $(stats "$TMP/t-redis")"
    python3 -c "m, r = $(median_rate "$TMP/t-mem"), $(median_rate "$TMP/t-redis")
print('fleet:   redis vs memory: %.1f %% fewer pages/s (target <= 20 %%)' % (100 * (1 - r / m)) if m and r else 'fleet:   no ratio')"
    ;;
esac

case ",$SCENARIOS," in *,scaling,*)
    say "scaling: N instances share one job, -j $JOBS/N each (alternating N)"
    for n in 1 2 4; do : > "$TMP/s-$n"; done
    r=0
    while [ $r -lt "$RUNS" ]; do
        case $((r % 3)) in 0) order="1 2 4" ;; 1) order="2 4 1" ;; *) order="4 1 2" ;; esac
        for n in $order; do
            x=$(crawl "s$n-$r" "$n" redis)
            echo "$x" >> "$TMP/s-$n"
            say "  run $((r + 1)) $n instance(s): $x (wall, CPU, redis CPU s)"
        done
        r=$((r + 1))
    done
    for n in 1 2 4; do
        say "  $n instance(s): $(stats "$TMP/s-$n")"
    done
    ;;
esac

case ",$SCENARIOS," in *,memory,*)
    say "memory: $SEED_URLS URLs seeded, not fetched"
    $RCLI flushall >/dev/null
    $RCLI config resetstat >/dev/null
    python3 -c "
import sys
n = int(sys.argv[1])
with open(sys.argv[2], 'w') as f:
    for i in range(n):
        f.write('http://127.0.0.1:9/gallery/detail/%07d.html?page=%d\n' % (i, i))
" "$SEED_URLS" "$TMP/seed.txt"
    before=$($RCLI info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
    t0=$(now)
    "$BIN" --mode "$MODE" -j 2 -q --per-host 1 --wait 3600 --retries 0 \
        -o "$TMP/seed-out" -i "$TMP/seed.txt" --frontier "$FRONTIER" \
        --job seedmem > "$TMP/seed.log" 2>&1 &
    spid=$!
    # every URL in the seen set, and seeding done
    i=0
    while :; do
        q=$($RCLI scard 'pagegrab:{seedmem}:seen')
        s=$($RCLI exists 'pagegrab:{seedmem}:seeded')
        [ "${s:-0}" = 1 ] && [ "${q:-0}" -ge "$SEED_URLS" ] && break
        kill -0 $spid 2>/dev/null || { echo "fleet.sh: the seeding instance exited" >&2; cat "$TMP/seed.log" >&2; exit 1; }
        i=$((i + 1))
        [ $i -gt $(( (TIMEOUT + SEED_URLS / 2000) * 10 )) ] &&
            { echo "fleet.sh: seeding took over $((TIMEOUT + SEED_URLS / 2000)) s" >&2; exit 1; }
        sleep 0.1
    done
    t1=$(now)
    after=$($RCLI info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
    queued=$($RCLI hget 'pagegrab:{seedmem}:stats' queued)
    busy=$($RCLI info commandstats | sed -n 's/^cmdstat_eval[a-z]*:calls=[0-9]*,usec=\([0-9]*\).*/\1/p' |
        awk '{ s += $1 } END { printf "%.1f", s / 1e6 }')
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    # What a URL costs once done: its hash in the seen set only.
    $RCLI del 'pagegrab:{seedmem}:q:http://127.0.0.1:9' >/dev/null
    seen=$($RCLI info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
    python3 -c "
n, b, a, t = $SEED_URLS, $before, $after, $t1 - $t0
per = (a - b) / n
print('fleet:   used_memory %.1f MiB -> %.1f MiB: %.0f bytes per queued URL, '
      '%.0f MiB per million; 100M URLs queued: %.1f GiB'
      % (b / 2**20, a / 2**20, per, per * 1e6 / 2**20, per * 1e8 / 2**30))
print('fleet:   without the queue (the seen set: what a done URL keeps): %.0f bytes per URL, '
      '100M URLs seen: %.1f GiB' % (($seen - b) / n, ($seen - b) / n * 1e8 / 2**30))
print('fleet:   seeding took %.1f s (%.0f URLs/s; Redis ran scripts %s s of it); '
      '%s still queued' % (t, n / t, '$busy', '$queued'))"
    ;;
esac
