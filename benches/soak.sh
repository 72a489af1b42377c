#!/usr/bin/env bash
# 64 connections mixing reads, inserts and moderation for a few minutes
# against the demo dataset; prints the figures of benches/soak.py and the
# connection setup times of benches/connect.py.
#   OKO_BIN=target/release/oko bash benches/soak.sh [seconds] [clients]
set -euo pipefail
cd "$(dirname "$0")/.."
OKO_BIN=${OKO_BIN:-target/release/oko}
SECONDS_TO_RUN=${1:-180}
CLIENTS=${2:-64}
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cfg="$work/oko.toml"
printf '[server]\nmax_connections = 200\n' > "$cfg"
for u in admin:admin mod:moderator viewer:viewer; do
  name=${u%%:*}; role=${u##*:}
  echo "$name-pw" | "$OKO_BIN" user add "$name" --role "$role" --config "$cfg" --write 2>/dev/null
done
echo "okna_viewer-pw" | "$OKO_BIN" user add okna_viewer --role viewer --tenant okna --config "$cfg" --write 2>/dev/null
"$OKO_BIN" serve --demo --config "$cfg" --listen 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for _ in $(seq 100); do grep -q " on " "$work/serve.out" 2>/dev/null && break; sleep 0.2; done
port=$(sed -n 's/.* on .*:\([0-9]*\)$/\1/p' "$work/serve.out" | head -1)
python3 benches/connect.py --port "$port"
python3 benches/soak.py --port "$port" --pid "$server" --clients "$CLIENTS" --seconds "$SECONDS_TO_RUN"
