/* SPDX-License-Identifier: BSD-3-Clause */
/* A device's network-access (EAP-TLS) certificate, named as FreeRADIUS 3.2
 * names the client certificate it verified (TLS-Client-Cert-Issuer and
 * TLS-Client-Cert-Serial), so that what the RADIUS server sends finds the
 * binding an operator made (tpa_store_cert_bind, tpa/store.h):
 *
 *   issuer  X509_NAME_oneline(X509_get_issuer_name(cert)): OpenSSL's
 *           "/C=US/O=Example/CN=Name" form (what openssl x509 -noout -issuer
 *           -nameopt compat prints after "issuer="); bytes outside printable
 *           ASCII come escaped (\xHH), so it is printable ASCII.
 *   serial  the ASN1_INTEGER's octets (ASN1_STRING_get0_data of
 *           X509_get0_serialNumber), two lower-case hex digits each: even
 *           length, leading zero octets kept as encoded; the DER sign octet
 *           of a serial with its high bit set (02 03 00 80 ff) is not among
 *           them ("80ff", as openssl x509 -serial prints it, lower-cased).
 */
#ifndef TPA_DEVCERT_H
#define TPA_DEVCERT_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/store.h"

#define TPA_DEVCERT_FILE_MAX (64u << 10) /* bytes of a certificate, PEM or DER */
/* Octets of a serial FreeRADIUS names: it makes TLS-Client-Cert-Serial in a
 * 64-byte buffer, only for a serial shorter than 32 octets (RFC 5280 allows
 * 20); a certificate with a longer one could never be found. */
#define TPA_DEVCERT_SERIAL_OCTETS_MAX 31

/* Reads one X.509 certificate, PEM ("-----BEGIN CERTIFICATE-----", text
 * before it ignored) or DER, and fills out's issuer, serial, sha256 (of the
 * DER: the certificate's SHA-256 fingerprint, lower-case hex) and not_after
 * (Unix s); device_id and added_at are zeroed. Refused, naming why:
 * TPA_ERR_PARSE "device certificate: not a PEM or DER X.509 certificate"
 * (also empty input, and DER with bytes after the certificate),
 * TPA_ERR_LIMIT over TPA_DEVCERT_FILE_MAX bytes, TPA_ERR_INVALID_ARG for
 * more than one PEM block (a chain or a bundle: give the device's
 * certificate alone), an issuer over TPA_CERT_ISSUER_MAX bytes or not
 * printable, a serial over TPA_DEVCERT_SERIAL_OCTETS_MAX octets, a
 * negative or empty serial. */
int tpa_devcert_read(tpa_device_cert *out, const uint8_t *pem_or_der, size_t len);

/* A certificate file read whole (at most TPA_DEVCERT_FILE_MAX bytes: over
 * is TPA_ERR_LIMIT naming the file); *out malloc'd. TPA_ERR_IO naming the
 * file if it cannot be read. */
int tpa_devcert_read_file(uint8_t **out, size_t *len, const char *path);

/* Whether the certificate (as tpa_devcert_read takes it) chains to a
 * certificate in ca_file (PEM, one or more; each is a trust anchor, so an
 * issuing CA alone will do) for TLS client authentication (purpose
 * sslclient), valid now: 0, or TPA_ERR_VERIFY naming ca_file and OpenSSL's
 * reason; TPA_ERR_IO if ca_file cannot be read. */
int tpa_devcert_check_ca(const uint8_t *cert, size_t len, const char *ca_file);

/* Whether issuer and serial have the shape of a key (what a RADIUS server
 * sends, checked before it is looked up): issuer 1..TPA_CERT_ISSUER_MAX
 * bytes of printable ASCII starting with '/', serial 2..TPA_CERT_SERIAL_MAX
 * lower-case hex digits, an even number of them (the registry's bounds;
 * tpa_devcert_read makes none over 2 * TPA_DEVCERT_SERIAL_OCTETS_MAX). 0, or
 * TPA_ERR_INVALID_ARG naming which is wrong. */
int tpa_devcert_key_valid(const char *issuer, const char *serial);

/* A serial as an operator may give it (openssl x509 -serial's "serial=80FF",
 * "0x80ff", "80:ff", any case) in tpa_devcert_read's form: the prefix and
 * colons dropped, lower case, an odd number of digits led by a 0. out holds
 * TPA_CERT_SERIAL_MAX + 1 bytes. TPA_ERR_INVALID_ARG if it is not hex or is
 * too long. */
int tpa_devcert_serial_norm(char *out, const char *in);

#endif
