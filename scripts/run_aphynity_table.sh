#!/usr/bin/env bash
# Every APHYNITY row of the ICLR 2021 Table 1 set-up (system x prior x F_a on/off) with the presets
# of scripts/reproduce_aphynity.py, then one Markdown table (scripts/aphynity_table.py).
#
#   bash scripts/run_aphynity_table.sh [OUT=results/aphynity] [SYSTEMS="pendulum reaction_diffusion wave"]
#
# Environment: SEEDS (default 1), JOBS (parallel runs, default 2; each run uses 1 torch thread),
# PY (default .venv/bin/python). Data are generated once and cached (HYBRIDOCEAN_CACHE).
set -euo pipefail
OUT=${1:-results/aphynity}
SYSTEMS=${2:-"pendulum reaction_diffusion wave"}
SEEDS=${SEEDS:-1}
JOBS=${JOBS:-2}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"
runs=()
for system in $SYSTEMS; do
  for prior in complete incomplete none true; do
    for aug in aug no-aug; do
      [[ $prior == none && $aug == no-aug ]] && continue
      runs+=("$system $prior $aug")
    done
  done
done
printf '%s\n' "${runs[@]}" | xargs -P "$JOBS" -L 1 bash -c '
  system=$0 prior=$1 aug=$2 dir="'"$OUT"'/${0}_${1}_${2}"
  nice '"$PY"' scripts/reproduce_aphynity.py --system "$system" --prior "$prior" --$aug --seeds '"$SEEDS"' \
       --threads 1 --log-every 100 --out "$dir" > "$dir.log" 2>&1 && echo "done $dir" || echo "FAILED $dir (see $dir.log)"'
"$PY" scripts/aphynity_table.py "$OUT"/*/metrics.json --out "$OUT/table.md"
