#!/usr/bin/env bash
# trol built against the LibTorch GPU users build with: pip's torch==2.11.0 (CUDA 13.0, cuDNN,
# NCCL), on any Debian machine, with or without a GPU. It
#   1. makes a virtual environment with the pinned torch (and numpy, for the Python reference;
#      transformers, whose Hugging Face model code the parity checks compare trol with),
#   2. finds a CUDA toolkit (nvcc and headers: LibTorch's CMake config compiles a CUDA test
#      program), or assembles one from the package index where the machine has none,
#   3. builds against that torch with CUDA and c10d's ProcessGroupNCCL (scripts/build.sh) and
#      checks that every executable is linked: no undefined symbols, NCCL's process group in.
# Idempotent: the environment is kept in TROL_TORCH_VENV (default ~/.cache/trol/venv-torch-2.11.0),
# the build in TROL_BUILD_DIR (default build-torch-2.11.0). Extra arguments go to CMake
# (e.g. -DTROL_BUILD_TESTS=ON). scripts/test_pip_torch.sh (CI) builds a clean tree and tests it.
set -euo pipefail
cd "$(dirname "$0")/.."

torch_version=2.11.0
transformers_version=5.25.0
cuda_toolkit_version=13.0.2  # the cuda-toolkit wheel torch 2.11.0 depends on: CUDA 13.0
venv="${TROL_TORCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/trol/venv-torch-$torch_version}"
build_dir="${TROL_BUILD_DIR:-build-torch-$torch_version}"
start=$(date +%s)
say() { echo "build_pip_torch [$(($(date +%s) - start)) s]: $*"; }

# The packages every build needs; TORCH_DIR leaves Debian's LibTorch alone (this pass uses pip's).
TORCH_DIR="$venv" scripts/setup.sh

# 1. The virtual environment.
if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  mkdir -p "$(dirname "$venv")"
  /usr/bin/python3 -m venv "$venv"
fi
python="$venv/bin/python"
if [ "$("$python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null)" != "$torch_version" ] ||
   ! "$python" -c 'import numpy' 2>/dev/null; then
  say "installing torch==$torch_version and numpy into $venv"
  "$venv/bin/pip" install -q "torch==$torch_version" numpy
fi
if [ "$("$python" -c 'import transformers; print(transformers.__version__)' 2>/dev/null)" != "$transformers_version" ]; then
  say "installing transformers==$transformers_version into $venv"
  "$venv/bin/pip" install -q "transformers==$transformers_version"
fi
torch_root=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)
say "torch $("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda, "NCCL", torch.cuda.nccl.version())' 2>/dev/null) in $torch_root"

# 2. A CUDA toolkit of torch's CUDA version: the machine's, or one from the package index.
torch_cuda=$("$python" -c 'import torch; print(torch.version.cuda)' 2>/dev/null)
nvcc_version() { "$1" --version 2>/dev/null | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p'; }
nvcc=""
for candidate in "${CUDACXX:-}" "$(command -v nvcc || true)" /usr/local/cuda/bin/nvcc; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && [ "$(nvcc_version "$candidate")" = "$torch_cuda" ]; then
    nvcc="$candidate"
    break
  fi
done
if [ -z "$nvcc" ]; then
  # NVIDIA's wheels of the same toolkit lay it out under nvidia/cu13 of site-packages (the
  # runtime libraries are there already, as torch's dependencies); CMake's FindCUDAToolkit
  # also wants the libraries' development names (libcudart.so), which the wheels leave out.
  say "no nvcc $torch_cuda on this machine: installing CUDA $cuda_toolkit_version's compiler from the package index"
  "$venv/bin/pip" install -q "cuda-toolkit[nvcc,crt,cccl,nvvm,cudart,nvrtc,cublas,cufft,curand,cusparse,cusolver,nvjitlink,cupti,nvtx]==$cuda_toolkit_version"
  cuda_home=$("$python" -c 'import os, nvidia.cu13 as n; print(os.path.dirname(n.__file__) if n.__file__ else list(n.__path__)[0])')
  for lib in "$cuda_home"/lib/lib*.so.[0-9]*; do
    dev="${lib%%.so.*}.so"
    [ -e "$dev" ] || ln -s "$(basename "$lib")" "$dev"
  done
  [ -e "$cuda_home/lib64" ] || ln -s lib "$cuda_home/lib64"
  nvcc="$cuda_home/bin/nvcc"
  [ "$(nvcc_version "$nvcc")" = "$torch_cuda" ] || { echo "build_pip_torch: $nvcc is not CUDA $torch_cuda" >&2; exit 1; }
fi
cuda_home=$(cd "$(dirname "$nvcc")/.." && pwd -P)
say "CUDA toolkit $(nvcc_version "$nvcc") in $cuda_home"

# 3. The build against that torch.
export CUDACXX="$nvcc" CUDA_HOME="$cuda_home" CUDAToolkit_ROOT="$cuda_home"
# One GPU architecture is enough to link and test on a CPU: nothing here compiles CUDA kernels.
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
mkdir -p "$build_dir"
TORCH_DIR="$torch_root" TROL_BUILD_DIR="$build_dir" scripts/build.sh -DTROL_REFERENCE_PYTHON="$python" -DTROL_TRANSFORMERS_PYTHON="$python" \
  -DCUDA_TOOLKIT_ROOT_DIR="$cuda_home" "$@" 2>&1 | tee "$build_dir/build_pip_torch.log"
grep -q "trol: c10d ProcessGroupNCCL enabled" "$build_dir/build_pip_torch.log" ||
  { echo "build_pip_torch: the build did not enable ProcessGroupNCCL" >&2; exit 1; }
binaries=("$build_dir/trol" "$build_dir/libtrol_sentencepiece.so")
if grep -q "^TROL_BUILD_TESTS:BOOL=ON" "$build_dir/CMakeCache.txt"; then binaries+=("$build_dir/tests/trol_unit_tests"); fi
for binary in "${binaries[@]}"; do
  [ -e "$binary" ] || { echo "build_pip_torch: the build did not produce $binary" >&2; exit 1; }
  problems=$(ldd -r "$binary" 2>&1 | grep -E "undefined symbol|not found" || true)
  [ -z "$problems" ] || { echo "build_pip_torch: $binary: $problems" >&2; exit 1; }
done
# (Into variables first: grep -q stops reading early, and pipefail would count nm's SIGPIPE.)
undefined=$(nm -C --undefined-only "$build_dir/trol")
grep -q "c10d::ProcessGroupNCCL::ProcessGroupNCCL" <<<"$undefined" ||
  { echo "build_pip_torch: $build_dir/trol does not call ProcessGroupNCCL" >&2; exit 1; }
grep -q "libtorch_cuda.so" <<<"$(ldd "$build_dir/trol")" ||
  { echo "build_pip_torch: $build_dir/trol is not linked to libtorch_cuda" >&2; exit 1; }
say "built and linked: $build_dir/trol (LibTorch $torch_version, CUDA $torch_cuda, ProcessGroupNCCL)"

