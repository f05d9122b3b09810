# Find a built SDL Hyperion for guestlan's scripts (sourced by tests/run.sh
# and samples/demo.sh).  In order:
#   1. HERCULES_SOURCE_DIR and HERCULES_PREFIX, as the caller set them;
#   2. the per-user default, ${XDG_DATA_HOME:-~/.local/share}/guestlan/hyperion,
#      with the configured source tree in src/ and the install prefix in
#      prefix/ (hercules-patch/README.md).
# Sets HERCULES_SOURCE_DIR and HERCULES_PREFIX when one is found, and
# hyperion_why to a line saying what was used or why none was.
hyperion_default=${XDG_DATA_HOME:-$HOME/.local/share}/guestlan/hyperion
if [ -z "${HERCULES_SOURCE_DIR:-}" ] && [ -z "${HERCULES_PREFIX:-}" ] &&
  [ -f "$hyperion_default/src/config.h" ] && [ -x "$hyperion_default/prefix/bin/hercules" ]; then
  HERCULES_SOURCE_DIR=$hyperion_default/src
  HERCULES_PREFIX=$hyperion_default/prefix
fi
if [ -n "${HERCULES_SOURCE_DIR:-}" ] && [ -n "${HERCULES_PREFIX:-}" ]; then
  if [ ! -f "$HERCULES_SOURCE_DIR/config.h" ]; then
    hyperion_why="HERCULES_SOURCE_DIR=$HERCULES_SOURCE_DIR is not a configured Hyperion tree (no config.h)"
    unset HERCULES_SOURCE_DIR HERCULES_PREFIX
  elif [ ! -x "$HERCULES_PREFIX/bin/hercules" ]; then
    hyperion_why="HERCULES_PREFIX=$HERCULES_PREFIX holds no installed Hyperion (no bin/hercules)"
    unset HERCULES_SOURCE_DIR HERCULES_PREFIX
  else
    hyperion_why="SDL Hyperion at $HERCULES_SOURCE_DIR, installed in $HERCULES_PREFIX"
  fi
elif [ -n "${HERCULES_SOURCE_DIR:-}${HERCULES_PREFIX:-}" ]; then
  hyperion_why="only one of HERCULES_SOURCE_DIR and HERCULES_PREFIX is set; set both"
  unset HERCULES_SOURCE_DIR HERCULES_PREFIX
else
  hyperion_why="no built SDL Hyperion: HERCULES_SOURCE_DIR and HERCULES_PREFIX are unset and $hyperion_default has no src/config.h and prefix/bin/hercules (hercules-patch/README.md)"
fi
