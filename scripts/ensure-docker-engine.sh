#!/usr/bin/env bash
# Make sure a Docker engine answers on the local socket.
#
# Idempotent: does nothing when an engine already answers. Otherwise, when running as root on
# Debian, installs docker.io (and busybox-static, which the registry-free test images are made
# from) and starts dockerd by hand, since these machines have no systemd. A dockerd that died
# (kill -9, crash) leaves pid files behind that make the next start hang; those are cleared.
#
# Exit status: 0 when an engine answers; 1 when none could be had (the message says why).
set -euo pipefail

SOCKET=${DOCKER_SOCKET:-/var/run/docker.sock}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
READY_SECONDS=${DOCKERD_READY_TIMEOUT:-30}
# Used only when dockerd will not come up with its defaults, in this order: first without overlay2 (the usual
# cause), keeping the default bridge, which the demo, `try` and the e2e tests need (workflow containers reach
# the local platform through it); then also without iptables and the bridge, the last resort.
VFS_FLAGS=(--storage-driver=vfs)
SAFE_FLAGS=(--storage-driver=vfs --iptables=false --ip-masq=false --bridge=none)

say() { echo "[docker-engine] $*"; }

engine_answers() {
  curl -fsS --max-time 2 --unix-socket "$SOCKET" http://localhost/_ping >/dev/null 2>&1
}

# True when pid $1 is a running (not zombie) process whose command name is $2.
# A plain `kill -0` is not enough: zombies of a killed dockerd linger for seconds here.
is_live() {
  local pid=${1:-} name=${2:-dockerd}
  [[ -n $pid && -r /proc/$pid/stat ]] || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
  [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}

clear_stale_pid_files() {
  local containerd_pid
  containerd_pid=$(cat /var/run/docker/containerd/containerd.pid 2>/dev/null || true)
  if [[ -n $containerd_pid ]] && ! is_live "$containerd_pid" containerd; then
    rm -f /var/run/docker/containerd/containerd.pid
  fi
  rm -f /var/run/docker.pid
}

# Wait for the engine; give up early when the dockerd we started ($1) has died.
wait_for_engine() {
  local pid=${1:-} deadline=$((SECONDS + READY_SECONDS))
  while ((SECONDS < deadline)); do
    engine_answers && return 0
    if [[ -n $pid ]] && ! is_live "$pid"; then return 1; fi
    sleep 0.2
  done
  return 1
}

launch_dockerd() {
  say "starting dockerd $* (log: $DOCKERD_LOG)"
  # Detached from this shell's session so it outlives the test run that started it.
  setsid nohup /usr/sbin/dockerd "$@" >>"$DOCKERD_LOG" 2>&1 </dev/null &
  LAUNCHED_PID=$!
}

package_missing() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) != "install ok installed" ]]
}

install_packages() {
  local wanted=() p
  for p in docker.io busybox-static curl; do package_missing "$p" && wanted+=("$p"); done
  ((${#wanted[@]} == 0)) && return 0
  say "installing ${wanted[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
}

if engine_answers; then
  say "engine already answers on $SOCKET"
  exit 0
fi

if [[ $(id -u) != 0 ]]; then
  say "no Docker engine answers on $SOCKET, and installing one needs root."
  say "Start Docker yourself (or run this script as root) and try again."
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  say "no Docker engine answers on $SOCKET and this is not a Debian-like system: start Docker yourself."
  exit 1
fi

install_packages

if ! mountpoint -q /sys/fs/cgroup && command -v cgroupfs-mount >/dev/null; then cgroupfs-mount; fi

existing=$(cat /var/run/docker.pid 2>/dev/null || true)
if is_live "$existing"; then
  say "a dockerd (pid $existing) is starting; waiting for it"
  wait_for_engine "$existing" && exit 0
  say "that dockerd never became ready; last lines of $DOCKERD_LOG:"
  tail -n 40 "$DOCKERD_LOG" || true
  exit 1
fi

# Stops the dockerd we launched (it never became ready) and clears what it left behind.
give_up_on_launched() {
  kill "$LAUNCHED_PID" 2>/dev/null || true
  wait "$LAUNCHED_PID" 2>/dev/null || true
  clear_stale_pid_files
}

clear_stale_pid_files
launch_dockerd ${DOCKERD_ARGS:-}
if ! wait_for_engine "$LAUNCHED_PID"; then
  say "dockerd did not come up with default flags; last lines of its log:"
  tail -n 20 "$DOCKERD_LOG" || true
  give_up_on_launched
  launch_dockerd "${VFS_FLAGS[@]}"
  if ! wait_for_engine "$LAUNCHED_PID"; then
    say "dockerd did not come up with vfs storage either; trying without iptables and the default bridge"
    say "(the demo, try and the tests that reach the local platform from containers need that bridge)"
    give_up_on_launched
    launch_dockerd "${SAFE_FLAGS[@]}"
    if ! wait_for_engine "$LAUNCHED_PID"; then
      say "dockerd failed to start; last lines of $DOCKERD_LOG:"
      tail -n 40 "$DOCKERD_LOG" || true
      exit 1
    fi
  fi
fi
say "engine ready: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo unknown)"
