#!/usr/bin/env bash
# The matcher on the FEBRL-style corpus: seeds 1 and 2, with and without
# PodFactory emails, scored by tests/holdout/score.py (the holdout's
# scorer), then the most common causes of wrong and missed pairs
# (causes.py). Prints the scores; no floors, exits 0 once it ran.
#   run.sh path/to/rosterd [OUTDIR]      (EMPLOYEES=6000 SEEDS="1 2" to change)
set -euo pipefail
BIN=${1:?usage: run.sh path/to/rosterd [OUTDIR]}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${2:-$(mktemp -d)}
EMPLOYEES=${EMPLOYEES:-6000}
SEEDS=${SEEDS:-1 2}
mkdir -p "$OUT"

for seed in $SEEDS; do
  for mode in with-emails no-emails; do
    dir=$OUT/seed$seed-$mode
    flags=""; [ "$mode" = no-emails ] && flags=--no-emails
    echo "=================== seed $seed, $mode ($EMPLOYEES employees) ==================="
    python3 "$HERE/generate.py" --seed "$seed" --employees "$EMPLOYEES" --out "$dir" $flags
    start=$(date +%s%N)
    "$BIN" match --employees "$dir/employees.csv" --podfactory "$dir/podfactory.csv" \
      --output csv > "$dir/predicted.csv" 2> "$dir/match.log" || echo "rosterd match exited $?"
    end=$(date +%s%N)
    echo "rosterd match: $(( (end - start) / 1000000 )) ms wall; $(tail -n 1 "$dir/match.log")"
    python3 "$HERE/../holdout/score.py" --truth "$dir/truth.csv" --predicted "$dir/predicted.csv" \
      > "$dir/score.txt"
    cat "$dir/score.txt"
    echo
  done
done
python3 "$HERE/causes.py" "$OUT"
echo "files kept in $OUT (analyse.py DIR explains one run)"
