#!/bin/sh
# Builds the worker into build/ with installed tools only (scripts/setup.sh installs them):
# worker-build would otherwise download wasm-bindgen and wasm-opt from GitHub at build time.
set -eu
cd "$(dirname "$0")/.."
if [ "${SKIP_WORKER_BUILD:-}" = "1" ] && [ -f build/index.js ]; then
  exit 0
fi
# build/ is fresh when nothing it is made from changed since: then wrangler dev starts at once.
if [ -f build/index.js ] && [ -f build/index_bg.wasm ] && \
   [ -z "$(find src Cargo.toml Cargo.lock scripts/build.sh -newer build/index_bg.wasm 2>/dev/null | head -n 1)" ]; then
  echo "build/ is up to date"
  exit 0
fi
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}"
exec worker-build --release
