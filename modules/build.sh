#!/usr/bin/env bash
# Builds every Go module under modules/*/ into modules/<name>/<name>.wasm.
# Idempotent (go build caches); stops at the first failure with its output.
# Usage: modules/build.sh [name...]   (default: all of them)
set -euo pipefail
cd "$(dirname "$0")/.."

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for dir in modules/*/; do
    dir=${dir%/}
    # A Go module folder holds a package main.
    if compgen -G "$dir/*.go" >/dev/null && grep -qs '^package main' "$dir"/*.go; then
      names+=("$(basename "$dir")")
    fi
  done
fi
[ ${#names[@]} -gt 0 ] || { echo "build.sh: no Go modules found under modules/" >&2; exit 1; }

for name in "${names[@]}"; do
  dir=modules/$name
  [ -d "$dir" ] || { echo "build.sh: no module folder $dir" >&2; exit 1; }
  out=$dir/$name.wasm
  tmp=$out.tmp.$$
  if ! GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o "$tmp" "./$dir"; then
    rm -f "$tmp"
    echo "build.sh: building $dir failed" >&2
    exit 1
  fi
  mv -f "$tmp" "$out"
  echo "built $out ($(wc -c <"$out") bytes)"
done
