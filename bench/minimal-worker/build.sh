#!/bin/sh
# Builds the cold-start baseline into bench/minimal-worker/build/ exactly as scripts/build.sh
# builds the worker: installed wasm-bindgen, npm binaryen's wasm-opt and wrangler's esbuild.
set -eu
cd "$(dirname "$0")"
ROOT="$(cd ../.. && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$ROOT/node_modules/.bin/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$ROOT/node_modules/.bin/esbuild}"
exec worker-build --release
