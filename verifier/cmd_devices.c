/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier devices list|show|revoke|reinstate|delete: the device registry
 * for an operator. Exit status (tpa/exit.h): 0 done, 1 no such device, 2
 * usage or an unreadable registry. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tpa/err.h"
#include "tpa/store.h"

#include "cmd.h"
#include "cmd_admission.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: verifier devices list [--json] --registry FILE\n"
		   "       verifier devices show|revoke|reinstate|delete [--json] --registry FILE DEVICE\n"
		   "       verifier devices label [--json] --registry FILE DEVICE LABEL (\"\" removes)\n");
	cmd_devices_admission_usage(f);
	fprintf(f, "\n"
		   "DEVICE is a device id or a unique prefix of it of at least 8 hex digits (the\n"
		   "verifier's log prints 16). Deleting a revoked device keeps a tombstone: its TPM\n"
		   "cannot enroll again until \"devices reinstate\" names it.\n");
}

static json_t *device_json(const tpa_device *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(d->id));
	json_object_set_new(o, "state", json_string(tpa_device_state_name(d->state)));
	json_object_set_new(o, "enrolled_at", json_integer(d->enrolled_at));
	json_object_set_new(o, "ak_name", json_string(d->ak_name));
	json_object_set_new(o, "last_attest_at", d->last_attest_at ?
			    json_integer(d->last_attest_at) : json_null());
	json_object_set_new(o, "last_verdict", d->last_verdict[0] ?
			    json_string(d->last_verdict) : json_null());
	json_object_set_new(o, "last_outcome", d->last_outcome[0] ?
			    json_string(d->last_outcome) : json_null());
	json_object_set_new(o, "last_baseline", d->last_baseline[0] ?
			    json_string(d->last_baseline) : json_null());
	json_object_set_new(o, "label", d->label[0] ? json_string(d->label) : json_null());
	/* Admission (issue 14, item 2). */
	json_object_set_new(o, "admission", d->admission[0] ? json_string(d->admission) :
			    json_null());
	json_object_set_new(o, "ek_cert_source", d->ek_cert_source[0] ?
			    json_string(d->ek_cert_source) : json_null());
	return o;
}

static void print_json(json_t *j)
{
	char *txt = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);

	if (txt)
		printf("%s\n", txt);
	free(txt);
	json_decref(j);
}

static void print_device(const tpa_device *d)
{
	printf("%s  %-8s  enrolled %lld  last verdict %s (%s%s%s)  label %s  ak %.16s...  "
	       "admission %s  ek cert %s\n",
	       d->id, tpa_device_state_name(d->state), (long long)d->enrolled_at,
	       d->last_verdict[0] ? d->last_verdict : "none",
	       d->last_outcome[0] ? d->last_outcome : "-", d->last_baseline[0] ? ", " : "",
	       d->last_baseline, d->label[0] ? d->label : "-", d->ak_name,
	       d->admission[0] ? d->admission : "-",
	       d->ek_cert_source[0] ? d->ek_cert_source : "-");
}

tpa_exit cmd_devices(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "registry", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *registry = NULL, *verb;
	tpa_store *store = NULL;
	tpa_device d, *all = NULL;
	char id[TPA_DEVICE_ID_LEN + 1];
	size_t n = 0, i;
	int json = 0, c, err;
	tpa_exit rc = TPA_EXIT_USAGE;

	if (!(verb = cmd_verb(&argc, &argv, usage, &rc)))
		return rc;
	if (cmd_devices_admission_verb(verb))
		return cmd_devices_admission(verb, argc, argv);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'R': registry = optarg; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return TPA_EXIT_OK;
		default: usage(stderr); return TPA_EXIT_USAGE;
		}
	}
	if (!registry) {
		fprintf(stderr, "verifier: devices: --registry FILE is required\n");
		return TPA_EXIT_USAGE;
	}
	if (strcmp(verb, "list") == 0 ? optind != argc :
	    strcmp(verb, "label") == 0 ? optind != argc - 2 : optind != argc - 1) {
		usage(stderr);
		return TPA_EXIT_USAGE;
	}
	if (strcmp(verb, "list") && strcmp(verb, "show") && strcmp(verb, "revoke") &&
	    strcmp(verb, "reinstate") && strcmp(verb, "delete") && strcmp(verb, "label")) {
		fprintf(stderr, "verifier: devices: unknown command '%s'\n", verb);
		usage(stderr);
		return TPA_EXIT_USAGE;
	}
	if (tpa_store_open_existing(&store, registry) < 0) {
		fprintf(stderr, "verifier: %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	if (strcmp(verb, "list") == 0) {
		if ((err = tpa_store_list(&all, &n, store)) < 0) {
			fprintf(stderr, "verifier: %s\n", tpa_err_last());
			goto cleanup;
		}
		if (json) {
			json_t *a = json_array();

			for (i = 0; i < n; i++)
				json_array_append_new(a, device_json(&all[i]));
			print_json(a);
		} else {
			for (i = 0; i < n; i++)
				print_device(&all[i]);
		}
		rc = TPA_EXIT_OK;
		goto cleanup;
	}
	/* Every verb names its device the same ways (an id or a unique
	 * prefix); from here on, the full id. */
	if ((err = tpa_store_find_device(id, store, argv[optind])) < 0) {
	} else if (strcmp(verb, "show") == 0) {
		err = tpa_store_get(&d, store, id);
	} else if (strcmp(verb, "delete") == 0) {
		err = tpa_store_remove(store, id, (int64_t)time(NULL));
	} else if (strcmp(verb, "label") == 0) {
		err = tpa_store_set_label(store, id, argv[optind + 1], (int64_t)time(NULL));
		if (err == 0)
			err = tpa_store_get(&d, store, id);
	} else if (strcmp(verb, "reinstate") == 0 && tpa_store_tombstoned(store, id) == 1) {
		/* Deleted while revoked: lifting the tombstone lets it enroll
		 * again (as a new device; there is no row to show). */
		if ((err = tpa_store_untombstone(store, id, (int64_t)time(NULL))) == 0) {
			if (json) {
				json_t *o = json_object();

				json_object_set_new(o, "reinstated", json_string(id));
				json_object_set_new(o, "tombstone", json_true());
				print_json(o);
			} else {
				printf("reinstated %s (tombstone removed: it may enroll again)\n", id);
			}
			rc = TPA_EXIT_OK;
			goto cleanup;
		}
	} else {
		err = tpa_store_set_state(store, id,
					  strcmp(verb, "revoke") == 0 ? TPA_DEVICE_REVOKED :
					  TPA_DEVICE_ACTIVE, (int64_t)time(NULL));
		if (err == 0)
			err = tpa_store_get(&d, store, id);
	}
	if (err < 0) {
		fprintf(stderr, "verifier: devices %s: %s\n", verb, tpa_err_last());
		rc = err == TPA_ERR_NOT_FOUND || err == TPA_ERR_INVALID_ARG ||
		     err == TPA_ERR_CONFLICT ? TPA_EXIT_NO :
		     TPA_EXIT_USAGE;
		goto cleanup;
	}
	if (strcmp(verb, "delete") == 0) {
		if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "deleted", json_string(id));
			print_json(o);
		} else {
			printf("deleted %s\n", id);
		}
	} else if (json) {
		print_json(device_json(&d));
	} else {
		print_device(&d);
	}
	rc = TPA_EXIT_OK;
cleanup:
	free(all);
	tpa_store_close(store);
	return rc;
}
