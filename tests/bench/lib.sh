# Shared by the benchmarks: build, a scratch folder, and a `redress serve` on a free
# port. Source it after setting `extra_build` (more cargo targets to build) if needed.

cargo build --release --quiet -p redress-cli --bin redress ${extra_build:-}
bin=target/release/redress

work=$(mktemp -d -p "$PWD/target" bench.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Starts `redress serve` on a fresh data folder; extra environment as arguments
# (NAME=value …). Sets $port and $server_pid.
start_server() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  env REDRESS_DATA_DIR="$work/data" \
    REDRESS_INTAKE__LISTEN="127.0.0.1:$port" \
    REDRESS_INTAKE__MIN_FREE_DISK_MIB=1 \
    RUST_LOG=warn \
    "$@" "$bin" serve > "$work/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q "Intake listening" "$work/server.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "Intake listening" "$work/server.out" || { cat "$work/server.out"; exit 1; }
}
