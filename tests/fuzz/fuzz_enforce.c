/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: what continuous enforcement reads from others. The first
 * byte picks the decoder, the rest is its input:
 *   0  a RADIUS Class as FreeRADIUS sends it back (tpa_http_class_parse)
 *   1  an outbox RADIUS item, read from the registry (session JSON)
 *   2  an outbox CAEP item, read from the registry (change JSON)
 *   3  a device's network-access certificate (tpa_devcert_read)
 *   4  a --radius-das / --caep-receiver setting's syntax (no file named)
 *   5  a certificate's issuer and serial as rlm_rest sends them
 *      (tpa_devcert_key_valid, tpa_devcert_serial_norm)
 * Each must answer or refuse; what it accepts must hold its promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/compliance.h"
#include "tpa/devcert.h"
#include "tpa/http.h"
#include "tpa/watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, id[TPA_DEVICE_ID_LEN + 1];
	char jti[TPA_CAEP_JTI_LEN + 1], dev[TPA_DEVICE_ID_LEN + 1], why[TPA_CAEP_REASON_MAX + 1];
	tpa_session se;
	tpa_caep_change c;
	tpa_device_cert dc;
	tpa_watch_receiver r;
	int admitted;

	if (size < 1 || size > (1u << 16))
		return 0;
	if (!(s = malloc(size)))
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0:
		if (tpa_http_class_parse(id, &admitted, s) == 0 &&
		    (!tpa_device_id_valid(id) || (admitted != 0 && admitted != 1)))
			abort();
		break;
	case 1:
		if (tpa_watch_session_from_json(&se, s) == 0 &&
		    (!memchr(se.session_id, 0, sizeof(se.session_id)) ||
		     !memchr(se.nas_ip, 0, sizeof(se.nas_ip)) ||
		     !(se.session_id[0] || se.user_name[0] || se.calling_station[0])))
			abort();
		break;
	case 2:
		if (tpa_watch_change_from_json(&c, jti, dev, why, s) == 0 &&
		    (!memchr(jti, 0, sizeof(jti)) || !memchr(dev, 0, sizeof(dev)) ||
		     !memchr(why, 0, sizeof(why))))
			abort();
		break;
	case 3:
		if (tpa_devcert_read(&dc, data + 1, size - 1) == 0 &&
		    tpa_devcert_key_valid(dc.issuer, dc.serial) != 0)
			abort();
		break;
	case 4:
		/* A receiver setting names no file here: bearer-file= would
		 * read one. */
		if (!strstr(s, "bearer-file") && tpa_watch_receiver_parse(&r, s) == 0) {
			if (strncmp(r.url, "http", 4) != 0)
				abort();
			tpa_watch_receiver_clear(&r);
		}
		break;
	default: {
		char *sep = strchr(s, '\n');
		char norm[TPA_CERT_SERIAL_MAX + 1];

		if (sep) {
			*sep = '\0';
			(void)tpa_devcert_key_valid(s, sep + 1);
			if (tpa_devcert_serial_norm(norm, sep + 1) == 0 &&
			    strlen(norm) > TPA_CERT_SERIAL_MAX)
				abort();
		}
		break;
	}
	}
	free(s);
	return 0;
}
