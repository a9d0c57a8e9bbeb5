#!/usr/bin/env bash
# Runs the benchmarks with Ghostscript installed for the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v gs >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq ghostscript
fi
cargo bench --bench render_card "$@"
