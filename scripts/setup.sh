#!/usr/bin/env bash
# Installs every system dependency of trol from Debian's packages.
# Idempotent, non-interactive, meant to run as root (CI, fresh machines);
# it does nothing when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev            # LibTorch 1.13 (CPU) with c10d
  libopenblas0-pthread    # fast BLAS: without it matrix products run ~30x slower
  libgloo-dev             # headers needed to include ProcessGroupGloo
  libyaml-cpp-dev libspdlog-dev libfmt-dev catch2 nlohmann-json3-dev libcli11-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libsentencepiece-dev sentencepiece
  zlib1g-dev              # CRC-32 checksums of checkpoint files
  libgoogle-perftools-dev # tcmalloc: glibc's malloc re-faults large tensors every step (BENCHMARKS.md)
  python3-torch python3-numpy  # the independent Python reference used by tests and benchmarks
)

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
