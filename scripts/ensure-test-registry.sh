#!/usr/bin/env bash
# Make sure the `docker-registry` binary (the CNCF distribution registry, Debian's docker-registry
# package) is installed, for the tests that push images to a registry of their own and resolve their
# digests (test/support/registry.ts starts it on 127.0.0.1 with a temporary storage directory).
#
# Idempotent: does nothing when `docker-registry` is on the PATH. Otherwise, as root on Debian,
# installs the package without letting it start a registry service: a policy-rc.d forbids service
# starts while apt runs (these machines have no systemd, and an init script would otherwise start
# one), and any registry the package started anyway is stopped.
#
# Exit status: 0 when the binary is there; 1 when it could not be had (the message says why).
set -euo pipefail

say() { echo "[test-registry] $*"; }

if command -v docker-registry >/dev/null 2>&1; then
  say "docker-registry already installed ($(command -v docker-registry))"
  exit 0
fi

if [[ $(id -u) != 0 ]]; then
  say "docker-registry is not installed, and installing it needs root:"
  say "  sudo apt-get install --no-install-recommends docker-registry"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "docker-registry is not installed and this is not a Debian-like system; install the CNCF"
  say "distribution registry (https://github.com/distribution/distribution) as docker-registry."
  exit 1
fi

# Registry processes running before the install: any other one after it was started by the package.
registry_pids() { pgrep -x docker-registry 2>/dev/null | sort || true; }
before=$(registry_pids)

POLICY=/usr/sbin/policy-rc.d
own_policy=false
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\n# Written by ensure-test-registry.sh while apt runs: no service starts.\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  own_policy=true
fi
cleanup() { if $own_policy; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

say "installing docker-registry from Debian"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends docker-registry >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
fi

# The package must not leave a registry serving on :5000.
for pid in $(comm -13 <(echo "$before") <(registry_pids)); do
  say "stopping the registry service the package started (pid $pid)"
  kill "$pid" 2>/dev/null || true
done
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
fi

if ! command -v docker-registry >/dev/null 2>&1; then
  say "the package installed, but no docker-registry is on the PATH"
  exit 1
fi
say "installed: $(docker-registry --version 2>/dev/null || echo docker-registry)"
