#!/usr/bin/env bash
# The main job: installs what is missing (apt, as root), builds, starts the central server
# (lumbung-server on its embedded SQLite database) and runs two field laptops syncing
# with it, printing every step. The server is left running for you to explore, with the
# commands to do so; `tools/run.sh --once` stops it at the end instead.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$LUMBUNG_ROOT"

once=0
[ "${1:-}" = "--once" ] && once=1

ensure_packages curl
say "build (Release)"
build build/release -DCMAKE_BUILD_TYPE=Release -DLUMBUNG_BUILD_TESTS=OFF

work="$LUMBUNG_ROOT/build/demo/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$work"
say "starting lumbung-server (data in $work/server)"
build/release/server/lumbung-server --listen 127.0.0.1:0 --data "$work/server" \
  --admin-token-file "$work/admin-token" >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
trap '[ $once -eq 1 ] && kill $server_pid 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do  # up to 10 s
  url=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$work/server.out" | head -1)
  [ -n "$url" ] && break
  kill -0 $server_pid 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "server did not start; see $work/server.log" >&2; exit 1; }
say "server is up at $url (pid $server_pid)"

build/release/tools/demo/lumbung-demo --server "$url" --admin-token "$(cat "$work/admin-token")" \
  --dir "$work"

if [ $once -eq 1 ]; then
  say "done (--once): server stopped"
  exit 0
fi
trap - EXIT
cat <<EOT

The server is still running (pid $server_pid). Explore it:
  export TOKEN=\$(cat $work/admin-token)
  curl -s $url/v1/health
  curl -s -H "Authorization: Bearer \$TOKEN" "$url/v1/records?collection=enrolment"
  curl -s -H "Authorization: Bearer \$TOKEN" "$url/v1/progress?collection=enrolment"
  curl -s -H "Authorization: Bearer \$TOKEN" "$url/v1/conflicts?status=all"
  curl -s $url/metrics | grep lumbung_
Stop it with: kill $server_pid
EOT
