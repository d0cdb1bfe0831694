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
    libsqlite3-dev                    # the device registry (embedded, the default)
    libpq-dev postgresql-15           # the registry on PostgreSQL (tests start their own, on a unix socket)
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
    nginx                             # auth_request to /v1/authz (test_nginx; not started as a service)
    prometheus                        # scrapes /metrics (test_prometheus; not started as a service)
    hostapd iproute2                  # a NAS's RADIUS DAS in a network namespace (test_radius_das)
    libcurl4-openssl-dev              # CAEP push delivery (RFC 8935) to a receiver
    freeradius freeradius-rest freeradius-utils  # 802.1X admission asking the HTTP face (test_8021x)
    wpasupplicant eapoltest           # the device's supplicant (wired) and eapol_test
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

# nginx and prometheus start their services when installed (nginx on port
# 80, prometheus on 9090): the tests run their own, on loopback ports of
# their own, and a system one would hold a port and scrape nothing of ours.
# A policy-rc.d that exits 101 tells invoke-rc.d (and deb-systemd-invoke)
# not to start anything during the install; one already there (a
# container's) is put back as it was.
RCD=/usr/sbin/policy-rc.d
no_services_start() {
    if [ -e "$RCD" ]; then $SUDO cp -p "$RCD" "$RCD.tpa-saved"; fi
    printf '#!/bin/sh\n# tpm-attest scripts/deps.sh: no service starts during the install\nexit 101\n' |
        $SUDO tee "$RCD" >/dev/null
    $SUDO chmod 755 "$RCD"
    trap no_services_end EXIT
}
no_services_end() {
    local unit
    trap - EXIT
    if [ -e "$RCD.tpa-saved" ]; then $SUDO mv -f "$RCD.tpa-saved" "$RCD"; else $SUDO rm -f "$RCD"; fi
    # And if one started all the same (no policy-rc.d honoured), stopped.
    for unit in nginx prometheus hostapd; do
        if command -v systemctl >/dev/null && systemctl is-active -q "$unit" 2>/dev/null; then
            echo "deps: $unit was started by its install: stopping and disabling it" >&2
            $SUDO systemctl disable --now -q "$unit" || true
        elif [ -x "/etc/init.d/$unit" ] && $SUDO "/etc/init.d/$unit" status >/dev/null 2>&1; then
            echo "deps: $unit was started by its install: stopping it" >&2
            $SUDO "/etc/init.d/$unit" stop >/dev/null || true
        fi
    done
}
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
no_services_start
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
no_services_end
