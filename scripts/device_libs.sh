# Sourced by device_bundle.sh (here) and calibrate_device.sh (on the GPU machine): links the CUDA
# libraries that the bundled fathom and libfathom_inject.so need into the bundle's lib/ folder,
# from wherever this machine keeps them, so that their run path ($ORIGIN/lib) finds them.

# The CUDA sonames the bundle needs, one per line (written by device_bundle.sh).
cuda_sonames() {  # cuda_sonames LIBDIR
  cat "$1/../cuda-libs.txt"
}

# Folders that may hold CUDA's libraries, most specific first: the toolkit, the loader's cache,
# then the pip wheels of the machine's PyTorch (nvidia/*/lib).
cuda_lib_dirs() {
  local d
  for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib \
    /usr/local/cuda/extras/CUPTI/lib64 /usr/local/cuda-*/lib64 /usr/local/cuda-*/extras/CUPTI/lib64; do
    [[ -d "$d" ]] && echo "$d"
  done
  ldconfig -p 2> /dev/null | awk '/x86-64/ && $NF ~ /\/lib(cudart|cublas|cublasLt|cupti)\.so/ {print $NF}' |
    xargs -r -n1 dirname | sort -u
  if command -v python3 > /dev/null; then
    python3 - 2> /dev/null << 'EOF' || true
import glob, os, site
for root in site.getsitepackages() + [site.getusersitepackages()]:
    for d in sorted(glob.glob(os.path.join(root, "nvidia", "*", "lib")) + glob.glob(os.path.join(root, "nvidia", "*", "*", "lib"))):
        print(d)
EOF
  fi
}

find_cuda_lib() {  # find_cuda_lib SONAME: prints the first copy found, or nothing
  local d
  while read -r d; do
    if [[ -e "$d/$1" ]]; then
      echo "$d/$1"
      return 0
    fi
  done < <(cuda_lib_dirs)
}

link_cuda_libs() {  # link_cuda_libs LIBDIR [SONAME=PATH ...]: overrides pick a given copy
  local libdir="$1" soname path o
  shift
  while read -r soname; do
    path=""
    for o in "$@"; do
      [[ "${o%%=*}" == "$soname" ]] && path="${o#*=}"
    done
    [[ -z "$path" ]] && path=$(find_cuda_lib "$soname")
    if [[ -z "$path" ]]; then
      echo "device_libs.sh: expected $soname in the CUDA toolkit, the loader cache or PyTorch's nvidia wheels; found none" >&2
      return 1
    fi
    ln -sfn "$path" "$libdir/$soname"
    echo "linked $soname -> $path"
  done < <(cuda_sonames "$libdir")
}

unlink_cuda_libs() {  # unlink_cuda_libs LIBDIR
  local soname
  while read -r soname; do rm -f "$1/$soname"; done < <(cuda_sonames "$1")
}
