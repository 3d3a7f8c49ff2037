#!/usr/bin/env bash
# Debian packages the suite needs beyond Python: Pango for WeasyPrint's PDFs, fonts with Vietnamese diacritics
# (Liberation Serif has Times New Roman's metrics, the face of official forms), poppler-utils (pdftotext, pdfinfo) and
# headless Chromium with its driver for the browser tests. Installed only when missing, and only as root; otherwise
# it says what to install. Usage: scripts/system_deps.sh [run|test]
set -euo pipefail
want=(libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation fonts-dejavu-core)
[ "${1:-test}" = test ] && want+=(poppler-utils chromium chromium-driver)

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
