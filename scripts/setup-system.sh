#!/usr/bin/env bash
# Installs the Debian packages the project needs (only the missing ones).
#
#   libuv1-dev libssl-dev libsrtp2-dev libabsl-dev libflatbuffers-dev
#   flatbuffers-compiler pkg-config build-essential python3-pip
#       -> building mediasoup-worker against Debian libraries
#          (scripts/mediasoup/build-worker.sh)
#   chromium firefox-esr ffmpeg
#       -> headless browser tests (Chromium through playwright-core, Firefox
#          through puppeteer-core over WebDriver BiDi) and the media audit
#   iproute2 nftables
#       -> the impaired-network fault test (namespace, veth, tc; nftables
#          drops packets where the kernel has no netem)
#
# Idempotent and fast when everything is already installed: the check is a
# single dpkg-query call; `apt-get update` runs only when something is missing.
set -euo pipefail

log() { printf '[setup-system] %s\n' "$*"; }
die() { printf '[setup-system] ERROR: %s\n' "$*" >&2; exit 1; }

# Installed with --no-install-recommends (pure build/dev packages).
PKGS_NO_RECOMMENDS=(
  libuv1-dev
  libssl-dev
  libsrtp2-dev
  libabsl-dev
  libflatbuffers-dev
  flatbuffers-compiler
  pkg-config
  build-essential
  python3-pip
  ffmpeg
  iproute2
  nftables
)
# Installed with --no-install-recommends too; the browsers' hard dependencies
# are enough for headless use (fonts come in through their Depends).
PKGS_BROWSERS=(
  chromium
  firefox-esr
)

if ! command -v dpkg-query >/dev/null 2>&1; then
  die "dpkg-query not found: this script supports Debian/Ubuntu only"
fi

missing=()
for pkg in "${PKGS_NO_RECOMMENDS[@]}" "${PKGS_BROWSERS[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  log "all system packages present"
  exit 0
fi

log "missing packages: ${missing[*]}"

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    die "not root and sudo is unavailable; install as root: apt-get install ${missing[*]}"
  fi
fi

export DEBIAN_FRONTEND=noninteractive
APT_LOG="$(mktemp -t setup-system-apt.XXXXXX.log)"
run_apt() {
  if ! "${SUDO[@]}" "$@" >>"$APT_LOG" 2>&1; then
    tail -n 30 "$APT_LOG" >&2
    die "'$*' failed (full log: $APT_LOG)"
  fi
}

log "apt-get update"
run_apt apt-get update -q

log "apt-get install ${missing[*]}"
run_apt apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}"

# Sanity checks for the tools other scripts rely on.
for tool in flatc pkg-config chromium firefox-esr ffmpeg; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found after install"
done
rm -f "$APT_LOG"
log "done"
