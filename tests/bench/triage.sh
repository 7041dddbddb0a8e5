#!/usr/bin/env bash
# Benchmark: triage throughput and submission→email latency, on SQLite and (when a
# PostgreSQL admin URL is given or REDRESS_TEST_DATABASE_URL is set) on PostgreSQL.
#
#   tests/bench/triage.sh [--cases N] [--latency-samples N] [--postgres URL]
#   tests/bench/triage.sh --existing 1000,10000 [--cases N] [--postgres URL]
#
# The second form measures triage throughput against databases already holding that
# many cases sharing product, country and target group (related cases stay bounded).
#
# Reports go through the real intake API (production Argon2id parameters), the worker
# is the real one (2 job loops, 250 ms polling) and email goes to an SMTP server on
# loopback. Figures: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
args=("$@")
if [ -n "${REDRESS_TEST_DATABASE_URL:-}" ] && [[ " $* " != *" --postgres "* ]]; then
  args+=(--postgres "$REDRESS_TEST_DATABASE_URL")
fi
exec cargo run --release --quiet -p redress-cli --example triage_bench -- "${args[@]}"
