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

cargo build --release --quiet -p redress-cli --bin redress --example trickle_bench
bin=target/release/redress

work=$(mktemp -d -p "$PWD/target" bench-trickle.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Each upload holds a socket and a temporary file on the server, and a socket here.
ulimit -n "$(( uploads * 3 + 1024 ))"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REDRESS_DATA_DIR="$work/data" \
REDRESS_INTAKE__LISTEN="127.0.0.1:$port" \
REDRESS_INTAKE__MIN_FREE_DISK_MIB=1 \
RUST_LOG=warn \
  "$bin" serve > "$work/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q "Intake listening" "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
grep -q "Intake listening" "$work/server.out" || { cat "$work/server.out"; exit 1; }

target/release/examples/trickle_bench --addr "127.0.0.1:$port" --pid "$server_pid" \
  --uploads "$uploads" --rate "$rate" --seconds "$seconds"
