/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/v1/attest.pb-c.h"
#include "tpa/err.h"
#include "tpa/evidence.h"
#include "tpa/token.h"

static int pack_msg(uint8_t **out, size_t *len, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(n ? n : 1);

	if (!b)
		return tpa_err_fail(TPA_ERR_NOMEM, "pack: out of memory");
	protobuf_c_message_pack(m, b);
	*out = b;
	*len = n;
	return 0;
}

int tpa_challenge_request_pack(uint8_t **out, size_t *len, const char *hint, const uint8_t *rp,
			       size_t rp_len)
{
	Attest__V1__GetChallengeRequest req = ATTEST__V1__GET_CHALLENGE_REQUEST__INIT;

	if (!out || !len)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "pack: NULL");
	if (hint && strlen(hint) > TPA_DEVICE_HINT_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "device hint longer than %d bytes",
				    TPA_DEVICE_HINT_MAX);
	if (rp_len && (!rp || rp_len < TPA_RP_NONCE_MIN || rp_len > TPA_RP_NONCE_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "relying-party nonce of %zu bytes "
				    "(expected %d..%d)", rp_len, TPA_RP_NONCE_MIN, TPA_RP_NONCE_MAX);
	req.device_hint = (char *)(hint ? hint : "");
	req.relying_party_nonce.data = (uint8_t *)rp;
	req.relying_party_nonce.len = rp_len;
	return pack_msg(out, len, &req.base);
}

/* A sealed id: opaque, but lower-case hex of a bounded length. */
static int valid_id(const char *id)
{
	size_t i;

	for (i = 0; id[i]; i++)
		if (i >= TPA_CLIENT_ID_MAX ||
		    !((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return i > 0;
}

int tpa_challenge_unpack(tpa_client_challenge *out, const uint8_t *b, size_t n)
{
	Attest__V1__GetChallengeResponse *r;
	int err = TPA_ERR_PARSE;

	if (!out || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "challenge: NULL");
	if (!(r = attest__v1__get_challenge_response__unpack(NULL, n, b)))
		return tpa_err_fail(TPA_ERR_PARSE, "challenge: malformed reply");
	if (!r->challenge_id || !valid_id(r->challenge_id)) {
		tpa_err_set("challenge: id is not 1 to %d lower-case hex characters",
			    TPA_CLIENT_ID_MAX);
		goto cleanup;
	}
	if (r->nonce.len < TPA_NONCE_MIN || r->nonce.len > TPA_NONCE_MAX) {
		tpa_err_set("challenge: nonce of %zu bytes (expected %d..%d)",
			    r->nonce.len, TPA_NONCE_MIN, TPA_NONCE_MAX);
		goto cleanup;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", r->challenge_id);
	memcpy(out->nonce, r->nonce.data, r->nonce.len);
	out->nonce_len = r->nonce.len;
	out->expires_at_unix = r->expires_at_unix;
	out->valid_for_ms = r->valid_for_ms;
	err = 0;
cleanup:
	attest__v1__get_challenge_response__free_unpacked(r, NULL);
	return err;
}

/* What names the host, as it reports it: only values the shared validator
 * keeps (tpa/hostinfo.h), so that nothing the verifier would refuse is
 * sent; NULL when there is nothing to send. */
static Attest__V1__HostInfo *host_msg(Attest__V1__HostInfo *m, const tpa_host_info *hi)
{
	if (!tpa_host_info_any(hi))
		return NULL;
	attest__v1__host_info__init(m);
	m->hostname = (char *)hi->hostname;
	m->machine_id = (char *)hi->machine_id;
	m->dmi_product = (char *)hi->dmi_product;
	m->dmi_serial = (char *)hi->dmi_serial;
	return m;
}

/* The host names to send, checked again (a caller's struct may hold
 * anything): 0, or TPA_ERR_INVALID_ARG naming the field. */
static int host_check(const tpa_host_info *hi)
{
	tpa_host_info copy;
	unsigned f;

	for (f = 0; hi && f < TPA_HOST_NFIELDS; f++) {
		const char *v = tpa_host_field_ptr((tpa_host_info *)hi, (tpa_host_field)f);
		size_t n = strnlen(v, TPA_HOSTNAME_MAX + 1);

		if (tpa_host_info_set(&copy, (tpa_host_field)f, v, n) < 0 ||
		    strcmp(v, tpa_host_field_ptr(&copy, (tpa_host_field)f)) != 0)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "host info: %s is not sent as it "
					    "is", tpa_host_field_name((tpa_host_field)f));
	}
	return 0;
}

static Attest__V1__Tristate tristate(tpa_tristate t)
{
	return t == TPA_TRI_ON ? ATTEST__V1__TRISTATE__TRISTATE_ON :
	       t == TPA_TRI_OFF ? ATTEST__V1__TRISTATE__TRISTATE_OFF :
	       ATTEST__V1__TRISTATE__TRISTATE_UNKNOWN;
}

int tpa_attest_request_pack(uint8_t **out, size_t *len, const char *challenge_id,
			    const tpa_tpm_quote_result *q, const uint8_t *ak_public,
			    size_t ak_public_len, const tpa_pcr_set *pcrs,
			    const tpa_attest_extras *extras)
{
	Attest__V1__ClientView cv = ATTEST__V1__CLIENT_VIEW__INIT;
	const char *hint = extras ? extras->hint : NULL;
	Attest__V1__AttestRequest req = ATTEST__V1__ATTEST_REQUEST__INIT;
	Attest__V1__Quote quote = ATTEST__V1__QUOTE__INIT;
	Attest__V1__BoundKey bk = ATTEST__V1__BOUND_KEY__INIT;
	Attest__V1__HostInfo host;
	Attest__V1__PcrBank banks[TPA_BANKS_MAX], *bankp[TPA_BANKS_MAX];
	Attest__V1__PcrValue vals[TPA_BANKS_MAX][TPA_PCR_COUNT];
	Attest__V1__PcrValue *valp[TPA_BANKS_MAX][TPA_PCR_COUNT];
	uint32_t b, i;

	if (!out || !len || !challenge_id || !q || !ak_public || !pcrs)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "pack evidence: NULL");
	if (pcrs->nbanks > TPA_BANKS_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "pack evidence: too many banks");
	if (hint && strlen(hint) > TPA_DEVICE_HINT_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "device hint longer than %d bytes",
				    TPA_DEVICE_HINT_MAX);
	quote.attest.data = (uint8_t *)q->attest;
	quote.attest.len = q->attest_len;
	quote.signature.data = (uint8_t *)q->signature;
	quote.signature.len = q->signature_len;
	for (b = 0; b < pcrs->nbanks; b++) {
		const tpa_pcr_bank *pb = &pcrs->banks[b];

		attest__v1__pcr_bank__init(&banks[b]);
		banks[b].hash_alg = pb->hash_alg;
		for (i = 0; i < pb->count && i < TPA_PCR_COUNT; i++) {
			attest__v1__pcr_value__init(&vals[b][i]);
			vals[b][i].index = pb->index[i];
			vals[b][i].digest.data = (uint8_t *)pb->digest[i];
			vals[b][i].digest.len = tpa_hash_size(pb->hash_alg);
			valp[b][i] = &vals[b][i];
		}
		banks[b].n_pcrs = i;
		banks[b].pcrs = valp[b];
		bankp[b] = &banks[b];
	}
	req.challenge_id = (char *)challenge_id;
	req.quote = &quote;
	req.ak_public.data = (uint8_t *)ak_public;
	req.ak_public.len = ak_public_len;
	req.n_pcr_banks = pcrs->nbanks;
	req.pcr_banks = bankp;
	req.device_hint = (char *)(hint ? hint : "");
	if (extras && extras->bound_key) {
		bk.public_.data = (uint8_t *)extras->bound_key->key_public;
		bk.public_.len = extras->bound_key->key_public_len;
		bk.certify_info.data = (uint8_t *)extras->bound_key->attest;
		bk.certify_info.len = extras->bound_key->attest_len;
		bk.signature.data = (uint8_t *)extras->bound_key->signature;
		bk.signature.len = extras->bound_key->signature_len;
		req.bound_key = &bk;
	}
	if (extras && extras->rp_nonce_len) {
		req.relying_party_nonce.data = (uint8_t *)extras->rp_nonce;
		req.relying_party_nonce.len = extras->rp_nonce_len;
	}
	if (extras && extras->event_log && extras->event_log_len) {
		req.event_log.data = (uint8_t *)extras->event_log;
		req.event_log.len = extras->event_log_len;
	}
	if (extras && extras->view) {
		cv.secure_boot = tristate(extras->view->secure_boot);
		cv.setup_mode = tristate(extras->view->setup_mode);
		cv.tpm_manufacturer = (char *)extras->view->tpm_manufacturer;
		cv.tpm_firmware_version = extras->view->tpm_firmware_version;
		cv.virtual_tpm = extras->view->virtual_tpm;
		req.client_view = &cv;
	}
	if (extras && extras->host) {
		if (host_check(extras->host) < 0)
			return TPA_ERR_INVALID_ARG;
		req.host = host_msg(&host, extras->host);
	}
	return pack_msg(out, len, &req.base);
}

int tpa_manufacturer_is_virtual(const char *m)
{
	static const char *virt[] = { "IBM", "MSFT", "GOOG", "AMZN", "QEMU" };
	size_t i;

	for (i = 0; m && i < sizeof(virt) / sizeof(virt[0]); i++)
		if (strcmp(m, virt[i]) == 0)
			return 1;
	return 0;
}

static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/* A rule's evidence: what was seen and every value the baseline allows,
 * copied (printable) out of the reply, whose size the RPC layer bounds. */
static int rule_evidence_copy(char **seen, char ***expected, size_t *nexpected,
			      const Attest__V1__RuleResult *x)
{
	size_t i;

	if (x->n_expected > TPA_VERDICT_EXPECTED_MAX)
		return tpa_err_fail(TPA_ERR_PARSE, "verdict: rule %s: %zu expected values exceed %d",
				    x->rule ? x->rule : "?", x->n_expected,
				    TPA_VERDICT_EXPECTED_MAX);
	if (x->seen && *x->seen) {
		if (!(*seen = strdup(x->seen)))
			return tpa_err_fail(TPA_ERR_NOMEM, "verdict: out of memory");
		sanitize(*seen);
	}
	if (!x->n_expected)
		return 0;
	if (!(*expected = calloc(x->n_expected, sizeof(**expected))))
		return tpa_err_fail(TPA_ERR_NOMEM, "verdict: out of memory");
	for (i = 0; i < x->n_expected; i++) {
		if (!((*expected)[i] = strdup(x->expected[i] ? x->expected[i] : "")))
			return tpa_err_fail(TPA_ERR_NOMEM, "verdict: out of memory");
		*nexpected = i + 1;
		sanitize((*expected)[i]);
	}
	return 0;
}

int tpa_verdict_reply_unpack(tpa_verdict_reply *out, const uint8_t *b, size_t n)
{
	Attest__V1__AttestResponse *r;
	size_t i;
	int err = TPA_ERR_PARSE;

	if (!out || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "verdict: NULL");
	memset(out, 0, sizeof(*out));
	if (!(r = attest__v1__attest_response__unpack(NULL, n, b)))
		return tpa_err_fail(TPA_ERR_PARSE, "verdict: malformed reply");
	if (!r->verdict) {
		tpa_err_set("verdict: reply without a verdict");
		goto cleanup;
	}
	if (r->verdict->status != ATTEST__V1__VERDICT__STATUS__COMPLIANT &&
	    r->verdict->status != ATTEST__V1__VERDICT__STATUS__NON_COMPLIANT &&
	    r->verdict->status != ATTEST__V1__VERDICT__STATUS__WARNING) {
		tpa_err_set("verdict: unknown status %d", (int)r->verdict->status);
		goto cleanup;
	}
	if (r->verdict->n_checks > TPA_CHECKS_MAX) {
		tpa_err_set("verdict: %zu checks exceed %d", r->verdict->n_checks,
			    TPA_CHECKS_MAX);
		goto cleanup;
	}
	out->warning = r->verdict->status == ATTEST__V1__VERDICT__STATUS__WARNING;
	out->compliant = r->verdict->status == ATTEST__V1__VERDICT__STATUS__COMPLIANT ||
			 out->warning;
	for (i = 0; i < r->verdict->n_checks; i++) {
		const Attest__V1__CheckResult *c = r->verdict->checks[i];

		tpa_findings_add_named(&out->findings, c->name ? c->name : "?", c->passed,
				 "%s", c->detail ? c->detail : "");
	}
	/* Text from the network is printed: keep it printable. */
	for (i = 0; i < out->findings.n; i++) {
		sanitize(out->findings.items[i].name);
		sanitize(out->findings.items[i].detail);
	}
	/* A compliant verdict that lists a failure is not compliant. */
	if (out->compliant && tpa_findings_failed(&out->findings)) {
		tpa_err_set("verdict: compliant with failed checks");
		goto cleanup;
	}
	snprintf(out->outcome, sizeof(out->outcome), "not-appraised");
	if (r->verdict->appraisal) {
		const Attest__V1__Appraisal *a = r->verdict->appraisal;

		if (a->n_rules > TPA_VERDICT_RULES_MAX) {
			tpa_err_set("verdict: %zu baseline rules exceed %d", a->n_rules,
				    TPA_VERDICT_RULES_MAX);
			goto cleanup;
		}
		snprintf(out->outcome, sizeof(out->outcome), "%s", a->outcome ? a->outcome : "");
		snprintf(out->baseline, sizeof(out->baseline), "%s", a->baseline ? a->baseline : "");
		out->baseline_version = a->baseline_version;
		sanitize(out->outcome);
		sanitize(out->baseline);
		for (i = 0; i < a->n_rules; i++) {
			const Attest__V1__RuleResult *x = a->rules[i];

			snprintf(out->rules[i].rule, sizeof(out->rules[i].rule), "%s",
				 x->rule ? x->rule : "");
			snprintf(out->rules[i].severity, sizeof(out->rules[i].severity), "%s",
				 x->severity ? x->severity : "");
			snprintf(out->rules[i].status, sizeof(out->rules[i].status), "%s",
				 x->status ? x->status : "");
			snprintf(out->rules[i].detail, sizeof(out->rules[i].detail), "%s",
				 x->detail ? x->detail : "");
			out->rules[i].event = x->event;
			out->rules[i].pcr = x->pcr;
			sanitize(out->rules[i].rule);
			sanitize(out->rules[i].severity);
			sanitize(out->rules[i].status);
			sanitize(out->rules[i].detail);
			if ((err = rule_evidence_copy(&out->rules[i].seen, &out->rules[i].expected,
						      &out->rules[i].nexpected, x)) < 0)
				goto cleanup;
			err = TPA_ERR_PARSE;
			/* A compliant verdict cannot carry a failed critical rule. */
			if (out->compliant && strcmp(out->rules[i].status, "fail") == 0 &&
			    strcmp(out->rules[i].severity, "warning") != 0) {
				tpa_err_set("verdict: compliant with a failed critical rule");
				goto cleanup;
			}
		}
		out->nrules = a->n_rules;
	}
	if (r->verdict->ak_name)
		snprintf(out->ak_name, sizeof(out->ak_name), "%s", r->verdict->ak_name);
	sanitize(out->ak_name);
	snprintf(out->secure_boot, sizeof(out->secure_boot), "unknown");
	if (r->verdict->trusted_launch) {
		const Attest__V1__TrustedLaunch *tl = r->verdict->trusted_launch;

		out->measured_boot = tl->measured_boot;
		out->events = tl->events;
		if (tl->secure_boot && (strcmp(tl->secure_boot, "enabled") == 0 ||
					strcmp(tl->secure_boot, "disabled") == 0 ||
					strcmp(tl->secure_boot, "unverified") == 0))
			snprintf(out->secure_boot, sizeof(out->secure_boot), "%s",
				 tl->secure_boot);
		if (tl->secure_boot_reason)
			snprintf(out->secure_boot_reason, sizeof(out->secure_boot_reason), "%s",
				 tl->secure_boot_reason);
		if (tl->firmware_version)
			snprintf(out->firmware_version, sizeof(out->firmware_version), "%s",
				 tl->firmware_version);
		if (tl->kernel_cmdline)
			snprintf(out->kernel_cmdline, sizeof(out->kernel_cmdline), "%s",
				 tl->kernel_cmdline);
		out->uefi_debug_mode = tl->uefi_debug_mode;
		if (tl->n_secure_boot_hygiene > TPA_VERDICT_HYGIENE_MAX) {
			tpa_err_set("verdict: %zu Secure Boot hygiene claims exceed %d",
				    tl->n_secure_boot_hygiene, TPA_VERDICT_HYGIENE_MAX);
			goto cleanup;
		}
		for (i = 0; i < tl->n_secure_boot_hygiene; i++) {
			const Attest__V1__HygieneClaim *h = tl->secure_boot_hygiene[i];

			snprintf(out->hygiene[i].name, sizeof(out->hygiene[i].name), "%s",
				 h->name ? h->name : "");
			snprintf(out->hygiene[i].value, sizeof(out->hygiene[i].value), "%s",
				 h->value ? h->value : "");
			snprintf(out->hygiene[i].reason, sizeof(out->hygiene[i].reason), "%s",
				 h->reason ? h->reason : "");
			sanitize(out->hygiene[i].name);
			sanitize(out->hygiene[i].value);
			sanitize(out->hygiene[i].reason);
		}
		out->nhygiene = tl->n_secure_boot_hygiene;
		/* A hostile verifier's text is printed: keep it printable. */
		sanitize(out->secure_boot_reason);
		sanitize(out->firmware_version);
		sanitize(out->kernel_cmdline);
	}
	if (r->token && *r->token) {
		if (strlen(r->token) > TPA_TOKEN_MAX) {
			tpa_err_set("verdict: token longer than %d bytes", TPA_TOKEN_MAX);
			goto cleanup;
		}
		if (!(out->token = strdup(r->token))) {
			err = tpa_err_fail(TPA_ERR_NOMEM, "verdict: out of memory");
			goto cleanup;
		}
		sanitize(out->token);
	}
	err = 0;
cleanup:
	attest__v1__attest_response__free_unpacked(r, NULL);
	if (err < 0)
		tpa_verdict_reply_clear(out);
	return err;
}

void tpa_verdict_reply_clear(tpa_verdict_reply *v)
{
	size_t i, k;

	if (!v)
		return;
	free(v->token);
	/* Every slot: a reply refused half-way has rules past nrules. */
	for (i = 0; i < TPA_VERDICT_RULES_MAX; i++) {
		free(v->rules[i].seen);
		for (k = 0; k < v->rules[i].nexpected; k++)
			free(v->rules[i].expected[k]);
		free(v->rules[i].expected);
	}
	memset(v, 0, sizeof(*v));
}

int tpa_enroll_request_pack(uint8_t **out, size_t *len, const tpa_enroll_keys *k,
			    const uint8_t *const *intermediates, const size_t *intermediate_lens,
			    size_t nintermediates, int replace_aks)
{
	Attest__V1__EnrollRequest req = ATTEST__V1__ENROLL_REQUEST__INIT;
	Attest__V1__HostInfo host;
	ProtobufCBinaryData inter[TPA_ENROLL_INTERMEDIATES_MAX];
	size_t i;

	if (!out || !len || !k || !k->ek_public || !k->ak_public ||
	    (nintermediates && (!intermediates || !intermediate_lens)))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "enroll: NULL");
	if (nintermediates > TPA_ENROLL_INTERMEDIATES_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "enroll: more than %d intermediates",
				    TPA_ENROLL_INTERMEDIATES_MAX);
	for (i = 0; i < nintermediates; i++) {
		inter[i].data = (uint8_t *)intermediates[i];
		inter[i].len = intermediate_lens[i];
	}
	req.ek_public.data = (uint8_t *)k->ek_public;
	req.ek_public.len = k->ek_public_len;
	req.ek_certificate.data = (uint8_t *)k->ek_cert;
	req.ek_certificate.len = k->ek_cert ? k->ek_cert_len : 0;
	if (k->ek_cert_source)
		req.ek_certificate_source = (char *)k->ek_cert_source;
	req.n_ek_intermediates = nintermediates;
	req.ek_intermediates = nintermediates ? inter : NULL;
	req.ak_public.data = (uint8_t *)k->ak_public;
	req.ak_public.len = k->ak_public_len;
	req.replace_aks = replace_aks != 0;
	if (k->host && host_check(k->host) < 0)
		return TPA_ERR_INVALID_ARG;
	req.host = host_msg(&host, k->host);
	return pack_msg(out, len, &req.base);
}

int tpa_enroll_response_unpack(tpa_enrollment *out, const uint8_t *b, size_t n)
{
	Attest__V1__EnrollResponse *r;
	int err = TPA_ERR_PARSE;

	if (!out || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "enroll reply: NULL");
	if (!(r = attest__v1__enroll_response__unpack(NULL, n, b)))
		return tpa_err_fail(TPA_ERR_PARSE, "enroll reply: malformed");
	if (!r->enrollment_id || !valid_id(r->enrollment_id) || !r->credential_blob.len ||
	    r->credential_blob.len > sizeof(out->blob) || !r->encrypted_secret.len ||
	    r->encrypted_secret.len > sizeof(out->secret)) {
		tpa_err_set("enroll reply: missing or oversized fields");
		goto cleanup;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", r->enrollment_id);
	memcpy(out->blob, r->credential_blob.data, r->credential_blob.len);
	out->blob_len = r->credential_blob.len;
	memcpy(out->secret, r->encrypted_secret.data, r->encrypted_secret.len);
	out->secret_len = r->encrypted_secret.len;
	err = 0;
cleanup:
	attest__v1__enroll_response__free_unpacked(r, NULL);
	return err;
}

int tpa_activate_request_pack(uint8_t **out, size_t *len, const char *enrollment_id,
			      const uint8_t *credential, size_t credential_len,
			      const tpa_enroll_keys *k)
{
	Attest__V1__ActivateRequest req = ATTEST__V1__ACTIVATE_REQUEST__INIT;
	Attest__V1__HostInfo host;

	if (!out || !len || !enrollment_id || !credential || !k)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "activate: NULL");
	if (k->host && host_check(k->host) < 0)
		return TPA_ERR_INVALID_ARG;
	req.host = host_msg(&host, k->host);
	req.enrollment_id = (char *)enrollment_id;
	req.credential.data = (uint8_t *)credential;
	req.credential.len = credential_len;
	req.ek_public.data = (uint8_t *)k->ek_public;
	req.ek_public.len = k->ek_public_len;
	req.ek_certificate.data = (uint8_t *)k->ek_cert;
	req.ek_certificate.len = k->ek_cert ? k->ek_cert_len : 0;
	req.ak_public.data = (uint8_t *)k->ak_public;
	req.ak_public.len = k->ak_public_len;
	return pack_msg(out, len, &req.base);
}

int tpa_activate_response_unpack(char *device_id, size_t id_cap, char *ak_name,
				 size_t name_cap, const uint8_t *b, size_t n)
{
	tpa_activation a;

	if (!device_id || !ak_name || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "activate reply: NULL");
	if (tpa_activation_unpack(&a, b, n) < 0)
		return TPA_ERR_PARSE;
	snprintf(device_id, id_cap, "%s", a.device_id);
	snprintf(ak_name, name_cap, "%s", a.ak_name);
	return 0;
}

int tpa_activation_unpack(tpa_activation *out, const uint8_t *b, size_t n)
{
	Attest__V1__ActivateResponse *r;

	if (!out || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "activate reply: NULL");
	memset(out, 0, sizeof(*out));
	if (!(r = attest__v1__activate_response__unpack(NULL, n, b)))
		return tpa_err_fail(TPA_ERR_PARSE, "activate reply: malformed");
	snprintf(out->device_id, sizeof(out->device_id), "%s", r->device_id ? r->device_id : "");
	snprintf(out->ak_name, sizeof(out->ak_name), "%s", r->ak_name ? r->ak_name : "");
	out->aks = r->aks;
	sanitize(out->device_id);
	sanitize(out->ak_name);
	attest__v1__activate_response__free_unpacked(r, NULL);
	return 0;
}

int tpa_activate_response_admission(int *pending, char *admission, size_t cap,
				    const uint8_t *b, size_t n)
{
	Attest__V1__ActivateResponse *r;

	if (!pending || !admission || !cap || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "activate reply: NULL");
	if (!(r = attest__v1__activate_response__unpack(NULL, n, b)))
		return tpa_err_fail(TPA_ERR_PARSE, "activate reply: malformed");
	*pending = r->pending != 0;
	snprintf(admission, cap, "%s", r->admission ? r->admission : "");
	sanitize(admission);
	attest__v1__activate_response__free_unpacked(r, NULL);
	return 0;
}

/* ---- a relying party's calls: GetVerificationKeys, GetDeviceCompliance ---- */

int tpa_keys_request_pack(uint8_t **out, size_t *len)
{
	Attest__V1__GetVerificationKeysRequest req = ATTEST__V1__GET_VERIFICATION_KEYS_REQUEST__INIT;

	if (!out || !len)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "pack: NULL");
	return pack_msg(out, len, &req.base);
}

int tpa_keys_response_unpack(char **jwks, const uint8_t *b, size_t n)
{
	Attest__V1__GetVerificationKeysResponse *r;
	size_t len;
	int err = TPA_ERR_PARSE;

	if (!jwks || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "keys reply: NULL");
	if (!(r = attest__v1__get_verification_keys_response__unpack(NULL, n, b)))
		return tpa_err_fail(TPA_ERR_PARSE, "malformed GetVerificationKeys reply");
	len = r->jwks ? strlen(r->jwks) : 0;
	if (!len) {
		tpa_err_set("malformed GetVerificationKeys reply: no JWKS");
		goto cleanup;
	}
	if (len > TPA_JWKS_MAX) {
		err = tpa_err_fail(TPA_ERR_LIMIT, "GetVerificationKeys reply: a JWKS of %zu bytes "
				   "(at most %d)", len, TPA_JWKS_MAX);
		goto cleanup;
	}
	if (!(*jwks = strdup(r->jwks))) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "keys reply: out of memory");
		goto cleanup;
	}
	/* It is printed: keep it printable. */
	sanitize(*jwks);
	err = 0;
cleanup:
	attest__v1__get_verification_keys_response__free_unpacked(r, NULL);
	return err;
}

int tpa_compliance_request_pack(uint8_t **out, size_t *len, const char *device_id)
{
	Attest__V1__GetDeviceComplianceRequest req = ATTEST__V1__GET_DEVICE_COMPLIANCE_REQUEST__INIT;

	if (!out || !len || !device_id)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "compliance: NULL");
	req.device_id = (char *)device_id;
	return pack_msg(out, len, &req.base);
}

/* A text field copied whole (never cut short) and printable. */
static int compliance_text(char *dst, const char *src, const char *field)
{
	size_t n = src ? strlen(src) : 0;

	if (n > TPA_COMPLIANCE_TEXT_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "compliance reply: %s of %zu bytes (at most %d)",
				    field, n, TPA_COMPLIANCE_TEXT_MAX);
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
	sanitize(dst);
	return 0;
}

int tpa_compliance_response_unpack(tpa_compliance_reply *out, const uint8_t *b, size_t n)
{
	Attest__V1__GetDeviceComplianceResponse *r;
	tpa_compliance_reply c;
	size_t tlen;
	int err;

	if (!out || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "compliance reply: NULL");
	if (!(r = attest__v1__get_device_compliance_response__unpack(NULL, n, b)))
		return tpa_err_fail(TPA_ERR_PARSE, "malformed GetDeviceCompliance reply");
	memset(&c, 0, sizeof(c));
	if ((err = compliance_text(c.device_id, r->device_id, "device_id")) < 0 ||
	    (err = compliance_text(c.outcome, r->outcome, "outcome")) < 0 ||
	    (err = compliance_text(c.state, r->state, "state")) < 0 ||
	    (err = compliance_text(c.baseline, r->baseline, "baseline")) < 0 ||
	    (err = compliance_text(c.reason, r->reason, "reason")) < 0)
		goto cleanup;
	c.compliant = r->compliant;
	c.verdict_at = r->verdict_at;
	c.token_expires_at = r->token_expires_at;
	c.expired = r->expired;
	c.revoked_since_verdict = r->revoked_since_verdict;
	c.stale = r->stale;
	c.due_at = r->due_at;
	if (c.compliant && (c.reason[0] || c.expired || c.revoked_since_verdict || c.stale ||
			    strcmp(c.state, "active") != 0)) {
		err = tpa_err_fail(TPA_ERR_PARSE, "malformed GetDeviceCompliance reply: compliant, "
				   "but %s", c.reason[0] ? "with a reason not to be" :
				   c.expired ? "its token expired" :
				   c.revoked_since_verdict ? "revoked since its verdict" :
				   c.stale ? "the device is stale" :
				   "the device is not active");
		goto cleanup;
	}
	tlen = r->token ? strlen(r->token) : 0;
	if (tlen > TPA_TOKEN_MAX) {
		err = tpa_err_fail(TPA_ERR_LIMIT, "compliance reply: a token of %zu bytes (at most "
				   "%d)", tlen, TPA_TOKEN_MAX);
		goto cleanup;
	}
	if (tlen) {
		if (!(c.token = strdup(r->token))) {
			err = tpa_err_fail(TPA_ERR_NOMEM, "compliance reply: out of memory");
			goto cleanup;
		}
		sanitize(c.token);
	}
	*out = c;
	err = 0;
cleanup:
	attest__v1__get_device_compliance_response__free_unpacked(r, NULL);
	return err;
}

void tpa_compliance_reply_clear(tpa_compliance_reply *r)
{
	if (!r)
		return;
	free(r->token);
	memset(r, 0, sizeof(*r));
}
