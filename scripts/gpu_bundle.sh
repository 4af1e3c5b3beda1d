#!/usr/bin/env bash
# gpu_bundle.sh: builds, from Debian 12's source packages, the C++ dependencies trol needs
# beyond LibTorch into one relocatable install prefix, for a machine that has a pip torch,
# nvcc, CMake, ninja and g++ but no apt and no network (the GPU check machine: see
# scripts/gpu_check.sh). Every library is static (-fPIC), so nothing but the folder travels.
#
#   scripts/gpu_bundle.sh [--bundle DIR] [--work DIR] [--force]
#
#   --bundle DIR  the prefix to fill (default build-gpu-bundle/ at the repository root, ignored
#                 by git); it ends up with include/ lib/ share/ bin/pkg-config and MANIFEST.txt
#   --work DIR    downloaded sources, build trees and logs (default /var/tmp/trol-gpu-bundle-work);
#                 kept, so that an interrupted run resumes where it stopped
#   --force       rebuild even if DIR/MANIFEST.txt says the bundle is complete
#
# Run here (Debian 12, root, apt reachable). It adds deb-src lines for this machine's own
# Debian mirror (/etc/apt/sources.list.d/trol-gpu-bundle-src.sources), installs the few build
# tools it lacks (dpkg-dev, nasm, patch), fetches the sources with `apt-get source`, and builds:
#   zlib, libpng1.6, libjpeg-turbo  (OpenCV's codecs: Debian's opencv +dfsg tarball has no 3rdparty/)
#   opencv (core, imgproc, imgcodecs; PNG and JPEG only; CMake config)
#   yaml-cpp, fmtlib, spdlog (against that fmt), sentencepiece (its own protobuf-lite), utf8proc
#   cli11, nlohmann-json3, catch2 (v2, with Catch.cmake): headers and CMake configs
#   pkgconf (a static bin/pkg-config, for machines that have none)
#   gloo: the headers of Debian's binary libgloo-dev (LibTorch carries Gloo's code)
# A second run with the bundle present returns at once; one whose MANIFEST.txt lacks a library
# this script now builds (a bundle from an older version of it) builds just that library (the
# work folder's stamps say what is built) and rewrites the manifest.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bundle=$root/build-gpu-bundle
work=/var/tmp/trol-gpu-bundle-work
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_bundle.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$bundle"
bundle=$(cd "$bundle" && pwd)
manifest=$bundle/MANIFEST.txt
built_from_source=(zlib libpng1.6 libjpeg-turbo yaml-cpp fmtlib spdlog sentencepiece utf8proc opencv cli11 nlohmann-json3
                   catch2 pkgconf)
if [ -f "$manifest" ] && [ "$force" = 0 ]; then
  lacking=()
  for pkg in "${built_from_source[@]}"; do grep -q "^$pkg " "$manifest" || lacking+=("$pkg"); done
  if [ ${#lacking[@]} -eq 0 ]; then
    echo "gpu_bundle.sh: $bundle is complete ($(du -sm "$bundle" | cut -f1) MiB; --force rebuilds)"
    exit 0
  fi
  echo "gpu_bundle.sh: $bundle lacks ${lacking[*]}: building what is not built yet"
fi
if [ "$force" = 1 ]; then rm -rf "$bundle" "$work/build" "$work/stamps"; mkdir -p "$bundle"; fi
start=$(date +%s)
mkdir -p "$work/src" "$work/build" "$work/logs" "$work/stamps"
jobs=$(nproc)
export DEBIAN_FRONTEND=noninteractive

# --- apt: deb-src lines for this machine's mirror, and the build tools -----------------------
srclist=/etc/apt/sources.list.d/trol-gpu-bundle-src.sources
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
         grep -E '^(URIs:|deb )' | grep -oE 'https?://[^ ]+/debian' | head -n 1 || true)
[ -n "$mirror" ] || { echo "gpu_bundle.sh: no Debian mirror in /etc/apt/sources.list*" >&2; exit 1; }
wanted="Types: deb-src
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: $mirror-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
if [ "$(cat "$srclist" 2>/dev/null)" != "$wanted" ]; then
  echo "$wanted" >"$srclist"
  apt-get update -qq
fi
need=()
for tool in dpkg-source:dpkg-dev nasm:nasm patch:patch make:make xz:xz-utils; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get install -y -qq "${need[@]}" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi

# --- sources ---------------------------------------------------------------------------------
# source PACKAGE: the package's source tree (dpkg-source -x: Debian's patches applied) in $work/build.
declare -A version
source_tree() {
  local pkg=$1 dsc
  dsc=$(ls "$work/src/${pkg}"_*.dsc 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dsc" ]; then
    # The security suite's index can name a version its pool does not (yet) serve: then the
    # release's own version.
    (cd "$work/src" && { apt-get -o APT::Sandbox::User=root source -qq --download-only "$pkg" >/dev/null 2>&1 ||
                         apt-get -o APT::Sandbox::User=root source -qq --download-only "$pkg/bookworm" >/dev/null; })
    dsc=$(ls "$work/src/${pkg}"_*.dsc | sort -V | tail -n 1)
  fi
  version[$pkg]=$(sed -n 's/^Version: //p' "$dsc")
  tree=$work/build/$pkg/src
  if [ ! -d "$tree" ]; then
    rm -rf "$work/build/$pkg"
    mkdir -p "$work/build/$pkg"
    dpkg-source -q -x "$dsc" "$tree.tmp" >/dev/null 2>&1
    mv "$tree.tmp" "$tree"
  fi
}

export CFLAGS="-O2 -fPIC" CXXFLAGS="-O2 -fPIC"
cmake_common=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$bundle" -DCMAKE_INSTALL_LIBDIR=lib
              -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF
              -DCMAKE_PREFIX_PATH="$bundle" -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG"
              -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG")
# cmake_build PACKAGE CMAKE_ARGS...: configure, build and install the package's tree.
cmake_build() {
  local pkg=$1; shift
  cmake -S "$tree" -B "$work/build/$pkg/build" "${cmake_common[@]}" "$@"
  cmake --build "$work/build/$pkg/build" --parallel "$jobs"
  cmake --install "$work/build/$pkg/build"
}

# step PACKAGE FUNCTION: runs FUNCTION once (a stamp records it), its output in a log.
step() {
  local pkg=$1 fn=$2 t0
  source_tree "$pkg"
  if [ -f "$work/stamps/$pkg" ]; then return; fi
  t0=$(date +%s)
  printf '%-16s %-28s ' "$pkg" "${version[$pkg]}"
  if ! (set -euo pipefail; cd "$work/build/$pkg"; "$fn") >"$work/logs/$pkg.log" 2>&1; then
    echo "FAILED"
    tail -n 40 "$work/logs/$pkg.log"
    echo "gpu_bundle.sh: $pkg failed; the whole log is $work/logs/$pkg.log" >&2
    exit 1
  fi
  echo "$(( $(date +%s) - t0 )) s"
  touch "$work/stamps/$pkg"
}

build_zlib() {
  cd "$tree"
  ./configure --static --prefix="$bundle" --libdir="$bundle/lib"
  make -j"$jobs" libz.a
  make install
}
build_libpng() {
  cmake_build libpng1.6 -DPNG_SHARED=OFF -DPNG_STATIC=ON -DPNG_TESTS=OFF -DPNG_EXECUTABLES=OFF -DPNG_BUILD_ZLIB=OFF \
    -DZLIB_LIBRARY:FILEPATH="$bundle/lib/libz.a" -DZLIB_INCLUDE_DIR:PATH="$bundle/include" -DSKIP_INSTALL_PROGRAMS=ON
}
build_libjpeg() {
  # Its own GNUInstallDirs makes a relative LIBDIR absolute against the working directory.
  cmake_build libjpeg-turbo -DENABLE_SHARED=OFF -DENABLE_STATIC=ON -DWITH_TURBOJPEG=OFF -DWITH_JAVA=OFF -DWITH_SIMD=ON \
    -DCMAKE_INSTALL_LIBDIR="$bundle/lib"
}
build_yaml_cpp() {
  cmake_build yaml-cpp -DYAML_CPP_BUILD_TESTS=OFF -DYAML_CPP_BUILD_TOOLS=OFF -DYAML_CPP_BUILD_CONTRIB=OFF \
    -DYAML_BUILD_SHARED_LIBS=OFF
}
build_fmt() {
  cmake_build fmtlib -DFMT_DOC=OFF -DFMT_TEST=OFF -DFMT_INSTALL=ON
}
build_spdlog() {
  cmake_build spdlog -DSPDLOG_FMT_EXTERNAL=ON -DSPDLOG_BUILD_SHARED=OFF -DSPDLOG_BUILD_EXAMPLE=OFF \
    -DSPDLOG_BUILD_TESTS=OFF -DSPDLOG_BUILD_BENCH=OFF -DSPDLOG_INSTALL=ON -Dfmt_DIR="$bundle/lib/cmake/fmt"
}
build_sentencepiece() {
  # Debian builds only the shared library (disable-static-library.patch): undone here.
  if [ ! -f "$tree/.static-restored" ]; then
    (cd "$tree" && patch -R -p1 <debian/patches/disable-static-library.patch && touch .static-restored)
  fi
  cmake_build sentencepiece -DSPM_ENABLE_SHARED=OFF -DSPM_ENABLE_TCMALLOC=OFF -DSPM_USE_BUILTIN_PROTOBUF=ON \
    -DSPM_USE_EXTERNAL_ABSL=OFF -DSPM_BUILD_TEST=OFF
  # A static user links both libraries, the trainer first (it calls into the processor).
  sed -i 's/-lsentencepiece -lsentencepiece_train/-lsentencepiece_train -lsentencepiece/' \
    "$bundle/lib/pkgconfig/sentencepiece.pc"
}
build_utf8proc() {
  cmake_build utf8proc -DUTF8PROC_ENABLE_TESTING=OFF
}
build_opencv() {
  local off=() o
  for o in GTK QT VTK FFMPEG GSTREAMER V4L 1394 TIFF WEBP OPENEXR JASPER OPENJPEG GDAL GDCM ITT IPP OPENCL \
           OPENCL_SVM OPENCLAMDFFT OPENCLAMDBLAS VA VA_INTEL PROTOBUF EIGEN LAPACK TBB OPENMP CUDA ADE QUIRC \
           IMGCODEC_HDR IMGCODEC_SUNRASTER IMGCODEC_PXM IMGCODEC_PFM AVIF SPNG CAROTENE OPENVX HALIDE \
           ONNX TIMVX VULKAN WAYLAND; do
    off+=("-DWITH_$o=OFF")
  done
  cmake_build opencv -DBUILD_LIST=core,imgproc,imgcodecs "${off[@]}" -DWITH_PNG=ON -DWITH_JPEG=ON \
    -DBUILD_ZLIB=OFF -DBUILD_PNG=OFF -DBUILD_JPEG=OFF -DBUILD_TIFF=OFF -DBUILD_WEBP=OFF -DBUILD_OPENEXR=OFF \
    -DBUILD_OPENJPEG=OFF -DBUILD_JASPER=OFF -DBUILD_PROTOBUF=OFF -DBUILD_ITT=OFF -DBUILD_IPP_IW=OFF \
    -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF -DBUILD_DOCS=OFF -DBUILD_opencv_apps=OFF \
    -DBUILD_JAVA=OFF -DBUILD_opencv_python2=OFF -DBUILD_opencv_python3=OFF -DBUILD_opencv_world=OFF \
    -DINSTALL_C_EXAMPLES=OFF -DINSTALL_PYTHON_EXAMPLES=OFF -DINSTALL_TESTS=OFF -DOPENCV_GENERATE_PKGCONFIG=OFF \
    -DOPENCV_SKIP_PYTHON_LOADER=ON -DENABLE_PRECOMPILED_HEADERS=OFF -DOPENCV_ENABLE_NONFREE=OFF \
    -DZLIB_LIBRARY:FILEPATH="$bundle/lib/libz.a" -DZLIB_INCLUDE_DIR:PATH="$bundle/include" \
    -DPNG_LIBRARY:FILEPATH="$bundle/lib/libpng16.a" -DPNG_LIBRARY_RELEASE:FILEPATH="$bundle/lib/libpng16.a" \
    -DPNG_PNG_INCLUDE_DIR:PATH="$bundle/include" \
    -DJPEG_LIBRARY:FILEPATH="$bundle/lib/libjpeg.a" -DJPEG_LIBRARY_RELEASE:FILEPATH="$bundle/lib/libjpeg.a" \
    -DJPEG_INCLUDE_DIR:PATH="$bundle/include"
}
build_cli11() {
  cmake_build cli11 -DCLI11_BUILD_TESTS=OFF -DCLI11_BUILD_EXAMPLES=OFF -DCLI11_BUILD_DOCS=OFF \
    -DCLI11_INSTALL=ON -DCLI11_PRECOMPILED=OFF -DCLI11_SINGLE_FILE=OFF
}
build_nlohmann_json() {
  cmake_build nlohmann-json3 -DJSON_BuildTests=OFF -DJSON_Install=ON
}
build_catch2() {
  cmake_build catch2 -DCATCH_BUILD_TESTING=OFF -DCATCH_INSTALL_DOCS=OFF -DCATCH_INSTALL_HELPERS=ON
}
build_pkgconf() {
  # Static, so that it runs on any glibc; it only reads the PKG_CONFIG_PATH the caller sets.
  cd "$tree"
  ./configure --prefix="$work/build/pkgconf/install" --disable-shared --enable-static \
    --with-system-libdir=/usr/lib:/lib:/usr/lib64:/usr/lib/x86_64-linux-gnu \
    --with-system-includedir=/usr/include \
    --with-pkg-config-dir=/usr/local/lib/pkgconfig:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/lib/pkgconfig:/usr/share/pkgconfig
  make -j"$jobs" LDFLAGS=-all-static  # libtool's spelling of a fully static executable
  mkdir -p "$bundle/bin"
  install -m 755 pkgconf "$bundle/bin/pkg-config"
  strip "$bundle/bin/pkg-config"
}
gloo_version=
fetch_gloo_headers() {
  local deb
  deb=$(ls "$work/src"/libgloo-dev_*.deb 2>/dev/null | tail -n 1 || true)
  if [ -z "$deb" ]; then
    (cd "$work/src" && apt-get -o APT::Sandbox::User=root download -qq libgloo-dev >/dev/null 2>&1)
    deb=$(ls "$work/src"/libgloo-dev_*.deb | tail -n 1)
  fi
  gloo_version=$(dpkg-deb -f "$deb" Version)
  if [ ! -f "$work/stamps/gloo" ]; then
    rm -rf "$work/build/gloo" "$bundle/include/gloo"
    dpkg-deb -x "$deb" "$work/build/gloo"
    cp -r "$work/build/gloo/usr/include/gloo" "$bundle/include/gloo"
    touch "$work/stamps/gloo"
  fi
  printf '%-16s %-28s headers\n' gloo "$gloo_version"
}

step zlib build_zlib
step libpng1.6 build_libpng
step libjpeg-turbo build_libjpeg
step yaml-cpp build_yaml_cpp
step fmtlib build_fmt
step spdlog build_spdlog
step sentencepiece build_sentencepiece
step utf8proc build_utf8proc
step cli11 build_cli11
step nlohmann-json3 build_nlohmann_json
step catch2 build_catch2
step pkgconf build_pkgconf
fetch_gloo_headers
step opencv build_opencv

# --- trim and relocate -----------------------------------------------------------------------
rm -rf "$bundle/share/doc" "$bundle/share/man" "$bundle/share/licenses" "$bundle/share/opencv4" \
       "$bundle/share/Catch2" "$bundle/lib/libpng" "$bundle/lib/cmake/libjpeg-turbo" "$bundle/lib/libpng16.la" "$bundle/lib/libpng.la"
find "$bundle/bin" -mindepth 1 ! -name pkg-config -exec rm -rf {} +
find "$bundle/lib" \( -name '*.so' -o -name '*.so.*' -o -name '*.la' \) -delete
find "$bundle/lib" -name '*.a' -exec strip --strip-debug {} +
# pkg-config files name their own folder, wherever the bundle is copied to.
for pc in "$bundle"/lib/pkgconfig/*.pc "$bundle"/share/pkgconfig/*.pc; do
  [ -f "$pc" ] || continue
  rel=$(realpath --relative-to="$(dirname "$pc")" "$bundle")
  sed -i "s|$bundle|\${pcfiledir}/$rel|g" "$pc"
done
# OpenCV's static config names its codec libraries by absolute path: made relative to itself.
for f in "$bundle"/lib/cmake/opencv4/*.cmake; do
  if grep -q "$bundle" "$f"; then
    rel=$(realpath --relative-to="$(dirname "$f")" "$bundle")
    sed -i "s|$bundle|\${CMAKE_CURRENT_LIST_DIR}/$rel|g" "$f"
  fi
done
if grep -rIl "$bundle" "$bundle" >"$work/logs/absolute-paths.txt"; then
  echo "gpu_bundle.sh: these files still name $bundle (not relocatable):" >&2
  cat "$work/logs/absolute-paths.txt" >&2
  exit 1
fi

{
  echo "# trol GPU dependency bundle: static (-fPIC) builds from Debian 12 source packages"
  echo "# built $(date -u +%Y-%m-%dT%H:%M:%SZ) by scripts/gpu_bundle.sh with $(g++ --version | head -n 1), $(ldd --version | head -n 1)"
  for pkg in "${built_from_source[@]}"; do
    printf '%-16s %s\n' "$pkg" "${version[$pkg]}"
  done
  printf '%-16s %s (binary package libgloo-dev: headers only)\n' gloo "$gloo_version"
} >"$manifest"
echo "gpu_bundle.sh: $bundle: $(du -sm "$bundle" | cut -f1) MiB, built in $(( $(date +%s) - start )) s"
