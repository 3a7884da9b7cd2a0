#!/usr/bin/env bash
# Build the images the tests need, without any registry.
#
# local/busybox:1 is a statically linked busybox in an otherwise empty root filesystem, imported
# with `docker import`: no base image to pull, about 2 MB, ready in well under a second. It has
# users root and user (uid 1000) and a world-writable /tmp. Rebuilt only when missing.
set -euo pipefail

say() { echo "[test-images] $*"; }
BUSYBOX_IMAGE=local/busybox:1

build_busybox() {
  local busybox=/bin/busybox
  if ! file_is_static "$busybox"; then
    say "$busybox is missing or not statically linked; install Debian's busybox-static"
    exit 1
  fi
  local root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  mkdir -p "$root"/{bin,etc,tmp,root,home/user}
  chmod 1777 "$root/tmp"
  cp "$busybox" "$root/bin/busybox"
  local applet
  for applet in $("$busybox" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"
  done
  ln -s bin "$root/sbin"
  mkdir -p "$root/usr" && ln -s ../bin "$root/usr/bin"
  cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
  cat >"$root/etc/group" <<'GROUP'
root:x:0:
user:x:1000:
nogroup:x:65534:
GROUP
  chown 1000:1000 "$root/home/user"
  tar --numeric-owner -C "$root" -c . |
    docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$BUSYBOX_IMAGE" >/dev/null
  say "built $BUSYBOX_IMAGE"
}

# Debian's plain busybox is dynamically linked and cannot run in an empty image.
file_is_static() {
  [[ -x $1 ]] || return 1
  ! LC_ALL=C ldd "$1" >/dev/null 2>&1
}

if docker image inspect "$BUSYBOX_IMAGE" >/dev/null 2>&1; then
  say "$BUSYBOX_IMAGE present"
else
  build_busybox
fi
