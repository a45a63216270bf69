#!/bin/sh
# Builds the worker into build/ with installed tools only: worker-build would otherwise download
# wasm-bindgen and wasm-opt, and these machines reach only the package registries.
set -eu
cd "$(dirname "$0")/.."
if [ "${SKIP_WORKER_BUILD:-}" = "1" ] && [ -f build/index.js ]; then
  exit 0
fi
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}"
exec worker-build --release
