#!/bin/sh
# Installs what the project needs and is missing, after saying what and about how long it takes.
#
#   sh scripts/setup.sh             building and testing (`npm run setup`, `npm test`)
#   sh scripts/setup.sh --run       only what running the worker needs (`npm run dev`): no Chromium
#   sh scripts/setup.sh --dry-run   say what would be installed and install nothing (with --run too)
#
# It installs the wasm32-unknown-unknown target (rustup), worker-build and wasm-bindgen-cli at the
# versions Cargo.lock pins (cargo install), the npm packages (npm ci) and, as root with apt-get
# (Debian, Ubuntu), pkg-config and libssl-dev (worker-build links OpenSSL) and, for the browser
# tests, chromium. Not root or no apt-get: it installs no system package, names the ones to install
# by hand, and stops where one is needed. It never installs Rust or Node; it says when they are
# missing or too old (Rust: `rust-version` in Cargo.toml; Node: `engines` in package.json).
set -eu
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

mode=test
dry_run=0
for arg in "$@"; do
  case "$arg" in
    --run) mode=run ;;
    --test) mode=test ;;
    --dry-run) dry_run=1 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

# Rough times of each install on a 2-core machine, as measured cold (README: Requirements, which
# says how); the two cargo installs are nearly all of it.
SECS_TARGET=15
SECS_WORKER_BUILD=170
SECS_BINDGEN=240
SECS_NPM=15
SECS_APT_SSL=30
SECS_APT_CHROMIUM=70

lock_version() {
  # The version of a crate in Cargo.lock.
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

version_ge() {
  # Whether dotted version $1 is at least $2 (major.minor.patch, numerically).
  awk -v a="$1" -v b="$2" 'BEGIN {
    split(a, x, /[.-]/); split(b, y, /[.-]/)
    for (i = 1; i <= 3; i++) { if (x[i] + 0 > y[i] + 0) exit 0; if (x[i] + 0 < y[i] + 0) exit 1 }
    exit 0 }'
}

have() { command -v "$1" >/dev/null 2>&1; }

about() {
  # Seconds as a rough duration.
  if [ "$1" -lt 60 ]; then echo "under a minute"; else echo "about $((($1 + 30) / 60)) min"; fi
}

plan=""
plan_secs=0
steps=0
add() {
  # One install of the plan: its rough seconds and what it is.
  plan_secs=$((plan_secs + $1))
  steps=$((steps + 1))
  plan="$plan
    - $2 ($(about "$1"))"
}
blockers=""
blocker() {
  blockers="$blockers
    - $1"
}

# --- What is there, what is missing ---------------------------------------------------------

rust_min=$(awk -F'"' '/^rust-version/ { print $2; exit }' Cargo.toml)
node_min=$(awk -F'"' '/"node":/ { gsub(/[^0-9.]/, "", $4); print $4; exit }' package.json)

need_target=0
if ! have cargo || ! have rustc; then
  blocker "Rust $rust_min or later is missing: install it with rustup (https://rustup.rs), then run this again."
else
  rust_have=$(rustc --version | awk '{ print $2 }')
  if ! version_ge "$rust_have" "$rust_min"; then
    blocker "Rust $rust_have is older than $rust_min (rust-version in Cargo.toml): run \`rustup update stable\`."
  fi
  if [ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ]; then
    if have rustup; then
      need_target=1
      add "$SECS_TARGET" "the wasm32-unknown-unknown Rust target: rustup target add"
    else
      blocker "The wasm32-unknown-unknown target is missing and there is no rustup to add it: install Rust with rustup (https://rustup.rs) or add the target to your Rust."
    fi
  fi
fi

if ! have node || ! have npm; then
  blocker "Node $node_min or later (with npm) is missing: install it (https://nodejs.org), then run this again."
else
  node_have=$(node --version | sed 's/^v//')
  if ! version_ge "$node_have" "$node_min"; then
    blocker "Node $node_have is older than $node_min (engines in package.json): install a newer Node."
  fi
fi

worker_version=$(lock_version worker)
need_worker_build=0
if ! worker-build --version 2>/dev/null | grep -qwF "$worker_version"; then
  need_worker_build=1
  add "$SECS_WORKER_BUILD" "worker-build $worker_version: cargo install, compiles about 200 crates"
fi

bindgen_version=$(lock_version wasm-bindgen)
need_bindgen=0
if ! wasm-bindgen --version 2>/dev/null | grep -qwF "$bindgen_version"; then
  need_bindgen=1
  add "$SECS_BINDGEN" "wasm-bindgen-cli $bindgen_version: cargo install"
fi

need_npm=0
# The lock file, not package.json: editing a script must not reinstall every package.
if [ ! -d node_modules/miniflare ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  need_npm=1
  add "$SECS_NPM" "the npm packages (wrangler, miniflare with workerd, binaryen, playwright-core): npm ci"
fi

# System packages: OpenSSL's headers to build worker-build on Linux, Chromium for the browser tests.
need_ssl=0
if [ "$need_worker_build" = 1 ] && [ "$(uname -s)" = Linux ] \
  && ! { have pkg-config && pkg-config --exists openssl 2>/dev/null; }; then
  need_ssl=1
fi

chromium_found() {
  if [ -n "${CHROMIUM:-}" ]; then [ -x "$CHROMIUM" ]; else have chromium || have chromium-browser; fi
}
need_chromium=0
chromium_skipped=0
if ! chromium_found; then
  if [ "$mode" = test ]; then need_chromium=1; else chromium_skipped=1; fi
fi

can_apt=0
if [ "$(id -u)" = 0 ] && have apt-get; then can_apt=1; fi
by_hand=""
if [ "$need_ssl" = 1 ]; then
  if [ "$can_apt" = 1 ]; then
    add "$SECS_APT_SSL" "pkg-config and libssl-dev, to build worker-build: apt-get install"
  else
    by_hand="pkg-config libssl-dev"
  fi
fi
if [ "$need_chromium" = 1 ]; then
  if [ "$can_apt" = 1 ]; then
    add "$SECS_APT_CHROMIUM" "chromium, for the browser tests: apt-get install"
  else
    by_hand="${by_hand:+$by_hand }chromium"
  fi
fi

# --- The plan, before anything starts -------------------------------------------------------

if [ "$mode" = run ]; then purpose="running the worker"; else purpose="building and testing"; fi
if [ -n "$blockers" ]; then
  echo "setup: cannot set up for $purpose:$blockers" >&2
  exit 1
fi
if [ "$steps" = 0 ]; then
  echo "setup: everything $purpose needs is installed"
else
  echo "setup: installing what $purpose needs, $(about "$plan_secs") in all on a 2-core machine (once; later runs skip what is there):$plan"
fi
if [ "$chromium_skipped" = 1 ]; then
  echo "setup: not installing chromium: only the browser tests use it (\`npm test\` installs it)"
fi
if [ -n "$by_hand" ]; then
  if [ "$(id -u)" != 0 ]; then why="not root"; else why="no apt-get (not Debian or Ubuntu)"; fi
  cat >&2 <<EOF
setup: $why, so no system package is installed. Install these by hand, then run this again:
    $by_hand
  Debian, Ubuntu:  sudo apt-get install $by_hand
  Fedora:          sudo dnf install $(echo "$by_hand" | sed 's/pkg-config/pkgconf-pkg-config/; s/libssl-dev/openssl-devel/')
  Elsewhere, Chromium can be any Chromium or Chrome binary: set CHROMIUM=/path/to/it.
  (pkg-config and libssl-dev: cargo install worker-build links OpenSSL; chromium: the browser tests.)
EOF
fi
if [ "$dry_run" = 1 ]; then
  echo "setup: dry run, nothing installed"
  # As a real run would end: failing while something must be installed by hand.
  [ -z "$by_hand" ]
  exit
fi
if [ "$need_ssl" = 1 ] && [ "$can_apt" = 0 ]; then
  echo "setup: stopped before cargo install worker-build, which would fail without OpenSSL's headers" >&2
  exit 1
fi

# --- Installing -----------------------------------------------------------------------------

started=$(date +%s)
apt_packages=""
[ "$need_ssl" = 1 ] && apt_packages="pkg-config libssl-dev"
[ "$need_chromium" = 1 ] && [ "$can_apt" = 1 ] && apt_packages="${apt_packages:+$apt_packages }chromium"
if [ -n "$apt_packages" ]; then
  echo "setup: apt-get install $apt_packages"
  apt-get update -qq
  # shellcheck disable=SC2086 # a list of package names
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $apt_packages >/dev/null
fi
if [ "$need_target" = 1 ]; then
  echo "setup: rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
if [ "$need_worker_build" = 1 ]; then
  echo "setup: cargo install worker-build $worker_version ($(about "$SECS_WORKER_BUILD"))"
  # Unoptimised (--debug): half the compiling, and it builds the same files as fast (it mostly runs
  # cargo, wasm-bindgen and wasm-opt). Not so wasm-bindgen-cli, which does its work itself.
  cargo install --debug worker-build --version "$worker_version"
fi
if [ "$need_bindgen" = 1 ]; then
  echo "setup: cargo install wasm-bindgen-cli $bindgen_version ($(about "$SECS_BINDGEN"))"
  # Without --locked: its lockfile wants a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi
if [ "$need_npm" = 1 ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
if [ "$steps" != 0 ]; then
  echo "setup: installed in $(($(date +%s) - started)) s"
fi
if [ "$need_chromium" = 1 ] && [ "$can_apt" = 0 ]; then
  echo "setup: chromium is still missing (see above): the browser tests fail without it" >&2
  exit 1
fi
