#!/usr/bin/env bash
# Benchmark: stream one evidence file (512 MiB by default) through POST /api/v1/reports
# on loopback with each blob backend, beside `cp` of the same file to the same disk, all
# in the same run.
#
#   tests/bench/upload.sh [SIZE_MIB] [ROUNDS] [--postgres URL]
#
# With a PostgreSQL server (--postgres, or REDRESS_TEST_DATABASE_URL), each backend gets
# a fresh database on it: `blobs.backend = "folder"` and `"postgres"`, so the database
# is the same and only where the blobs go differs. Without one, the folder backend runs
# on SQLite alone. Each round is cp, then one upload per backend; the triage of each
# upload (which reads the whole file back) is let finish before the next is timed. A
# first, untimed upload per backend samples the server's RSS while the file streams.
# Prints the median of ROUNDS (default 3) for each, the ratios (targets: folder >= 0.8
# x cp, postgres >= 0.5 x folder), and each server's peak RSS while the file streamed
# (target <= 64 MiB) and over the whole run (which includes the 64 MiB of Argon2id
# working memory spent deriving the reporter's keys, by design).
set -euo pipefail
cd "$(dirname "$0")/../.."
positional=()
pg_url=${REDRESS_TEST_DATABASE_URL:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) pg_url=$2; shift 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
size_mib=${positional[0]:-512}
rounds=${positional[1]:-3}

. tests/bench/lib.sh

echo "Preparing a ${size_mib} MiB file of random bytes..."
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/evidence.bin"
bytes=$(stat -c %s "$work/evidence.bin")
cat > "$work/report.json" <<'JSON'
{"product":"mobile-implant","targeted":["journalist"],"what_happened":"Benchmark upload of one large evidence file.","ongoing":"unknown"}
JSON
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

backends=(folder)
[ -n "$pg_url" ] && backends+=(postgres)
declare -A pid port_of url_of
dbs=()
drop_dbs() {
  for db in "${dbs[@]}"; do
    psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
}
trap 'drop_dbs; cleanup' EXIT

for backend in "${backends[@]}"; do
  env_db=()
  if [ -n "$pg_url" ]; then
    db="redress_bench_upload_${backend}_$$"
    psql -q "$pg_url" -c "CREATE DATABASE $db" >/dev/null
    dbs+=("$db")
    url_of[$backend]="${pg_url%/*}/$db"
    env_db=(REDRESS_DATABASE__URL="${url_of[$backend]}")
  fi
  work_root=$work
  work="$work_root/$backend"
  mkdir -p "$work"
  start_server \
    "${env_db[@]}" \
    REDRESS_BLOBS__BACKEND="$backend" \
    REDRESS_LIMITS__MAX_FILE_MIB=$((size_mib + 1)) \
    REDRESS_LIMITS__MAX_REPORT_MIB=$((size_mib + 1))
  # Someone to route to, so each upload's triage runs to its end (reading the whole
  # file back) and can be waited for.
  env "${env_db[@]}" REDRESS_DATA_DIR="$work/data" REDRESS_BLOBS__BACKEND="$backend" RUST_LOG=warn \
    "$bin" admin investigator add --email bench@example.org --team triage-desk \
    --recipient "$(cat "$work/data/keys/triage.pub")" > /dev/null
  work=$work_root
  pid[$backend]=$server_pid
  port_of[$backend]=$port
  # lib.sh's cleanup stops one server; the others are stopped here.
  server_pid=
  trap 'drop_dbs; for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done; cleanup' EXIT
done

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# Whether the upload to `backend` has been streamed whole (its ciphertext stored).
streamed() {
  local backend=$1
  if [ "$backend" = folder ]; then
    local part done_blob
    part=$(find "$work/folder/data/blobs/tmp" -name '*.part' -printf '%s\n' 2>/dev/null | head -n1)
    done_blob=$(find "$work/folder/data/blobs" -name '*.age' -size +1M 2>/dev/null | head -n1)
    [ -n "$done_blob" ] || { [ -n "$part" ] && [ "$part" -ge "$bytes" ]; }
  else
    local pieces
    pieces=$(psql -qtA "${url_of[$backend]}" -c "SELECT count(*) FROM blob_chunks" 2>/dev/null || echo 0)
    [ "$pieces" -ge "$((bytes / 65536))" ]
  fi
}

# Waits until the server's queue is idle: the triage of the last upload is done.
settle() {
  local backend=$1
  [ -n "$pg_url" ] || { sleep 2; return; }
  for _ in $(seq 1 600); do
    busy=$(psql -qtA "${url_of[$backend]}" -c \
      "SELECT count(*) FROM jobs WHERE kind = 'triage_case' AND state IN ('queued', 'running')")
    [ "$busy" = 0 ] && return
    sleep 0.2
  done
}

: > "$work/cp_times"
for backend in "${backends[@]}"; do : > "$work/${backend}_times"; done

# One upload per backend, untimed: the server's RSS is sampled while the file streams,
# until its ciphertext is stored. Sampling costs CPU (and, for the database, a query
# every 50 ms), so it runs apart from the timed rounds.
upload() {
  curl -s -o "$work/response.json" -w '%{http_code}' \
    -F "report=@$work/report.json;type=application/json" \
    -F "evidence=@$work/evidence.bin;type=application/octet-stream" \
    "http://127.0.0.1:${port_of[$1]}/api/v1/reports"
}
for backend in "${backends[@]}"; do
  (
    max=0
    while :; do
      r=$(rss_kib "${pid[$backend]}" 2>/dev/null || echo 0)
      [ "$r" -gt "$max" ] && max=$r
      streamed "$backend" && break
      sleep 0.05
    done
    echo "$max" > "$work/${backend}_stream"
  ) &
  sampler=$!
  status=$(upload "$backend")
  wait "$sampler" || true
  [ "$status" = 201 ] || { echo "upload to $backend failed: HTTP $status"; cat "$work/response.json"; exit 1; }
  settle "$backend"
done

for round in $(seq 1 "$rounds"); do
  # cp to the same disk, flushed to it like the server's fsync.
  start=$(now)
  cp "$work/evidence.bin" "$work/copy.bin"
  sync "$work/copy.bin"
  echo "$(now) - $start" | bc -l >> "$work/cp_times"
  rm -f "$work/copy.bin"
  line="round $round: cp $(tail -n1 "$work/cp_times" | cut -c1-5) s"
  for backend in "${backends[@]}"; do
    start=$(now)
    status=$(upload "$backend")
    echo "$(now) - $start" | bc -l >> "$work/${backend}_times"
    [ "$status" = 201 ] || { echo "upload to $backend failed: HTTP $status"; cat "$work/response.json"; exit 1; }
    line="$line, $backend $(tail -n1 "$work/${backend}_times" | cut -c1-5) s"
    settle "$backend"
  done
  echo "$line"
done

mibs() { echo "scale=1; $bytes / 1048576 / $1" | bc -l; }
cp_secs=$(median < "$work/cp_times")
printf 'file size                  %d MiB, median of %d rounds, database %s\n' \
  "$size_mib" "$rounds" "$([ -n "$pg_url" ] && echo PostgreSQL || echo SQLite)"
printf 'cp (same disk, synced)     %6.2f s  %8s MiB/s\n' "$cp_secs" "$(mibs "$cp_secs")"
for backend in "${backends[@]}"; do
  secs=$(median < "$work/${backend}_times")
  printf 'upload, blobs %-12s %6.2f s  %8s MiB/s  %.2f x cp\n' \
    "$backend" "$secs" "$(mibs "$secs")" "$(echo "$cp_secs / $secs" | bc -l)"
done
if [ -n "$pg_url" ]; then
  f=$(median < "$work/folder_times")
  p=$(median < "$work/postgres_times")
  printf 'ratio postgres/folder      %.2f (target >= 0.5)\n' "$(echo "$f / $p" | bc -l)"
fi
for backend in "${backends[@]}"; do
  peak=$(awk '/^VmHWM/ {print $2}' "/proc/${pid[$backend]}/status")
  printf 'server RSS, %-8s       stream peak %4d MiB (target <= 64), overall peak %4d MiB\n' \
    "$backend" "$(($(cat "$work/${backend}_stream") / 1024))" "$((peak / 1024))"
done
