/* SPDX-License-Identifier: BSD-3-Clause */
/* The Authenticode digest of a PE/COFF image: what UEFI firmware measures
 * into PCR 4 for an EFI application it starts (EV_EFI_BOOT_SERVICES_APPLICATION:
 * shim, GRUB, a kernel's EFI stub), so that a baseline can allow an image
 * from the file itself, before any device has booted it.
 *
 * Per Microsoft's "Windows Authenticode Portable Executable Signature
 * Format": the headers without the CheckSum field and the Certificate Table
 * data-directory entry, then each section's raw data in the order of
 * PointerToRawData, then any data after the sections other than the
 * attribute certificate table. PE32 and PE32+. The image is untrusted: every
 * offset and size is checked before it is read, and a malformed image is
 * refused naming what is wrong ("section 3 runs past the end of the file"). */
#ifndef TPA_AUTHENTICODE_H
#define TPA_AUTHENTICODE_H

#include <stddef.h>
#include <stdint.h>

#define TPA_AUTHENTICODE_SECTIONS_MAX 96      /* the PE format's limit */
#define TPA_AUTHENTICODE_IMAGE_MAX (256u << 20) /* bytes of an image read */

/* The digest (tpa_hash_size(alg) bytes into out) of image (len bytes) in
 * TPM hash algorithm alg. TPA_ERR_PARSE for a malformed image (the message
 * names the field), TPA_ERR_INVALID_ARG for an unknown algorithm. */
int tpa_authenticode_digest(uint8_t *out, uint16_t alg, const uint8_t *image, size_t len);

/* As above, of a file read whole (at most TPA_AUTHENTICODE_IMAGE_MAX
 * bytes), and (file_digest not NULL) the digest of its bytes, what GRUB
 * measures of a file it loads; out NULL: that digest only, of any file.
 * Errors name the file. */
int tpa_authenticode_file(uint8_t *out, uint8_t *file_digest, uint16_t alg, const char *path);

#endif
