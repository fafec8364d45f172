#!/usr/bin/env bash
# make demo: folio's main job end to end on throwaway repositories.
# A server holds a hub repository; two leaders clone it, write while
# "offline" (one write conflicts), sync, see the recorded conflict, resolve
# it, and end on the same head. Then two servers peered with each other
# take writes through the document API and converge with no sync command.
set -euo pipefail

folio=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/folio-demo.XXXXXX")
server_pid=""
cleanup() {
  for pid in $server_pid; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

export FOLIO_CONFIG_GLOBAL="$work/global.json"
export FOLIO_CREDENTIALS="$work/credentials.json"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ folio %s\n' "$*"; "$folio" "$@"; }

step "A hub repository with a few documents"
"$folio" init hub >/dev/null
cd hub
"$folio" config user.name "Hub Admin"
"$folio" config user.email "admin@example.com"
echo '{"name": "Ada", "role": "engineer", "team": "core"}' > ada.json
printf 'Release notes\n\n- first release\n' > notes.txt
run put users/ada.json ada.json
run put notes.txt notes.txt
run commit -m "Initial documents"
cd ..

step "Serve it on 127.0.0.1 (port chosen by the system)"
"$folio" --repo hub serve --addr 127.0.0.1:0 2>server.log &
server_pid=$!
for _ in $(seq 100); do [ -s hub/.folio/serve.json ] && break; sleep 0.1; done
url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' hub/.folio/serve.json)
echo "serving at $url"

step "Two leaders clone it"
run clone "$url" alice
run clone "$url" bob
for who in alice bob; do
  (cd $who && "$folio" config user.name "$who" && "$folio" config user.email "$who@example.com")
done

step "Offline: Alice and Bob both change Ada's role (a conflict), and more"
cd alice
echo '{"name": "Ada", "role": "lead engineer", "team": "core"}' > ada.json
run put users/ada.json ada.json
printf 'Release notes\n\n- first release\n- faster sync (alice)\n' > notes.txt
run put notes.txt notes.txt
FOLIO_AUTHOR_DATE=2026-03-01T09:00:00Z run commit -m "Alice: promote Ada, note sync speed"
cd ../bob
echo '{"name": "Ada", "role": "architect", "team": "platform"}' > ada.json
run put users/ada.json ada.json
echo '{"name": "Grace", "role": "engineer", "team": "core"}' > grace.json
run put users/grace.json grace.json
FOLIO_AUTHOR_DATE=2026-03-01T10:00:00Z run commit -m "Bob: Ada moves to platform; add Grace"
cd ..

step "Back online: both sync (fetch, deterministic merge, push back)"
(cd alice && run sync)
set +e
(cd bob && run sync)
status=$?
set -e
echo "(bob's sync exit status: $status — 3 means synced, with new conflicts recorded)"
(cd alice && run sync)

step "The conflict is data: recorded with a deterministic winner (the newer commit: Bob's)"
# ours and theirs are the two heads in a fixed order (by commit ID), the same
# on every leader; the listing names whose each one is.
cd alice
run conflicts
run get users/ada.json
run get --markers users/ada.json || true
step "Alice settles it with her version, commits, and syncs"
echo '{"name": "Ada", "role": "lead engineer", "team": "core"}' > ada.json
run resolve users/ada.json --file ada.json
run commit -m "Keep Ada as lead engineer"
run sync
cd ../bob
run sync
cd ..

step "Both leaders and the hub end on the same head, with the same documents"
a=$(cd alice && "$folio" log -n 1 --oneline)
b=$(cd bob && "$folio" log -n 1 --oneline)
echo "alice: $a"
echo "bob:   $b"
[ "$a" = "$b" ] || { echo "demo: leaders differ" >&2; exit 1; }
(cd bob && run ls -l && run get users/ada.json && run fsck)

step "Continuous replication: two servers, peered, converge without any sync command"
# dc1 serves a clone; dc2 serves another and peers with dc1 (one --peer is
# enough: a peering pushes this leader's moves and pulls the peer's).
run clone "$url" dc1 >/dev/null
run clone "$url" dc2 >/dev/null
"$folio" --repo dc1 serve --addr 127.0.0.1:0 2>dc1.log &
dc1_pid=$!
for _ in $(seq 100); do [ -s dc1/.folio/serve.json ] && break; sleep 0.1; done
dc1=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' dc1/.folio/serve.json); dc1=${dc1%/}
"$folio" --repo dc2 serve --addr 127.0.0.1:0 --peer "$dc1" 2>dc2.log &
dc2_pid=$!
server_pid="$server_pid $dc1_pid $dc2_pid"
for _ in $(seq 100); do [ -s dc2/.folio/serve.json ] && break; sleep 0.1; done
dc2=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' dc2/.folio/serve.json); dc2=${dc2%/}
echo "dc1 at $dc1, dc2 at $dc2 (folio serve --peer $dc1)"
# wait_for URL: poll until the document is there (at most 10 s).
wait_for() {
  for _ in $(seq 200); do curl -sf "$1" && return 0; sleep 0.05; done
  echo "demo: $1 never arrived" >&2; exit 1
}
echo '$ curl -X PUT --data-binary '"'"'{"city": "Lisbon"}'"'"' $dc1/v1/docs/offices/lisbon.json'
curl -sf -X PUT --data-binary '{"city": "Lisbon"}' "$dc1/v1/docs/offices/lisbon.json" >/dev/null
echo '$ curl $dc2/v1/docs/offices/lisbon.json     # a moment later, on the other server'
wait_for "$dc2/v1/docs/offices/lisbon.json"; echo
echo '$ curl -X PUT --data-binary '"'"'{"city": "Osaka"}'"'"' $dc2/v1/docs/offices/osaka.json'
curl -sf -X PUT --data-binary '{"city": "Osaka"}' "$dc2/v1/docs/offices/osaka.json" >/dev/null
echo '$ curl $dc1/v1/docs/offices/osaka.json'
wait_for "$dc1/v1/docs/offices/osaka.json"; echo
echo '$ curl $dc2/v1/peers'
curl -sf "$dc2/v1/peers"; echo
h1=$(curl -sf "$dc1/v1/log?n=1" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | head -1)
h2=$(curl -sf "$dc2/v1/log?n=1" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | head -1)
for _ in $(seq 200); do [ -n "$h1" ] && [ "$h1" = "$h2" ] && break; sleep 0.05
  h1=$(curl -sf "$dc1/v1/log?n=1" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | head -1)
  h2=$(curl -sf "$dc2/v1/log?n=1" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | head -1)
done
echo "dc1 head: $h1"
echo "dc2 head: $h2"
[ -n "$h1" ] && [ "$h1" = "$h2" ] || { echo "demo: the peered servers differ" >&2; exit 1; }
echo
echo "demo: ok"
