#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test (ctest).
# TORCH_DIR and TROL_BUILD_DIR as for scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -DTROL_BUILD_TESTS=ON
cd "${TROL_BUILD_DIR:-build}"
ctest --output-on-failure --parallel "$(nproc)" "$@"
