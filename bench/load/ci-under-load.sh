#!/usr/bin/env bash
# Runs the full CI (`.ci/run`) N times in a row while stress-ng keeps every core busy, and prints each run's
# closing line and wall time. Shows that the suite does not depend on an idle machine.
#
#   bench/load/ci-under-load.sh [RUNS=3] [CPU_WORKERS=$(nproc)]
#
# Needs stress-ng (Debian: apt-get install stress-ng). Logs go to TestResults-load/run-N.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
workers=${2:-$(nproc)}
command -v stress-ng >/dev/null || { echo "stress-ng is not installed (apt-get install stress-ng)" >&2; exit 2; }
mkdir -p TestResults-load
stress-ng --cpu "$workers" --timeout 0 --quiet &
stress=$!
trap 'kill $stress 2>/dev/null; wait $stress 2>/dev/null' EXIT
echo "stress-ng --cpu $workers running (pid $stress) on $(nproc) cores"
overall=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  CI=true bash .ci/run > "TestResults-load/run-$i.log" 2>&1
  rc=$?
  end=$(date +%s)
  [ "$rc" -ne 0 ] && overall=1
  echo "run $i: $(tail -n 1 "TestResults-load/run-$i.log") in $((end - start)) s (exit $rc)"
done
exit $overall
