#!/usr/bin/env bash
# The one test command: every .NET test (dotnet test on the solution), then every Python SDK test (pytest, against
# the .NET build the first step made), then one closing line "N passed, N failed, N skipped" over both.
# Results: TestResults/*.trx (.NET) and TestResults/python.xml (pytest), or in $SMPC_TEST_RESULTS.
# SMPC_TEST_ONLY=dotnet or =python runs one half (python: against an earlier `dotnet build`).
# Needs the .NET 10 SDK and Debian's Python packages (see README, "Python SDK"); PostgreSQL tests use
# $SMPC_TEST_POSTGRES if set, otherwise start a throw-away server.
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
results=${SMPC_TEST_RESULTS:-$root/TestResults}
python=${SMPC_PYTHON:-/usr/bin/python3}
rm -rf "$results"
mkdir -p "$results"

only=${SMPC_TEST_ONLY:-}
status=0
if [ "$only" != python ]; then
  dotnet test Smpc.Orleans.sln --logger "trx" --logger "console;verbosity=normal" --results-directory "$results"
  status=$?
fi

if [ "$only" = dotnet ]; then
  :
elif ! "$python" -c "import pytest, numpy, cryptography" 2>/dev/null; then
  echo "error: $python lacks pytest, numpy or cryptography; install Debian's python3-pytest python3-numpy python3-cryptography python3-nacl" >&2
  echo '<testsuite name="python-sdk" tests="1" failures="0" errors="1" skipped="0"></testsuite>' > "$results/python.xml"
  status=1
else
  (cd clients/python && "$python" -m pytest tests -q -p no:cacheprovider --junitxml="$results/python.xml" -o junit_family=xunit2)
  [ $? -eq 0 ] || status=1
fi

read -r passed failed skipped < <("$root/.ci/count-results" "$results")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi # a build failure or a crashed test host counts
# .ci/run prints the closing line itself, after its check for leftover processes.
[ -n "${SMPC_NO_SUMMARY:-}" ] || echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
