#!/bin/sh
# run-tests.sh KIND BIN... - run test binaries and sum up their results.
#
# Each binary runs on its own; its output (stdout and stderr) is printed
# as it comes. Exit status 77 means the binary skipped itself. Per-binary
# counts are taken from the binary's own summary when it prints one:
#   pagegrab harness (tests/lib/testlib.c): "N passed, N failed[, N skipped]"
#   cmocka:  "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)" /
#            "[  SKIPPED ] N test(s)"
# otherwise the binary counts as one test (passed if it exited 0). A binary
# that crashes or exits non-zero without reporting a failure counts as one
# more failure. The last line is exactly one summary,
# "N passed, N failed" (with ", N skipped" appended when some were
# skipped), and the exit status is 1 if anything failed, else 0.

kind=${1:-tests}
[ $# -gt 0 ] && shift

passed=0
failed=0
skipped=0
log=$(mktemp "${TMPDIR:-/tmp}/pagegrab-run-tests.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT HUP INT TERM

for bin in "$@"; do
    name=$(basename "$bin")
    echo "== $kind: $name"
    if [ ! -x "$bin" ]; then
        echo "FAIL $name: not found or not executable: $bin"
        failed=$((failed + 1))
        continue
    fi
    # Show the output live and keep a copy to read the counts from.
    rcfile=$log.rc
    { "$bin" 2>&1; echo $? >"$rcfile"; } | tee "$log"
    rc=$(cat "$rcfile" 2>/dev/null || echo 1)
    rm -f "$rcfile"

    p=; f=; s=
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" |
        tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
        s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped$/\1/p')
    elif grep -qE '^\[=+\] [0-9]+ test\(s\) run' "$log"; then
        p=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) test\(s\)\..*/\1/p' "$log" |
            awk '{ n += $1 } END { print n + 0 }')
        f=$(sed -nE 's/^\[  FAILED  \] ([0-9]+) test\(s\).*/\1/p' "$log" |
            awk '{ n += $1 } END { print n + 0 }')
        s=$(sed -nE 's/^\[  SKIPPED \] ([0-9]+) test\(s\).*/\1/p' "$log" |
            awk '{ n += $1 } END { print n + 0 }')
    fi
    : "${s:=0}"

    if [ "$rc" = 77 ]; then
        if [ -z "$p" ]; then
            p=0; f=0; s=1
        fi
        echo "SKIP $name (exit 77)"
    elif [ -z "$p" ]; then
        # No counts: the binary is one test.
        if [ "$rc" = 0 ]; then
            p=1; f=0
        else
            p=0; f=1
            echo "FAIL $name: exit status $rc"
        fi
    elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        # Claimed success but failed (crash, sanitizer report at exit...).
        f=1
        echo "FAIL $name: exit status $rc"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
done

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
