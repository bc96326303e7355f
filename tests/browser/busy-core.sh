#!/bin/sh
# The browser layer RUNS times in a row (default 2) while another process keeps one core fully busy:
# the proof that no browser assertion races the page. From the repo root: sh tests/browser/busy-core.sh [RUNS]
# (PY=/path/to/python to use another interpreter than .venv's).
set -u
PY=${PY:-.venv/bin/python}
RUNS=${1:-2}
"$PY" -c "while True: pass" &
BUSY=$!
trap 'kill "$BUSY" 2>/dev/null' EXIT INT TERM
STATUS=0
for i in $(seq "$RUNS"); do
  START=$(date +%s)
  "$PY" -m pytest -m browser -q -p no:randomly || STATUS=1
  echo "busy-core run $i of $RUNS: $(( $(date +%s) - START )) s"
done
exit "$STATUS"
