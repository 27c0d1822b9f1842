# Shared by tools/run.sh and tools/test.sh: install what is missing, configure, build.
# Sourced, not run. Everything comes from Debian 12 packages; nothing is downloaded.

LUMBUNG_PACKAGES=(build-essential cmake pkg-config libsqlite3-dev libcpprest-dev
  nlohmann-json3-dev libssl-dev doctest-dev zlib1g-dev libzstd-dev openssl
  libpq-dev postgresql)  # the PostgreSQL store (libpq) and its tests' throwaway clusters

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_packages() {
  local missing=()
  for p in "${LUMBUNG_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build DIR [cmake options...]: configure (once) and build with every core.
build() {
  local dir=$1; shift
  cmake -S "$LUMBUNG_ROOT" -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}

LUMBUNG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
