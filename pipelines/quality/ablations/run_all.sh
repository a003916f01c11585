#!/usr/bin/env bash
# Train every short ablation in turn (resumable: a finished run is skipped, a killed one resumes).
set -euo pipefail
cd "$(dirname "$0")/../../.."
for args in pipelines/quality/ablations/*.args; do
  name=$(sed -n 's/.*name=\([^ ]*\).*/\1/p' "$args")
  [ -f "runs/$name/last.pt" ] && continue
  resume=""; [ -f "runs/$name/checkpoint.pt" ] && resume="--resume"
  # shellcheck disable=SC2046
  .venv/bin/geocolor train --config pipelines/default_model.yaml --set export=null $(cat "$args") $resume
done
