# serve.sh - shell helpers to run pg-serve from a script (sourced by
# tests/demo.sh and tests/valgrind.sh; POSIX sh).
#
#   pg_serve_start SERVE_BIN DIR WORKDIR   starts the server, sets PG_SERVE_PID
#                                          and PG_SERVE_PORT
#   pg_serve_stop                          stops it (by pid) and waits for it
#
# pg-serve stops on SIGTERM or when its stdin reaches EOF. Its stdin is a
# FIFO whose write end this shell holds on fd 9, so the server also goes
# away if the script dies without running its trap.

PG_SERVE_PID=
PG_SERVE_PORT=

pg_serve_start() {
    _serve=$1
    _dir=$2
    _work=$3
    rm -f "$_work/.serve-ctl" "$_work/.serve-port"
    mkfifo "$_work/.serve-ctl" || return 1
    "$_serve" "$_dir" <"$_work/.serve-ctl" >"$_work/.serve-port" &
    PG_SERVE_PID=$!
    exec 9>"$_work/.serve-ctl"
    _tries=0
    while :; do
        PG_SERVE_PORT=$(head -n 1 "$_work/.serve-port" 2>/dev/null)
        case $PG_SERVE_PORT in
        '' | *[!0-9]*) ;;
        *) break ;;
        esac
        if ! kill -0 "$PG_SERVE_PID" 2>/dev/null; then
            echo "pg-serve exited before printing its port" >&2
            PG_SERVE_PID=
            return 1
        fi
        _tries=$((_tries + 1))
        if [ "$_tries" -gt 100 ]; then
            echo "pg-serve did not print its port within 10 s" >&2
            pg_serve_stop
            return 1
        fi
        sleep 0.1 2>/dev/null || sleep 1
    done
    return 0
}

pg_serve_stop() {
    if [ -n "$PG_SERVE_PID" ]; then
        kill "$PG_SERVE_PID" 2>/dev/null
        wait "$PG_SERVE_PID" 2>/dev/null
        PG_SERVE_PID=
    fi
    exec 9>&-
}

# pg_site_urls DIR PORT: one URL per regular file of DIR, sorted.
pg_site_urls() {
    (cd "$1" && find . -type f | LC_ALL=C sort) |
        sed "s|^\./|http://127.0.0.1:$2/|"
}

# pg_check_tree SITE OUT PORT: OUT must hold exactly SITE's files under
# 127.0.0.1:PORT/, byte for byte. Prints the first problems; 0 if equal.
pg_check_tree() {
    _site=$1
    _out=$2
    _host=127.0.0.1:$3
    _bad=0
    _want=$( (cd "$_site" && find . -type f | LC_ALL=C sort) |
        sed "s|^\./|./$_host/|")
    _have=$( (cd "$_out" && find . ! -type d | LC_ALL=C sort) )
    if [ "$_want" != "$_have" ]; then
        echo "file lists differ ('<' expected, '>' found):" >&2
        printf '%s\n' "$_want" >"$_out.want"
        printf '%s\n' "$_have" >"$_out.have"
        diff "$_out.want" "$_out.have" | grep '^[<>]' | head -n 10 >&2
        rm -f "$_out.want" "$_out.have"
        _bad=1
    fi
    for _f in $( (cd "$_site" && find . -type f) ); do
        _f=${_f#./}
        if ! cmp -s "$_site/$_f" "$_out/$_host/$_f"; then
            echo "differs: $_out/$_host/$_f" >&2
            _bad=1
        fi
    done
    return $_bad
}
