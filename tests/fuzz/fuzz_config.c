/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: configuration files are untrusted input. Arbitrary bytes are
 * written to a file and parsed; what parses becomes arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tpa/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static const char *const flags[] = { "insecure", "verbose", NULL };
	char *argv[] = { (char *)"prog", (char *)"--x", NULL };
	tpa_config *c = NULL;
	tpa_config_args a;
	FILE *f;
	size_t i;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/tpa-fuzz-config-%ld", (long)getpid());
	if (!(f = fopen(path, "wb")))
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (tpa_config_load(&c, path) == 0) {
		for (i = 0; i < c->n; i++)
			if (!c->entries[i].value || strlen(c->entries[i].key) > TPA_CONFIG_KEY_MAX)
				abort();
		if (tpa_config_args_build(&a, c, flags, 2, argv) == 0) {
			if (a.argc < 2 || a.argv[a.argc] != NULL || strcmp(a.argv[a.argc - 1], "--x"))
				abort();
			tpa_config_args_free(&a);
		}
		tpa_config_free(c);
	}
	unlink(path);
	return 0;
}
