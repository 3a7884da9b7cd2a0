#!/usr/bin/env bash
# Installs the npm packages (npm ci) when package-lock.json changed since the last install, else nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f node_modules/.installed-from && $(cat node_modules/.installed-from) == "$lock_hash" ]]; then
  echo "[npm-packages] up to date"
else
  npm ci --no-audit --no-fund
  echo "$lock_hash" >node_modules/.installed-from
fi
