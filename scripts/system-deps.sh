#!/usr/bin/env bash
# Installs the Debian packages the portal and its tests need, only when something is missing.
set -euo pipefail
packages=(postgresql redis-server chromium poppler-utils fonts-noto-cjk fonts-wqy-microhei libnss3-tools softhsm2 opensc nginx)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
