#!/bin/sh
# Regenerates the device (EAP-TLS) certificates tests/unit/test_devcert.c
# and tests/integration/test_devcert.sh read, with the openssl CLI (3.x):
#   sh tests/data/devcert/make.sh      (from the top of the tree)
# New keys each run: the tests compare with what openssl x509 prints of
# these files, so they hold whatever this makes.
set -eu
cd "$(dirname "$0")"
D=36500   # a century: the tests check chains "valid now"
ext() { printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=%s\n' "$1"; }
ca() { # NAME SUBJECT
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -out "$1.pem" -subj "$2" -days $D -sha256 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() { # NAME CA SUBJECT SERIAL EKU
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -out "$1.csr" -subj "$3" 2>/dev/null
    ext "$5" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$4" -days $D \
        -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext" "$1.key"
}
ca ca "/C=US/O=Example, Inc./OU=Network Access/CN=Example Device CA 1"
ca other-ca "/C=US/O=Other/CN=Other CA"
# UTF-8 in the issuer: X509_NAME_oneline escapes it (\xC3\x9C).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout utf8-ca.key \
    -out utf8-ca.pem -utf8 -subj "/C=DE/O=Übung GmbH/CN=Gerät CA" -days $D -sha256 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
# High bit set: DER 02 03 00 80 ff 01, the ASN1_INTEGER's octets 80 ff 01.
leaf dev-highbit ca "/CN=alice-laptop" 0x80ff01 clientAuth
# 20 octets, the most RFC 5280 allows.
leaf dev-20 ca "/CN=bob-laptop" 0x7a0102030405060708090a0b0c0d0e0f10111213 clientAuth
leaf dev-other other-ca "/CN=mallory" 0x0102 clientAuth
leaf dev-server ca "/CN=not-a-client" 0x0103 serverAuth
leaf dev-utf8 utf8-ca "/CN=carol" 0x01 clientAuth
openssl x509 -in dev-20.pem -outform DER -out dev-20.der
cat dev-highbit.pem dev-20.pem >two.pem
rm -f ca.key other-ca.key utf8-ca.key
