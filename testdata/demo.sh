#!/usr/bin/env bash
# make demo: folio's main job end to end on throwaway repositories.
# A server holds a hub repository; two leaders clone it, write while
# "offline" (one write conflicts), sync, see the recorded conflict, resolve
# it, and end on the same head.
set -euo pipefail

folio=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/folio-demo.XXXXXX")
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
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
echo
echo "demo: ok"
