#!/usr/bin/env bash
# Installs Debian's `chromium` when it is missing: the operator console's browser test drives it
# through Playwright (`executable_path`); no browser is ever downloaded from elsewhere.
set -euo pipefail
source "$(dirname "$0")/env.sh"

if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
command -v apt-get >/dev/null || die "chromium is missing and apt-get is not available"
log "installing Debian's chromium package (for the console's browser test)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
