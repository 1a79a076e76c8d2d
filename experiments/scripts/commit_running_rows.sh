#!/bin/sh
# Commits the state of running `prunus compare` rows every INTERVAL seconds (default 2400), so that a session
# that ends without warning loses at most that much training: ignored files (checkpoint.bin, stage_*.bin) do
# not survive from one session's machine to the next, commits do. Commits only experiments/results/, and
# leaves whatever else is staged alone. Run from the repository root:
#   nohup experiments/scripts/commit_running_rows.sh >> /tmp/commit_running_rows.log 2>&1 &
interval=${1:-2400}
while sleep "$interval"; do
  git add -A experiments/results || continue
  # The checkpoints of rows still running (a finished row has row.txt and no checkpoints left).
  find experiments/results -path '*_compare/*' -name '*.bin' ! -name compact.bin -print0 |
    xargs -0 -r git add -f --
  git diff --cached --quiet -- experiments/results && continue
  git commit -q -m "results: progress of the running comparison rows (checkpoints to resume from)" \
    -- experiments/results && git log --oneline -1
done
