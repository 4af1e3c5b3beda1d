#!/usr/bin/env bash
# CI's second pass: a clean tree built against pip's torch==2.11.0 (LibTorch with CUDA 13.0 and
# NCCL, the GPU machines' version; scripts/build_pip_torch.sh), and the whole ctest run on the
# CPU: tests that need a GPU report themselves skipped. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
export TROL_BUILD_DIR="${TROL_BUILD_DIR:-build-torch-2.11.0}"
rm -rf "$TROL_BUILD_DIR"
scripts/build_pip_torch.sh -DTROL_BUILD_TESTS=ON
cd "$TROL_BUILD_DIR"
ctest --output-on-failure --parallel "$(nproc)" "$@"
