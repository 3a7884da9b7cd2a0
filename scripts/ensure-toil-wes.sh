#!/usr/bin/env bash
# Make sure a real GA4GH WES server can be started for the WES e2e tests (test/e2e/wes/): Debian's Toil
# (`toil server`) and the Python packages its server imports, plus the workspace's toil-wes start script
# (which adds a small stand-in for the one library Debian does not package).
#
# Idempotent: does nothing when the packages are installed. Otherwise, as root on Debian, installs them
# without recommended extras (about 20 s from the Debian mirror).
#
# Exit status: 0 when the tests can start a server; 1 when not (the message says why).
set -euo pipefail

say() { echo "[toil-wes] $*"; }
PACKAGES=(toil python3-flask python3-gunicorn python3-celery)

script=""
for candidate in "${TOIL_WES_START:-}" "$(dirname "$0")/../../shared/tools/toil-wes/start-wes.sh" /work/shared/tools/toil-wes/start-wes.sh; do
  if [[ -n $candidate && -f $candidate ]]; then script=$(readlink -f "$candidate"); break; fi
done
if [[ -z $script ]]; then
  say "the toil-wes start script is not found; set TOIL_WES_START to shared/tools/toil-wes/start-wes.sh"
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    say "missing Debian packages: ${missing[*]}; install them as root:"
    say "  sudo apt-get install --no-install-recommends ${PACKAGES[*]}"
    exit 1
  fi
  say "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi
say "$(toil --version 2>/dev/null | tail -n 1 || echo '?') (toil); start script $script"
