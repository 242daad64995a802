#!/usr/bin/env bash
# Runs every test of offrecord. Installs what the tests need (libotr 4.1.1 and its toolkit,
# pkg-config, python3-potr, ngircd) from Debian's packages when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh

echo "== format"
cargo fmt --all -- --check
echo "== lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
cargo test --workspace --locked
echo "== benchmarks compile and run once"
cargo bench --workspace --locked -- --test >/dev/null
