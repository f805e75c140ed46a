#!/bin/sh
# Makes a small private CA and the certificates of the TLS set-up in config/production.yaml, with the
# openssl CLI: the frontend's server certificate, and client certificates for the server's system
# worker and for dms-link (api and worker). For tests and first deployments; in production use your
# own CA (cert-manager, Vault, …) with the same names and usages.
#   deploy/temporal/make-certs.sh <out dir> [frontend DNS name, default temporal-frontend] [extra SAN, e.g. DNS:temporal]
set -eu
out=${1:?usage: make-certs.sh <out dir> [frontend name] [extra subjectAltName]}
name=${2:-temporal-frontend}
extra=${3:-}
days=${CERT_DAYS:-825}
mkdir -p "$out"
cd "$out"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key ca-key.pem
openssl req -x509 -new -key ca-key.pem -subj "/CN=dms-link Temporal CA" -days "$days" -sha256 -out ca.pem \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign

# sign <file prefix> <CN> <extendedKeyUsage> [subjectAltName]
sign() {
  key "$1-key.pem"
  openssl req -new -key "$1-key.pem" -subj "/CN=$2" -out "$1.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$3"
    if [ -n "${4:-}" ]; then echo "subjectAltName=$4"; fi
  } > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days "$days" -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

sign frontend "$name" serverAuth "DNS:$name,DNS:localhost,IP:127.0.0.1${extra:+,$extra}"
sign system-worker temporal-system-worker clientAuth
sign client dms-link clientAuth
rm -f ca.srl
chmod 644 ./*.pem
echo "certificates in $out: ca.pem, frontend.pem (+key, name $name), system-worker.pem (+key), client.pem (+key)"
