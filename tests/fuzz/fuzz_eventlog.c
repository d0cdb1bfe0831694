/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: the event-log parser and the whole evaluation of a log as
 * evidence (replay, the comparison with quoted PCRs, the trusted-launch
 * state, data and separator checks), offline and against a quote of every
 * PCR at zero, on arbitrary bytes; offline, the state's Secure Boot
 * hygiene against a small bundle (one revoked image, certificate and CA). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/boot.h"
#include "tpa/eventlog.h"
#include "tpa/sbclaims.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char bundle[] =
	"{\"format\":\"tpa-secureboot-ref\",\"version\":1,\"source\":\"fuzz\","
	"\"date\":\"2026-07-15\",\"revoked_images\":{\"x64\":[{\"sha256\":"
	"\"80b4d96931bf0d02fd91a61e19d14f1da452e66db2408ca8604d411f92659f0a\","
	"\"added\":\"2018-04-01\"}]},\"revoked_certificates\":[{\"sha256\":"
	"\"1111111111111111111111111111111111111111111111111111111111111111\","
	"\"name\":\"A CA\",\"added\":\"2024-02-01\"}],\"svns\":[],\"cas\":[{\"sha256\":"
	"\"1111111111111111111111111111111111111111111111111111111111111111\","
	"\"name\":\"A CA\",\"store\":\"db\",\"generation\":2011}],"
	"\"test_key_subjects\":[\"DO NOT TRUST\"]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero[64];
	static tpa_sbref *ref;
	tpa_sb_claims sc;
	tpa_eventlog *log = NULL;
	tpa_boot_input in;
	tpa_findings f;
	tpa_pcr_set q;
	tpa_boot b;
	size_t i;

	if (tpa_eventlog_parse(&log, data, size) == 0) {
		for (i = 0; i < tpa_eventlog_count(log); i++) {
			const tpa_event *ev = tpa_eventlog_event(log, i);

			/* Every event lies inside the log. */
			if (ev->offset >= size || ev->data_len > size)
				abort();
		}
		tpa_eventlog_free(log);
	}
	memset(&in, 0, sizeof(in));
	in.event_log = data;
	in.event_log_len = size;
	memset(&f, 0, sizeof(f));
	if (tpa_boot_evaluate(&b, &f, &in) < 0 && b.log)
		abort();
	/* Nothing counts that the log did not prove offline either. */
	if (b.state.counted & ~b.counted)
		abort();
	if (!ref && tpa_sbref_parse(&ref, (const uint8_t *)bundle, sizeof(bundle) - 1) < 0)
		abort();
	tpa_sb_claims_derive(&sc, &b.state, ref);
	if (!sc.judged || (sc.dbx_current != TPA_SBA_UNKNOWN &&
			   b.state.facts[TPA_FACT_DBX].status != TPA_FACT_VERIFIED))
		abort();
	tpa_boot_clear(&b);
	memset(&q, 0, sizeof(q));
	tpa_pcr_set_add_bank(&q, 0x000B);
	for (i = 0; i < 24; i++)
		tpa_pcr_set_add(&q, (uint32_t)i, zero, 32);
	in.quoted = &q;
	memset(&f, 0, sizeof(f));
	tpa_boot_evaluate(&b, &f, &in);
	/* Only replayed PCRs count. */
	if (b.counted && !tpa_findings_get(&f, TPA_CHECK_EVENTLOG_REPLAY))
		abort();
	tpa_boot_clear(&b);
	return 0;
}
