/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: the sealed-id decoders. Arbitrary bytes, as a challenge id
 * and as an enrollment id, are opened with a fixed key: nothing but a
 * sealed id this key made may open, and what opens must say so exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seal_fixture.h"
#include "tpa/err.h"
#include "tpa/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tpa_sealer *s;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[TPA_SEALED_ID_MAX + 64];
	tpa_challenge c;
	tpa_enrollment_seal e;
	int rc;

	if (!s) {
		if (tpa_sealer_new(&s, seal_fixture_key) < 0)
			abort();
		tpa_sealer_set_clock(s, seal_fixture_clock, NULL);
	}
	if (size >= sizeof(id))
		size = sizeof(id) - 1;
	memcpy(id, data, size);
	id[size] = '\0';
	rc = tpa_unseal_challenge(&c, s, id);
	/* Only a whole, well-formed, sealed, unexpired challenge opens. */
	if (rc == 0 && (strlen(id) != TPA_CHALLENGE_ID_LEN || strcmp(c.id, id) != 0 ||
			c.expires_ms <= SEAL_FIXTURE_NOW))
		abort();
	if (rc != 0 && rc != TPA_ERR_PARSE && rc != TPA_ERR_VERIFY)
		abort();
	rc = tpa_unseal_enrollment(&e, s, id, seal_fixture_binding);
	if (rc == 0 && (strlen(id) != TPA_ENROLLMENT_ID_LEN || strcmp(e.id, id) != 0 ||
			e.expires_ms <= SEAL_FIXTURE_NOW))
		abort();
	if (rc != 0 && rc != TPA_ERR_PARSE && rc != TPA_ERR_VERIFY)
		abort();
	return 0;
}
