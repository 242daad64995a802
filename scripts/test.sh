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
cargo clippy -p otr --all-targets --locked --features keystream-oracle -- -D warnings
echo "== tests"
cargo test --workspace --locked
echo "== adversarial corpus with the keystream oracle"
cargo test -p otr --locked --features keystream-oracle --test fuzz_adversary
echo "== benchmarks compile and run once"
cargo bench --workspace --locked -- --test >/dev/null
