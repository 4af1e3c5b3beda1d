#!/usr/bin/env bash
# gpu_check_dry_run.sh: scripts/gpu_check.sh --device cpu in a fresh Debian 12 chroot that, like
# the GPU machine, has only g++, CMake, ninja and Python (the base of
# /work/shared/tools/fresh-machine.sh: no -dev package, no pkg-config), a pip torch and nvcc:
# trol must build from build-gpu-bundle/ alone.
#   scripts/experiments/gpu_check_dry_run.sh [LOG] [OUT_DIR]     (as root, from anywhere)
# LOG (default /var/tmp/gpu_check_dry_run.log) gets the whole output; OUT_DIR (default
# /var/tmp/gpu_check_dry_run.out) gets gpu_check.sh's summary and logs.
# The chroot gets a copy of the working tree (tracked and untracked, not ignored, files), a copy
# of the bundle, and read-only bind mounts of the torch venv ($VENV, default
# /root/.cache/trol/venv-torch-2.11.0: a /usr/bin/python3.11 venv, which the chroot's python3
# matches; numpy is pip-installed into it if missing) and of the CUDA toolkit ($CUDA_HOME,
# default /usr/local/cuda-13.0, which a CUDA torch's CMake config needs). The chroot and its
# mounts are removed afterwards. GPU_CHECK_ARGS adds arguments (default: --time-scale 12, for
# 2 shared cores).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
log=${1:-/var/tmp/gpu_check_dry_run.log}
out=${2:-/var/tmp/gpu_check_dry_run.out}
bundle=${BUNDLE:-$repo/build-gpu-bundle}
venv=${VENV:-/root/.cache/trol/venv-torch-2.11.0}
cuda=$(realpath "${CUDA_HOME:-/usr/local/cuda-13.0}")
base=${TMPDIR:-/var/tmp}/trol-freshroot-base.tar
[ -f "$bundle/MANIFEST.txt" ] || { echo "no bundle at $bundle: scripts/gpu_bundle.sh first" >&2; exit 2; }
[ -x "$venv/bin/python" ] || { echo "no venv at $venv" >&2; exit 2; }
start=$SECONDS

# fresh-machine.sh builds and caches the Debian 12 base on its first call.
[ -f "$base" ] || /work/shared/tools/fresh-machine.sh "$repo" /dev/null -- true
[ -f "$base" ] || { echo "no base at $base" >&2; exit 2; }
"$venv/bin/python" -c 'import numpy' 2>/dev/null || "$venv/bin/pip" install -q numpy

root=$(mktemp -d "${TMPDIR:-/var/tmp}/gpucheckroot.XXXX")
cleanup() {
  for m in "$root/dev" "$root/proc" "$root$venv" "$root$cuda"; do
    mountpoint -q "$m" && umount -R "$m"
  done
  if grep -q " $root" /proc/mounts; then
    echo "warning: $root still has mounts; not removed" >&2
  else
    rm -rf "$root"
  fi
}
trap cleanup EXIT
tar xf "$base" -C "$root"
mkdir -p "$root/src"
(cd "$repo" && git ls-files -co --exclude-standard | while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done |
   tar -cf - -T -) | tar -xf - -C "$root/src"
cp -a "$bundle" "$root/src/build-gpu-bundle"
mkdir -p "$root$venv" "$root$cuda"
mount --bind "$venv" "$root$venv" && mount -o remount,bind,ro "$root$venv"
mount --bind "$cuda" "$root$cuda" && mount -o remount,bind,ro "$root$cuda"
ln -sfn "$cuda" "$root/usr/local/cuda"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"

echo "dry run in $root: log $log"
set +e
# shellcheck disable=SC2086
chroot "$root" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  nice -n 10 bash -c "cd /src && scripts/gpu_check.sh --device cpu --python $venv/bin/python --out /out ${GPU_CHECK_ARGS:---time-scale 12}" \
  </dev/null >"$log" 2>&1
rc=$?
set -e
rm -rf "$out"
cp -a "$root/out" "$out" 2>/dev/null || true
tail -n 20 "$log"
echo "gpu_check_dry_run.sh: exit $rc after $((SECONDS - start)) s; summary and logs in $out"
exit $rc
