#!/usr/bin/env bash
# Benchmark: a recovery-key rotation of N cases (100,000 by default), beside the
# crypto-only limit (unwrap + wrap per case on every core, no database) measured in the
# same run. SQLite; PostgreSQL too when an admin URL is given (or
# REDRESS_TEST_DATABASE_URL is set).
#
#   tests/bench/rotation.sh [--cases N] [--sample N] [--batch N] [--postgres URL]
#
# Figures: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/on_both_databases.sh
on_both_databases rotation_bench "$@"
