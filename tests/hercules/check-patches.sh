#!/bin/sh
# Check that guestlan's patches to SDL Hyperion (hercules-patch/*.patch) apply,
# in order, to the pinned Hyperion commit.  The tree is HERCULES_SOURCE_DIR
# (or $1), a git checkout of Hyperion holding that commit.  The series is
# applied to a throw-away index, so the checkout's files and index are never
# touched; then each patch is reported as "applies" or "already applied" to
# the checkout's working files.  Exit 0 all good, 1 a patch does not apply,
# 77 skipped (no tree given): CTest's SKIP_RETURN_CODE.
set -eu

PINNED=2d2c4054e442b491314ec9c6e51806cdc4277c70 # SDL Hyperion "release 4.9 configure et al."
here=$(cd "$(dirname "$0")" && pwd)
patches=$(cd "$here/../../hercules-patch" && pwd)
src=${1:-${HERCULES_SOURCE_DIR:-}}

if [ -z "$src" ]; then
    echo "skipped: no Hyperion tree (set HERCULES_SOURCE_DIR or pass its path)"
    exit 77
fi
if ! git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    echo "skipped: $src is not a git checkout of SDL Hyperion"
    exit 77
fi
if ! git -C "$src" cat-file -e "$PINNED^{commit}" 2>/dev/null; then
    echo "FAIL: $src does not hold the pinned commit $PINNED"
    exit 1
fi
head=$(git -C "$src" rev-parse HEAD)
[ "$head" = "$PINNED" ] || echo "note: $src is checked out at $head, not the pinned $PINNED"

set -- "$patches"/*.patch
[ -e "$1" ] || { echo "FAIL: no patches in $patches"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GIT_INDEX_FILE="$tmp/index" git -C "$src" read-tree "$PINNED"
fail=0
for p in "$@"; do
    name=$(basename "$p")
    # The series, in order, against the pinned commit.
    if GIT_INDEX_FILE="$tmp/index" git -C "$src" apply --cached "$p" 2>"$tmp/err"; then
        state="applies to $PINNED"
    else
        state="DOES NOT APPLY to $PINNED: $(cat "$tmp/err")"
        fail=1
    fi
    # And the checkout's own files, for information.
    if git -C "$src" apply --check "$p" 2>/dev/null; then
        tree="not yet applied in $src"
    elif git -C "$src" apply --check --reverse "$p" 2>/dev/null; then
        tree="already applied in $src"
    else
        tree="conflicts with $src's working files"
    fi
    echo "$name: $state; $tree"
done
if [ $fail -ne 0 ]; then
    echo "FAIL: the patch series does not apply to the pinned commit"
    exit 1
fi
echo "ok: $# patches apply to $PINNED"
