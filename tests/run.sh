#!/usr/bin/env bash
# The test command: installs what is missing, builds guestlan twice (plain,
# and with AddressSanitizer + UndefinedBehaviorSanitizer) and runs every CTest
# suite in both; builds the unit suites a third time with ThreadSanitizer and
# runs them (only them: see the TSan step below); then builds the libFuzzer
# targets with clang and runs each for GLAN_FUZZ_SECONDS (default 30) plus a
# replay of its seeds and of every input that once crashed it.  Hyperion-based tests run when a built SDL
# Hyperion is found (tests/find-hyperion.sh) and say "skipped" otherwise; the
# summary at the end lists every skipped test with its reason.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tests/deps.sh"
jobs=$(nproc)
# A built SDL Hyperion (tests/find-hyperion.sh): HERCULES_SOURCE_DIR and
# HERCULES_PREFIX, or else the per-user default.  Without one the Hercules
# tests skip, and the summary at the end says so.
. "$top/tests/find-hyperion.sh"
herc=()
if [ -n "${HERCULES_SOURCE_DIR:-}" ]; then
  herc=("-DHERCULES_SOURCE_DIR=$HERCULES_SOURCE_DIR" "-DHERCULES_PREFIX=$HERCULES_PREFIX")
fi
echo "guestlan: Hercules tests: $hyperion_why"
status=0
for variant in plain sanitize; do
  dir="$top/build-test-$variant"
  opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  [ "$variant" = sanitize ] && opts=(-DCMAKE_BUILD_TYPE=Debug -DGLAN_SANITIZE=ON)
  echo "== guestlan tests: $variant build"
  cmake -S "$top" -B "$dir" "${opts[@]}" "${herc[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" --output-junit "$dir/ctest.xml" || status=1
done
# ThreadSanitizer: only the unit suites (label unit), the tests whose
# threads race inside one process.  Not the Hercules tests (hdtglan, the e2e
# guests): a TSan module cannot load into an unsanitized Hyperion.  Not the
# replay, network-namespace and tool tests: they drive the same base through
# the glan tool one thread at a time, and building every target with TSan
# would double this step for no race more.  Each suite runs with its
# suppressions (tests/tsan, applied by tests/unit/CMakeLists.txt).
echo "== guestlan tests: tsan build (unit suites)"
dir="$top/build-test-tsan"
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGLAN_TSAN=ON >/dev/null
cmake --build "$dir" -j"$jobs" --target glan-unit >/dev/null
# TSan of GCC 12 cannot map its shadow under the wider address-space
# randomisation of newer kernels ("unexpected memory mapping"): run without
# it then (setarch -R, inherited by every test process).
norand=()
if "$dir/tests/unit/glan-unit" addr 2>&1 | grep -q "unexpected memory mapping"; then
  norand=(setarch "$(uname -m)" -R)
fi
"${norand[@]}" ctest --test-dir "$dir" --output-on-failure -j"$jobs" -L unit \
  --output-junit "$dir/ctest.xml" || status=1
echo "== guestlan tests: fuzz targets (clang, ${GLAN_FUZZ_SECONDS:-30} s each)"
dir="$top/build-test-fuzz"
CC=clang cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DGLAN_SANITIZE=ON -DGLAN_FUZZ=ON \
  -DGLAN_FUZZ_SECONDS="${GLAN_FUZZ_SECONDS:-30}" >/dev/null
cmake --build "$dir" -j"$jobs" --target fuzz_osa_control fuzz_osa_sbal fuzz_osa_sbal_l2 fuzz_osa_control_iqd \
  fuzz_osa_sbal_iqd fuzz_offload \
  fuzz_capture fuzz_l2_input fuzz_uplink_spec fuzz_replay_args fuzz_region >/dev/null
ctest --test-dir "$dir" --output-on-failure -L fuzz || status=1
echo "== guestlan tests: what was skipped, and why"
echo "   Hercules tests: $hyperion_why"
for variant in plain sanitize; do
  python3 "$top/tests/skip-summary.py" "$variant build" "$top/build-test-$variant/ctest.xml"
done
python3 "$top/tests/skip-summary.py" "tsan build (unit suites only; Hercules, e2e, replay and namespace tests run in the other builds)" \
  "$top/build-test-tsan/ctest.xml"
exit $status
