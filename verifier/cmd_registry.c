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

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " registry backup --registry FILE OUT\n"
"       " PROG " registry restore --registry FILE [--force] BACKUP\n"
"       " PROG " registry check --registry FILE\n"
"\n"
"backup: copies the registry into OUT (mode 0600) with SQLite's online\n"
"backup, consistent while a verifier serves it (cp of the file alone misses\n"
"what is still in its WAL); the copy is integrity-checked and fsync'd before\n"
"it is put in place. An OUT that exists is refused.\n"
"restore: puts BACKUP in place of the registry: stop the verifier, restore,\n"
"start it. BACKUP must pass SQLite's integrity check, be a registry whose\n"
"schema is not newer than this verifier's (an older one is migrated when the\n"
"verifier opens it) and whose audit log verifies. A registry that exists is\n"
"replaced only with --force, and never while a verifier holds it open. The\n"
"copy is written beside the registry and renamed into place; refused, the\n"
"registry is left as it was.\n"
"check: the registry's integrity, schema version and counts, of the file as it\n"
"is (never created, migrated or written); exit 1 if it is damaged or not a\n"
"registry.\n"
"\n"
"  --registry FILE       the registry (backup, check: must exist)\n"
"  --force               restore: replace a registry that exists\n");
}

static tpa_exit cmd_usage(const char *what)
{
	fprintf(stderr, PROG ": registry: %s\n", what);
	usage(stderr);
	return TPA_EXIT_USAGE;
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
		return cmd_usage("unknown verb (backup, restore, check)");
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'R': registry = optarg; break;
		case 'f': force = 1; break;
		case 'h': usage(stdout); return TPA_EXIT_OK;
		default: usage(stderr); return TPA_EXIT_USAGE;
		}
	}
	if (!registry)
		return cmd_usage(backup ? "backup: --registry FILE is required" :
				 restore ? "restore: --registry FILE is required" :
				 "check: --registry FILE is required");
	if (force && !restore)
		return cmd_usage("--force is for restore");
	if (check && argc != optind)
		return cmd_usage("check: no arguments besides --registry");
	if (!check && argc - optind != 1)
		return cmd_usage(backup ? "backup: one OUT file is required" :
				 "restore: one BACKUP file is required");
	if (restore)
		return do_restore(registry, argv[optind], force);
	if (check) {
		int err = tpa_store_check_file(&r, registry);

		if (err < 0) {
			fprintf(stderr, PROG ": %s\n", tpa_err_last());
			return err == TPA_ERR_PARSE ? TPA_EXIT_NO : TPA_EXIT_USAGE;
		}
		printf("registry %s: ok: ", registry);
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
