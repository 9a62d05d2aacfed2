#!/usr/bin/env bash
# Builds mediasoup-worker for node_modules/mediasoup against Debian's libraries
# (no GitHub, no downloads besides meson/ninja from the pip index) and installs
# it where mediasoup looks by default:
#   node_modules/mediasoup/worker/out/Release/mediasoup-worker
#
# - The mediasoup worker sources are copied to a build dir under the cache dir,
#   patched (scripts/mediasoup/patches/*.patch) and given shim subprojects
#   (scripts/mediasoup/subprojects/*) that expose the Debian packages instead
#   of mediasoup's wraps. node_modules only receives the output binary.
# - The stripped binary is cached as
#   ${XDG_CACHE_HOME:-$HOME/.cache}/e2ee-meet/mediasoup-worker-<key>, with <key>
#   covering the mediasoup version, the patch/shim files, this recipe and the
#   Debian library versions. A stamp next to the installed binary makes a
#   second run a no-op that finishes in a fraction of a second.
# - If MEDIASOUP_WORKER_BIN is set to an executable, it is used and nothing is
#   built.
#
# Needs the packages of scripts/setup-system.sh. Environment knobs:
#   MEDIASOUP_WORKER_BIN   use this worker binary, build nothing
#   E2EE_MEET_CACHE_DIR    cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/e2ee-meet)
#   BUILD_JOBS             ninja parallelism (default: number of cores)
#   FORCE_BUILD=1          ignore cached binary and stamp, rebuild
set -euo pipefail

# Bump when the build recipe below changes in a way that affects the binary.
RECIPE_VERSION=1

log() { printf '[mediasoup-worker] %s\n' "$*"; }
die() { printf '[mediasoup-worker] ERROR: %s\n' "$*" >&2; exit 1; }

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
MS_DIR="$REPO_ROOT/node_modules/mediasoup"
WORKER_SRC="$MS_DIR/worker"
TARGET_DIR="$WORKER_SRC/out/Release"
TARGET="$TARGET_DIR/mediasoup-worker"
STAMP="$TARGET_DIR/.e2ee-meet-worker-stamp"
CACHE_DIR="${E2EE_MEET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/e2ee-meet}"

# 1. An explicitly given worker wins.
if [[ -n "${MEDIASOUP_WORKER_BIN:-}" ]]; then
  [[ -f "$MEDIASOUP_WORKER_BIN" && -x "$MEDIASOUP_WORKER_BIN" ]] ||
    die "MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN is not an executable file"
  log "using MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN (no build)"
  exit 0
fi

[[ -f "$MS_DIR/package.json" && -f "$WORKER_SRC/meson.build" ]] ||
  die "$MS_DIR not found or incomplete: run 'npm install' first"

MS_VERSION="$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$MS_DIR/package.json" | head -n1)"
[[ -n "$MS_VERSION" ]] || die "cannot read the mediasoup version from $MS_DIR/package.json"

# 2. Cache key.
DEB_PKGS=(libuv1-dev libssl-dev libsrtp2-dev libabsl-dev libflatbuffers-dev flatbuffers-compiler g++)
deb_versions="$(dpkg-query -W -f='${Package}=${Version}\n' "${DEB_PKGS[@]}" 2>/dev/null || true)"
for pkg in "${DEB_PKGS[@]}"; do
  grep -q "^${pkg}[:=]" <<<"$deb_versions" ||
    die "Debian package '$pkg' is not installed: run 'bash scripts/setup-system.sh' first"
done

recipe_hash="$(
  cd "$SCRIPT_DIR"
  find patches subprojects -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
)"
KEY="$(printf 'recipe=%s\nmediasoup=%s\n%s\n%s\n' \
  "$RECIPE_VERSION" "$MS_VERSION" "$deb_versions" "$recipe_hash" |
  sha256sum | cut -c1-16)"
KEY="${MS_VERSION}-${KEY}"
CACHED_BIN="$CACHE_DIR/mediasoup-worker-$KEY"

# 3. Already installed and up to date?
if [[ "${FORCE_BUILD:-0}" != 1 && -x "$TARGET" && -f "$STAMP" && "$(<"$STAMP")" == "$KEY" ]]; then
  log "up to date ($KEY)"
  exit 0
fi

install_worker() {
  mkdir -p "$TARGET_DIR"
  local tmp="$TARGET.tmp.$$"
  cp "$CACHED_BIN" "$tmp"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$TARGET"
  printf '%s\n' "$KEY" >"$STAMP"
  log "installed $TARGET"
}

mkdir -p "$CACHE_DIR"

# Serialize concurrent runs (e.g. `npm start` and `npm test` at once).
exec 9>"$CACHE_DIR/build-worker.lock"
if ! flock -n 9; then
  log "another build is running, waiting for it"
  flock 9
fi

# 4. Cached binary from an earlier build?
if [[ "${FORCE_BUILD:-0}" != 1 && -x "$CACHED_BIN" ]]; then
  log "using cached build $CACHED_BIN"
  install_worker
  exit 0
fi

# 5. Build.
log "building mediasoup-worker $MS_VERSION (key $KEY); this takes ~8 minutes on 2 cores"

for tool in cc c++ pkg-config flatc python3 patch strip; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' not found: run 'bash scripts/setup-system.sh' first"
done

LOG_DIR="$CACHE_DIR/logs"
mkdir -p "$LOG_DIR"
LOG="$LOG_DIR/build-worker-$KEY.log"
: >"$LOG"

fail() {
  printf '[mediasoup-worker] ERROR: %s\n' "$1" >&2
  if [[ -s "$LOG" ]]; then
    printf '[mediasoup-worker] last lines of %s:\n' "$LOG" >&2
    tail -n 40 "$LOG" >&2
  fi
  exit 1
}

# meson >= 1.1 and ninja, from the system if recent enough, else from pip into
# a private dir (Debian bookworm's meson is 1.0.1).
system_meson_ok() {
  command -v meson >/dev/null 2>&1 && command -v ninja >/dev/null 2>&1 || return 1
  local v major minor
  v="$(meson --version 2>/dev/null)" || return 1
  IFS=. read -r major minor _ <<<"$v"
  [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
  ((major > 1 || (major == 1 && minor >= 1)))
}

if system_meson_ok; then
  MESON=(meson)
else
  TOOLS_DIR="$CACHE_DIR/pytools"
  if ! PYTHONPATH="$TOOLS_DIR" python3 -c 'import mesonbuild' >/dev/null 2>&1 ||
    [[ ! -x "$TOOLS_DIR/bin/ninja" ]]; then
    log "installing meson and ninja with pip into $TOOLS_DIR"
    rm -rf "$TOOLS_DIR"
    python3 -m pip install --retries 0 --disable-pip-version-check --no-input \
      --quiet --target "$TOOLS_DIR" 'meson>=1.1' 'ninja>=1.10' >>"$LOG" 2>&1 ||
      fail "pip could not install meson/ninja (is python3-pip installed and the pip index reachable?)"
  fi
  # Also needed by ninja when it re-runs meson.
  export PYTHONPATH="$TOOLS_DIR${PYTHONPATH:+:$PYTHONPATH}"
  export PATH="$TOOLS_DIR/bin:$PATH"
  MESON=(python3 -m mesonbuild.mesonmain)
fi
command -v ninja >/dev/null 2>&1 || fail "ninja not found"
log "meson $("${MESON[@]}" --version), ninja $(ninja --version)"

BUILD_ROOT="$CACHE_DIR/build/mediasoup-worker-$KEY"
SRC="$BUILD_ROOT/worker"
OUT="$BUILD_ROOT/out"
rm -rf "$BUILD_ROOT"
mkdir -p "$BUILD_ROOT"

log "preparing sources in $SRC"
cp -a "$WORKER_SRC" "$SRC"
rm -rf "$SRC/out"
for p in "$SCRIPT_DIR"/patches/*.patch; do
  patch -p1 -N -s -d "$SRC" <"$p" >>"$LOG" 2>&1 || fail "patch $(basename "$p") does not apply"
done
# Shim subprojects: a directory named as the wrap's `directory =` line counts
# as already downloaded.
cp -a "$SCRIPT_DIR/subprojects/." "$SRC/subprojects/"

log "meson setup"
"${MESON[@]}" setup "$OUT" "$SRC" \
  --wrap-mode=nodownload \
  --buildtype=release \
  -Db_ndebug=true \
  -Db_pie=true \
  -Db_staticpic=true >>"$LOG" 2>&1 || fail "meson setup failed"

JOBS="${BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
log "ninja -j$JOBS (log: $LOG)"
start=$SECONDS
ninja -C "$OUT" -j "$JOBS" mediasoup-worker >>"$LOG" 2>&1 || fail "ninja failed"
log "compiled in $((SECONDS - start)) s"

built="$OUT/mediasoup-worker"
[[ -x "$built" ]] || fail "build finished but $built is missing"
strip --strip-unneeded "$built" 2>>"$LOG" || fail "strip failed"
if ldd "$built" 2>&1 | grep -q 'not found'; then
  ldd "$built" >>"$LOG" 2>&1 || true
  fail "the worker links to missing shared libraries"
fi

cp "$built" "$CACHED_BIN.tmp.$$"
mv -f "$CACHED_BIN.tmp.$$" "$CACHED_BIN"
log "cached $CACHED_BIN"
install_worker

# Keep only the binary; the objects are not reused (a new key rebuilds all).
rm -rf "$BUILD_ROOT"
