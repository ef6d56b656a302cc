#!/usr/bin/env bash
# The matcher on an independent corpus (tests/holdout/generate.py, written
# without sight of the matcher): precision must hold the issue's bars,
# recall must not fall below what this corpus allows today. Its noise is
# harsher than rosterd's own corpus (a quarter of users without email,
# 10% of employees with a namesake), so its recall floors are lower.
#   check.sh path/to/rosterd
set -euo pipefail
BIN=${1:?usage: check.sh path/to/rosterd}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

check() { # name, generate flags, min precision, min recall
  local name=$1 flags=$2 min_p=$3 min_r=$4 dir=$WORK/$1
  python3 "$HERE/generate.py" --seed 11 --employees 6000 --out "$dir" --quiet $flags
  "$BIN" match --employees "$dir/employees.csv" --podfactory "$dir/podfactory.csv" \
    --output csv > "$dir/predicted.csv" 2> "$dir/match.log"
  python3 "$HERE/score.py" --truth "$dir/truth.csv" --predicted "$dir/predicted.csv" --json \
    | python3 -c '
import json, sys
name, min_p, min_r = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
s = json.load(sys.stdin)
ok = s["precision"] >= min_p and s["recall"] >= min_r
print("%s: %s precision %.4f (>= %.3f) recall %.4f (>= %.2f), %d right, %d wrong, %d missed"
      % ("ok" if ok else "FAIL", name, s["precision"], min_p, s["recall"], min_r,
         s["right"], s["wrong"], s["missed"]))
sys.exit(0 if ok else 1)' "$name" "$min_p" "$min_r"
}

check with-emails "" 0.998 0.88
check names-only --no-emails 0.99 0.73
