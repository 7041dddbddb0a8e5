# Shared by the benchmarks that are one example of redress-cli run on SQLite, then on a
# fresh PostgreSQL database when `--postgres URL` is given (or REDRESS_TEST_DATABASE_URL
# is set). Source it, then call `on_both_databases EXAMPLE "$@"`.

on_both_databases() {
  local example=$1
  shift
  cargo build --release --quiet -p redress-cli --example "$example"
  local postgres=() args=()
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
  "target/release/examples/$example" "${args[@]}"
  if [ ${#postgres[@]} -gt 0 ]; then
    echo "== PostgreSQL"
    "target/release/examples/$example" "${args[@]}" "${postgres[@]}"
  fi
}
