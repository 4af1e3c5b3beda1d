#!/usr/bin/env bash
# The main job. Installs what is missing, builds build/trol, and runs the tiny embedded
# TroL model through forward, backward and optimizer steps on a synthetic batch.
# (The full job, dataset + two-stage training + evaluation, replaces this as it lands.)
# Extra arguments go to `trol smoke` (e.g. --steps 50, model.trol.traversal=false).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
TROL_BUILD_TARGET=trol_cli scripts/build.sh
build/trol smoke configs/tiny.yaml --steps 30 "$@"
