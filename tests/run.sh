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
herc=()
[ -n "${HERCULES_SOURCE_DIR:-}" ] && herc+=("-DHERCULES_SOURCE_DIR=$HERCULES_SOURCE_DIR")
[ -n "${HERCULES_PREFIX:-}" ] && herc+=("-DHERCULES_PREFIX=$HERCULES_PREFIX")
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
