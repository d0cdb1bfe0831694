/* SPDX-License-Identifier: BSD-3-Clause */
/* The device's local view: read here, in the client, from the files and
 * the TPM of this device; the library only packs it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "view.h"

/* efivarfs files: 4 bytes of attributes, then the value. */
static tpa_tristate read_efi_bool(const char *dir, const char *name)
{
	char path[4096];
	uint8_t b[8];
	size_t n;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s-8be4df61-93ca-11d2-aa0d-00e098032b8c",
			     dir, name) >= sizeof(path) || !(f = fopen(path, "rb")))
		return TPA_TRI_UNKNOWN;
	n = fread(b, 1, sizeof(b), f);
	fclose(f);
	if (n != 5 || (b[4] != 0 && b[4] != 1))
		return TPA_TRI_UNKNOWN;
	return b[4] ? TPA_TRI_ON : TPA_TRI_OFF;
}

static void view_read_efivars(tpa_client_view *v, const char *dir)
{
	v->secure_boot = read_efi_bool(dir, "SecureBoot");
	v->setup_mode = read_efi_bool(dir, "SetupMode");
}

int view_collect(tpa_client_view *v, tpa_tpm *tpm, const char *efivars_dir)
{
	int err;

	memset(v, 0, sizeof(*v));
	view_read_efivars(v, efivars_dir);
	if ((err = tpa_tpm_properties(tpm, v->tpm_manufacturer, &v->tpm_firmware_version)) < 0)
		return err;
	v->virtual_tpm = tpa_manufacturer_is_virtual(v->tpm_manufacturer);
	return 0;
}
