#!/usr/bin/env bash
# The decade measurements of README "Measured": builds the decade database
# once into ${LEGITKA_DECADE_DIR:-target/decade} (about 10 minutes on two
# cores), then runs the store's benchmark (criterion, on a copy) and the web
# one (pages, API, the daemon's memory, the printer's idle time; it needs an
# MQTT broker, by default the machine's Mosquitto at 127.0.0.1:1883).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${LEGITKA_DECADE_DIR:-target/decade}
if [ ! -f "$dir/legitka.db" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  cargo run --release --example decade -- --out "$dir"
fi
# The example and the daemon built together share one build of the crates.
cargo build --release --example decade --bin legitka
LEGITKA_DECADE_DB="$dir/legitka.db" cargo bench --bench decade
python3 benches/decade_web.py --db "$dir/legitka.db" --bin target/release/legitka "$@"
