#!/usr/bin/env bash
# Make sure a headless Chromium is installed (Debian's chromium package), for the e2e test that loads the
# status page while a job runs, checks the row is in the rendered page and saves a screenshot
# (test/e2e/status/status-page.test.ts).
#
# Idempotent: does nothing when `chromium` (or CHROMIUM_PATH) runs. Otherwise, as root on Debian, installs
# the package without its recommended extras.
#
# Exit status: 0 when Chromium is there; 1 when it could not be had (the message says why).
set -euo pipefail

say() { echo "[chromium] $*"; }

found() {
  local candidate
  for candidate in "${CHROMIUM_PATH:-}" chromium chromium-browser; do
    [[ -n $candidate ]] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" --version >/dev/null 2>&1; then
      say "$("$candidate" --version 2>/dev/null) ($(command -v "$candidate"))"
      return 0
    fi
  done
  return 1
}

if found; then exit 0; fi

if [[ $(id -u) != 0 ]]; then
  say "Chromium is not installed, and installing it needs root:"
  say "  sudo apt-get install --no-install-recommends chromium"
  say "(or point CHROMIUM_PATH at a Chromium or Chrome binary)"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "Chromium is not installed and this is not a Debian-like system: install Chromium and put it on"
  say "the PATH as chromium, or point CHROMIUM_PATH at it."
  exit 1
fi

say "installing chromium from Debian"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if ! found; then
  say "the package installed, but no working chromium is on the PATH"
  exit 1
fi
