#!/usr/bin/env bash
# The test command: installs what is missing, builds guestlan twice (plain,
# and with AddressSanitizer + UndefinedBehaviorSanitizer) and runs every CTest
# suite in both; then builds the libFuzzer targets with clang and runs each
# for GLAN_FUZZ_SECONDS (default 30) plus a replay of its seeds and of every
# input that once crashed it.  Hyperion-based tests run when HERCULES_SOURCE_DIR and
# HERCULES_PREFIX name a built SDL Hyperion, and say "skipped" otherwise.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tests/deps.sh"
jobs=$(nproc)
# A built SDL Hyperion: HERCULES_SOURCE_DIR and HERCULES_PREFIX, or else the
# layout hercules-patch/README.md builds (GLAN_HYPERION, default
# /work/hyperion: src/ and prefix/).  Without one the Hercules tests skip.
hyp=${GLAN_HYPERION:-/work/hyperion}
if [ -z "${HERCULES_SOURCE_DIR:-}" ] && [ -f "$hyp/src/config.h" ] && [ -d "$hyp/prefix/lib" ]; then
  HERCULES_SOURCE_DIR=$hyp/src
  HERCULES_PREFIX=$hyp/prefix
fi
herc=()
[ -n "${HERCULES_SOURCE_DIR:-}" ] && herc+=("-DHERCULES_SOURCE_DIR=$HERCULES_SOURCE_DIR")
[ -n "${HERCULES_PREFIX:-}" ] && herc+=("-DHERCULES_PREFIX=$HERCULES_PREFIX")
if ((${#herc[@]})); then
  echo "guestlan: Hercules tests use Hyperion at ${HERCULES_SOURCE_DIR:-?} (prefix ${HERCULES_PREFIX:-?})"
else
  echo "guestlan: no built Hyperion found (HERCULES_SOURCE_DIR/HERCULES_PREFIX, $hyp): Hercules tests will skip"
fi
status=0
for variant in plain sanitize; do
  dir="$top/build-test-$variant"
  opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  [ "$variant" = sanitize ] && opts=(-DCMAKE_BUILD_TYPE=Debug -DGLAN_SANITIZE=ON)
  echo "== guestlan tests: $variant build"
  cmake -S "$top" -B "$dir" "${opts[@]}" "${herc[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" || status=1
done
echo "== guestlan tests: fuzz targets (clang, ${GLAN_FUZZ_SECONDS:-30} s each)"
dir="$top/build-test-fuzz"
CC=clang cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DGLAN_SANITIZE=ON -DGLAN_FUZZ=ON \
  -DGLAN_FUZZ_SECONDS="${GLAN_FUZZ_SECONDS:-30}" >/dev/null
cmake --build "$dir" -j"$jobs" --target fuzz_osa_control fuzz_osa_sbal >/dev/null
ctest --test-dir "$dir" --output-on-failure -L fuzz || status=1
exit $status
