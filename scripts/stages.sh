#!/usr/bin/env bash
# Runs `make STAGE` for each stage given, on to the end even when one fails,
# then prints how long each took and how it ended (the last lines a CI log
# shows), and exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
names=() secs=() results=()
status=0
for stage in "$@"; do
  printf '\033[1m==> make %s\033[0m\n' "$stage"
  start=$SECONDS
  if make --no-print-directory "$stage"; then result=ok; else result=FAILED; status=1; fi
  names+=("$stage") secs+=($((SECONDS - start))) results+=("$result")
done
echo
echo "stage        seconds  result"
for i in "${!names[@]}"; do
  printf '%-12s %7d  %s\n' "${names[$i]}" "${secs[$i]}" "${results[$i]}"
done
printf '%-12s %7d\n' total "$SECONDS"
exit $status
