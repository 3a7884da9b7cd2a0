#!/usr/bin/env bash
# Make sure Debian's docker-compose (the Python tool, v1.29 on bookworm) is installed: the compose e2e test
# starts the orchestrator's image with it. Bookworm has no package for compose v2 (`docker compose`), so v1 is
# what the tests can use here; docker-compose.yml keeps to what both accept.
#
# Idempotent: does nothing when `docker-compose` answers. Otherwise installs it with apt-get when running as
# root (no Recommends: docker.io is there already, or the test has no engine to talk to anyway).
#
# Exit status: 0 when docker-compose answers; 1 when it is missing and could not be installed.
set -euo pipefail

say() { echo "[docker-compose] $*"; }

if version=$(docker-compose version --short 2>/dev/null); then
  say "docker-compose $version present"
  exit 0
fi
if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
  say "docker-compose is missing; install it (Debian: apt-get install docker-compose) and try again."
  exit 1
fi
say "installing docker-compose from Debian"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
say "docker-compose $(docker-compose version --short) installed"
