#!/bin/sh
# Entry of the nsd-primary and nsd-secondary services of docker-compose.test.yml.
#
# Serves the zone files the emulator service writes into NSD_ZONE_DIR (a shared volume; see
# test/docker/emulator-entry.ts): waits for the first snapshot, writes an nsd.conf naming
# every <zone>.zone file found, runs nsd in the foreground, and runs `nsd-control reload`
# whenever NSD_ZONE_DIR/serial changes (polled every 0.2 s). Both services run this script;
# only the directory differs (the secondary's copy is written SECONDARY_LAG_MS late).
#
# Environment:
#   NSD_ZONE_DIR   directory with <zone>.zone files and `serial` (required)
#   NSD_LISTEN     address to listen on (default 0.0.0.0)
#   NSD_PORT       port (default 53)
#   NSD_RUN_DIR    scratch directory for config, pid, control socket (default /run/miab-nsd)
set -eu

zone_dir=${NSD_ZONE_DIR:?set NSD_ZONE_DIR}
listen=${NSD_LISTEN:-0.0.0.0}
port=${NSD_PORT:-53}
run_dir=${NSD_RUN_DIR:-/run/miab-nsd}
conf=$run_dir/nsd.conf
say() { echo "[nsd-entry $zone_dir] $*" >&2; }

mkdir -p "$run_dir"

waited=0
while [ ! -s "$zone_dir/serial" ]; do
  if [ "$waited" -ge 600 ]; then
    say "no zones after 120 s: is the emulator service running?"
    exit 1
  fi
  waited=$((waited + 1))
  sleep 0.2
done

{
  echo 'server:'
  echo "  ip-address: $listen@$port"
  echo "  port: $port"
  echo '  do-ip6: no'
  echo '  username: ""'
  echo '  chroot: ""'
  echo '  database: ""'
  echo "  zonesdir: \"$zone_dir\""
  echo "  pidfile: \"$run_dir/nsd.pid\""
  echo "  xfrdfile: \"$run_dir/xfrd.state\""
  echo "  zonelistfile: \"$run_dir/zone.list\""
  echo "  xfrdir: \"$run_dir\""
  echo '  server-count: 1'
  echo '  reuseport: no'
  echo '  verbosity: 1'
  echo 'remote-control:'
  echo '  control-enable: yes'
  echo "  control-interface: \"$run_dir/nsd.ctl\""
} >"$conf"
zones=
for file in "$zone_dir"/*.zone; do
  [ -e "$file" ] || continue
  zone=$(basename "$file" .zone)
  zones="$zones $zone"
  printf 'zone:\n  name: "%s"\n  zonefile: "%s"\n' "$zone" "$file" >>"$conf"
done
if [ -z "$zones" ]; then
  say "no *.zone file in $zone_dir"
  exit 1
fi
nsd-checkconf "$conf"

last=$(cat "$zone_dir/serial")
say "serving$zones on $listen port $port (snapshot $last)"
nsd -d -c "$conf" &
nsd_pid=$!
trap 'kill -TERM "$nsd_pid" 2>/dev/null; wait "$nsd_pid"; exit 0' TERM INT

while kill -0 "$nsd_pid" 2>/dev/null; do
  sleep 0.2
  current=$(cat "$zone_dir/serial" 2>/dev/null || echo "$last")
  if [ "$current" != "$last" ]; then
    reloaded=yes
    for zone in $zones; do
      nsd-control -c "$conf" reload "$zone" >/dev/null || reloaded=no
    done
    if [ "$reloaded" = yes ]; then
      say "reloaded snapshot $current"
      last=$current
    fi
  fi
done
wait "$nsd_pid"
