#!/usr/bin/env bash
# Durable sends with fsync always, one send in flight per producer: 1 and 16 producers, durable
# and not, in interleaved rounds against a postboxd of its own; prints each run and the medians.
# durable-16c is 16 producers as 16 connections of one process (--connections 16), the way
# redis-benchmark -c 16 runs its clients: one process wakes once for all the replies of a sync.
#
#   bench/durable.sh                   # binaries from build/, 5 rounds
#   ROUNDS=3 POSTBOXD=... POSTBOX=... bench/durable.sh
#
# Sends only (`postbox bench --consumers 0`): each run is timed from the start barrier to the
# last acknowledgement, and the messages stay queued until the run's queue is deleted.
# fsyncs/send is the delta of STATUS log.syncs_total over the run divided by acknowledged sends.
set -euo pipefail
cd "$(dirname "$0")/.."

POSTBOXD=${POSTBOXD:-build/broker/postboxd}
POSTBOX=${POSTBOX:-build/client/postbox}
ROUNDS=${ROUNDS:-5}
SIZE=${SIZE:-64}
# Counts per run: about 1-2 s each on a quiet 2-vCPU VM (0.3 ms per fdatasync); shorter runs
# are dominated by the start and the last stragglers and understate 16 producers.
COUNT_DURABLE_1=${COUNT_DURABLE_1:-4000}
COUNT_DURABLE_16=${COUNT_DURABLE_16:-64000}
COUNT_PLAIN_1=${COUNT_PLAIN_1:-40000}
COUNT_PLAIN_16=${COUNT_PLAIN_16:-80000}

for bin in "$POSTBOXD" "$POSTBOX"; do
  [[ -x $bin ]] || { echo "durable.sh: $bin is not built (scripts/build.sh)" >&2; exit 2; }
done

dir=$(mktemp -d /tmp/postbox-durable-bench.XXXXXX)
sock=$dir/postbox.sock
broker_pid=
cleanup() {
  if [[ -n $broker_pid ]]; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

"$POSTBOXD" --socket "$sock" --data-dir "$dir/data" --fsync always --log-level warn \
  2>"$dir/postboxd.log" &
broker_pid=$!
# Ready once STATUS answers (give up after 10 s).
for _ in $(seq 200); do
  if "$POSTBOX" --socket "$sock" status >/dev/null 2>&1; then break; fi
  kill -0 "$broker_pid" 2>/dev/null || { cat "$dir/postboxd.log" >&2; exit 1; }
  sleep 0.05
done
"$POSTBOX" --socket "$sock" status | grep -E '^(version|data_dir|fsync) ' | sed 's/^/# /'
echo "# $(nproc) vCPUs, $(uname -sr), data dir on $(df -T "$dir" | awk 'NR == 2 { print $2 }')"

# key -> one value per round
declare -A rate fsyncs
# The number after "KEY": in one line of bench --json.
field() { sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" <<<"$1"; }

run() {  # run KEY PRODUCERS COUNT [--durable]
  local key=$1 producers=$2 count=$3
  shift 3
  local out
  out=$("$POSTBOX" --socket "$sock" --json bench --consumers 0 --batch 1 --pipeline 1 \
    --size "$SIZE" --producers "$producers" --count "$count" "$@")
  local r f
  r=$(field "$out" msgs_per_s)
  f=$(field "$out" fsyncs_per_send)
  rate[$key]+="$r "
  [[ -n $f ]] && fsyncs[$key]+="$f "
  printf '%-12s round %d  %9.0f acked sends/s%s\n' "$key" "$round" "$r" \
    "${f:+  $(printf '%.3f' "$f") fsyncs/send}"
}

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END {
  print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for round in $(seq "$ROUNDS"); do
  run durable-1 1 "$COUNT_DURABLE_1" --durable
  run durable-16 16 "$COUNT_DURABLE_16" --durable
  run durable-16c 1 "$COUNT_DURABLE_16" --durable --connections 16
  run plain-1 1 "$COUNT_PLAIN_1"
  run plain-16 16 "$COUNT_PLAIN_16"
done

echo "# medians of $ROUNDS rounds (sends only, batch 1, pipeline 1, $SIZE B, fsync always)"
for key in durable-1 durable-16 durable-16c plain-1 plain-16; do
  m=$(median "${rate[$key]}")
  line=$(printf '%-12s %9.0f acked sends/s' "$key" "$m")
  [[ -n ${fsyncs[$key]:-} ]] && line+=$(printf '  %.3f fsyncs/send' "$(median "${fsyncs[$key]}")")
  echo "$line"
done
d1=$(median "${rate[durable-1]}")
d16=$(median "${rate[durable-16]}")
d16c=$(median "${rate[durable-16c]}")
awk -v a="$d16" -v c="$d16c" -v b="$d1" 'BEGIN {
  printf "durable 16 producers / 1 producer: %.1fx (bar: 8x)\n", a / b
  printf "durable 1 producer x 16 connections / 1 producer: %.1fx\n", c / b }'
