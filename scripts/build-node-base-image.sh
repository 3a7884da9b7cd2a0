#!/usr/bin/env bash
# Build local/node-base:20 without any registry: a base image for the orchestrator's Dockerfile
# (--build-arg BASE_IMAGE=local/node-base:20) made from this machine's own Node 20.
#
# The root filesystem holds: /usr/bin/node and the shared libraries `ldd` names (at the same paths), npm
# (/usr/lib/node_modules/npm, with /usr/bin/npm and /usr/bin/npx), the static busybox as /bin/sh and its
# applets, coreutils' /usr/bin/env (the #! lines of npm, the packages and dist/cli.js name it; the last uses
# `env -S`, which busybox's env lacks), tini (Debian's static build) as
# /usr/bin/tini, the CA bundle of /etc/ssl/certs (NODE_EXTRA_CA_CERTS points node and npm at it, so they
# trust what this machine trusts), /etc/passwd, /etc/group, /etc/nsswitch.conf and a writable /tmp. It is
# imported with `docker import` (a second or two): no builder, no base image to pull.
#
# Rebuilt only when missing or when the recipe changed: the image carries the hash of the recipe section
# below and of its inputs (node and npm versions, ldd's answer, the busybox, tini and CA bundle files) in
# the org.synapse-orchestrator.node-base.recipe label (images built on it inherit that label), as
# scripts/build-engine-images.sh does for its images.
#
# Needs: a Docker engine; /usr/bin/node 20, its npm, /bin/busybox (static; Debian's busybox-static) and
# /usr/bin/tini-static (Debian's tini, installed with apt-get when missing and this runs as root).
set -euo pipefail

say() { echo "[node-base-image] $*"; }

SELF=$(readlink -f "$0")
IMAGE=${NODE_BASE_IMAGE:-local/node-base:20}
LABEL_KEY=org.synapse-orchestrator.node-base.recipe
NODE=/usr/bin/node
ENV_COMMAND=/usr/bin/env
NPM_DIR=/usr/lib/node_modules/npm
BUSYBOX=/bin/busybox
TINI=/usr/bin/tini-static
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

# >>> recipe
make_rootfs() { # $1: target dir
  local root=$1 lib applet
  chmod 755 "$root"
  mkdir -p "$root"/{bin,etc/ssl/certs,root,tmp,usr/bin,usr/lib/node_modules,usr/local/bin}
  chmod 1777 "$root/tmp"
  chmod 700 "$root/root"

  # Node, env and the libraries they link, each at the path the dynamic loader looks for it.
  cp "$NODE" "$root/usr/bin/node"
  cp "$ENV_COMMAND" "$root/usr/bin/env"
  for lib in $(shared_libraries); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done

  cp -a "$NPM_DIR" "$root/usr/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"

  cp "$BUSYBOX" "$root/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [[ $applet == busybox || -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
  done

  cp "$TINI" "$root/usr/bin/tini"

  cp -L "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
  cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
  cat >"$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
  # Without this file glibc asks DNS before /etc/hosts (localhost, extra_hosts entries).
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
}

import_rootfs() { # $1: rootfs, $2: recipe hash
  # Owned by root in the image, whoever runs this.
  tar --numeric-owner --owner=0 --group=0 -C "$1" -c . |
    docker import \
      -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
      -c "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
      -c "LABEL $LABEL_KEY=$2" \
      -c 'CMD ["node"]' - "$IMAGE" >/dev/null
}
# <<< recipe

shared_libraries() { # the absolute paths ldd prints for node and env, the loader included
  LC_ALL=C ldd "$NODE" "$ENV_COMMAND" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\// && $i !~ /:$/) print $i }' | sort -u
}

recipe_hash() {
  {
    sed -n '/^# >>> recipe$/,/^# <<< recipe$/p' "$SELF"
    "$NODE" --version
    "$NODE" "$NPM_DIR/bin/npm-cli.js" --version
    shared_libraries
    sha256sum "$BUSYBOX" "$TINI" "$CA_BUNDLE" "$ENV_COMMAND"
  } | sha256sum | cut -d' ' -f1
}

check_inputs() {
  if [[ ! -x $TINI ]]; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      say "installing Debian's tini (for $TINI)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends tini >/dev/null
    else
      say "$TINI is missing: install Debian's tini (apt-get install tini) and try again"
      exit 1
    fi
  fi
  local major
  major=$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none)
  if [[ $major != 20 ]]; then
    say "$NODE is Node $major, not 20"
    exit 1
  fi
  [[ -f $NPM_DIR/bin/npm-cli.js ]] || { say "no npm in $NPM_DIR"; exit 1; }
  if [[ ! -x $BUSYBOX ]] || LC_ALL=C ldd "$BUSYBOX" >/dev/null 2>&1; then
    say "$BUSYBOX is missing or not statically linked: install Debian's busybox-static"
    exit 1
  fi
  [[ -s $CA_BUNDLE ]] || { say "no CA bundle at $CA_BUNDLE (Debian's ca-certificates)"; exit 1; }
}

if ! docker version -f '{{.Server.Version}}' >/dev/null 2>&1; then
  say "no Docker engine answers (see scripts/ensure-docker-engine.sh)"
  exit 1
fi

check_inputs
HASH=$(recipe_hash)
current=$(docker image inspect -f "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$IMAGE" 2>/dev/null || true)
if [[ $current == "$HASH" ]]; then
  say "$IMAGE is up to date (recipe ${HASH:0:12})"
else
  started=$EPOCHREALTIME
  ROOTFS=$(mktemp -d "${TMPDIR:-/tmp}/node-base-rootfs.XXXXXX")
  trap 'rm -rf "$ROOTFS"' EXIT
  make_rootfs "$ROOTFS"
  import_rootfs "$ROOTFS" "$HASH"
  # The image this one replaced, if no container or image still uses it.
  docker image prune -f --filter "label=$LABEL_KEY" >/dev/null 2>&1 || true
  say "built $IMAGE (recipe ${HASH:0:12}) in $(awk -v a="${started/,/.}" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f s", b - a }')"
fi

# Every run: node, npm, sh and tini answer in it.
if ! output=$(docker run --rm --network none "$IMAGE" sh -c 'node --version && npm --version && tini --version' 2>&1); then
  say "$IMAGE does not run node, npm and tini:"
  printf '%s\n' "$output" | sed 's/^/    /'
  exit 1
fi
size=$(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%d MB", $1 / 1e6 }')
say "$IMAGE: node $(sed -n 1p <<<"$output"), npm $(sed -n 2p <<<"$output") ($size)"
