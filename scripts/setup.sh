#!/usr/bin/env bash
# Installs every system dependency of trol from Debian's packages.
# Idempotent, non-interactive, meant to run as root (CI, fresh machines);
# it does nothing when everything is already installed.
#
# With TORCH_DIR set (as for scripts/build.sh) the user builds against that LibTorch (a
# LibTorch zip, a pip torch), so Debian's libtorch-dev and python3-torch are left alone:
# installing them could replace or shadow the one pointed at.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libopenblas0-pthread    # fast BLAS: without it matrix products run ~30x slower
  libgloo-dev             # headers needed to include ProcessGroupGloo
  libyaml-cpp-dev libspdlog-dev libfmt-dev catch2 nlohmann-json3-dev libcli11-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libsentencepiece-dev sentencepiece
  libutf8proc-dev         # Unicode case mapping and properties: scorers lower text as Python does
  zlib1g-dev              # CRC-32 checksums of checkpoint files
  libgoogle-perftools-dev # tcmalloc: glibc's malloc re-faults large tensors every step (BENCHMARKS.md)
  python3-numpy           # the independent Python reference used by tests and benchmarks
  python3-venv            # scripts/test_pip_torch.sh: pip's torch in a virtual environment
)
if [ -z "${TORCH_DIR:-}" ]; then
  packages+=(
    libtorch-dev          # LibTorch 1.13 (CPU) with c10d
    python3-torch         # the Python reference's torch
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "trol setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
