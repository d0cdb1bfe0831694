/* SPDX-License-Identifier: BSD-3-Clause */
/* What the verifier's commands share: see cmd.h. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

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

/* At most what the registry stores of a token: a longer one is not ours. */
#define TOKEN_FILE_MAX 16384

char *cmd_read_token(const char *arg, const char *file)
{
	const char *name;
	FILE *f;
	char *b;
	size_t n, i;
	int fd;

	if (!file && arg[0] == '@')
		file = arg + 1;
	if (!file && strcmp(arg, "-") != 0)
		return strdup(arg);
	name = file ? file : "standard input";
	if (file) {
		/* A regular file or a pipe (<(...)); read once, bounded. */
		if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0 ||
		    !(f = fdopen(fd, "rb"))) {
			fprintf(stderr, PROG ": token file %s: %s\n", file, strerror(errno));
			if (fd >= 0)
				close(fd);
			return NULL;
		}
	} else {
		f = stdin;
	}
	if (!(b = malloc(TOKEN_FILE_MAX + 2))) {
		if (f != stdin)
			fclose(f);
		fprintf(stderr, PROG ": out of memory\n");
		return NULL;
	}
	n = fread(b, 1, TOKEN_FILE_MAX + 2, f);
	if (f != stdin)
		fclose(f);
	/* One trailing newline (as echo or an editor leaves) is not part of
	 * the token; anything else must be the compact JWS's characters. */
	if (n > 0 && b[n - 1] == '\n')
		n--;
	if (n > TOKEN_FILE_MAX) {
		fprintf(stderr, PROG ": token from %s: larger than %d bytes\n", name,
			TOKEN_FILE_MAX);
		free(b);
		return NULL;
	}
	if (n == 0) {
		fprintf(stderr, PROG ": token from %s: empty\n", name);
		free(b);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];

		if (c < 0x21 || c > 0x7e) {
			fprintf(stderr, PROG ": token from %s: byte %zu is not printable "
				"(0x%02x); a token is one line of base64url and dots\n", name,
				i, c);
			free(b);
			return NULL;
		}
	}
	b[n] = '\0';
	return b;
}

const char *cmd_verb(int *argc, char ***argv, void (*usage)(FILE *), tpa_exit *ret)
{
	const char *verb;

	if (*argc < 2) {
		fprintf(stderr, PROG ": %s: a verb is required\n", (*argv)[0]);
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

tpa_exit cmd_help(const char *help)
{
	fputs(help, stdout);
	return TPA_EXIT_OK;
}

tpa_exit cmd_usage_error(const char *cmd, const char *help, const char *fmt, ...)
{
	const char *blank = strstr(help, "\n\n");
	va_list ap;

	fprintf(stderr, PROG ": %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%.*s", blank ? (int)(blank - help + 1) : (int)strlen(help), help);
	return TPA_EXIT_USAGE;
}

tpa_exit cmd_bad_option(const char *cmd, const char *help, char **argv)
{
	return cmd_usage_error(cmd, help, "unknown or incomplete option '%s'",
			       optind > 0 ? argv[optind - 1] : "?");
}

void cmd_print_json(json_t *j)
{
	char *txt = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);

	if (txt)
		printf("%s\n", txt);
	free(txt);
	json_decref(j);
}
