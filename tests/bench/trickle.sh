#!/usr/bin/env bash
# Benchmark: many uploads trickling in at once, as over slow Tor circuits, on loopback.
#
#   tests/bench/trickle.sh [UPLOADS] [BYTES_PER_SEC] [SECONDS]
#
# Starts `redress serve` (release build) on a fresh data folder, measures GET /report
# latency on the idle server, then opens UPLOADS (default 1000) uploads that each send a
# report and then a file at BYTES_PER_SEC (default 2048) for SECONDS (default 60), and
# measures GET /report again while they run. Prints both latencies (p50, p99), the
# server's peak RSS and the memory per upload, and how many uploads were refused.
set -euo pipefail
cd "$(dirname "$0")/../.."
uploads=${1:-1000}
rate=${2:-2048}
seconds=${3:-60}

extra_build="--example trickle_bench"
. tests/bench/lib.sh

# Each upload holds a socket and a temporary file on the server, and a socket here.
ulimit -n "$(( uploads * 3 + 1024 ))"

start_server

target/release/examples/trickle_bench --addr "127.0.0.1:$port" --pid "$server_pid" \
  --uploads "$uploads" --rate "$rate" --seconds "$seconds"
