#!/usr/bin/env bash
# Benchmark: a recovery-key rotation of N cases (100,000 by default), beside the
# crypto-only limit (unwrap + wrap per case on every core, no database) measured in the
# same run. SQLite; PostgreSQL too when an admin URL is given (or
# REDRESS_TEST_DATABASE_URL is set).
#
#   tests/bench/rotation.sh [--cases N] [--batch N] [--postgres URL]
#
# Figures: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p redress-cli --example rotation_bench
run() { cargo run --release --quiet -p redress-cli --example rotation_bench -- "$@"; }
postgres=()
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) postgres=(--postgres "$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ ${#postgres[@]} -eq 0 ] && [ -n "${REDRESS_TEST_DATABASE_URL:-}" ]; then
  postgres=(--postgres "$REDRESS_TEST_DATABASE_URL")
fi
echo "== SQLite"
run "${args[@]}"
if [ ${#postgres[@]} -gt 0 ]; then
  echo "== PostgreSQL"
  run "${args[@]}" "${postgres[@]}"
fi
