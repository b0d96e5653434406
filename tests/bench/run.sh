#!/bin/sh
# run.sh - the pagegrab benchmark suite; the single entry point
# (`make bench` runs `sh tests/bench/run.sh`). See tests/bench/README.md.
#
#   sh tests/bench/run.sh                default: 3 runs per tool, the
#                                        1,000,000-URL list in thread mode
#                                        (pagegrab's defaults and 64x1)
#   BENCH_QUICK=1 sh tests/bench/run.sh  1 run per tool, a 100,000-URL list
#   BENCH_FULL=1 sh tests/bench/run.sh   5 runs per tool, 200,000 and
#                                        1,000,000 URLs, process defaults too
# pagegrab's configurations: BENCH_PG_MODES="thread:default process:4:16 ..."
# (MODE:JOBS:K or MODE:default) and the _LARGE/_GALLERY/_LATENCY/_MEMORY variants; see
# the README for every variable.
#
# 1. installs what is missing with apt-get (nginx, curl, wget2, aria2, wrk,
#    time, python3, an nginx module that can sleep); a peer tool that cannot
#    be installed is skipped (without wrk: no latency ceiling);
# 2. mounts a tmpfs of its own under a fresh temp dir (or falls back to a
#    directory in /dev/shm) for the site and every output;
# 3. generates the site (gen_site.py);
# 4. starts nginx on 127.0.0.1 from nginx.conf.in (a second, delaying
#    instance for the latency scenario);
# 5. runs the scenarios (bench.py), which print the tables and the
#    targets and write build/bench/results.{txt,json,csv};
# and on exit stops every server it started (by pid), unmounts and removes
# the temp dir. Figures only: the exit status is 0 unless the suite could
# not run at all (no nginx, no python3, pagegrab does not build).

set -u
umask 022
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${PAGEGRAB_BIN:-$root/build/pagegrab}
resdir=${BENCH_RESULTS:-$root/build/bench}

say() { printf 'bench: %s\n' "$*"; }

# ---------------------------------------------------------------- settings
quick=${BENCH_QUICK:-0}
full=${BENCH_FULL:-0}
[ "$quick" = 0 ] && quick=
[ "$full" = 0 ] && full=
if [ -n "$quick" ]; then
    runs=1
    memory=100000
    memory_modes="thread:default thread:64:1"
elif [ -n "$full" ]; then
    runs=5
    memory=200000,1000000
    memory_modes="thread:default process:default thread:64:1"
else
    runs=3
    memory=1000000                      # about a minute per mode
    memory_modes="thread:default thread:64:1"
fi
runs=${BENCH_RUNS:-$runs}
memory=${BENCH_MEMORY_URLS:-$memory}
memory_modes=${BENCH_PG_MODES_MEMORY:-$memory_modes}
timeout=${BENCH_TIMEOUT:-120}
[ -n "$quick" ] && [ -z "${BENCH_MEMORY_URLS:-}" ] &&
    say "BENCH_QUICK: the memory scenario lists 100,000 URLs, not 1,000,000"
scenarios=${BENCH_SCENARIOS:-small,large,gallery,latency,memory}
delay=0.05

# ------------------------------------------------------------- cleanup
work=
fs=
mounted=
shm=
nginx_pids=
bench_pid=
policy_rc=

stop_pid() {
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    trap - EXIT INT TERM HUP
    if [ -n "$bench_pid" ]; then
        stop_pid "$bench_pid"
        bench_pid=
    fi
    for p in $nginx_pids; do
        stop_pid "$p"
    done
    nginx_pids=
    if [ -n "$policy_rc" ]; then
        $SUDO rm -f /usr/sbin/policy-rc.d
    fi
    if [ -n "$mounted" ]; then
        $SUDO umount "$fs" 2>/dev/null || $SUDO umount -l "$fs" ||
            say "could not unmount $fs"
    fi
    if [ -n "$shm" ] && [ -n "$fs" ]; then
        rm -rf "$fs"
    fi
    if [ -n "$work" ]; then
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------------- 1. install
SUDO=
can_root=1
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        can_root=
    fi
fi

moddir=/usr/lib/nginx/modules
nginx_moddir() {
    d=$(nginx -V 2>&1 | tr ' ' '\n' | sed -n 's/^--modules-path=//p')
    [ -n "$d" ] && moddir=$d
}
have_delay_module() {
    [ -f "$moddir/ngx_http_lua_module.so" ] ||
        [ -f "$moddir/ngx_http_echo_module.so" ]
}
command -v nginx >/dev/null 2>&1 && nginx_moddir

apt_install() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "$@" >"$apt_log" 2>&1
}

pkgs=
command -v nginx >/dev/null 2>&1 || pkgs="$pkgs nginx"
command -v curl >/dev/null 2>&1 || pkgs="$pkgs curl"
command -v wget2 >/dev/null 2>&1 || pkgs="$pkgs wget2"
command -v aria2c >/dev/null 2>&1 || pkgs="$pkgs aria2"
command -v wrk >/dev/null 2>&1 || pkgs="$pkgs wrk"
[ -x /usr/bin/time ] || pkgs="$pkgs time"
command -v python3 >/dev/null 2>&1 || pkgs="$pkgs python3"
have_delay_module || pkgs="$pkgs libnginx-mod-http-lua"
if [ -n "$pkgs" ]; then
    if [ -z "$can_root" ] || ! command -v apt-get >/dev/null 2>&1; then
        say "missing:$pkgs (not root, no sudo, or no apt-get): going on without"
    else
        apt_log=$(mktemp "${TMPDIR:-/tmp}/pagegrab-bench-apt.XXXXXX")
        # Installing nginx must not start the system's nginx on port 80:
        # Debian's policy-rc.d (101 = action forbidden) keeps services
        # down during this install; it is removed right after.
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' |
                $SUDO tee /usr/sbin/policy-rc.d >/dev/null &&
                $SUDO chmod 755 /usr/sbin/policy-rc.d && policy_rc=1
        fi
        say "installing:$pkgs"
        if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q \
            >"$apt_log" 2>&1; then
            say "apt-get update failed:"
            tail -n 3 "$apt_log" | sed 's/^/    /'
        fi
        # shellcheck disable=SC2086
        if ! apt_install $pkgs; then
            for p in $pkgs; do
                if ! apt_install "$p"; then
                    say "could not install $p: skipping it"
                    tail -n 1 "$apt_log" | sed 's/^/    /'
                fi
            done
        fi
        command -v nginx >/dev/null 2>&1 && nginx_moddir
        if ! have_delay_module && command -v nginx >/dev/null 2>&1; then
            apt_install libnginx-mod-http-echo ||
                say "could not install libnginx-mod-http-echo either"
        fi
        if [ -n "$policy_rc" ]; then
            $SUDO rm -f /usr/sbin/policy-rc.d
            policy_rc=
        fi
        rm -f "$apt_log"
    fi
fi

py=
for c in /usr/bin/python3 python3; do
    if command -v "$c" >/dev/null 2>&1 &&
        "$c" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
        py=$(command -v "$c")
        break
    fi
done
if [ -z "$py" ]; then
    say "python3 (3.9 or later) is needed to run the suite"
    exit 1
fi
if ! command -v nginx >/dev/null 2>&1; then
    say "nginx is needed to run the suite (apt-get install nginx)"
    exit 1
fi
for t in curl wget2 aria2c; do
    command -v "$t" >/dev/null 2>&1 || say "$t not available: its rows are skipped"
done
command -v wrk >/dev/null 2>&1 ||
    say "wrk not available: no ceiling for the latency scenario"
[ -x /usr/bin/time ] ||
    say "/usr/bin/time not available: CPU and RSS come from wait4() instead"

if [ ! -x "$bin" ]; then
    say "building pagegrab"
    make -C "$root" all >/dev/null || exit 1
fi

# ------------------------------------------------------------- 2. tmpfs
# The largest output is the memory scenario: N files of one 4 KiB page.
max_urls=0
for n in $(echo "$memory" | tr ',' ' '); do
    [ "$n" -gt "$max_urls" ] && max_urls=$n
done
case ",$scenarios," in
*,memory,*) ;;
*) max_urls=0 ;;
esac
need_mib=$((max_urls * 4 / 1024 + max_urls / 10000 + 700))
size_mib=3072
[ "$need_mib" -gt "$size_mib" ] && size_mib=$need_mib
size_mib=${BENCH_TMPFS_MIB:-$size_mib}
avail_mib=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
if [ -n "$avail_mib" ] && [ "$need_mib" -gt $((avail_mib - 2048)) ]; then
    say "only $avail_mib MiB of memory available: memory scenario cut to 200,000 URLs"
    memory=200000
    need_mib=$((200000 * 4 / 1024 + 720))
    [ "$size_mib" -gt 3072 ] && size_mib=3072
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pagegrab-bench.XXXXXX") || exit 1
chmod 755 "$work"       # nginx's workers (nobody when run as root) read the site
fs=$work/fs
mkdir "$fs" || exit 1
if [ -n "$can_root" ] && $SUDO mount -t tmpfs \
    -o "size=${size_mib}m,mode=0755,uid=$(id -u),gid=$(id -g)" tmpfs "$fs" \
    2>"$work/mount.err"; then
    mounted=1
    fstype="tmpfs mounted at $fs (size=${size_mib}m)"
else
    if [ -n "$can_root" ]; then
        why=$(head -n 1 "$work/mount.err" 2>/dev/null)
    else
        why="not root and no sudo"
    fi
    say "mount -t tmpfs not permitted ($why): using /dev/shm instead"
    fs=$(mktemp -d /dev/shm/pagegrab-bench.XXXXXX) || exit 1
    shm=1
    chmod 755 "$fs"
    fstype="directory in /dev/shm ($fs)"
    free_mib=$(df -Pm /dev/shm | awk 'NR == 2 { print $4 }')
    if [ -n "$free_mib" ] && [ "$free_mib" -lt "$need_mib" ]; then
        say "/dev/shm has $free_mib MiB free: memory scenario cut to 200,000 URLs"
        memory=200000
    fi
fi
say "outputs on a $fstype"

# ------------------------------------------------------------- 3. the site
say "generating the site (10,000 pages, 200 x 1 MiB, 50 -> 1,000 -> 1,000 gallery)"
"$py" "$here/gen_site.py" "$fs/site" || exit 1

# ------------------------------------------------------------- 4. nginx
# start_nginx NAME MODULES DIRECTIVES: sets $port to the port it listens on
start_nginx() {
    _name=$1
    _try=0
    while [ "$_try" -lt 5 ]; do
        _try=$((_try + 1))
        port=$("$py" "$here/bench.py" --free-port) || return 1
        sed -e "s|@MODULES@|$2|" -e "s|@DELAY_DIRECTIVES@|$3|" \
            -e "s|@WORK@|$work|g" -e "s|@NAME@|$_name|g" \
            -e "s|@PORT@|$port|g" -e "s|@SITE@|$fs/site|g" \
            "$here/nginx.conf.in" >"$work/nginx-$_name.conf" || return 1
        mkdir -p "$work/nginx-$_name.tmp"
        nginx -p "$work/" -c "$work/nginx-$_name.conf" \
            -e "$work/nginx-$_name.error.log" >"$work/nginx-$_name.out" 2>&1 &
        _pid=$!
        nginx_pids="$nginx_pids $_pid"
        _i=0
        while [ "$_i" -lt 50 ] && kill -0 "$_pid" 2>/dev/null; do
            if "$py" "$here/bench.py" \
                --probe "http://127.0.0.1:$port/small/p00000.html" >/dev/null; then
                say "nginx ($_name) pid $_pid on 127.0.0.1:$port"
                return 0
            fi
            sleep 0.2
            _i=$((_i + 1))
        done
        say "nginx ($_name) did not start on port $port:"
        sed 's/^/    /' "$work/nginx-$_name.out" "$work/nginx-$_name.error.log" \
            2>/dev/null | tail -n 5
        stop_pid "$_pid"
        nginx_pids=$(echo "$nginx_pids" | sed "s/ $_pid\$//")
    done
    return 1
}

start_nginx static "" "" || { say "cannot start nginx"; exit 1; }
static_port=$port

delay_port=
delay_how=
delay_why="no nginx module that can sleep (libnginx-mod-http-lua or -echo)"
case ",$scenarios," in
*,latency,*)
    for how in lua echo; do
        case $how in
        lua)
            [ -f "$moddir/ngx_http_lua_module.so" ] || continue
            mods=
            [ -f "$moddir/ndk_http_module.so" ] &&
                mods="load_module $moddir/ndk_http_module.so;"
            mods="$mods load_module $moddir/ngx_http_lua_module.so;"
            dirs="access_by_lua_block { ngx.sleep($delay) }"
            what="lua: access_by_lua_block { ngx.sleep($delay) }"
            ;;
        echo)
            [ -f "$moddir/ngx_http_echo_module.so" ] || continue
            mods="load_module $moddir/ngx_http_echo_module.so;"
            dirs="echo_sleep $delay; echo_exec /_site\$uri;"
            what="echo: echo_sleep $delay; echo_exec"
            ;;
        esac
        if start_nginx "delay-$how" "$mods" "$dirs"; then
            t=$("$py" "$here/bench.py" \
                --probe "http://127.0.0.1:$port/small/p00001.html")
            if awk "BEGIN { exit !($t >= $delay * 0.9) }"; then
                delay_port=$port
                delay_how=$what
                break
            fi
            say "nginx with the $how module answered in $t s: no delay, not used"
            delay_why="the $how module did not delay"
        fi
    done
    [ -z "$delay_port" ] && say "latency scenario skipped: $delay_why"
    ;;
esac

# ------------------------------------------------------------- 5. scenarios
qflag=
[ -n "$quick" ] && qflag=--quick
mkdir -p "$resdir"
rm -f "$resdir/report.txt"      # the name before results.txt
"$py" "$here/bench.py" --fs "$fs" --site "$fs/site" --port "$static_port" \
    --delay-port "${delay_port:-0}" --delay "$delay" \
    --delay-how "$delay_how" --delay-why "$delay_why" \
    --pagegrab "$bin" --results "$resdir" --fs-type "$fstype" \
    --runs "$runs" --timeout "$timeout" --memory "$memory" \
    --memory-modes "$memory_modes" $qflag --scenarios "$scenarios" &
bench_pid=$!
wait "$bench_pid"
rc=$?
bench_pid=
exit $rc
