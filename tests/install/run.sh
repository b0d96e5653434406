#!/bin/sh
# run.sh - the install test (`make install-test`, part of `make test`).
#
# 1. `make install DESTDIR=... PREFIX=/usr/local` stages exactly the
#    expected files; `make uninstall` with the same settings removes them.
# 2. `make install PREFIX=TMP` installs for real into a temp prefix;
#    libpagegrab.so exports exactly the PG_API functions of pagegrab.h.
# 3. tests/install/hello.c is built against that tree with
#    `pkg-config --cflags --libs pagegrab` (shared, rpath) and with
#    `--static` (libpagegrab.a, its dependencies as pkg-config lists
#    them), then run against pg-serve on 127.0.0.1: the page must be
#    saved byte for byte.
#
# Environment (set by the Makefile): MAKE, O (build dir), CC, PKG_CONFIG,
# PG_LDFLAGS (sanitizer/coverage link flags of this build).

here=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$here/.." && pwd)
MAKE=${MAKE:-make}
O=${O:-build}
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
case $O in /*) build=$O ;; *) build=$top/$O ;; esac
serve=$build/tests/pg-serve

. "$here/lib/serve.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/pagegrab-install.XXXXXX") || exit 1
trap 'pg_serve_stop; rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
run_make() {
    "$MAKE" --no-print-directory -C "$top" O="$O" "$@" >"$work/make.log" 2>&1 ||
        { cat "$work/make.log"; return 1; }
}
# The files and links under a tree, one a line, sorted.
tree() { (cd "$1" && find . ! -type d | LC_ALL=C sort); }

# 1. Staged install and uninstall.
dest=$work/dest
expected='./usr/local/bin/pagegrab
./usr/local/include/pagegrab.h
./usr/local/lib/libpagegrab.a
./usr/local/lib/libpagegrab.so
./usr/local/lib/libpagegrab.so.0
./usr/local/lib/libpagegrab.so.0.1.0
./usr/local/lib/pkgconfig/pagegrab.pc
./usr/local/share/doc/pagegrab/pagegrab.conf
./usr/local/share/man/man1/pagegrab.1'
if run_make install DESTDIR="$dest" PREFIX=/usr/local &&
    [ "$(tree "$dest")" = "$expected" ] &&
    [ "$(readlink "$dest/usr/local/lib/libpagegrab.so")" = libpagegrab.so.0 ] &&
    [ "$(readlink "$dest/usr/local/lib/libpagegrab.so.0")" = libpagegrab.so.0.1.0 ] &&
    grep -qx 'prefix=/usr/local' "$dest/usr/local/lib/pkgconfig/pagegrab.pc"
then ok "make install DESTDIR=... stages the expected tree"
else fail "make install DESTDIR=... stages the expected tree"; tree "$dest"
fi
if run_make uninstall DESTDIR="$dest" PREFIX=/usr/local &&
    [ -z "$(tree "$dest")" ]
then ok "make uninstall removes it"
else fail "make uninstall removes it"; tree "$dest"
fi

# 2. A real install into a temp prefix.
prefix=$work/prefix
if ! run_make install PREFIX="$prefix"; then
    fail "make install PREFIX=$prefix"
    echo "$passed passed, $failed failed"
    exit 1
fi
lib=$prefix/lib
readelf -d "$lib/libpagegrab.so.0" | grep -q 'SONAME.*\[libpagegrab\.so\.0\]' &&
    ok "soname libpagegrab.so.0" || fail "soname libpagegrab.so.0"
sed -n 's/^PG_API .*[ *]\(pg_[a-z_]*\)(.*/\1/p' "$prefix/include/pagegrab.h" |
    LC_ALL=C sort >"$work/api"
nm -D --defined-only "$lib/libpagegrab.so.0" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' |
    LC_ALL=C sort >"$work/exported"
if [ -s "$work/api" ] && cmp -s "$work/api" "$work/exported"; then
    ok "libpagegrab.so exports exactly the $(wc -l <"$work/api") PG_API functions"
else
    fail "libpagegrab.so exports exactly the PG_API functions"
    diff "$work/api" "$work/exported" | head -n 20
fi

# 3. Build hello.c with pkg-config, shared and static.
PKG_CONFIG_PATH=$lib/pkgconfig
export PKG_CONFIG_PATH
cflags=$($PKG_CONFIG --cflags pagegrab) && libs=$($PKG_CONFIG --libs pagegrab) &&
    slibs=$($PKG_CONFIG --static --libs pagegrab) ||
    { fail "pkg-config pagegrab"; echo "$passed passed, $failed failed"; exit 1; }
# -lpagegrab would pick the .so next to the .a: name the archive.  The
# rest stay shared; --static also lists what a static libcurl would need
# (-lrtmp, -lssh2, ...), whose dev files a distribution may not install:
# keep only the libraries the linker finds.
static_libs() {
    dirs=
    for w in $1; do
        case $w in -L*) dirs="$dirs ${w#-L}" ;; esac
    done
    for w in $1; do
        case $w in
        -lpagegrab) printf ' %s' "-l:libpagegrab.a" ;;
        -l*)
            n=${w#-l}
            if [ "$($CC -print-file-name="lib$n.so")" != "lib$n.so" ] ||
                [ "$($CC -print-file-name="lib$n.a")" != "lib$n.a" ]; then
                printf ' %s' "$w"
            else
                for d in $dirs; do
                    if [ -e "$d/lib$n.so" ] || [ -e "$d/lib$n.a" ]; then
                        printf ' %s' "$w"
                        break
                    fi
                done
            fi ;;
        *) printf ' %s' "$w" ;;
        esac
    done
}
slibs=$(static_libs "$slibs")
# shellcheck disable=SC2086 # the flags are word lists
if $CC -std=c11 -Wall -Werror $cflags -o "$work/hello-shared" \
        "$here/install/hello.c" $libs -Wl,-rpath,"$lib" $PG_LDFLAGS &&
    readelf -d "$work/hello-shared" | grep -q 'NEEDED.*\[libpagegrab\.so\.0\]'
then ok "hello built with pkg-config --cflags --libs pagegrab (shared)"
else fail "hello built with pkg-config --cflags --libs pagegrab (shared)"
fi
# shellcheck disable=SC2086
if $CC -std=c11 -Wall -Werror $cflags -o "$work/hello-static" \
        "$here/install/hello.c" $slibs $PG_LDFLAGS &&
    ! readelf -d "$work/hello-static" | grep -q 'NEEDED.*libpagegrab'
then ok "hello built with pkg-config --static (libpagegrab.a)"
else fail "hello built with pkg-config --static (libpagegrab.a)"
fi

# Run them against a one-page site.
site=$work/site
mkdir -p "$site"
printf '<!doctype html>\n<title>hello</title>\n<p>hello from pagegrab</p>\n' \
    >"$site/index.html"
pg_serve_start "$serve" "$site" "$work" ||
    { fail "pg-serve"; echo "$passed passed, $failed failed"; exit 1; }
url=http://127.0.0.1:$PG_SERVE_PORT/index.html
for v in shared static static:process; do
    bin=$work/hello-${v%%:*}
    mode=
    [ "$v" = "${v#*:}" ] || mode=${v#*:}
    out=$work/out-$v
    mkdir -p "$out"
    # shellcheck disable=SC2086
    if [ -x "$bin" ] && timeout 60 "$bin" "$url" "$out" $mode >"$work/hello.log" 2>&1 &&
        grep -q '^pagegrab .*: 1 saved$' "$work/hello.log" &&
        cmp -s "$site/index.html" "$out/hello.html"
    then ok "hello ($v) saved the page"
    else fail "hello ($v) saved the page"; cat "$work/hello.log"
    fi
done
pg_serve_stop

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
