#!/usr/bin/env bash
# HTTP throughput and latency of `guichet serve` with wrk, as a ratio to /healthz measured in
# the same run (these machines are noisy: compare ratios, not raw numbers, across runs).
#
#   bench/http.sh                      # 10 s per endpoint, 2 threads, 64 connections
#   BENCH_DURATION=30s BENCH_CONNECTIONS=128 bench/http.sh
#
# Environment: GUICHET_BIN (default build/guichet), BENCH_DURATION (10s), BENCH_THREADS (2),
# BENCH_CONNECTIONS (64), BENCH_RAW=1 to print wrk's own output as well.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${GUICHET_BIN:-build/guichet}
duration=${BENCH_DURATION:-10s}
threads=${BENCH_THREADS:-2}
connections=${BENCH_CONNECTIONS:-64}
start_timeout_s=20

[ -x "$bin" ] || { echo "bench: $bin not found or not executable: build first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench: curl is not installed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/guichet-bench.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    # A clean exit takes well under a second; do not let a stuck shutdown hang the script.
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "bench: guichet did not exit 10 s after SIGTERM; killing it" >&2
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A fresh SQLite database, a random port, logs out of the way (they would cost as much as the
# work measured if written to a terminal).
GUICHET_DB="sqlite:$work/guichet.db" GUICHET_HTTP_HOST=127.0.0.1 GUICHET_HTTP_PORT=0 \
  GUICHET_LOG_FORMAT=json "$bin" serve >"$work/stdout.log" 2>"$work/stderr.log" &
server_pid=$!

port=
for _ in $(seq $((start_timeout_s * 10))); do
  port=$(sed -n 's|.*guichet: listening on http://[^:]*:\([0-9][0-9]*\).*|\1|p' "$work/stdout.log" | head -n1)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "bench: guichet exited:" >&2; cat "$work"/*.log >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "bench: guichet did not start in ${start_timeout_s} s" >&2; cat "$work"/*.log >&2; exit 1; }
base="http://127.0.0.1:$port"

# Endpoint list: name and path. /healthz (no database, smallest answer) is the ceiling of the
# HTTP layer and the baseline; it is measured first and last and the two runs are averaged.
endpoints=(/healthz /api/v1/system/status /healthz)

for path in "${endpoints[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base$path")
  [ "$code" = 200 ] || { echo "bench: GET $path answered $code, not 200" >&2; exit 1; }
done

# wrk prints latencies as 812.00us, 1.23ms or 1.01s; convert to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "nan" }'
}

declare -a names rps p50 p90 p99 errors
for i in "${!endpoints[@]}"; do
  path=${endpoints[$i]}
  echo "bench: wrk -t$threads -c$connections -d$duration --latency $base$path" >&2
  out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "$base$path")
  [ "${BENCH_RAW:-0}" = 1 ] && echo "$out" >&2
  names[$i]=$path
  rps[$i]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50[$i]=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p90[$i]=$(to_ms "$(awk '$1 == "90%" { print $2 }' <<<"$out")")
  p99[$i]=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  # Non-2xx answers and socket errors make a fast run meaningless: show them.
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
  socket=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' <<<"$out")
  errors[$i]=$(( ${non2xx:-0} + ${socket:-0} ))
done

last=$(( ${#endpoints[@]} - 1 ))
baseline=$(awk -v a="${rps[0]}" -v b="${rps[$last]}" 'BEGIN { printf "%.2f", (a + b) / 2 }')

echo
echo "guichet $(git rev-parse --short HEAD 2>/dev/null || echo '(no commit)') · $(nproc) cores · wrk -t$threads -c$connections -d$duration · SQLite"
printf '%-26s %12s %10s %10s %10s %8s %8s\n' endpoint 'requests/s' 'p50 ms' 'p90 ms' 'p99 ms' errors 'ratio'
for i in "${!endpoints[@]}"; do
  ratio=$(awk -v r="${rps[$i]}" -v b="$baseline" 'BEGIN { printf "%.2f", r / b }')
  label=${names[$i]}
  [ "$i" = 0 ] && label="$label (first)"
  [ "$i" = "$last" ] && label="$label (last)"
  printf '%-26s %12s %10s %10s %10s %8s %8s\n' "$label" "${rps[$i]}" "${p50[$i]}" "${p90[$i]}" "${p99[$i]}" \
    "${errors[$i]}" "$ratio"
done
echo "ratio: requests/s over the mean of the two /healthz runs (${baseline}/s)"
drift=$(awk -v a="${rps[0]}" -v b="${rps[$last]}" 'BEGIN { d = (b - a) / ((a + b) / 2) * 100; printf "%+.1f", d }')
echo "baseline drift between first and last /healthz run: ${drift}%"
if awk -v d="$drift" 'BEGIN { exit !(d > 10 || d < -10) }'; then
  echo "warning: the baseline moved more than 10% during the run: the machine was busy; rerun"
fi
