#!/usr/bin/env bash
# Benchmark: the portal's login cost and throughput with the production key derivation,
# beside the limit cores ÷ derivation time measured in the same run, and a logged-in
# page's overhead beside the intake's start page. SQLite; PostgreSQL too when an admin
# URL is given (or REDRESS_TEST_DATABASE_URL is set).
#
#   tests/bench/portal.sh [--accounts N] [--requests N] [--postgres URL]
#
# Figures: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p redress-cli --example portal_bench
run() { cargo run --release --quiet -p redress-cli --example portal_bench -- "$@"; }
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
