/* SPDX-License-Identifier: BSD-3-Clause */
/* UEFI structures as event data carries them: signature lists with good and
 * lying sizes, device paths, UTF-16. */
#include <stdint.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/efi.h"
#include "tpa/err.h"

/* An EFI_SIGNATURE_LIST of SHA-256 entries (28-byte header, no signature
 * header, entries of owner + hash). */
static size_t sha256_list(uint8_t *out, unsigned entries)
{
	static const uint8_t sha256_guid[16] = { 0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
						 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28 };
	uint32_t size = 28 + entries * 48, i;

	memcpy(out, sha256_guid, 16);
	memcpy(out + 16, &size, 4);      /* little-endian host */
	memset(out + 20, 0, 4);
	i = 48;
	memcpy(out + 24, &i, 4);
	for (i = 0; i < entries; i++) {
		memset(out + 28 + 48 * i, 0x11, 16);
		memset(out + 28 + 48 * i + 16, (int)(0xA0 + i), 32);
	}
	return size;
}

static void test_signature_lists(void)
{
	uint8_t b[1024];
	tpa_efi_sigdb db = { 0 };
	size_t n = sha256_list(b, 3);

	CU_ASSERT_EQUAL(tpa_efi_sigdb_add(&db, b, n), 0);
	CU_ASSERT_EQUAL(db.nhashes, 3);
	CU_ASSERT_EQUAL(db.hashes[2][0], 0xA2);
	/* two lists back to back */
	n += sha256_list(b + n, 1);
	CU_ASSERT_EQUAL(tpa_efi_sigdb_add(&db, b, n), 0);
	CU_ASSERT_EQUAL(db.nhashes, 7);
	tpa_efi_sigdb_clear(&db);

	n = sha256_list(b, 2);
	b[16] += 1;                      /* ListSize not a multiple of entries */
	CU_ASSERT_EQUAL(tpa_efi_sigdb_add(&db, b, n), TPA_ERR_PARSE);
	tpa_efi_sigdb_clear(&db);
	n = sha256_list(b, 2);
	b[17] = 0x10;                    /* ListSize beyond the data */
	CU_ASSERT_EQUAL(tpa_efi_sigdb_add(&db, b, n), TPA_ERR_PARSE);
	tpa_efi_sigdb_clear(&db);
	n = sha256_list(b, 2);
	b[24] = 16;                      /* SignatureSize without data */
	CU_ASSERT_EQUAL(tpa_efi_sigdb_add(&db, b, n), TPA_ERR_PARSE);
	tpa_efi_sigdb_clear(&db);
	n = sha256_list(b, 1);
	CU_ASSERT_EQUAL(tpa_efi_sigdb_add(&db, b, n - 1), TPA_ERR_PARSE);  /* truncated */
	CU_ASSERT_EQUAL(tpa_efi_sigdb_add(&db, b, 27), TPA_ERR_PARSE);     /* short header */
	tpa_efi_sigdb_clear(&db);
	tpa_efi_sigdb_clear(NULL);
}

static void test_device_paths(void)
{
	/* Hard drive node (type 4/1, 42 bytes), file path "\EFI\x.efi", end. */
	uint8_t b[128];
	size_t n = 0, i;
	const char *path = "\\EFI\\x.efi";
	char out[64];

	memset(b, 0, sizeof(b));
	b[n] = 4; b[n + 1] = 1; b[n + 2] = 42; n += 42;
	b[n] = 4; b[n + 1] = 4; b[n + 2] = (uint8_t)(4 + 2 * (strlen(path) + 1));
	for (i = 0; i < strlen(path); i++)
		b[n + 4 + 2 * i] = (uint8_t)path[i];
	n += b[n + 2];
	b[n] = 0x7f; b[n + 1] = 0xff; b[n + 2] = 4; n += 4;
	CU_ASSERT_EQUAL(tpa_efi_devpath_file(out, sizeof(out), b, n), 0);
	CU_ASSERT_STRING_EQUAL(out, path);
	b[42 + 2] = 200;                 /* a node longer than the path */
	CU_ASSERT_EQUAL(tpa_efi_devpath_file(out, sizeof(out), b, n), TPA_ERR_PARSE);
	b[42 + 2] = 2;                   /* a node shorter than its header */
	CU_ASSERT_EQUAL(tpa_efi_devpath_file(out, sizeof(out), b, n), TPA_ERR_PARSE);
	/* UTF-16 outside ASCII becomes '?'; a short buffer is cut, terminated */
	b[0] = 0x41; b[1] = 0x00; b[2] = 0xAC; b[3] = 0x20; b[4] = 0x42; b[5] = 0;
	tpa_efi_utf16_ascii(out, sizeof(out), b, 6);
	CU_ASSERT_STRING_EQUAL(out, "A?B");
	tpa_efi_utf16_ascii(out, 2, b, 6);
	CU_ASSERT_STRING_EQUAL(out, "A");
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("efi", NULL, NULL);
	CU_add_test(s, "EFI signature lists: good and lying sizes", test_signature_lists);
	CU_add_test(s, "EFI device paths and UTF-16", test_device_paths);
	return test_run_all() ? 1 : 0;
}
