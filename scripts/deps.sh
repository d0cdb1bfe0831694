#!/usr/bin/env bash
# Installs the Debian packages tpm-attest needs to build, test and demo:
# only those missing, so a second run does nothing. Needs root (or sudo) only
# when something is missing.
set -euo pipefail

PKGS=(
    build-essential pkg-config
    libtss2-dev                       # tss2-esys, tss2-tctildr, tss2-mu, tss2-rc
    libssl-dev openssl
    libprotobuf-c-dev protobuf-c-compiler
    libgrpc-dev
    libcjose-dev libjansson-dev
    libcunit1-dev
    libsqlite3-dev                    # the device registry
    libmicrohttpd-dev libgnutls28-dev # the HTTP face (TLS by GnuTLS inside libmicrohttpd)
    libsystemd-dev                    # sd_notify: readiness and the watchdog
    swtpm swtpm-tools
    python3 python3-grpcio python3-jsonschema python3-jwt python3-cryptography python3-protobuf protobuf-compiler   # the independent gRPC peer
    python3-prometheus-client         # the independent parser of the metrics text
    tpm2-tools                        # tpm2_eventlog, the peer parser in the corpus test
    python3-tpm2-pytss                # TPM2_Certify with qualifying data in the attack suite
    valgrind
    groff-base                        # make man: groff -man -ww checks the man pages
    pesign osslsigncode               # independent Authenticode digests (tests/data/efi)
)

missing=()
for p in "${PKGS[@]}"; do
    [ "${p#\#}" = "$p" ] || continue
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && { echo "deps: all ${#PKGS[@]} packages present"; exit 0; }

echo "deps: installing ${missing[*]}"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
