#!/usr/bin/env bash
# Regenerates BENCHMARKS.md at the repository root: builds the binaries,
# runs every scenario of bench/cmd/report (each in a fresh process, the
# fakes in a process of their own), and saves the raw results as JSON.
# Takes about eight minutes on a 2-core machine; run it on an idle machine.
#
# Usage: bench/run.sh [extra report flags, e.g. -quick]
set -euo pipefail
cd "$(dirname "$0")/.."

baseline=()
if [ -f bench/results/before.json ]; then
  baseline=(-baseline bench/results/before.json)
fi
mkdir -p bench/results
go run ./bench/cmd/report -json bench/results/latest.json "${baseline[@]}" \
  -findings bench/FINDINGS.md "$@" > bench/results/BENCHMARKS.md.tmp
mv bench/results/BENCHMARKS.md.tmp BENCHMARKS.md
echo "wrote BENCHMARKS.md and bench/results/latest.json" >&2
