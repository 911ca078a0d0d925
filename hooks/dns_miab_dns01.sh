#!/usr/bin/env sh
# shellcheck disable=SC2034
# acme.sh DNS API for Mail-in-a-Box through miab-dns01 (TOTP, authoritative propagation wait).
#
# Install: copy this file to ~/.acme.sh/dnsapi/ and install miab-dns01 (npm install -g miab-dns01).
# First run (settings are then remembered for renewals):
#   export MIAB_URL=https://box.example.com/admin MIAB_EMAIL=admin@example.com
#   export MIAB_CONFIG=/root/.config/miab-dns01.conf   # chmod 600: password = ..., totp_secret = ...
#   acme.sh --issue --dns dns_miab_dns01 --dnssleep 1 -d example.com -d '*.example.com'
# MIAB_PASSWORD / MIAB_TOTP_SECRET given in the environment instead are moved into a 0600 file
# whose PATH is remembered: acme.sh's account file is plain text and never holds a secret.
# `--dnssleep 1` is safe: the add call returns only once every authoritative nameserver serves
# the value.

dns_miab_dns01_info='Mail-in-a-Box (miab-dns01: TOTP, waits on the authoritative nameservers)
Site: github.com/miab-dns01/miab-dns01
Options:
 MIAB_URL Admin API, e.g. https://box.example.com/admin
 MIAB_EMAIL Admin account
 MIAB_CONFIG Credentials file (chmod 600) with password and totp_secret
'

# Non-secret settings remembered in acme.sh's account file (the *_FILE ones are paths to
# secrets, never their content).
_MIAB_DNS01_SAVED="MIAB_URL MIAB_EMAIL MIAB_FLAVOR MIAB_TXT_TTL MIAB_CONFIG MIAB_PASSWORD_FILE MIAB_TOTP_SECRET_FILE MIAB_SYSTEM_KEY_FILE MIAB_STATE_DIR MIAB_CA_FILE MIAB_TLS_FINGERPRINT MIAB_NAMESERVERS MIAB_DNS_RESOLVERS MIAB_DNS_PORT MIAB_PROPAGATION_TIMEOUT MIAB_DNS01_HOME"

dns_miab_dns01_add() {
  _miab_dns01_setup || return 1
  _info "miab-dns01: adding TXT $1 and waiting for every authoritative nameserver"
  # "hook acmesh": $1 is the exact record name (also with --challenge-alias / --domain-alias).
  _miab_dns01_cli hook acmesh add -- "$1" "$2"
}

dns_miab_dns01_rm() {
  _miab_dns01_setup || return 1
  _info "miab-dns01: removing TXT $1"
  _miab_dns01_cli hook acmesh rm -- "$1" "$2"
}

# Through the package's one launcher (bin/miab-dns01: finds node, starts it with the package's flags).
_miab_dns01_cli() {
  if [ -n "${MIAB_DNS01_HOME:-}" ] && [ -x "$MIAB_DNS01_HOME/bin/miab-dns01" ]; then
    MIAB_DNS01_ENTRY=dns_miab_dns01 "$MIAB_DNS01_HOME/bin/miab-dns01" "$@"
  elif command -v miab-dns01 >/dev/null 2>&1; then
    MIAB_DNS01_ENTRY=dns_miab_dns01 miab-dns01 "$@"
  else
    _err "miab-dns01 is not installed: run 'npm install -g miab-dns01' or set MIAB_DNS01_HOME"
    return 1
  fi
}

_miab_dns01_setup() {
  # acme.sh's own dns_miab names, accepted for users switching over.
  MIAB_URL="${MIAB_URL:-${MIAB_Server:-}}"
  MIAB_EMAIL="${MIAB_EMAIL:-${MIAB_Username:-}}"
  MIAB_PASSWORD="${MIAB_PASSWORD:-${MIAB_Password:-}}"
  for _miab_name in $_MIAB_DNS01_SAVED; do
    eval "_miab_value=\${$_miab_name:-}"
    if [ -z "$_miab_value" ]; then
      _miab_value="$(_readaccountconf_mutable "$_miab_name")"
      eval "$_miab_name=\$_miab_value"
    fi
  done
  if [ -n "${MIAB_PASSWORD:-}" ] || [ -n "${MIAB_TOTP_SECRET:-}" ]; then
    _miab_dns01_store_secrets || return 1
  fi
  if [ -z "${MIAB_URL:-}" ] && [ -z "${MIAB_CONFIG:-}" ]; then
    _err "miab-dns01: set MIAB_URL and MIAB_EMAIL, and MIAB_CONFIG to a chmod 600 file holding 'password = ...' (and 'totp_secret = ...')"
    return 1
  fi
  for _miab_name in $_MIAB_DNS01_SAVED; do
    eval "_miab_value=\${$_miab_name:-}"
    if [ -n "$_miab_value" ]; then
      _saveaccountconf_mutable "$_miab_name" "$_miab_value"
      export "${_miab_name?}"
    fi
  done
  unset MIAB_Server MIAB_Username MIAB_Password
}

# Moves a password / TOTP secret given in the environment into a private credentials file and
# points MIAB_CONFIG at it, so renewals find them without acme.sh storing them.
_miab_dns01_store_secrets() {
  _miab_file="${MIAB_CONFIG:-${LE_CONFIG_HOME:-$HOME/.acme.sh}/miab-dns01.conf}"
  _miab_tmp="$_miab_file.tmp.$$"
  (
    umask 077
    if [ -f "$_miab_file" ]; then grep -v -E '^[[:space:]]*(password|totp_secret)[[:space:]]*=' "$_miab_file"; fi
    if [ -n "${MIAB_PASSWORD:-}" ]; then printf 'password = %s\n' "$MIAB_PASSWORD"; fi
    if [ -n "${MIAB_TOTP_SECRET:-}" ]; then printf 'totp_secret = %s\n' "$MIAB_TOTP_SECRET"; fi
  ) >"$_miab_tmp" || return 1
  chmod 600 "$_miab_tmp" && mv "$_miab_tmp" "$_miab_file" || return 1
  MIAB_CONFIG="$_miab_file"
  unset MIAB_PASSWORD MIAB_TOTP_SECRET
  _info "miab-dns01: stored the password/TOTP secret in $_miab_file (mode 600); acme.sh remembers only that path"
}
