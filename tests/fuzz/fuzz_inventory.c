/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: inventory files (verifier devices import) are untrusted
 * input. Whatever parses must be entries the registry takes: a kind, a key
 * of its form, no_ek_cert only with a device id, printable text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/admission.h"
#include "tpa/compliance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_inventory_entry *e = NULL;
	size_t n = 0, i;

	if (tpa_inventory_parse(&e, &n, (const char *)data, size) < 0) {
		if (e || n)
			abort();
		return 0;
	}
	if (n > TPA_INVENTORY_ROWS_MAX)
		abort();
	for (i = 0; i < n; i++) {
		int dev = strcmp(e[i].kind, "device") == 0;

		if (!dev && strcmp(e[i].kind, "ek-cert") != 0)
			abort();
		if (dev ? !tpa_device_id_valid(e[i].value) :
		    (!e[i].value[0] || !printable(e[i].value) || !strchr(e[i].value, ':')))
			abort();
		if ((e[i].no_ek_cert && !dev) || !printable(e[i].name) || !printable(e[i].label))
			abort();
	}
	free(e);
	return 0;
}
