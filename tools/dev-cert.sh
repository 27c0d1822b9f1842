#!/usr/bin/env bash
# Makes a self-signed TLS certificate and key for lumbung-server, for development, demos and
# a single office server whose laptops are set up at the office (they keep this certificate
# as their CA file and pin its key). Not for a public server: use a CA-issued certificate.
#
#   tools/dev-cert.sh DIR [NAME...]
#
# Writes DIR/server.crt (give it to clients: --ca-file) and DIR/server.key (mode 0600; only
# the server reads it), valid 825 days, ECDSA P-256, for every NAME given as a DNS name or
# IP address (default: 127.0.0.1 and localhost). Prints the key's pin, the value for
# HttpTransportOptions::pin_sha256 / the CLIs' --pin (lumbung-server prints it too):
#   pin sha256: <64 hex digits>
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [NAME...]" >&2
  exit 2
fi
dir=$1
shift
[ $# -gt 0 ] || set -- 127.0.0.1 localhost
san=""
for n in "$@"; do
  if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then san+="IP:$n,"; else san+="DNS:$n,"; fi
done
san=${san%,}
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
  -days 825 -subj "/O=Lumbung/CN=$1" -addext "subjectAltName=$san" \
  -addext "basicConstraints=critical,CA:FALSE" -addext "extendedKeyUsage=serverAuth" \
  -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
chmod 600 "$dir/server.key"
chmod 644 "$dir/server.crt"
pin=$(openssl x509 -in "$dir/server.crt" -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -hex | sed 's/^.*= //')
echo "certificate: $dir/server.crt"
echo "key:         $dir/server.key"
echo "names:       $san"
echo "pin sha256: $pin"
