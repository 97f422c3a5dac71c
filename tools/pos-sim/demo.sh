#!/usr/bin/env bash
# A till's day against the running demo (`make demo`, http://127.0.0.1:8080): this simulated
# till pairs as the demo's till DEMO-CAISSE-1 with the code `make demo` printed and wrote to
# var/demo-pos.txt (valid 15 minutes after the start; a till paired before keeps its state), or,
# without a usable code, the demo regional administrator declares and approves a new point for
# it. It checks its clock, takes a cash pack and payments from Hugo Bernard's card, then works
# offline and sends what it took as one signed batch. Everything it prints is the service's JSON.
#   tools/pos-sim/demo.sh [URL]        (state kept in var/pos-sim/)
set -euo pipefail
cd "$(dirname "$0")/../.."
url=${1:-${GUICHET_URL:-http://127.0.0.1:8080}}
dir=var/pos-sim
mkdir -p "$dir"
state=$dir/till.json
secrets=$dir/secrets.json
card=04A1B2C3D4E5F7   # Hugo Bernard, Crous Grenoble Alpes (demo data)
sim() { echo "+ pos-sim $*" >&2; node tools/pos-sim/cli.mjs "$@" --state "$state"; }

codes=var/demo-pos.txt
code=$(awk '$1 == "DEMO-CAISSE-1" && $5 == "code" { print $6 }' "$codes" 2>/dev/null || true)
paired() { [ -f "$state" ] && node -e 'process.exit(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).device_id ? 0 : 1)' "$state"; }
if [ -n "$code" ] && node tools/pos-sim/cli.mjs pair --url "$url" --code "$code" --state "$state"; then
  echo "== paired as the demo till DEMO-CAISSE-1 with the code of $codes" >&2
elif [ -z "$code" ] && paired; then
  echo "== no fresh demo code: the till paired before goes on (state $state)" >&2
else
  echo "== a point declared, approved and paired (demo regional administrator)" >&2
  node tools/pos-sim/cli.mjs provision --url "$url" --state "$state" --secrets "$secrets"
fi
sim clock
echo "== a cash pack of 20 €, then two payments (one abandoned: negative acknowledgement)" >&2
sim cash-reload --support "$card" --amount 2000
sim balance --support "$card"
sim pay --support "$card" --amount 330
sim pay --support "$card" --amount 250 --negative
echo "== a refusal: an unknown card (exit status 2, nothing applied)" >&2
sim pay --support NO-SUCH-CARD --amount 100 || true
echo "== offline: the payment is kept with the till's time, then sent as one signed batch" >&2
sim sync
sim offline on
sim pay --support "$card" --amount 120
sim status
sim offline off
sim sync
sim balance --support "$card"
echo "== a scripted day: 20 payments" >&2
sim day --support "$card" --count 20 --amount 50
