#!/usr/bin/env bash
# Rebuilds every sample's .wasm from its source with Debian's toolchains:
#   clang (C, wasm32-wasi sysroot from the wasi-libc package) and rustc (Rust std for wasm32-wasi).
# Usage: bash samples/build.sh        (from anywhere; CC and RUSTC override the compilers)
set -euo pipefail
cd "$(dirname "$0")"

CC="${CC:-clang}"
RUSTC="${RUSTC:-/usr/bin/rustc}"

build_c() { # folder name
  "$CC" --target=wasm32-wasi -O2 -s -o "$1/$2.wasm" "$1/$2.c"
  echo "built $1/$2.wasm ($(wc -c < "$1/$2.wasm") bytes)"
}

build_rust() { # folder name
  "$RUSTC" --edition 2021 --target wasm32-wasi -C opt-level=2 -C strip=symbols -o "$1/$2.wasm" "$1/$2.rs"
  echo "built $1/$2.wasm ($(wc -c < "$1/$2.wasm") bytes)"
}

build_c loudify loudify
build_c fail fail
build_rust wordfreq wordfreq
