#!/usr/bin/env bash
# Packs a CUDA build of fathom for the GPU machine, whose image has CUDA, CUPTI and PyTorch but
# none of Fathom's other libraries (yaml-cpp, fmt, Ceres and its solvers, SQLite) and no way to
# install them. Run it here, on the build machine; the device call then carries the result:
#
#   scripts/device_bundle.sh                       # builds build-bundle/, fills .device-bundle/
#   device run, carry [".device-bundle"]:  OUT=$OUT scripts/calibrate_device.sh
#
# .device-bundle/ holds fathom, libfathom_inject.so and, in lib/, every shared library they need
# except the C and C++ runtimes (libc, libm, libstdc++, libgcc_s, ...) and CUDA's own libraries
# (cudart, cuBLAS, cuBLASLt, CUPTI), which the device has in its own versions. Every file gets
# the run path $ORIGIN/lib (lib/ itself: $ORIGIN), so nothing depends on LD_LIBRARY_PATH, which
# would also reach the Python program that `fathom calib record` runs. calibrate_device.sh links
# the device's CUDA libraries into lib/ before it starts. lib-cxx/ holds this machine's libstdc++
# and libgcc_s, used only if the device's C++ runtime turns out older than the build's.
#
# At the end the script proves the bundle resolves: ldd must find every library either in the
# bundle or among the expected runtime and CUDA libraries, and the bundled fathom must run with
# the CUDA libraries linked in the same way calibrate_device.sh does there.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build-bundle}"
BUNDLE=.device-bundle
JOBS="${JOBS:-$(nproc)}"

if ! command -v patchelf > /dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get > /dev/null; then
    apt-get install -y -q patchelf > /dev/null || { apt-get update -q > /dev/null && apt-get install -y -q patchelf > /dev/null; }
  else
    echo "device_bundle.sh: expected patchelf on the PATH (apt-get install patchelf), found none" >&2
    exit 2
  fi
fi

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFATHOM_WITH_CUDA=ON -DFATHOM_WITH_GUI=OFF \
  -DFATHOM_WITH_PYTHON=OFF -DFATHOM_WITH_MPI=OFF -DFATHOM_BUILD_TESTS=OFF -DFATHOM_BUILD_BENCH=OFF > /dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target fathom fathom_inject

# Provided by the device, never bundled: the C and C++ runtimes, and CUDA (linked in there).
system_re='^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|librt\.so\.1|libdl\.so\.2|libutil\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1)$'
cuda_re='^lib(cudart|cublas|cublasLt|cupti)\.so\.[0-9]+$'

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/lib" "$BUNDLE/lib-cxx"
# fathom, the injection library, and the modules fathom opens with dlopen (the CUDA suite, the
# fitting engine), which must sit beside it.
top=(fathom libfathom_inject.so libfathom_calib_cuda.so libfathom_fit_solver.so)
for f in "${top[@]}"; do cp "$BUILD_DIR/$f" "$BUNDLE/"; done
for f in "${top[@]}"; do
  ldd "$BUNDLE/$f" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r soname path; do
  if [[ "$soname" =~ $system_re || "$soname" =~ $cuda_re ]]; then continue; fi
  cp -L "$path" "$BUNDLE/lib/$soname"
done
for f in "${top[@]}"; do
  ldd "$BUNDLE/$f" | awk '$2 == "=>" {print $1}'
done | sort -u | grep -E "$cuda_re" > "$BUNDLE/cuda-libs.txt"
cp -L "$(ldconfig -p | awk '$1 == "libstdc++.so.6" && /x86-64/ {print $NF; exit}')" "$BUNDLE/lib-cxx/"
cp -L "$(ldconfig -p | awk '$1 == "libgcc_s.so.1" && /x86-64/ {print $NF; exit}')" "$BUNDLE/lib-cxx/"
chmod u+w "$BUNDLE"/lib/* "$BUNDLE"/lib-cxx/*
for f in "${top[@]}"; do patchelf --set-rpath '$ORIGIN/lib' "$BUNDLE/$f"; done
for f in "$BUNDLE"/lib/*; do patchelf --set-rpath '$ORIGIN' "$f"; done

# Link CUDA the way calibrate_device.sh does on the device, then check that everything resolves
# inside the bundle or to the runtime and CUDA libraries, and that fathom runs.
# shellcheck source=scripts/device_libs.sh
source scripts/device_libs.sh
link_cuda_libs "$BUNDLE/lib"
bad=$(for f in "${top[@]/#/$BUNDLE/}" "$BUNDLE"/lib/*.so*; do ldd "$f"; done |
  awk -v b="$PWD/$BUNDLE/lib/" '$2 == "=>" { if ($3 == "not") print $1 " not found"; else if (index($3, b) != 1) print $1 " " $3 }' |
  sort -u | while read -r soname rest; do
    if [[ "$soname" =~ $system_re ]]; then continue; fi
    echo "$soname $rest"
  done)
if [[ -n "$bad" ]]; then
  echo "device_bundle.sh: expected every library inside $BUNDLE/lib or among the C/C++ runtimes; found:" >&2
  echo "$bad" >&2
  exit 1
fi
FATHOM_DATA_DIR="$PWD/data" "$BUNDLE/fathom" calib plan --quick > /dev/null
unlink_cuda_libs "$BUNDLE/lib"
echo "device_bundle.sh: $BUNDLE ready ($(du -sh "$BUNDLE" | cut -f1), $(ls "$BUNDLE/lib" | wc -l) libraries); carry it as \".device-bundle\""
