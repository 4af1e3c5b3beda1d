#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -DTROL_BUILD_TESTS=ON
cd build
ctest --output-on-failure --parallel "$(nproc)" "$@"
