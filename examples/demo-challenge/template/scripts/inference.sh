#!/bin/sh
# A stand-in for a long model run (the final round's "inference"): waits about SECONDS seconds, reporting
# progress from 0 to 100 in /progress.txt, which the orchestrator reads with `cat /progress.txt` in the
# engine container and publishes as the submission's Progress annotation. It then passes the validated
# predictions through unchanged as predictions.csv.
#   sh inference.sh <validated.csv> <seconds>
set -eu
input=$1
seconds=${2:-30}

# Written to a temporary file and renamed, so the orchestrator never reads a half-written number. Outside
# an engine container (/ not writable) progress is skipped rather than failing the run.
report() {
  { printf '%s\n' "$1" > /progress.txt.tmp && mv /progress.txt.tmp /progress.txt; } 2> /dev/null || true
}

echo "inference: running for ${seconds}s"
i=0
while [ "$i" -lt "$seconds" ]; do
  percent=$((i * 100 / seconds))
  report "$percent"
  if [ $((i % 10)) -eq 0 ]; then echo "inference: ${percent}%"; fi
  sleep 1
  i=$((i + 1))
done
report 100
cp "$input" predictions.csv
echo "inference: 100%, $(($(wc -l < predictions.csv) - 1)) predictions"
