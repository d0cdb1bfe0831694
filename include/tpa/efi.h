/* SPDX-License-Identifier: BSD-3-Clause */
/* UEFI structures found in measured-boot event data, decoded from untrusted
 * bytes: EFI_SIGNATURE_LISTs (PK, KEK, db, dbx), device paths, UTF-16 text. */
#ifndef TPA_EFI_H
#define TPA_EFI_H

#include <stddef.h>
#include <stdint.h>

#define TPA_EFI_CERTS_MAX   256   /* X.509 certificates kept per database */
#define TPA_EFI_HASHES_MAX  8192  /* SHA-256 hashes kept per database */
#define TPA_EFI_SUBJECT_MAX 128

/* An X.509 certificate found in event data. der points into the bytes it
 * was found in (an event log's): valid while those live. Its fingerprint
 * and subject are computed on demand, by whoever needs them. */
typedef struct {
	const uint8_t *der;
	size_t der_len;
} tpa_efi_cert;

/* The contents of a signature database variable. */
typedef struct {
	int present;                 /* the variable was measured */
	tpa_efi_cert *certs;         /* EFI_CERT_X509_GUID entries */
	size_t ncerts;
	uint8_t (*hashes)[32];       /* EFI_CERT_SHA256_GUID entries */
	size_t nhashes;
	size_t other;                /* entries of other types, not kept */
	int truncated;               /* more entries than the caps */
} tpa_efi_sigdb;

/* Appends the entries of the EFI_SIGNATURE_LISTs in b to db. TPA_ERR_PARSE
 * if a list's sizes do not fit. */
int tpa_efi_sigdb_add(tpa_efi_sigdb *db, const uint8_t *b, size_t n);
void tpa_efi_sigdb_clear(tpa_efi_sigdb *db);

/* A certificate from DER (kept by reference). */
int tpa_efi_cert_from_der(tpa_efi_cert *out, const uint8_t *der, size_t n);

/* The SHA-256 fingerprint of a certificate (of its DER). */
int tpa_efi_cert_sha256(uint8_t out[32], const tpa_efi_cert *c);

/* The subject common name of a certificate as printable ASCII into out
 * (cap bytes); "" if it has none or cannot be read. Decoded on demand:
 * names cost more to decode than the rest of an event log. */
void tpa_efi_cert_subject(char *out, size_t cap, const tpa_efi_cert *c);

/* UTF-16LE (n bytes) to printable ASCII in out (cap bytes, NUL-terminated);
 * a NUL ends the text, anything outside printable ASCII becomes '?'. */
void tpa_efi_utf16_ascii(char *out, size_t cap, const uint8_t *b, size_t n);

/* The file path nodes of a device path (n bytes), joined, as ASCII; "" if
 * there are none. TPA_ERR_PARSE if a node's length does not fit. */
int tpa_efi_devpath_file(char *out, size_t cap, const uint8_t *b, size_t n);

/* The file path of a UEFI_IMAGE_LOAD_EVENT (n bytes), as for
 * tpa_efi_devpath_file; "" and TPA_ERR_PARSE if it does not parse. */
int tpa_efi_image_load_path(char *out, size_t cap, const uint8_t *b, size_t n);

/* UEFI_VARIABLE_DATA: GUID, UnicodeNameLength (u64), VariableDataLength
 * (u64), UTF-16LE name, data; pointers into the measured bytes. */
typedef struct {
	const uint8_t *guid;
	const uint8_t *name;      /* UTF-16LE */
	uint64_t name_chars;
	const uint8_t *data;
	uint64_t data_len;
} tpa_efi_var;

extern const uint8_t tpa_efi_global_variable[16];   /* SecureBoot, PK, KEK, ... */
extern const uint8_t tpa_efi_image_security_db[16]; /* db, dbx */
extern const uint8_t tpa_efi_shim_lock[16];         /* shim's own: SbatLevel, Shim */

/* 0 if b (n bytes) is one well-formed UEFI_VARIABLE_DATA, exactly. */
int tpa_efi_var_parse(tpa_efi_var *v, const uint8_t *b, size_t n);
/* Whether the variable is guid:ascii. */
int tpa_efi_var_is(const tpa_efi_var *v, const uint8_t *guid, const char *ascii);

#endif
