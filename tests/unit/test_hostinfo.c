/* SPDX-License-Identifier: BSD-3-Clause */
/* A host's reported names: the one validator (what it trims, what it
 * refuses by name), and collection from a planted root: odd bytes, an
 * over-long serial, a bad machine-id, an unreadable serial, a symbolic
 * link. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/hostinfo.h"

#define MID "0123456789abcdef0123456789abcdef"

static int set(tpa_host_info *hi, tpa_host_field f, const char *v)
{
	return tpa_host_info_set(hi, f, v, strlen(v));
}

static void test_validator(void)
{
	tpa_host_info hi;
	char longer[TPA_HOSTNAME_MAX + 2];

	memset(&hi, 0, sizeof(hi));
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_HOSTNAME, "alice-laptop\n"), 0);
	CU_ASSERT_STRING_EQUAL(hi.hostname, "alice-laptop");
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_DMI_PRODUCT, "ThinkPad X1  \n\n"), 0);
	CU_ASSERT_STRING_EQUAL(hi.dmi_product, "ThinkPad X1");
	/* Empty, or only what is trimmed: not known, not an error. */
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_DMI_PRODUCT, " \n"), 0);
	CU_ASSERT_STRING_EQUAL(hi.dmi_product, "");
	/* A control byte, named by its place. */
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_HOSTNAME, "ab\adef"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), "hostname: byte 3 is not printable (0x07)");
	CU_ASSERT_STRING_EQUAL(hi.hostname, "");
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_DMI_SERIAL, "caf\xc3\xa9"), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "dmi_serial: byte 4") != NULL);
	/* A NUL inside is not printable either. */
	CU_ASSERT_EQUAL(tpa_host_info_set(&hi, TPA_HOST_DMI_SERIAL, "ab\0cd", 5),
			TPA_ERR_INVALID_ARG);
	/* A newline inside is not trimmed. */
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_HOSTNAME, "a\nb"), TPA_ERR_INVALID_ARG);
	/* Bounds: the registry's. */
	memset(longer, 'h', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_HOSTNAME, longer), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "longer than 255") != NULL);
	longer[TPA_HOSTNAME_MAX] = '\0';
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_HOSTNAME, longer), 0);
	CU_ASSERT_EQUAL(strlen(hi.hostname), TPA_HOSTNAME_MAX);
	longer[TPA_DMI_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_DMI_SERIAL, longer), TPA_ERR_INVALID_ARG);
	longer[TPA_DMI_MAX] = '\0';
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_DMI_SERIAL, longer), 0);
	/* A machine-id: 32 lower-case hex, one newline trimmed, nothing else. */
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_MACHINE_ID, MID "\n"), 0);
	CU_ASSERT_STRING_EQUAL(hi.machine_id, MID);
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_MACHINE_ID, MID "\n\n"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_MACHINE_ID, MID " "), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_MACHINE_ID, "0123456789ABCDEF0123456789abcdef"),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "machine_id: byte 11 is not a lower-case hex") != NULL);
	CU_ASSERT_EQUAL(set(&hi, TPA_HOST_MACHINE_ID, "0123"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(hi.machine_id, "");
	CU_ASSERT_EQUAL(tpa_host_info_set(&hi, TPA_HOST_NFIELDS, "x", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(tpa_host_field_name(TPA_HOST_DMI_PRODUCT), "dmi_product");
}

static char dir[] = "/tmp/tpa-hostinfo-XXXXXX";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void plant(const char *rel, const void *data, size_t len, mode_t mode)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", dir, rel);
	CU_ASSERT_FATAL((f = fopen(p, "wb")) != NULL);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	fclose(f);
	CU_ASSERT_EQUAL(chmod(p, mode), 0);
}

static void mkdirs(void)
{
	static const char *const sub[] = { "/etc", "/sys", "/sys/class", "/sys/class/dmi",
					   "/sys/class/dmi/id" };
	char p[512];
	size_t i;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", dir, sub[i]);
		mkdir(p, 0755);
	}
}

static unsigned ninvalid, invalid_mask;
static char last_why[256];

static void on_invalid(void *ctx, tpa_host_field f, const char *why)
{
	(void)ctx;
	ninvalid++;
	invalid_mask |= 1u << f;
	snprintf(last_why, sizeof(last_why), "%s", why);
}

static void collect(tpa_host_info *hi)
{
	ninvalid = invalid_mask = 0;
	last_why[0] = '\0';
	tpa_host_info_collect(hi, dir, on_invalid, NULL);
}

static void test_collect(void)
{
	tpa_host_info hi;
	char serial[300], p[512], q[512];

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	mkdirs();
	/* All good. */
	plant("/etc/hostname", "alice-laptop\n", 13, 0644);
	plant("/etc/machine-id", MID "\n", 33, 0444);
	plant("/sys/class/dmi/id/product_name", "Test Machine 3000\n", 18, 0444);
	plant("/sys/class/dmi/id/product_serial", "SN-0042\n", 8, 0400);
	collect(&hi);
	CU_ASSERT_STRING_EQUAL(hi.hostname, "alice-laptop");
	CU_ASSERT_STRING_EQUAL(hi.machine_id, MID);
	CU_ASSERT_STRING_EQUAL(hi.dmi_product, "Test Machine 3000");
	CU_ASSERT_STRING_EQUAL(hi.dmi_serial, "SN-0042");
	CU_ASSERT_EQUAL(ninvalid, 0);
	CU_ASSERT(tpa_host_info_any(&hi));

	/* Odd bytes, an over-long serial, a bad machine-id: each left out,
	 * each said once by name; the good one kept. */
	plant("/sys/class/dmi/id/product_name", "Odd\x01Box\n", 8, 0444);
	memset(serial, 'S', sizeof(serial));
	plant("/sys/class/dmi/id/product_serial", serial, sizeof(serial), 0400);
	plant("/etc/machine-id", "not-a-machine-id\n", 17, 0444);
	collect(&hi);
	CU_ASSERT_STRING_EQUAL(hi.hostname, "alice-laptop");
	CU_ASSERT_STRING_EQUAL(hi.machine_id, "");
	CU_ASSERT_STRING_EQUAL(hi.dmi_product, "");
	CU_ASSERT_STRING_EQUAL(hi.dmi_serial, "");
	CU_ASSERT_EQUAL(ninvalid, 3);
	CU_ASSERT_EQUAL(invalid_mask, (1u << TPA_HOST_MACHINE_ID) | (1u << TPA_HOST_DMI_PRODUCT) |
			(1u << TPA_HOST_DMI_SERIAL));
	CU_ASSERT(strstr(last_why, "dmi_serial: ") != NULL);

	/* A file longer than the read bound is refused as too long, not cut. */
	{
		char big[2000];

		memset(big, 'x', sizeof(big));
		plant("/etc/hostname", big, sizeof(big), 0644);
		collect(&hi);
		CU_ASSERT_STRING_EQUAL(hi.hostname, "");
		CU_ASSERT(invalid_mask & (1u << TPA_HOST_HOSTNAME));
	}

	/* Unreadable (root-only, as product_serial is) or absent: skipped
	 * silently. Root reads anything, so this half needs a user. */
	plant("/sys/class/dmi/id/product_serial", "SN-0042\n", 8, 0000);
	snprintf(p, sizeof(p), "%s/sys/class/dmi/id/product_name", dir);
	CU_ASSERT_EQUAL(unlink(p), 0);
	collect(&hi);
	CU_ASSERT_STRING_EQUAL(hi.dmi_product, "");
	CU_ASSERT_FALSE(invalid_mask & (1u << TPA_HOST_DMI_PRODUCT));
	if (geteuid() != 0) {
		CU_ASSERT_STRING_EQUAL(hi.dmi_serial, "");
		CU_ASSERT_FALSE(invalid_mask & (1u << TPA_HOST_DMI_SERIAL));
	}

	/* A symbolic link is not followed. */
	snprintf(q, sizeof(q), "%s/real-id", dir);
	plant("/real-id", MID "\n", 33, 0444);
	snprintf(p, sizeof(p), "%s/etc/machine-id", dir);
	CU_ASSERT_EQUAL(unlink(p), 0);
	CU_ASSERT_EQUAL(symlink(q, p), 0);
	collect(&hi);
	CU_ASSERT_STRING_EQUAL(hi.machine_id, "");

	/* No etc/hostname under the root: the host's own name. */
	snprintf(p, sizeof(p), "%s/etc/hostname", dir);
	CU_ASSERT_EQUAL(unlink(p), 0);
	collect(&hi);
	{
		char own[256] = "";

		CU_ASSERT_EQUAL(gethostname(own, sizeof(own) - 1), 0);
		CU_ASSERT_STRING_EQUAL(hi.hostname, own);
	}
	CU_ASSERT_EQUAL(nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("hostinfo", NULL, NULL);
	CU_add_test(s, "one validator: trims, bounds, refuses by field and byte", test_validator);
	CU_add_test(s, "collects from a planted root; invalid left out, unreadable skipped",
		    test_collect);
	return test_run_all() ? 1 : 0;
}
