/* SPDX-License-Identifier: BSD-3-Clause */
/* A tiny TCG event-log writer for tests: crypto-agile logs, SHA-256 bank. */
#ifndef TPA_TEST_LOGWRITER_H
#define TPA_TEST_LOGWRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint8_t b[1 << 16];
	size_t n;
} buf;

extern const uint16_t lw_sha256_only[1];
extern const uint16_t lw_size32[1];

void lw_put(buf *w, const void *p, size_t n);
void lw_u32(buf *w, uint32_t v);
void lw_u16(buf *w, uint16_t v);
/* Spec ID Event03 declaring n algorithms (ids and digest sizes). */
void lw_spec_id(buf *w, const uint16_t *algs, const uint16_t *sizes, uint32_t n,
		uint8_t uintn);
/* A TCG_PCR_EVENT2 with the SHA-256 digest of data, or of digest_of if set
 * (a log whose data and digest disagree). */
void lw_event2(buf *w, uint32_t pcr, uint32_t type, const void *data, uint32_t len,
	       const void *digest_of, uint32_t digest_len);
/* A TCG_PCR_EVENT2 with a digest of data in each of the n banks of algs
 * (sha1, sha256, sha384), in that order. */
void lw_event_banks(buf *w, uint32_t pcr, uint32_t type, const void *data, uint32_t len,
		    const uint16_t *algs, uint32_t n);
/* UEFI_VARIABLE_DATA of guid:name (ASCII, written UTF-16) holding data;
 * returns its size (out must hold 32 + 2 * strlen(name) + len bytes). */
size_t lw_efi_var(uint8_t *out, const uint8_t *guid, const char *name, const void *data,
		  size_t len);
/* An EFI_SIGNATURE_LIST of one X.509 certificate, or of n SHA-256 hashes,
 * appended to out at *n (owner GUID zero). */
void lw_siglist_x509(uint8_t *out, size_t *n, const uint8_t *der, size_t len);
void lw_siglist_sha256(uint8_t *out, size_t *n, const uint8_t (*h)[32], size_t count);
/* UEFI_VARIABLE_DATA of SecureBoot with the given value; returns its size. */
size_t lw_secureboot_var(uint8_t *out, const uint8_t *val, size_t vlen);

#endif
