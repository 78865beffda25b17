#!/usr/bin/env bash
# Regenerates the screenshot of every fathom-gui page into docs/images/ (gui-serve.png, ...):
# offscreen (no display needed), at a fixed size, with the fixed font (DejaVu Sans, from
# fonts-dejavu-core), each page showing its built-in example after its computations finished.
# Usage: scripts/screenshots.sh [BUILD_DIR] [WIDTHxHEIGHT]   (defaults: build, 1280x800)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
size="${2:-1280x800}"
gui="$build/fathom-gui"
[ -x "$gui" ] || { echo "screenshots.sh: expected $gui (scripts/build.sh builds it), found nothing" >&2; exit 2; }
fc-list 2>/dev/null | grep -q DejaVuSans || { echo "screenshots.sh: expected the DejaVu fonts (scripts/setup.sh installs fonts-dejavu-core)" >&2; exit 2; }
mkdir -p docs/images
# A fresh home: the user's prices file and settings must not change the pictures.
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_RUNTIME_DIR="$home" QT_QPA_PLATFORM=offscreen \
  FATHOM_DATA_DIR="$PWD/data" "$gui" --screenshots docs/images --size "$size"
