#!/usr/bin/env bash
# The test command: installs what is missing, builds guestlan twice (plain,
# and with AddressSanitizer + UndefinedBehaviorSanitizer) and runs every CTest
# suite in both.  Hyperion-based tests run when HERCULES_SOURCE_DIR and
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
exit $status
