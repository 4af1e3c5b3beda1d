#!/usr/bin/env bash
# Configures and builds trol into build/ (the executable is build/trol).
# Extra arguments go to CMake's configure step, e.g. -DTROL_BUILD_TESTS=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."

# Precompiled headers and ccache together need these, or every unit misses the cache.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
elif [ $# -gt 0 ]; then
  cmake -S . -B build "$@"
fi
# TROL_BUILD_TARGET builds one target (e.g. trol_cli) instead of everything.
cmake --build build --parallel "$(nproc)" ${TROL_BUILD_TARGET:+--target "$TROL_BUILD_TARGET"}
