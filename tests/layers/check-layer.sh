#!/bin/sh
# Show that the build enforces a layer boundary: a source file of LAYER can
# include the public header ALLOWED of a layer below it, and cannot include
# FORBIDDEN, the header of a layer above or beside it.
#
# usage: check-layer.sh CC LAYER ALLOWED FORBIDDEN -I<dir>...
#   the -I options are the include directories a source file of LAYER gets
#   (CMake passes its target's INCLUDE_DIRECTORIES).
# The probes are compiled out of the tree, in a temporary folder: the include
# path is all that decides.  Exit 0 when the allowed probe compiles and the
# forbidden one fails for want of its header, 1 otherwise.
set -eu
cc=$1 layer=$2 allowed=$3 forbidden=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "%s"\nint probe(void);\nint probe(void) { return 0; }\n' "$allowed" >"$tmp/allowed.c"
printf '#include "%s"\nint probe(void);\nint probe(void) { return 0; }\n' "$forbidden" >"$tmp/forbidden.c"
if ! "$cc" -std=gnu11 -c "$tmp/allowed.c" -o "$tmp/allowed.o" "$@" 2>"$tmp/allowed.err"; then
    echo "FAIL: $layer cannot include $allowed, which it may use:"
    cat "$tmp/allowed.err"
    exit 1
fi
echo "ok: $layer includes $allowed"
if "$cc" -std=gnu11 -c "$tmp/forbidden.c" -o "$tmp/forbidden.o" "$@" 2>"$tmp/forbidden.err"; then
    echo "FAIL: $layer could include $forbidden, which is not below it"
    exit 1
fi
if ! grep -q "$forbidden: No such file or directory" "$tmp/forbidden.err"; then
    echo "FAIL: including $forbidden in $layer failed, but not for want of the header:"
    cat "$tmp/forbidden.err"
    exit 1
fi
echo "ok: $layer cannot include $forbidden ($(grep -m1 'No such file' "$tmp/forbidden.err" | sed 's/.*error: //'))"
