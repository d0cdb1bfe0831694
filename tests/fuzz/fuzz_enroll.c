/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: the verifier's Enroll and Activate handlers on arbitrary
 * request bytes, with a registry and the real TPM manufacturer CAs of
 * tests/data/ekcerts: protobuf decoding, EK template and AK checks, EK
 * certificate chains (DER from the network), sealing and unsealing of
 * enrollments, the binding of an enrollment to its EK and AK. The first
 * byte picks the handler (even: Enroll, odd: Activate). The CAs are loaded
 * once, as the service does at start: reading them per request held this
 * target at ~300 executions a second. Run from the repository root. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tpa/err.h"
#include "tpa/service.h"
#include "tpa/store.h"
#include "tpa/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tpa_service *svc;
static tpa_token_key *key;
static tpa_store *store;
static char dir[] = "/tmp/tpa-fuzz-enroll-XXXXXX";
static char db[sizeof(dir) + 16];

static void cleanup(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char p[sizeof(db) + 8];
	size_t i;

	tpa_service_free(svc);
	tpa_store_close(store);
	tpa_token_key_free(key);
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db, suffixes[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void setup(void)
{
	tpa_service_opts o = { 0 };

	if (!mkdtemp(dir))
		abort();
	snprintf(db, sizeof(db), "%s/registry.db", dir);
	if (tpa_token_key_new(&key) < 0 || tpa_store_open_sqlite(&store, db) < 0)
		abort();
	o.key = key;
	o.store = store;
	o.ek_ca = "tests/data/ekcerts";
	if (tpa_service_new(&svc, &o) < 0) {
		fprintf(stderr, "fuzz_enroll: %s (run from the repository root)\n", tpa_err_last());
		abort();
	}
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_rpc_reply r = { 0 };

	if (!svc)
		setup();
	if (size == 0)
		return 0;
	r.peer_authenticated = 0;
	if (data[0] & 1)
		tpa_service_activate(&r, data + 1, size - 1, svc);
	else
		tpa_service_enroll(&r, data + 1, size - 1, svc);
	if (r.status == TPA_RPC_OK && (!r.data || r.len == 0))
		abort(); /* OK always carries a reply */
	if (r.status != TPA_RPC_OK && !r.details[0])
		abort(); /* every refusal names its reason */
	/* Activate cannot succeed without a TPM releasing the credential. */
	if ((data[0] & 1) && r.status == TPA_RPC_OK)
		abort();
	free(r.data);
	return 0;
}
