/* SPDX-License-Identifier: BSD-3-Clause */
/* Configuration files are untrusted: every rule of the format refused with
 * the file and line, the caps enforced, and the command line after the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <getopt.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/config.h"
#include "tpa/err.h"

static int config_text(tpa_config **c, const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	fwrite(text, 1, n, f);
	fclose(f);
	*c = NULL;
	return tpa_config_load(c, path);
}

static void expect_config_refused(const char *path, const char *text, int code, const char *why)
{
	tpa_config *c = NULL;

	CU_ASSERT_EQUAL(config_text(&c, path, text, strlen(text)), code);
	CU_ASSERT_PTR_NULL(c);
	if (!strstr(tpa_err_last(), why))
		fprintf(stderr, "expected \"%s\" in: %s\n", why, tpa_err_last());
	CU_ASSERT(strstr(tpa_err_last(), why) != NULL);
}

static void test_config_files(void)
{
	static const struct option opts[] = {
		{ "verifier", required_argument, NULL, 'v' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "config", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const flags[] = { "insecure", NULL };
	static const char *const excluded[] = { "config", NULL };
	char path[64], *argv[] = { (char *)"prog", (char *)"--verifier=cli", NULL };
	tpa_config *c = NULL;
	tpa_config_args a;
	char *big;
	size_t i;

	snprintf(path, sizeof(path), "/tmp/tpa-config-%ld.conf", (long)getpid());
	{
		static const char text[] = "# c\n\n Verifier = \"host:1 \"\ninsecure=yes\n";

		CU_ASSERT_EQUAL_FATAL(config_text(&c, path, text, strlen(text)), 0);
	}
	CU_ASSERT_EQUAL(c->n, 2);
	CU_ASSERT_STRING_EQUAL(c->entries[0].key, "verifier");
	CU_ASSERT_STRING_EQUAL(c->entries[0].value, "host:1 ");
	CU_ASSERT_EQUAL(c->entries[0].line, 3);
	CU_ASSERT_EQUAL(tpa_config_check_options(c, opts, excluded), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_config_args_build(&a, c, flags, 2, argv), 0);
	CU_ASSERT_EQUAL(a.argc, 4);
	CU_ASSERT_STRING_EQUAL(a.argv[1], "--verifier=host:1 ");
	CU_ASSERT_STRING_EQUAL(a.argv[2], "--insecure");
	CU_ASSERT_STRING_EQUAL(a.argv[3], "--verifier=cli"); /* the command line last */
	CU_ASSERT(strstr(a.where[1], ":3: verifier") != NULL);
	CU_ASSERT_PTR_NULL(a.where[3]);
	tpa_config_args_free(&a);
	tpa_config_free(c);
	CU_ASSERT_EQUAL(config_text(&c, path, "config = x\n", 11), 0);
	CU_ASSERT_EQUAL(tpa_config_check_options(c, opts, excluded), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), ":1: unknown key 'config'") != NULL);
	tpa_config_free(c);
	CU_ASSERT_EQUAL(config_text(&c, path, "insecure = maybe\n", 17), 0);
	CU_ASSERT_EQUAL(tpa_config_args_build(&a, c, flags, 2, argv), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), ":1: insecure: 'maybe' is not true or false") != NULL);
	tpa_config_free(c);

	expect_config_refused(path, "no equals sign\n", TPA_ERR_PARSE, ":1: expected \"key = value\"");
	expect_config_refused(path, " = v\n", TPA_ERR_PARSE, ":1: a key of 1..48");
	expect_config_refused(path, "a.b = v\n", TPA_ERR_PARSE, ":1: key 'a.b': only letters");
	expect_config_refused(path, "a = 1\nA = 2\n", TPA_ERR_PARSE, ":2: key 'a' already set on line 1");
	expect_config_refused(path, "a = \"open\n", TPA_ERR_PARSE, ":1: key 'a': unterminated quote");
	expect_config_refused(path, "a = x\x01y\n", TPA_ERR_PARSE, ":1: key 'a': control character");
	CU_ASSERT_EQUAL(config_text(&c, path, "a = x\0y\n", 8), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "NUL byte") != NULL);
	big = malloc(TPA_CONFIG_MAX_BYTES + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, '#', TPA_CONFIG_MAX_BYTES + 1);
	big[TPA_CONFIG_MAX_BYTES + 1] = '\0';
	expect_config_refused(path, big, TPA_ERR_LIMIT, "larger than");
	for (i = 0, big[0] = '\0'; i <= TPA_CONFIG_MAX_ENTRIES; i++)
		snprintf(big + strlen(big), TPA_CONFIG_MAX_BYTES + 2 - strlen(big), "k%zu = v\n", i);
	expect_config_refused(path, big, TPA_ERR_LIMIT, "more than 128 settings");
	free(big);
	CU_ASSERT_EQUAL(tpa_config_load(&c, "/nonexistent/x.conf"), TPA_ERR_IO);
	CU_ASSERT_STRING_EQUAL(tpa_config_path_arg(2, (char *[]){ "p", "--config=f", NULL }), "f");
	CU_ASSERT_PTR_NULL(tpa_config_path_arg(2, (char *[]){ "p", "--config", NULL }));
	unlink(path);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("config", NULL, NULL);
	CU_add_test(s, "configuration files: format, caps, order", test_config_files);
	return test_run_all() ? 1 : 0;
}
