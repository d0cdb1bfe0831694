/* SPDX-License-Identifier: BSD-3-Clause */
/* What the verifier's commands share: see cmd.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define PROG "verifier"
#define KEYFILE_MAX (64 * 1024)

char *cmd_read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *b;
	size_t n;

	if (!f) {
		fprintf(stderr, PROG ": cannot open %s\n", path);
		return NULL;
	}
	if (!(b = malloc(KEYFILE_MAX + 1))) {
		fclose(f);
		return NULL;
	}
	n = fread(b, 1, KEYFILE_MAX + 1, f);
	fclose(f);
	if (n > KEYFILE_MAX) {
		fprintf(stderr, PROG ": %s: larger than %d bytes\n", path, KEYFILE_MAX);
		free(b);
		return NULL;
	}
	b[n] = '\0';
	return b;
}

const char *cmd_verb(int *argc, char ***argv, void (*usage)(FILE *), tpa_exit *ret)
{
	const char *verb;

	if (*argc < 2) {
		usage(stderr);
		*ret = TPA_EXIT_USAGE;
		return NULL;
	}
	verb = (*argv)[1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		usage(stdout);
		*ret = TPA_EXIT_OK;
		return NULL;
	}
	(*argc)--;
	(*argv)++;
	optind = 1;
	return verb;
}
