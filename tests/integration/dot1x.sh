# Helpers for 802.1X tests: sourced after lib.sh, not run. Two network
# namespaces joined by a veth: "sw" (hostapd as the wired switch port,
# FreeRADIUS from a private copy of /etc/freeradius/3.0 with
# packaging/examples/freeradius installed into it, and what they ask) and
# "dev" (wpa_supplicant as the device). Everything started here is stopped
# by its pid, and both namespaces deleted, by dot1x_cleanup (in the EXIT
# trap), even when the test fails half way.

NS_SW=tpa-sw-$$
NS_DEV=tpa-dev-$$
SW=(ip netns exec "$NS_SW")
DEVNS=(ip netns exec "$NS_DEV")
RADIUS_SECRET=radius-secret-8021x
DAS_SECRET=das-secret-8021x
declare -A DOT1X_PID=()  # name -> pid; output in $WORK/NAME.log

dot1x_stop() { # NAME: SIGTERM to it and wait
    local p=${DOT1X_PID[$1]:-}
    [ -n "$p" ] || return 0
    unset "DOT1X_PID[$1]"
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

dot1x_cleanup() {
    local n
    for n in "${!DOT1X_PID[@]}"; do dot1x_stop "$n"; done
    ip netns del "$NS_DEV" 2>/dev/null || true
    ip netns del "$NS_SW" 2>/dev/null || true
}

# dot1x_start NAME CMD...: CMD in the background, its output in
# $WORK/NAME.log; sets XPID.
dot1x_start() {
    local name=$1
    shift
    "$@" >"$WORK/$name.log" 2>&1 &
    XPID=$!
    DOT1X_PID[$name]=$XPID
}

dot1x_netns() {
    ip netns add "$NS_SW"
    ip netns add "$NS_DEV"
    ip link add "sw0-$$" type veth peer name "dev0-$$"
    ip link set "sw0-$$" netns "$NS_SW"
    ip link set "dev0-$$" netns "$NS_DEV"
    "${SW[@]}" ip link set "sw0-$$" name sw0
    "${DEVNS[@]}" ip link set "dev0-$$" name dev0
    "${SW[@]}" ip link set lo up
    "${SW[@]}" ip link set sw0 up
    "${DEVNS[@]}" ip link set lo up
    "${DEVNS[@]}" ip link set dev0 up
}

# ossl_cert DIR NAME CN EKU CA: a P-256 key and certificate NAME.pem/.key in
# DIR, issued by CA (DIR/CA.pem, DIR/CA.key) with extendedKeyUsage EKU.
ossl_cert() {
    local d=$1 n=$2 cn=$3 eku=$4 ca=$5
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$n.key" \
        -out "$d/$n.csr" -subj "/CN=$cn" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' \
        "$eku" >"$d/$n.ext"
    openssl x509 -req -in "$d/$n.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" -CAcreateserial \
        -out "$d/$n.pem" -days 2 -extfile "$d/$n.ext" 2>/dev/null
    rm -f "$d/$n.csr" "$d/$n.ext"
}

# dot1x_certs DIR RP_CA_DIR: the enterprise CA (ent-ca) and its
# certificates: eap-server (FreeRADIUS's EAP-TLS), device (the device's),
# stranger (bound to no device); and freeradius-client (CN freeradius,
# clientAuth) from the relying parties' CA in RP_CA_DIR (rp-ca.pem/.key).
dot1x_certs() {
    local d=$1 rp=$2
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ent-ca.key" \
        -out "$d/ent-ca.pem" -days 2 -subj "/C=DE/O=Example Corp/CN=Example Corp Device CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    ossl_cert "$d" eap-server radius.example.net serverAuth ent-ca
    ossl_cert "$d" device device-1.example.net clientAuth ent-ca
    ossl_cert "$d" stranger stranger.example.net clientAuth ent-ca
    cp "$rp/rp-ca.pem" "$rp/rp-ca.key" "$d/"
    ossl_cert "$d" freeradius-client freeradius clientAuth rp-ca
    rm -f "$d/rp-ca.key"
}

# set_item FILE KEY VALUE: the one line "KEY = ..." of FILE (a FreeRADIUS
# configuration) says VALUE; fails when FILE has not exactly one such line,
# so the example cannot drift from what is tested.
set_item() {
    local f=$1 k=$2 v=$3 n
    n=$(grep -cE "^[[:space:]]*${k}[[:space:]]*=" "$f" || true)
    [ "$n" = 1 ] || { echo "set_item: $f has $n lines '$k = '" >&2; return 1; }
    sed -i -E "s|^([[:space:]]*$k[[:space:]]*=).*|\\1 $v|" "$f"
}

# dot1x_raddb DIR CERTS VERIFIER_URL VERIFIER_CA NON_COMPLIANT: a private
# copy of /etc/freeradius/3.0 in DIR with the example installed as its
# README says, its state and logs under DIR (RADDB), run as the test's
# user (no switch to freerad, who cannot read $WORK).
EX=$ROOT/packaging/examples/freeradius
dot1x_raddb() {
    local d=$1 certs=$2 url=$3 vca=$4 mode=$5
    rm -rf "$d"
    cp -a /etc/freeradius/3.0 "$d"
    mkdir -p "$d/log" "$d/run" "$d/certs/tpm-attest"
    sed -i -E -e "s|^logdir = .*|logdir = $d/log|" -e "s|^run_dir = .*|run_dir = $d/run|" \
        -e "s|^raddbdir = .*|raddbdir = $d|" -e 's/^([[:space:]]*)(user|group) = /\1#\2 = /' \
        "$d/radiusd.conf"
    # The example, installed as its README says.
    cp "$EX/dictionary.tpm-attest" "$d/"
    echo '$INCLUDE dictionary.tpm-attest' >>"$d/dictionary"
    cp "$EX/mods-available/eap-tls" "$EX/mods-available/tpm-attest-rest" "$d/mods-available/"
    cp "$EX/sites-available/tpm-attest" "$d/sites-available/"
    cp "$EX/clients.conf" "$d/clients.conf"
    rm -f "$d/mods-enabled/eap" "$d/sites-enabled/"*
    ln -s ../mods-available/eap-tls "$d/mods-enabled/eap-tls"
    ln -s ../mods-available/tpm-attest-rest "$d/mods-enabled/tpm-attest-rest"
    ln -s ../sites-available/tpm-attest "$d/sites-enabled/tpm-attest"
    cp "$certs/eap-server.pem" "$certs/eap-server.key" "$certs/freeradius-client.pem" \
        "$certs/freeradius-client.key" "$d/certs/tpm-attest/"
    cp "$certs/ent-ca.pem" "$d/certs/tpm-attest/enterprise-ca.pem"
    cp "$vca" "$d/certs/tpm-attest/verifier-ca.pem"
    # This test's values for what the operator sets.
    set_item "$d/mods-available/tpm-attest-rest" connect_uri "\"$url\"" &&
    set_item "$d/sites-available/tpm-attest" compliant_vlan '"10"' &&
    set_item "$d/sites-available/tpm-attest" quarantine_vlan '"666"' &&
    set_item "$d/sites-available/tpm-attest" non_compliant "\"$mode\"" &&
    set_item "$d/clients.conf" ipaddr 127.0.0.1 &&
    set_item "$d/clients.conf" secret "$RADIUS_SECRET"
}

# start_freeradius DIR: checks DIR's configuration (freeradius -C), then
# runs it in the sw namespace; waits until it answers on 1812 (a Status-
# Server would need a status site: the auth port's socket is enough).
start_freeradius() {
    local d=$1 i
    if ! "${SW[@]}" freeradius -C -d "$d" -l "$WORK/fr-check.log" >"$WORK/fr-check.out" 2>&1; then
        cat "$WORK/fr-check.out" "$WORK/fr-check.log" >&2 2>/dev/null || true
        return 1
    fi
    FR_STARTS=$((${FR_STARTS:-0} + 1))
    FR_LOG=$WORK/radius-$FR_STARTS.log
    # FR_DEBUG=1: its debug output in that log too.
    dot1x_start freeradius "${SW[@]}" freeradius -f ${FR_DEBUG:+-xx} -d "$d" -l "$FR_LOG"
    for ((i = 0; i < 250; i++)); do
        "${SW[@]}" ss -Hlun 2>/dev/null | grep -q ':1812 ' && return 0
        kill -0 "$XPID" 2>/dev/null || break
        sleep 0.02
    done
    cat "$FR_LOG" >&2
    return 1
}

# start_hostapd: hostapd (wired) on sw0 in sw, its RADIUS server the
# FreeRADIUS there, accounting on, its DAS on 127.0.0.1:3799.
HCTRL=$WORK/hostapd-ctrl
start_hostapd() {
    cat >"$WORK/hostapd.conf" <<EOF
interface=sw0
driver=wired
ieee8021x=1
use_pae_group_addr=1
eap_reauth_period=0
eapol_version=2
own_ip_addr=127.0.0.1
nas_identifier=switch-1
auth_server_addr=127.0.0.1
auth_server_port=1812
auth_server_shared_secret=$RADIUS_SECRET
acct_server_addr=127.0.0.1
acct_server_port=1813
acct_server_shared_secret=$RADIUS_SECRET
radius_das_port=3799
radius_das_client=127.0.0.1 $DAS_SECRET
radius_das_require_event_timestamp=0
ctrl_interface=$HCTRL
EOF
    dot1x_start hostapd "${SW[@]}" hostapd -t "$WORK/hostapd.conf"
    for _ in $(seq 250); do [ -S "$HCTRL/sw0" ] && return 0; sleep 0.02; done
    return 1
}

# start_supplicant NAME CERT KEY CA [MAC]: wpa_supplicant (wired) on dev0 in
# dev, EAP-TLS with CERT/KEY, trusting CA for the server; dev0 with MAC
# first (a station hostapd has just refused is held for a while: another
# device is another MAC).
WCTRL=$WORK/wpa-ctrl
start_supplicant() {
    local name=$1 cert=$2 key=$3 ca=$4 mac=${5:-}
    if [ -n "$mac" ]; then
        "${DEVNS[@]}" ip link set dev0 down
        "${DEVNS[@]}" ip link set dev0 address "$mac"
        "${DEVNS[@]}" ip link set dev0 up
    fi
    cat >"$WORK/$name.conf" <<EOF
ctrl_interface=$WCTRL
ap_scan=0
network={
    key_mgmt=IEEE8021X
    eap=TLS
    identity="$name"
    ca_cert="$ca"
    client_cert="$cert"
    private_key="$key"
    eapol_flags=0
}
EOF
    dot1x_start "$name" "${DEVNS[@]}" wpa_supplicant -t -D wired -i dev0 -c "$WORK/$name.conf"
    DEV_MAC=$("${DEVNS[@]}" cat /sys/class/net/dev0/address)
    # Its first EAPOL-Start may go out before the link is up; hostapd then
    # waits for the next (10 s on): an EAPOL-Logoff and -Start at once.
    for _ in $(seq 250); do [ -S "$WCTRL/dev0" ] && break; sleep 0.02; done
    sleep 0.2
    grep -q CTRL-EVENT-EAP-STARTED "$WORK/$name.log" || supplicant_restart
}

# supplicant_restart: EAPOL-Logoff, then EAPOL-Start.
supplicant_restart() {
    "${DEVNS[@]}" wpa_cli -p "$WCTRL" -i dev0 logoff >/dev/null
    "${DEVNS[@]}" wpa_cli -p "$WCTRL" -i dev0 logon >/dev/null
}

# reauthenticate: the device authenticates again, from the start: hostapd
# forgets the station (with a Logoff alone it would send the last
# Access-Accept's State in the next Access-Request, which FreeRADIUS
# refuses: "No EAP session matching state"), then Logoff and Start.
reauthenticate() {
    "${SW[@]}" hostapd_cli -p "$HCTRL" -i sw0 deauthenticate "$DEV_MAC" >/dev/null
    wait_port closed 2000 || true
    supplicant_restart
}

# port_flags: the station's flags as hostapd reports them ("" without one).
port_flags() {
    "${SW[@]}" hostapd_cli -p "$HCTRL" -i sw0 all_sta 2>/dev/null | sed -n 's/^flags=//p' | head -1
}
port_open() { port_flags | grep -q AUTHORIZED; }

# wait_port open|closed MS: polls hostapd every 20 ms for up to MS ms;
# sets WAITED (ms).
wait_port() {
    local want=$1 max=$2 t0 now
    t0=$(date +%s%N)
    while :; do
        if port_open; then [ "$want" = open ] && break
        else [ "$want" = closed ] && break; fi
        now=$(date +%s%N)
        if [ $(((now - t0) / 1000000)) -ge "$max" ]; then
            WAITED=$(((now - t0) / 1000000))
            return 1
        fi
        sleep 0.02
    done
    WAITED=$((($(date +%s%N) - t0) / 1000000))
}
