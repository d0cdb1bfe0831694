#!/usr/bin/env bash
# demo-certs.sh DIR: a throw-away CA and a verifier TLS certificate for
# 127.0.0.1 / ::1 / localhost, for demos and tests. Never for production.
#   DIR/ca.pem  DIR/ca.key  DIR/server.pem  DIR/server.key
#   DIR/rp-ca.pem DIR/rp-ca.key (the CA of relying parties' client
#   certificates: never the one that issues servers', devices' or users')
#   DIR/client.pem  DIR/client.key (CN policy-engine, clientAuth: a relying
#   party's mTLS client certificate from rp-ca)
#   DIR/noeku-client.pem/.key (CN policy-engine from rp-ca, no extended key
#   usage) and DIR/laptop.pem/.key (CN alice-laptop from rp-ca, clientAuth):
#   for negative tests
#   DIR/other-ca.pem (an unrelated CA, for negative tests)
#   DIR/other-client.pem DIR/other-client.key (a client certificate from it)
set -euo pipefail
d=${1:?usage: demo-certs.sh DIR}
mkdir -p "$d"
cd "$d"
umask 077
ossl() { openssl "$@" >/dev/null 2>&1 || { echo "demo-certs: openssl $1 failed" >&2; exit 1; }; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -out ca.pem -days 2 -subj "/CN=tpm-attest demo CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
    -out server.csr -subj "/CN=localhost"
printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >server.ext
ossl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out server.pem -days 2 -extfile server.ext
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca.key \
    -out other-ca.pem -days 2 -subj "/CN=unrelated CA" \
    -addext basicConstraints=critical,CA:TRUE
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rp-ca.key \
    -out rp-ca.pem -days 2 -subj "/CN=tpm-attest demo relying-party CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >client.ext
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' >noeku.ext
for c in client:policy-engine:client.ext noeku-client:policy-engine:noeku.ext \
         laptop:alice-laptop:client.ext; do
    IFS=: read -r f cn ext <<<"$c"
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$f.key" \
        -out "$f.csr" -subj "/CN=$cn"
    ossl x509 -req -in "$f.csr" -CA rp-ca.pem -CAkey rp-ca.key -CAcreateserial \
        -out "$f.pem" -days 2 -extfile "$ext"
done
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-client.key \
    -out other-client.csr -subj "/CN=policy-engine"
ossl x509 -req -in other-client.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial \
    -out other-client.pem -days 2 -extfile client.ext
rm -f server.csr server.ext ./*.csr client.ext noeku.ext ca.srl other-ca.srl rp-ca.srl
chmod 0644 ca.pem server.pem other-ca.pem client.pem other-client.pem rp-ca.pem noeku-client.pem laptop.pem
