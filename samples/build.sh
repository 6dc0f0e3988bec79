#!/usr/bin/env bash
# Rebuilds every sample's .wasm from its source:
#   C with clang (the wasm32-wasi sysroot of wasi-libc), Rust with the first rustc that has the WASI
#   standard library: current rustup calls the target `wasm32-wasip1`
#   (`rustup target add wasm32-wasip1`), older rustc (Debian's) `wasm32-wasi`.
# Usage: bash samples/build.sh        (from anywhere)
#   CC=...     the C compiler (default clang)
#   RUSTC=...  the Rust compiler (default: rustc on PATH, then /usr/bin/rustc, whichever has the target)
#   JCO=...    jco (default: the pinned npm devDependency @bytecodealliance/jco), whose
#              `jco new --wasi-command` wraps a preview1 command module into a WASI 0.2 component
#              with the preview1 command adapter that ships in that package
set -euo pipefail
cd "$(dirname "$0")"

CC="${CC:-clang}"
JCO="${JCO:-../node_modules/.bin/jco}"

# Prints "RUSTC TARGET" for the first compiler that can build for WASI, or fails with what to install.
find_rust() {
  local candidates=()
  if [[ -n "${RUSTC:-}" ]]; then candidates=("$RUSTC"); else candidates=(rustc /usr/bin/rustc); fi
  local rustc target sysroot
  for rustc in "${candidates[@]}"; do
    command -v "$rustc" > /dev/null 2>&1 || continue
    sysroot="$("$rustc" --print sysroot 2> /dev/null)" || continue
    for target in wasm32-wasip1 wasm32-wasi; do
      # The target list names targets the compiler knows; only an installed std can build for it.
      if [[ -d "$sysroot/lib/rustlib/$target" ]]; then
        echo "$rustc $target"
        return 0
      fi
    done
  done
  echo "No rustc with the WASI standard library (tried: ${candidates[*]})." >&2
  echo "Install it with 'rustup target add wasm32-wasip1', or on Debian 'apt-get install rustc libstd-rust-dev-wasm32 lld'." >&2
  return 1
}

build_c() { # folder name
  "$CC" --target=wasm32-wasi -O2 -s -o "$1/$2.wasm" "$1/$2.c"
  echo "built $1/$2.wasm ($(wc -c < "$1/$2.wasm") bytes)"
}

build_rust() { # folder name
  "$RUST_COMPILER" --edition 2021 --target "$RUST_TARGET" -C opt-level=2 -C strip=symbols -o "$1/$2.wasm" "$1/$2.rs"
  echo "built $1/$2.wasm ($(wc -c < "$1/$2.wasm") bytes, $RUST_COMPILER --target $RUST_TARGET)"
}

# folder name module: the preview1 command module as a WASI 0.2 component (wasi:cli/command)
build_component() {
  "$JCO" new "$3" --wasi-command -o "$1/$2.component.wasm"
  echo "built $1/$2.component.wasm ($(wc -c < "$1/$2.component.wasm") bytes)"
}

read -r RUST_COMPILER RUST_TARGET < <(find_rust) || exit 1

build_c loudify loudify
build_component loudify-component loudify loudify/loudify.wasm
build_c fail fail
build_rust wordfreq wordfreq
