/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: what the HTTP face parses itself (libmicrohttpd parses the
 * rest): the request path into a route, an Authorization header into a
 * Bearer token, and a listen address. The first byte picks which. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[TPA_DEVICE_ID_LEN + 1], *s;
	const char *tok;
	size_t len, i;
	tpa_http_route rt;

	if (size < 1 || !(s = malloc(size)))
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		rt = tpa_http_route_parse(s, id);
		if (rt == TPA_HTTP_ROUTE_COMPLIANCE) {
			if (strlen(id) != TPA_DEVICE_ID_LEN || !strstr(s, id))
				abort();
			for (i = 0; i < TPA_DEVICE_ID_LEN; i++)
				if (!strchr("0123456789abcdef", id[i]))
					abort();
		} else if (id[0]) {
			abort();
		}
		break;
	case 1:
		if (tpa_http_bearer(&tok, &len, s) == 0) {
			if (len == 0 || len > TPA_HTTP_TOKEN_MAX || tok < s || tok + len > s + strlen(s))
				abort();
			for (i = 0; i < len; i++)
				if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					    "0123456789-_.", tok[i]) || !tok[i])
					abort();
		} else if (tok || len) {
			abort();
		}
		break;
	default:
		/* Numeric addresses only: a name would be a DNS query. */
		if (strspn(s, "0123456789.:[]") == strlen(s))
			(void)tpa_http_check_listen(s, 1);
		break;
	}
	free(s);
	return 0;
}
