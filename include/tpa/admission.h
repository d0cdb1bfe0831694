/* SPDX-License-Identifier: BSD-3-Clause */
/* Who may enroll (issue 14; README "Admission"). A genuine TPM proves at
 * Activate that it holds its EK; whether the verifier lets that EK in is
 * decided here and nowhere else, by the admission mode:
 *
 *   open       an EK whose certificate chains to a trusted vendor CA
 *              (--ek-ca): any genuine TPM of a trusted vendor;
 *   approve    the same, or an EK without a certificate, registered pending
 *              until an operator approves it (`verifier devices approve`);
 *   allowlist  only an EK in the registry's inventory (`verifier devices
 *              import`), by device id or by its certificate's issuer and
 *              serial; an EK without a certificate only by a device-id
 *              entry that says no_ek_cert.
 *
 * An EK with no certificate is trusted only because an operator named it:
 * no vendor vouches that it is a TPM's. Tokens say so (tpa.ek_certified). */
#ifndef TPA_ADMISSION_H
#define TPA_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/store.h"

typedef enum {
	TPA_ADMISSION_OPEN = 0,
	TPA_ADMISSION_APPROVE = 1,
	TPA_ADMISSION_ALLOWLIST = 2,
} tpa_admission_mode;

/* "open", "approve", "allowlist". */
const char *tpa_admission_mode_name(tpa_admission_mode m);
/* The mode a name says; TPA_ERR_INVALID_ARG naming the modes otherwise. */
int tpa_admission_mode_parse(tpa_admission_mode *out, const char *name);

#define TPA_ADMISSION_REASON_MAX 256

typedef struct {
	tpa_store_admission rec;     /* what the registry keeps (points into this) */
	int ek_certified;            /* the EK came with a certificate that chained */
	char reason[TPA_ADMISSION_REASON_MAX]; /* why refused; "" if admitted */
	char name[TPA_INVENTORY_NAME_MAX + 1];
	char label[TPA_LABEL_MAX + 1];
	char source[8];
} tpa_admission;

/* Decides whether the EK of device_id is admitted under mode. ek_cert (DER,
 * ek_cert_len bytes) is the certificate that already chained to the
 * trusted vendor CAs, or NULL / 0 when the TPM has none; from_file says it
 * was given from a file rather than read from NV (kept, not judged). The
 * inventory is read from store (only under allowlist). 0: admitted, *out
 * says how (pending or not, the inventory's name and label); TPA_ERR_REFUSED:
 * not admitted, out->reason says why in words fit for the device (no server
 * path); another error if the registry cannot be read or the certificate
 * cannot be parsed. Writes nothing. */
int tpa_admission_decide(tpa_admission *out, tpa_admission_mode mode, tpa_store *store,
			 const char *device_id, const uint8_t *ek_cert, size_t ek_cert_len,
			 int from_file);

/* The inventory key of an EK certificate (DER): its issuer's DN in RFC 2253
 * form (as `openssl x509 -noout -issuer -nameopt RFC2253` prints it, without
 * "issuer="), ":", and its serial number in lower-case hex without leading
 * zeros ("0" for zero). TPA_ERR_LIMIT if it does not fit cap. */
int tpa_ekcert_inventory_key(char *out, size_t cap, const uint8_t *der, size_t len);
/* The same key from an issuer and serial as an operator writes them: the
 * issuer as above (surrounding blanks and a leading "issuer=" dropped), the
 * serial in hex (an optional "0x", ':' separators, either case) or, with
 * a leading "dec:", in decimal. TPA_ERR_INVALID_ARG saying what is wrong. */
int tpa_inventory_key_from(char *out, size_t cap, const char *issuer, const char *serial);

#define TPA_INVENTORY_FILE_MAX (4u << 20)   /* bytes of an inventory file */
#define TPA_INVENTORY_ROWS_MAX 20000        /* entries in one file (each held whole) */

/* Parses an inventory file (text, len bytes): a JSON array of objects, or
 * CSV with a header line; fields/columns device_id, ek_cert_issuer,
 * ek_cert_serial, name, label, no_ek_cert (true/false, 1/0, yes/no, or
 * empty). Each row names a device id, or an issuer and a serial (not both);
 * no_ek_cert only with a device id. Every row is checked: the first error
 * fails the whole file, TPA_ERR_PARSE "line N, column C: ..." (CSV) or
 * "entry N, key K: ..." (JSON). *out is malloc'd (free it), *n its count. */
int tpa_inventory_parse(tpa_inventory_entry **out, size_t *n, const char *text, size_t len);

#endif
