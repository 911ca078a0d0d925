#!/bin/sh
# The `certs` service of docker-compose.test.yml: a throwaway CA and two TLS certificates in
# CERTS_DIR (a shared volume), made once (kept when ca.pem already exists):
#   ca.pem                       what clients trust (NODE_EXTRA_CA_CERTS, MIAB_CA_FILE)
#   pebble.pem / pebble.key      Pebble's HTTPS (ACME directory and management interface)
#   emulator.pem / emulator.key  the emulator's HTTPS (the CLI refuses http:// off loopback)
# The Debian pebble package ships no certificate, hence this step.
set -eu

dir=${CERTS_DIR:-/certs}
mkdir -p "$dir"
cd "$dir"
if [ -s ca.pem ] && [ -s pebble.pem ] && [ -s emulator.pem ]; then
  echo "[certs] $dir already holds ca.pem, pebble.pem, emulator.pem: kept" >&2
  exit 0
fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj '/CN=miab-dns01 docker test CA' \
  -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' \
  -keyout ca.key -out ca.pem 2>/dev/null

leaf() { # name subjectAltName
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$2" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
  chmod 600 "$1.key"
}

leaf pebble "${PEBBLE_SANS:-DNS:pebble,DNS:localhost,IP:127.0.0.1}"
leaf emulator "${EMULATOR_SANS:-DNS:emulator,DNS:box.example.test,DNS:localhost,IP:127.0.0.1}"
chmod 600 ca.key
echo "[certs] wrote ca.pem, pebble.pem/.key, emulator.pem/.key in $dir" >&2
