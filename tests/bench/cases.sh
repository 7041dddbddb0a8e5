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
. tests/bench/on_both_databases.sh
on_both_databases cases_bench "$@"
