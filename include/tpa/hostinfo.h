/* SPDX-License-Identifier: BSD-3-Clause */
/* What names a device's host to a person: its host name, /etc/machine-id,
 * the DMI product name and serial number. Reported by the device, never
 * attested (no TPM signature covers them): the client collects them, the
 * verifier checks them with the same rules and keeps them apart from what
 * the TPM proved. One validator for both sides, matching the registry's
 * CHECKs (lib/store_sqlite.c, schema 6). */
#ifndef TPA_HOSTINFO_H
#define TPA_HOSTINFO_H

#include <stddef.h>

#define TPA_HOSTNAME_MAX 255      /* bytes of a host name */
#define TPA_MACHINE_ID_LEN 32     /* lower-case hex digits of a machine-id */
#define TPA_DMI_MAX 128           /* bytes of a DMI product name or serial */

typedef enum {
	TPA_HOST_HOSTNAME = 0,
	TPA_HOST_MACHINE_ID,
	TPA_HOST_DMI_PRODUCT,
	TPA_HOST_DMI_SERIAL,
	TPA_HOST_NFIELDS,
} tpa_host_field;

/* Each "" when not known (unreadable, absent, or refused as invalid). */
typedef struct {
	char hostname[TPA_HOSTNAME_MAX + 1];
	char machine_id[TPA_MACHINE_ID_LEN + 1];
	char dmi_product[TPA_DMI_MAX + 1];
	char dmi_serial[TPA_DMI_MAX + 1];
} tpa_host_info;

/* "hostname", "machine_id", "dmi_product", "dmi_serial" (the wire's and the
 * registry's names). */
const char *tpa_host_field_name(tpa_host_field f);
/* The field's text in hi (writable), or NULL for a bad f. */
char *tpa_host_field_ptr(tpa_host_info *hi, tpa_host_field f);
/* Whether hi holds any value. */
int tpa_host_info_any(const tpa_host_info *hi);

/* The one validator: checks len bytes of v as field f and, if valid, copies
 * it into hi. A trailing newline is trimmed (for a machine-id only one; for
 * the others, trailing newlines and spaces); what is left must be printable
 * ASCII (0x20-0x7e), at most TPA_HOSTNAME_MAX (host name) or TPA_DMI_MAX
 * (DMI) bytes, and a machine-id exactly TPA_MACHINE_ID_LEN lower-case hex
 * digits. Nothing left (an empty value) is not known: 0, the field "".
 * Invalid: TPA_ERR_INVALID_ARG naming the field and what was wrong
 * ("hostname: byte 3 is not printable (0x07)"), the field "". */
int tpa_host_info_set(tpa_host_info *hi, tpa_host_field f, const char *v, size_t len);

/* Called once per invalid value collect found (and left out). */
typedef void (*tpa_host_invalid_fn)(void *ctx, tpa_host_field f, const char *why);

/* Collects this host's names: the host name (gethostname), /etc/machine-id,
 * /sys/class/dmi/id/product_name and product_serial. With root (tests), the
 * files are read under root instead, and the host name from
 * root/etc/hostname if that exists. Files are opened without following a
 * symbolic link and read bounded; one that cannot be read (absent, or
 * root-only as product_serial is) is skipped silently; an invalid value is
 * left out and given to invalid (may be NULL). Never fails: what could not
 * be had is "". */
void tpa_host_info_collect(tpa_host_info *out, const char *root, tpa_host_invalid_fn invalid,
			   void *ctx);

#endif
