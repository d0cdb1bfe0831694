/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier registry backup: a consistent copy of the registry for an
 * operator, taken while a verifier may be serving it.
 *
 *   registry backup --registry FILE OUT
 *
 * Exit status (tpa/exit.h): 0 done, 2 usage, a registry that does not
 * exist or cannot be read, an OUT that exists or cannot be written. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tpa/err.h"
#include "tpa/store.h"

#include "cmd.h"

#define PROG "verifier"

static const char help_backup[] =
"usage: " PROG " registry backup --registry FILE OUT\n"
"\n"
"Copies the registry into OUT (mode 0600) with SQLite's online backup,\n"
"consistent while a verifier serves it (cp of the file alone misses what is\n"
"still in its WAL); the copy is integrity-checked and fsync'd before it is\n"
"put in place. An OUT that exists is refused. Restore: stop the verifier,\n"
"move the backup into place of the registry, start it. Exit 0 done, 2 usage\n"
"or a registry that cannot be read or copied.\n"
"\n"
"  --registry FILE       the registry (must exist)\n"
"  --help                this text\n";

static const char help_registry[] =
"usage: " PROG " registry backup --registry FILE OUT\n"
"\n"
"The device registry's upkeep. " PROG " registry VERB --help: a verb's\n"
"options.\n"
"\n"
"  --help                this text\n";

static void usage(FILE *f)
{
	fputs(help_registry, f);
}

static tpa_exit cmd_usage(const char *what)
{
	return cmd_usage_error("registry", help_backup, "%s", what);
}

tpa_exit cmd_registry(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "registry", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *registry = NULL, *verb;
	tpa_store *s = NULL;
	tpa_exit ret;
	int c;

	if (!(verb = cmd_verb(&argc, &argv, usage, &ret)))
		return ret;
	if (strcmp(verb, "backup") != 0)
		return cmd_usage_error("registry", help_registry, "unknown verb '%s'", verb);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'R': registry = optarg; break;
		case 'h': return cmd_help(help_backup);
		default: return cmd_bad_option("registry", help_backup, argv);
		}
	}
	if (!registry)
		return cmd_usage("backup: --registry FILE is required");
	if (argc - optind != 1)
		return cmd_usage("backup: one OUT file is required");
	if (tpa_store_open_existing(&s, registry) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	if (tpa_store_backup(s, argv[optind]) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		tpa_store_close(s);
		return TPA_EXIT_USAGE;
	}
	tpa_store_close(s);
	printf("backed up %s to %s\n", registry, argv[optind]);
	return TPA_EXIT_OK;
}
