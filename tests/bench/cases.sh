#!/usr/bin/env bash
# Benchmark: the portal's case list (every keyset page, a few filters and orders) and
# search, for one investigator holding 1,000 of 100,000 cases, through HTTP with the
# production settings; beside the same pages with their 1,000 cases alone in the
# database, and the store's list query called directly. SQLite; PostgreSQL too when an
# admin URL is given (or REDRESS_TEST_DATABASE_URL is set).
#
#   tests/bench/cases.sh [--cases N] [--assigned N] [--pages N] [--searches N] [--postgres URL]
#
# Figures: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p redress-cli --example cases_bench
run() { cargo run --release --quiet -p redress-cli --example cases_bench -- "$@"; }
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
