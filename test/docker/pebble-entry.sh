#!/bin/sh
# Entry of the `pebble` service of docker-compose.test.yml: Debian's pebble with the settings of
# test/fixtures/pebble.ts (no VA sleeps, no rejected nonces, no authorization reuse,
# -strict=false), its TLS certificate from the `certs` service, and DNS-01 validation asking
# PEBBLE_DNS_SERVER, the lagging nsd-secondary, as the loopback topology does.
#
# Environment:
#   CERTS_DIR          where pebble.pem / pebble.key appear (default /certs; waited for)
#   PEBBLE_DNS_SERVER  host:port for -dnsserver (required)
#   PEBBLE_LISTEN      address (default 0.0.0.0); ACME on 14000, management on 15000
#   PEBBLE_PORT, PEBBLE_MANAGEMENT_PORT  override those ports
set -eu

certs=${CERTS_DIR:-/certs}
dns_server=${PEBBLE_DNS_SERVER:?set PEBBLE_DNS_SERVER}
listen=${PEBBLE_LISTEN:-0.0.0.0}
port=${PEBBLE_PORT:-14000}
management_port=${PEBBLE_MANAGEMENT_PORT:-15000}
run_dir=${PEBBLE_RUN_DIR:-/run/miab-pebble}

waited=0
while [ ! -s "$certs/pebble.pem" ] || [ ! -s "$certs/pebble.key" ]; do
  if [ "$waited" -ge 600 ]; then
    echo "[pebble-entry] no $certs/pebble.pem after 120 s: did the certs service run?" >&2
    exit 1
  fi
  waited=$((waited + 1))
  sleep 0.2
done

mkdir -p "$run_dir"
cat >"$run_dir/pebble-config.json" <<EOF
{
  "pebble": {
    "listenAddress": "$listen:$port",
    "managementListenAddress": "$listen:$management_port",
    "certificate": "$certs/pebble.pem",
    "privateKey": "$certs/pebble.key",
    "httpPort": 5002,
    "tlsPort": 5001,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
EOF

echo "[pebble-entry] ACME directory https://$listen:$port/dir, DNS-01 checked at $dns_server" >&2
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
  exec pebble -config "$run_dir/pebble-config.json" -dnsserver "$dns_server" -strict=false
