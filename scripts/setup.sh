#!/bin/sh
# Installs what building and testing need, skipping what is already there: the wasm target,
# worker-build and wasm-bindgen-cli at the versions Cargo.lock pins, and the npm packages.
set -eu
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

lock_version() {
  # The version of a crate in Cargo.lock.
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

# Building worker-build links OpenSSL through pkg-config on Debian.
if ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl 2>/dev/null; }; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config libssl-dev >/dev/null
  fi
fi

worker_version=$(lock_version worker)
if ! worker-build --version 2>/dev/null | grep -q "$worker_version"; then
  echo "installing worker-build $worker_version (a few minutes, once)"
  cargo install worker-build --version "$worker_version"
fi

bindgen_version=$(lock_version wasm-bindgen)
if ! wasm-bindgen --version 2>/dev/null | grep -q "$bindgen_version"; then
  echo "installing wasm-bindgen-cli $bindgen_version (a few minutes, once)"
  # Without --locked: its lockfile wants a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

# The browser tests drive Debian's Chromium (playwright-core does not download browsers here).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium for the browser tests (once)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: install it (Debian: sudo apt-get install chromium) for the browser tests" >&2
  fi
fi

if [ ! -d node_modules/miniflare ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
