#!/usr/bin/env bash
# Benchmark: stream one evidence file (1 GiB by default) through POST /api/v1/reports on
# loopback, beside `cp` of the same file to the same disk, in the same run.
#
#   tests/bench/upload.sh [SIZE_MIB] [ROUNDS]
#
# Runs ROUNDS (default 3) alternating rounds of cp and upload and prints the median of
# each, their ratio (target >= 0.8), and the server's peak RSS
# while the file streamed and over the whole request (the latter includes the 64 MiB
# of Argon2id working memory spent deriving the reporter's keys, by design).
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mib=${1:-1024}
rounds=${2:-3}

. tests/bench/lib.sh

echo "Preparing a ${size_mib} MiB file of random bytes..."
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/evidence.bin"
bytes=$(stat -c %s "$work/evidence.bin")
cat > "$work/report.json" <<'JSON'
{"product":"mobile-implant","targeted":["journalist"],"what_happened":"Benchmark upload of one large evidence file.","ongoing":"unknown"}
JSON
now() { date +%s.%N; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start_server \
  REDRESS_LIMITS__MAX_FILE_MIB=$((size_mib + 1)) \
  REDRESS_LIMITS__MAX_REPORT_MIB=$((size_mib + 1))
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status"; }
idle_rss=$(rss_kib)

# Round 1 also samples the server's RSS while the encrypted temporary file grows to the
# full size.
: > "$work/cp_times"; : > "$work/up_times"
for round in $(seq 1 "$rounds"); do
# cp to the same disk, flushed to it like the server's fsync.
start=$(now)
cp "$work/evidence.bin" "$work/copy.bin"
sync "$work/copy.bin"
echo "$(now) - $start" | bc -l >> "$work/cp_times"
rm -f "$work/copy.bin"

[ "$round" = 1 ] && (
  rm -f "$work/stream_rss"
  max=0
  while :; do
    r=$(rss_kib 2>/dev/null || echo 0)
    [ "$r" -gt "$max" ] && max=$r
    part=$(find "$work/data/blobs/tmp" -name '*.part' -printf '%s\n' 2>/dev/null | head -n1)
    done_blob=$(find "$work/data/blobs" -name '*.age' -size +1M 2>/dev/null | head -n1)
    if [ -n "$done_blob" ] || { [ -n "$part" ] && [ "$part" -ge "$bytes" ]; }; then break; fi
    sleep 0.02
  done
  echo "$max" > "$work/stream_rss"
) &
sampler=$!

start=$(now)
status=$(curl -s -o "$work/response.json" -w '%{http_code}' \
  -F "report=@$work/report.json;type=application/json" \
  -F "evidence=@$work/evidence.bin;type=application/octet-stream" \
  "http://127.0.0.1:$port/api/v1/reports")
echo "$(now) - $start" | bc -l >> "$work/up_times"
[ "$round" = 1 ] && { wait "$sampler" || true; }
[ "$status" = 201 ] || { echo "upload failed: HTTP $status"; cat "$work/response.json"; exit 1; }
echo "round $round: cp $(tail -n1 "$work/cp_times" | cut -c1-5) s, upload $(tail -n1 "$work/up_times" | cut -c1-5) s"
done
cp_secs=$(median < "$work/cp_times")
up_secs=$(median < "$work/up_times")
peak_kib=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")
stream_kib=$(cat "$work/stream_rss")

mibs() { echo "scale=1; $bytes / 1048576 / $1" | bc -l; }
printf 'file size                %d MiB, median of %d rounds\n' "$size_mib" "$rounds"
printf 'cp (same disk, synced)   %6.2f s  %8s MiB/s\n' "$cp_secs" "$(mibs "$cp_secs")"
printf 'POST /api/v1/reports     %6.2f s  %8s MiB/s\n' "$up_secs" "$(mibs "$up_secs")"
printf 'ratio upload/cp          %.2f (target >= 0.8)\n' "$(echo "$cp_secs / $up_secs" | bc -l)"
printf 'server RSS idle          %6d MiB\n' "$((idle_rss / 1024))"
printf 'server RSS peak, stream  %6d MiB (target <= 64)\n' "$((stream_kib / 1024))"
printf 'server RSS peak, overall %6d MiB (includes Argon2id m=64 MiB)\n' "$((peak_kib / 1024))"
