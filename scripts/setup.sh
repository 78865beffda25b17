#!/usr/bin/env bash
# Installs the Debian packages Fathom needs. Idempotent: packages already present are not
# reinstalled, and apt-get update runs only when something is missing.
# Usage (as root): scripts/setup.sh [--with-gui] [--with-python] [--with-mpi]
# Qt 6 is part of the core set: scripts/build.sh builds fathom-gui unless -DFATHOM_WITH_GUI=OFF.
set -euo pipefail

core=(build-essential cmake ninja-build pkg-config
      libyaml-cpp-dev libfmt-dev libcli11-dev nlohmann-json3-dev
      libeigen3-dev libceres-dev libsqlite3-dev sqlite3
      libgtest-dev libgmock-dev libbenchmark-dev
      clang libclang-rt-14-dev   # clang and its runtimes: the libFuzzer harnesses (scripts/fuzz.sh)
      libopenmpi-dev openmpi-bin   # sweeps under mpirun (docs/sweeps.md); tested in CI
      qt6-base-dev qt6-charts-dev libqt6opengl6-dev qt6-svg-dev  # fathom-gui and fathom-plot (docs/gui.md)
      fonts-dejavu-core)           # the fixed font of charts and screenshots
extra=()
for arg in "$@"; do
  case "$arg" in
    --with-gui) extra+=(xvfb) ;;  # Qt is in the core set now; xvfb runs the GUI under a virtual X display
    --with-python) extra+=(pybind11-dev python3-dev) ;;
    --with-mpi) ;;  # MPI is part of the core set now; the option stays for old scripts
    *) echo "setup.sh: unknown option '$arg' (expected --with-gui, --with-python or --with-mpi)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${core[@]}" "${extra[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all ${#core[@]} required packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup.sh: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup.sh: done"
