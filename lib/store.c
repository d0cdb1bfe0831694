/* SPDX-License-Identifier: BSD-3-Clause */
/* The registry interface: dispatch to the backend. */
#include <stddef.h>

#include "tpa/err.h"
#include "tpa/store.h"

#define CHECK(s) do { if (!(s) || !(s)->ops) \
	return tpa_err_fail(TPA_ERR_INVALID_ARG, "store: not open"); } while (0)

const char *tpa_device_state_name(tpa_device_state st)
{
	switch (st) {
	case TPA_DEVICE_ACTIVE: return "active";
	case TPA_DEVICE_REVOKED: return "revoked";
	}
	return "unknown";
}

void tpa_store_close(tpa_store *s)
{
	if (s && s->ops)
		s->ops->close(s);
}

int tpa_store_enroll(tpa_store *s, const char *id, const uint8_t *ek_pub,
		     size_t ek_pub_len, const uint8_t *ek_cert, size_t ek_cert_len,
		     const uint8_t *ak_pub, size_t ak_pub_len, const char *ak_name,
		     int64_t now)
{
	CHECK(s);
	return s->ops->enroll(s, id, ek_pub, ek_pub_len, ek_cert, ek_cert_len, ak_pub,
			      ak_pub_len, ak_name, now);
}

int tpa_store_get(tpa_device *out, tpa_store *s, const char *id)
{
	CHECK(s);
	return s->ops->get(out, s, id);
}

int tpa_store_find_by_ak(tpa_device *out, tpa_store *s, const char *ak_name)
{
	CHECK(s);
	return s->ops->find_by_ak(out, s, ak_name);
}

int tpa_store_set_state(tpa_store *s, const char *id, tpa_device_state st, int64_t now)
{
	CHECK(s);
	return s->ops->set_state(s, id, st, now);
}

int tpa_store_remove(tpa_store *s, const char *id, int64_t now)
{
	CHECK(s);
	return s->ops->remove(s, id, now);
}

int tpa_store_record(tpa_store *s, const char *id, int compliant, const char *reasons,
		     int64_t now)
{
	CHECK(s);
	return s->ops->record(s, id, compliant, reasons, now);
}

int tpa_store_list(tpa_device **out, size_t *n, tpa_store *s)
{
	CHECK(s);
	return s->ops->list(out, n, s);
}

int tpa_store_audit_count(size_t *n, tpa_store *s, const char *id)
{
	CHECK(s);
	return s->ops->audit_count(n, s, id);
}
