#!/usr/bin/env bash
# Build the CWL engine images without any registry.
#
#   local/cwl-engine:2       Debian bookworm (minbase) + cwltool, python3-setuptools, nodejs, Python's
#                            docker module (python3-docker) and the docker CLI (the one binary, taken out
#                            of Debian's docker.io .deb; no daemon)
#   local/cwl-engine:2-toil  the same + Debian's toil, for toil-cwl-runner
#
# The tag's number goes up when the images gain something workflows may rely on (2: python3-docker), so
# an older image on the same Docker engine (another clone still on :1) is left alone rather than rebuilt
# back and forth; within a tag, any change to the recipe rebuilds (see Reuse).
#
# How: one debootstrap from the Debian mirror apt already uses, the docker CLI copied in, graphviz
# replaced by an empty dummy package (python3-pydot Depends on it; only `cwltool --print-dot` uses it),
# docs/caches dropped, then `docker import`. The toil image is a copy of the same root filesystem with
# toil installed on top, so both images come from one debootstrap.
#
# Reuse, cheapest first:
#   1. an image whose org.synapse-orchestrator.recipe label equals the current recipe hash: nothing to do;
#   2. a `docker save` copy in $ENGINE_IMAGE_CACHE (outside the clone, so it outlives it), keyed by the
#      same hash: `docker load` (seconds instead of a two-minute build);
#   3. otherwise build (needs root), then refresh the cache copy.
# The hash covers the recipe section of this file (between the >>> / <<< markers) and each image's
# package list, so editing comments elsewhere does not rebuild anything.
#
# Environment: ENGINE_IMAGE_CACHE (default /var/cache/synapse-orchestrator/images),
#              DEBIAN_MIRROR (default: the first mirror in apt's own sources, else deb.debian.org).
set -euo pipefail

say() { echo "[engine-images] $*"; }

SELF=$(readlink -f "$0")
CACHE_DIR=${ENGINE_IMAGE_CACHE:-/var/cache/synapse-orchestrator/images}
LABEL_KEY=org.synapse-orchestrator.recipe

# Package lists: part of each image's hash.
BASE_PACKAGES="cwltool python3-setuptools nodejs python3-docker"
TOIL_PACKAGES="toil"

# >>> recipe
SUITE=bookworm

make_rootfs() { # $1: target dir
  # minbase + Depends only (debootstrap never follows Recommends). python3-setuptools is a hidden
  # need of cwltool (pkg_resources lookup at start); nodejs runs InlineJavascriptRequirement;
  # python3-docker is what SWO's engine image offers tools without a DockerRequirement (Sage's
  # model-to-data templates start the participant's container with it).
  debootstrap --variant=minbase --include="${BASE_PACKAGES// /,}" "$SUITE" "$1" "$MIRROR"
}

add_docker_cli() { # $1: rootfs. Only /usr/bin/docker (libc only): no dockerd, containerd, runc.
  chroot "$1" sh -c 'cd /tmp && apt-get download -q docker.io'
  dpkg-deb --fsys-tarfile "$1"/tmp/docker.io_*.deb | tar -x -C "$1" ./usr/bin/docker
  rm -f "$1"/tmp/docker.io_*.deb
}

replace_graphviz_with_dummy() { # $1: rootfs, $2: packages to keep. Drops ~70 MB of X11/image libs.
  local pkg=$1/tmp/graphviz-dummy
  mkdir -p "$pkg/DEBIAN"
  cat >"$pkg/DEBIAN/control" <<'CONTROL'
Package: graphviz
Version: 99:0-dummy
Architecture: all
Maintainer: synapse-orchestrator <ci@localhost>
Description: empty stand-in for graphviz (cwltool --print-dot is not available)
CONTROL
  dpkg-deb --build "$pkg" "$pkg.deb" >/dev/null
  chroot "$1" dpkg -i /tmp/graphviz-dummy.deb
  # Everything is "automatic" except what we asked for (and the dummy); autoremove drops the rest.
  chroot "$1" sh -c 'apt-mark auto $(dpkg-query -W -f "\${Package}\n") >/dev/null'
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  chroot "$1" apt-mark manual graphviz $2 >/dev/null
  chroot "$1" apt-get -y -q autoremove --purge
  rm -rf "$pkg" "$pkg.deb"
}

install_extra() { # $1: rootfs, $2: packages
  # shellcheck disable=SC2086
  chroot "$1" apt-get install -y -q --no-install-recommends $2
}

slim_rootfs() { # $1: rootfs. No apt caches or lists, docs, man pages, locales, logs.
  chroot "$1" apt-get clean
  rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/debconf/*-old \
    "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/usr/share/lintian \
    "$1"/var/log/* "$1"/root/.cache "$1"/tmp/*
  find "$1"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  chmod 1777 "$1/tmp"
}

import_rootfs() { # $1: rootfs, $2: image, $3: recipe hash, $4: default command (JSON array)
  tar --numeric-owner -C "$1" -c . |
    docker import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'ENV LANG=C.UTF-8' \
      -c "LABEL $LABEL_KEY=$3" \
      -c "CMD $4" - "$2" >/dev/null
}
# <<< recipe

recipe_hash() { # $@: the image's package lists
  { sed -n '/^# >>> recipe$/,/^# <<< recipe$/p' "$SELF"; printf 'packages: %s\n' "$*"; } |
    sha256sum | cut -d' ' -f1
}

IMAGES=(local/cwl-engine:2 local/cwl-engine:2-toil)
declare -A HASH=(
  [local/cwl-engine:2]=$(recipe_hash "$BASE_PACKAGES")
  [local/cwl-engine:2-toil]=$(recipe_hash "$BASE_PACKAGES" "$TOIL_PACKAGES")
)
declare -A COMMAND=(
  [local/cwl-engine:2]='["cwltool","--version"]'
  [local/cwl-engine:2-toil]='["toil-cwl-runner","--version"]'
)

now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# Runs "$@" with its output in $LOG; prints the step's time, or the log's tail when it fails.
# In the background, not as an `if` condition: there bash would ignore `set -e` inside the step's function.
step() {
  local name=$1 started pid
  shift
  started=$(now)
  "$@" >>"$LOG" 2>&1 &
  pid=$!
  if wait "$pid"; then
    say "  $name: $(elapsed "$started")"
  else
    local rc=$?
    say "  $name FAILED (exit $rc) after $(elapsed "$started"); last lines of $LOG:"
    tail -n 30 "$LOG" | sed 's/^/    /'
    exit "$rc"
  fi
}

# Images a new build or load replaced are left untagged; drop them (kept while a container uses one).
drop_replaced_images() { docker image prune -f --filter "label=$LABEL_KEY" >/dev/null 2>&1 || true; }

image_label() { docker image inspect -f "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$1" 2>/dev/null || true; }
cache_file() { echo "$CACHE_DIR/${1//[\/:]/_}.${HASH[$1]:0:16}.tar.gz"; }

# 1 + 2: current image present, or loaded from the cache.
try_reuse() { # $1: image; true when it is there with the current recipe
  local image=$1 file
  if [[ $(image_label "$image") == "${HASH[$image]}" ]]; then
    say "$image is up to date (recipe ${HASH[$image]:0:12}), not rebuilding"
    return 0
  fi
  file=$(cache_file "$image")
  [[ -s $file ]] || return 1
  local started
  started=$(now)
  if docker load -q -i "$file" >/dev/null && [[ $(image_label "$image") == "${HASH[$image]}" ]]; then
    say "$image loaded from $file in $(elapsed "$started")"
    drop_replaced_images
    return 0
  fi
  say "$file is unusable; removing it and building instead"
  rm -f "$file" 2>/dev/null || true
  return 1
}

save_to_cache() { # $1: image
  local image=$1 file started
  file=$(cache_file "$image")
  if ! mkdir -p "$CACHE_DIR" 2>/dev/null || [[ ! -w $CACHE_DIR ]]; then
    say "  cannot write $CACHE_DIR; not caching $image"
    return 0
  fi
  started=$(now)
  # Older recipes of this image are of no further use.
  rm -f "$CACHE_DIR/${image//[\/:]/_}".*.tar.gz
  docker save "$image" | gzip -1 >"$file.partial"
  mv "$file.partial" "$file"
  say "  cached $image as $file ($(du -h "$file" | cut -f1)) in $(elapsed "$started")"
}

default_mirror() {
  local uri
  uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [[ -n $uri ]] || uri=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

# Mount points at or below $1, deepest first (debootstrap and our chroot steps mount proc and friends).
mounts_under() { awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r; }

ROOTFS=
cleanup() {
  local dir mnt
  [[ -n $ROOTFS ]] || return 0
  for dir in "$ROOTFS" "$ROOTFS.toil"; do
    [[ -d $dir ]] || continue
    for mnt in $(mounts_under "$dir"); do umount "$mnt" || umount -l "$mnt" || true; done
    # Never delete through a mount that is still there.
    if [[ -n $(mounts_under "$dir") ]]; then
      say "something is still mounted under $dir; leaving it in place"
    else
      rm -rf "$dir"
    fi
  done
}

build() { # $@: the images to build
  local wanted=" $* " started
  started=$(now)
  MIRROR=${DEBIAN_MIRROR:-$(default_mirror)}
  ROOTFS=$(mktemp -d "${TMPDIR:-/tmp}/cwl-engine-rootfs.XXXXXX")
  LOG=$ROOTFS.log
  : >"$LOG"
  trap cleanup EXIT
  say "building $* from $MIRROR ($SUITE); log: $LOG"

  if ! command -v debootstrap >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    step "install debootstrap" sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap'
  fi
  export DEBIAN_FRONTEND=noninteractive
  step "debootstrap ($BASE_PACKAGES)" make_rootfs "$ROOTFS"
  step "docker CLI" add_docker_cli "$ROOTFS"
  mount -t proc proc "$ROOTFS/proc"
  step "graphviz dummy + autoremove" replace_graphviz_with_dummy "$ROOTFS" "$BASE_PACKAGES"

  if [[ $wanted == *" local/cwl-engine:2-toil "* ]]; then
    umount "$ROOTFS/proc"
    step "copy root filesystem" cp -a "$ROOTFS" "$ROOTFS.toil"
    mount -t proc proc "$ROOTFS.toil/proc"
    step "install $TOIL_PACKAGES" install_extra "$ROOTFS.toil" "$TOIL_PACKAGES"
    umount "$ROOTFS.toil/proc"
    step "slim (toil)" slim_rootfs "$ROOTFS.toil"
    step "import local/cwl-engine:2-toil" import_rootfs "$ROOTFS.toil" local/cwl-engine:2-toil \
      "${HASH[local/cwl-engine:2-toil]}" "${COMMAND[local/cwl-engine:2-toil]}"
    rm -rf "$ROOTFS.toil"
  else
    umount "$ROOTFS/proc"
  fi
  if [[ $wanted == *" local/cwl-engine:2 "* ]]; then
    step "slim" slim_rootfs "$ROOTFS"
    step "import local/cwl-engine:2" import_rootfs "$ROOTFS" local/cwl-engine:2 \
      "${HASH[local/cwl-engine:2]}" "${COMMAND[local/cwl-engine:2]}"
  fi
  say "built $* in $(elapsed "$started")"
  rm -f "$LOG"
  drop_replaced_images
}

if ! docker version -f '{{.Server.Version}}' >/dev/null 2>&1; then
  say "no Docker engine answers (see scripts/ensure-docker-engine.sh)"
  exit 1
fi

missing=()
for image in "${IMAGES[@]}"; do
  try_reuse "$image" || missing+=("$image")
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) != 0 ]]; then
    say "missing: ${missing[*]} (no image with recipe label, no copy in $CACHE_DIR)."
    say "Building them needs root (debootstrap, chroot): run $0 as root once; later runs reuse the cache."
    exit 1
  fi
  # Two clones building at once would do the work twice; the second waits and then reuses.
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/.build.lock"
  flock 9
  still_missing=()
  for image in "${missing[@]}"; do
    try_reuse "$image" || still_missing+=("$image")
  done
  if ((${#still_missing[@]} > 0)); then
    build "${still_missing[@]}"
    for image in "${still_missing[@]}"; do save_to_cache "$image"; done
  fi
  flock -u 9
fi

# Every run: each image answers, and has Python's docker module.
for image in "${IMAGES[@]}"; do
  started=$(now)
  check=(cwltool --version)
  [[ $image == *-toil ]] && check=(toil-cwl-runner --version)
  if ! output=$(docker run --rm "$image" sh -c 'python3 -c "import docker" && exec "$@"' sh "${check[@]}" 2>&1); then
    say "$image does not run \`python3 -c \"import docker\" && ${check[*]}\`:"
    printf '%s\n' "$output" | tail -n 20 | sed 's/^/    /'
    exit 1
  fi
  size=$(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%d MB", $1 / 1e6 }')
  say "$image: ${check[0]} $(tail -n 1 <<<"$output") ($size; answered in $(elapsed "$started"))"
done
