/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier sessions list and verifier outbox: what enforcement (issue 16)
 * keeps in the registry, for an operator: the devices' open network
 * sessions as RADIUS accounting reported them, and the deliveries the
 * enforcement points are still owed. Exit status (tpa/exit.h): 0 shown,
 * 1 no such device (or an ambiguous name), 2 usage or an unreadable
 * registry. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tpa/err.h"
#include "tpa/store.h"

#include "cmd.h"
#include "cmd_sessions.h"

static const char sessions_help[] =
"usage: verifier sessions list [--json] --registry FILE [DEVICE]\n"
"\n"
"The open network sessions of the devices (of DEVICE alone if given), oldest\n"
"first, as the NASes' RADIUS accounting reported them (Start, Interim-Update;\n"
"a Stop ends one): the device, the NAS (its address and NAS-Identifier), the\n"
"port, Acct-Session-Id, Calling-Station-Id, User-Name, when the session\n"
"started and when it was last updated; these are what a Disconnect-Request or\n"
"CoA-Request names. DEVICE: an id, a unique prefix of at least 8 hex digits, or\n"
"a unique host name. Times are ISO 8601 UTC. Exit 0 listed, 1 no such device\n"
"(or an ambiguous name), 2 usage.\n"
"\n"
"  --registry FILE       the registry (sqlite:PATH or a file; never created)\n"
"  --json                a JSON array of the sessions\n"
"  --help                this text\n";

static const char outbox_help[] =
"usage: verifier outbox [--json] --registry FILE\n"
"\n"
"What the verifier still owes its enforcement points: the deliveries waiting\n"
"in the registry's outbox (CAEP events to receivers, RADIUS Disconnect and CoA\n"
"requests to NASes), how many of each kind, how many per target (of the targets\n"
"the oldest ones go to), and the oldest 20: id, kind, target, device, attempts,\n"
"when the next attempt is due and the last attempt's error. Times are ISO 8601\n"
"UTC. Exit 0 shown (an empty outbox too), 2 usage.\n"
"\n"
"  --registry FILE       the registry (sqlite:PATH or a file; never created)\n"
"  --json                a JSON object instead of text\n"
"  --help                this text\n";

#define OLDEST_MAX 20

static json_t *text_json(const char *v)
{
	return v && v[0] ? json_string(v) : json_null();
}

json_t *cmd_session_json(const tpa_session *se)
{
	json_t *o = json_object();

	json_object_set_new(o, "device_id", json_string(se->device_id));
	json_object_set_new(o, "nas_ip", text_json(se->nas_ip));
	json_object_set_new(o, "nas_identifier", text_json(se->nas_identifier));
	json_object_set_new(o, "nas_port", text_json(se->nas_port));
	json_object_set_new(o, "session_id", json_string(se->session_id));
	json_object_set_new(o, "calling_station", text_json(se->calling_station));
	json_object_set_new(o, "user_name", text_json(se->user_name));
	json_object_set_new(o, "started_at", cmd_time_json(se->started_at));
	json_object_set_new(o, "updated_at", cmd_time_json(se->updated_at));
	return o;
}

static const char *dash(const char *v)
{
	return v && v[0] ? v : "-";
}

void cmd_session_print(const tpa_session *se, const char *lead)
{
	char s[32], u[32];

	printf("%s%snas %s (%s)  port %s  session %s  station %s  user %s  started %s  "
	       "updated %s\n", lead, lead[0] ? "  " : "", dash(se->nas_ip),
	       dash(se->nas_identifier), dash(se->nas_port), se->session_id,
	       dash(se->calling_station), dash(se->user_name),
	       cmd_when(s, sizeof(s), se->started_at), cmd_when(u, sizeof(u), se->updated_at));
}

/* The options both commands take; 0, or the exit status of a usage error
 * or --help (*done set). */
static tpa_exit options(const char **registry, int *json, int *done, const char *cmd,
			const char *help, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "registry", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*done = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'R': *registry = optarg; break;
		case 'j': *json = 1; break;
		case 'h': return cmd_help(help);
		default: return cmd_bad_option(cmd, help, argv);
		}
	}
	if (!*registry)
		return cmd_usage_error(cmd, help, "--registry FILE is required");
	*done = 0;
	return TPA_EXIT_OK;
}

static tpa_exit open_registry(tpa_store **store, const char *registry)
{
	if (tpa_store_open_existing(store, registry) < 0) {
		fprintf(stderr, "verifier: %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	return TPA_EXIT_OK;
}

tpa_exit cmd_sessions(int argc, char **argv)
{
	const char *registry = NULL, *verb;
	char id[TPA_DEVICE_ID_LEN + 1], dev[128];
	tpa_session *all = NULL;
	tpa_store *store = NULL;
	size_t n = 0, i;
	int json = 0, done, err;
	tpa_exit rc;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cmd_help(sessions_help);
	if (argc < 2)
		return cmd_usage_error("sessions", sessions_help, "a verb is required");
	verb = argv[1];
	if (strcmp(verb, "list") != 0)
		return cmd_usage_error("sessions", sessions_help, "unknown verb '%.40s'", verb);
	argc--;
	argv++;
	optind = 1;
	rc = options(&registry, &json, &done, "sessions", sessions_help, argc, argv);
	if (done)
		return rc;
	if (optind < argc - 1)
		return cmd_usage_error("sessions", sessions_help, "at most one DEVICE");
	if ((rc = open_registry(&store, registry)) != TPA_EXIT_OK)
		return rc;
	if (optind == argc - 1 && (err = tpa_store_find_device(id, store, argv[optind])) < 0) {
		fprintf(stderr, "verifier: sessions list: %s\n", tpa_err_last());
		rc = err == TPA_ERR_NOT_FOUND || err == TPA_ERR_INVALID_ARG ||
		     err == TPA_ERR_CONFLICT ? TPA_EXIT_NO : TPA_EXIT_USAGE;
		goto out;
	}
	if (tpa_store_sessions(&all, &n, store, optind == argc - 1 ? id : NULL) < 0) {
		fprintf(stderr, "verifier: sessions list: %s\n", tpa_err_last());
		rc = TPA_EXIT_USAGE;
		goto out;
	}
	if (json) {
		json_t *a = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(a, cmd_session_json(&all[i]));
		cmd_print_json(a);
	} else {
		for (i = 0; i < n; i++)
			cmd_session_print(&all[i], cmd_device_text(dev, sizeof(dev), store,
								   all[i].device_id));
		printf("%zu open session%s\n", n, n == 1 ? "" : "s");
	}
	rc = TPA_EXIT_OK;
out:
	free(all);
	tpa_store_close(store);
	return rc;
}

/* ---- outbox ---- */

static const char *const kinds[] = { "caep", "radius" };
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

typedef struct {
	const char *kind, *target;
	size_t count;
} target_count;

static int oldest_first(const void *a, const void *b)
{
	const tpa_outbox_item *x = a, *y = b;

	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static json_t *item_json(const tpa_outbox_item *it)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer((json_int_t)it->id));
	json_object_set_new(o, "kind", json_string(it->kind));
	json_object_set_new(o, "target", json_string(it->target));
	json_object_set_new(o, "device_id", text_json(it->device_id));
	json_object_set_new(o, "created_at", cmd_time_json(it->created_at));
	json_object_set_new(o, "attempts", json_integer((json_int_t)it->attempts));
	json_object_set_new(o, "next_at", cmd_time_json(it->next_at));
	json_object_set_new(o, "last_error", text_json(it->last_error));
	return o;
}

static void item_print(const tpa_outbox_item *it, const char *dev, int64_t now)
{
	char c[32], t[32];

	printf("  %lld  %-6s  %s  device %s  created %s  attempts %u  next %s  last error %s\n",
	       (long long)it->id, it->kind, it->target, it->device_id[0] ? dev : "-",
	       cmd_when(c, sizeof(c), it->created_at),
	       it->attempts, it->next_at <= now ? "now" : cmd_when(t, sizeof(t), it->next_at),
	       it->last_error[0] ? it->last_error : "-");
}

static void outbox_print(tpa_store *store, const size_t *per_kind, size_t total,
			 const target_count *tc, size_t ntc, const tpa_outbox_item *it, size_t n)
{
	int64_t now = (int64_t)time(NULL);
	char dev[128];
	size_t i;

	if (!total) {
		printf("outbox: empty\n");
		return;
	}
	printf("outbox: %zu waiting", total);
	for (i = 0; i < NKINDS; i++)
		printf("%s%s %zu", i ? ", " : ": ", kinds[i], per_kind[i]);
	printf("\n");
	for (i = 0; i < ntc; i++)
		printf("  %-6s  %s  %zu\n", tc[i].kind, tc[i].target, tc[i].count);
	printf("oldest %zu:\n", n);
	for (i = 0; i < n; i++)
		item_print(&it[i], cmd_device_text(dev, sizeof(dev), store, it[i].device_id), now);
}

static json_t *outbox_json(const size_t *per_kind, size_t total, const target_count *tc,
			   size_t ntc, const tpa_outbox_item *it, size_t n)
{
	json_t *o = json_object(), *k = json_object(), *t = json_array(), *a = json_array();
	size_t i;

	json_object_set_new(o, "waiting", json_integer((json_int_t)total));
	for (i = 0; i < NKINDS; i++)
		json_object_set_new(k, kinds[i], json_integer((json_int_t)per_kind[i]));
	json_object_set_new(o, "kinds", k);
	for (i = 0; i < ntc; i++) {
		json_t *e = json_object();

		json_object_set_new(e, "kind", json_string(tc[i].kind));
		json_object_set_new(e, "target", json_string(tc[i].target));
		json_object_set_new(e, "waiting", json_integer((json_int_t)tc[i].count));
		json_array_append_new(t, e);
	}
	json_object_set_new(o, "targets", t);
	for (i = 0; i < n; i++)
		json_array_append_new(a, item_json(&it[i]));
	json_object_set_new(o, "oldest", a);
	return o;
}

tpa_exit cmd_outbox(int argc, char **argv)
{
	const char *registry = NULL;
	tpa_outbox_item *items[NKINDS] = { NULL }, *all = NULL;
	size_t got[NKINDS] = { 0 }, per_kind[NKINDS] = { 0 }, total = 0, n = 0, ntc = 0, i, j, k;
	target_count tc[NKINDS * OLDEST_MAX];
	tpa_store *store = NULL;
	int json = 0, done;
	tpa_exit rc;

	optind = 1;
	rc = options(&registry, &json, &done, "outbox", outbox_help, argc, argv);
	if (done)
		return rc;
	if (optind != argc)
		return cmd_usage_error("outbox", outbox_help, "no arguments besides the options");
	if ((rc = open_registry(&store, registry)) != TPA_EXIT_OK)
		return rc;
	rc = TPA_EXIT_USAGE;
	/* Each kind's count, its oldest (every item is due at INT64_MAX), and
	 * the count of each target those go to. */
	for (k = 0; k < NKINDS; k++) {
		if (tpa_store_outbox_count(&per_kind[k], store, kinds[k], NULL) < 0 ||
		    tpa_store_outbox_due(&items[k], &got[k], store, kinds[k], NULL, INT64_MAX,
					 OLDEST_MAX) < 0)
			goto fail;
		total += per_kind[k];
		for (i = 0; i < got[k]; i++) {
			for (j = 0; j < ntc; j++)
				if (tc[j].kind == kinds[k] && strcmp(tc[j].target, items[k][i].target) == 0)
					break;
			if (j < ntc)
				continue;
			tc[ntc].kind = kinds[k];
			tc[ntc].target = items[k][i].target;
			if (tpa_store_outbox_count(&tc[ntc].count, store, kinds[k], tc[ntc].target) < 0)
				goto fail;
			ntc++;
		}
	}
	/* The oldest of all kinds together (shallow copies: the bodies stay
	 * the per-kind lists'). */
	for (k = 0; k < NKINDS; k++)
		n += got[k];
	if (n && !(all = calloc(n, sizeof(*all)))) {
		fprintf(stderr, "verifier: outbox: out of memory\n");
		rc = TPA_EXIT_INTERNAL;
		goto out;
	}
	for (n = 0, k = 0; k < NKINDS; k++)
		for (i = 0; i < got[k]; i++)
			all[n++] = items[k][i];
	if (n)
		qsort(all, n, sizeof(*all), oldest_first);
	if (n > OLDEST_MAX)
		n = OLDEST_MAX;
	if (json)
		cmd_print_json(outbox_json(per_kind, total, tc, ntc, all, n));
	else
		outbox_print(store, per_kind, total, tc, ntc, all, n);
	rc = TPA_EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "verifier: outbox: %s\n", tpa_err_last());
out:
	free(all);
	for (k = 0; k < NKINDS; k++)
		tpa_outbox_items_free(items[k], got[k]);
	tpa_store_close(store);
	return rc;
}
