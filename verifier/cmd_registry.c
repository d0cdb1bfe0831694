/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier registry backup|restore|check: the registry file for an
 * operator.
 *
 *   registry backup --registry FILE OUT
 *   registry restore --registry FILE [--force] BACKUP
 *   registry check --registry FILE
 *
 * Exit status (tpa/exit.h): 0 done, 1 check or restore: the file is not a
 * sound registry (named), 2 usage, a registry that does not exist or cannot
 * be read, an OUT that exists or cannot be written, 5 restore: the registry
 * exists without --force, or a verifier holds it. */
#include <getopt.h>
#include <inttypes.h>
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
"put in place. An OUT that exists is refused. Exit 0 done, 2 usage or a\n"
"registry that cannot be read or copied.\n"
"\n"
"  --registry FILE       the registry (must exist)\n"
"  --help                this text\n";

static const char help_restore[] =
"usage: " PROG " registry restore --registry FILE [--force] BACKUP\n"
"\n"
"Puts BACKUP in place of the registry: stop the verifier, restore, start it.\n"
"BACKUP must pass SQLite's integrity check, be a registry whose schema is not\n"
"newer than this verifier's (an older one is migrated when the verifier opens\n"
"it) and whose audit log verifies. A registry that exists is replaced only\n"
"with --force, and never while a verifier holds it open. The copy is written\n"
"beside the registry and renamed into place; refused, the registry is left\n"
"as it was. Exit 0 restored, 1 BACKUP damaged, not a registry or with a\n"
"broken audit log, 2 usage or unreadable, 5 the registry exists (no --force)\n"
"or a verifier holds it.\n"
"\n"
"  --registry FILE       the registry to restore into\n"
"  --force               replace a registry that exists\n"
"  --help                this text\n";

static const char help_check[] =
"usage: " PROG " registry check --registry REGISTRY\n"
"\n"
"The registry's integrity, schema version and counts, as it is (never\n"
"created, migrated or written). An SQLite file: SQLite's integrity check.\n"
"PostgreSQL (a postgresql:// URI, or a private file holding one): its\n"
"tables, and the triggers that keep the audit log, its signed heads and the\n"
"baselines append-only, there and enabled. Exit 0 sound, 1 damaged or not\n"
"a registry, 2 usage or unreachable.\n"
"\n"
"  --registry REGISTRY   the registry (must exist)\n"
"  --help                this text\n";

static const char help_registry[] =
"usage: " PROG " registry backup --registry FILE OUT\n"
"       " PROG " registry restore --registry FILE [--force] BACKUP\n"
"       " PROG " registry check --registry FILE\n"
"\n"
"The device registry's upkeep. " PROG " registry VERB --help: a verb's\n"
"options.\n"
"\n"
"  --help                this text\n";

static const char *help_verb = help_registry;

static void usage(FILE *f)
{
	fputs(help_registry, f);
}

static tpa_exit cmd_usage(const char *what)
{
	return cmd_usage_error("registry", help_verb, "%s", what);
}

static void print_check(const tpa_store_check_report *r)
{
	printf("schema version %d, %" PRId64 " device%s (%" PRId64 " revoked), %" PRId64
	       " baseline%s, %" PRId64 " audit row%s, %" PRId64 " signed head%s\n",
	       r->schema_version, r->devices, r->devices == 1 ? "" : "s", r->revoked,
	       r->baselines, r->baselines == 1 ? "" : "s", r->audit_rows,
	       r->audit_rows == 1 ? "" : "s", r->signed_heads, r->signed_heads == 1 ? "" : "s");
}

static tpa_exit do_restore(const char *registry, const char *backup, int force)
{
	tpa_store_check_report r;
	int err;

	err = tpa_store_restore(&r, registry, backup, force ? TPA_STORE_RESTORE_FORCE : 0);
	if (err < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return err == TPA_ERR_PARSE || err == TPA_ERR_VERIFY ? TPA_EXIT_NO :
			err == TPA_ERR_CONFLICT ? TPA_EXIT_REFUSED : TPA_EXIT_USAGE;
	}
	printf("restored %s from %s: ", registry, backup);
	print_check(&r);
	return TPA_EXIT_OK;
}

tpa_exit cmd_registry(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "registry", required_argument, NULL, 'R' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *registry = NULL, *verb;
	tpa_store_check_report r;
	tpa_store *s = NULL;
	int c, force = 0, backup, restore, check;
	tpa_exit ret;

	if (!(verb = cmd_verb(&argc, &argv, usage, &ret)))
		return ret;
	backup = strcmp(verb, "backup") == 0;
	restore = strcmp(verb, "restore") == 0;
	check = strcmp(verb, "check") == 0;
	if (!backup && !restore && !check)
		return cmd_usage_error("registry", help_registry, "unknown verb '%s'", verb);
	help_verb = backup ? help_backup : restore ? help_restore : help_check;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'R': registry = optarg; break;
		case 'f': force = 1; break;
		case 'h': return cmd_help(help_verb);
		default: return cmd_bad_option("registry", help_verb, argv);
		}
	}
	if (!registry)
		return cmd_usage("--registry FILE is required");
	if (force && !restore)
		return cmd_usage("--force is for restore");
	if (check && argc != optind)
		return cmd_usage("no arguments besides --registry");
	if (!check && argc - optind != 1)
		return cmd_usage(backup ? "one OUT file is required" : "one BACKUP file is required");
	if (restore)
		return do_restore(registry, argv[optind], force);
	if (check) {
		int err = tpa_store_check_file(&r, registry);

		if (err < 0) {
			fprintf(stderr, PROG ": %s\n", tpa_err_last());
			return err == TPA_ERR_PARSE ? TPA_EXIT_NO : TPA_EXIT_USAGE;
		}
		printf("registry %s: ok: ", r.where);
		print_check(&r);
		if (r.schema_version < TPA_STORE_SCHEMA_VERSION)
			printf("schema version %d is migrated to %d when a verifier opens it\n",
			       r.schema_version, TPA_STORE_SCHEMA_VERSION);
		return TPA_EXIT_OK;
	}
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
