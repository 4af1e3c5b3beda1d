#!/usr/bin/env bash
# Configures and builds trol into build/ (the executable is build/trol).
# Extra arguments go to CMake's configure step, e.g. -DTROL_BUILD_TESTS=OFF.
#
# Which LibTorch: Debian's (scripts/setup.sh installs it) unless TORCH_DIR names another:
#   TORCH_DIR=/opt/libtorch scripts/build.sh                   # an unzipped LibTorch from pytorch.org
#   TORCH_DIR=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))') scripts/build.sh   # a pip torch
# (the folder holding lib/ and share/cmake/Torch; its share/cmake or share/cmake/Torch are taken too).
# TROL_BUILD_DIR (default build) keeps builds against different LibTorches apart.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${TROL_BUILD_DIR:-build}"

# Precompiled headers and ccache together need these, or every unit misses the cache.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"

torch_args=()
if [ -n "${TORCH_DIR:-}" ]; then
  root="${TORCH_DIR%/}"
  root="${root%/Torch}"
  root="${root%/share/cmake}"
  if [ ! -f "$root/share/cmake/Torch/TorchConfig.cmake" ]; then
    echo "TORCH_DIR=$TORCH_DIR: no LibTorch there (expected $root/share/cmake/Torch/TorchConfig.cmake)" >&2
    exit 1
  fi
  root=$(cd "$root" && pwd -P)
  # The LibTorch root, not its share/cmake: CMake then finds its libraries before any other
  # LibTorch's in the system's folders (CMakeLists.txt checks).
  torch_args=(-DCMAKE_PREFIX_PATH="$root" -DTorch_DIR="$root/share/cmake/Torch")
  if [ -f "$build_dir/CMakeCache.txt" ]; then
    configured=$(sed -n 's/^Torch_DIR:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
    if [ -n "$configured" ] && [ "$(cd "$configured" 2>/dev/null && pwd -P)" != "$root/share/cmake/Torch" ]; then
      echo "$build_dir/ was configured against the LibTorch in $configured; remove it or set TROL_BUILD_DIR" >&2
      exit 1
    fi
  fi
fi

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${torch_args[@]}" "$@"
elif [ $# -gt 0 ]; then
  cmake -S . -B "$build_dir" "${torch_args[@]}" "$@"
fi
# TROL_BUILD_TARGET builds one target (e.g. trol_cli) instead of everything.
cmake --build "$build_dir" --parallel "$(nproc)" ${TROL_BUILD_TARGET:+--target "$TROL_BUILD_TARGET"}
