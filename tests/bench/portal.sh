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
. tests/bench/on_both_databases.sh
on_both_databases portal_bench "$@"
