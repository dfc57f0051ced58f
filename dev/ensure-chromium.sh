#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests (Playwright cannot download its own here).
set -euo pipefail

[ -x /usr/bin/chromium ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
echo "Installing Debian's chromium package for the browser tests (first run only)…" >&2
# apt's progress is noise when it works and the whole story when it does not: keep it for the failure case.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update \
       && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; } >"$log" 2>&1
then
  cat "$log" >&2
  echo "ensure-chromium: installing Debian's chromium package failed (output above)" >&2
  exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "ensure-chromium: the chromium package installed but /usr/bin/chromium is missing" >&2
  exit 1
fi
