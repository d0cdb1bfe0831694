/* SPDX-License-Identifier: BSD-3-Clause */
/* The fixed key, clock and binding of the seal fuzz target and its seeds
 * (tests/fuzz/mkseed writes sealed ids the target opens). */
#ifndef TPA_FUZZ_SEAL_FIXTURE_H
#define TPA_FUZZ_SEAL_FIXTURE_H

#include <stdint.h>

#define SEAL_FIXTURE_NOW 1800000000000ull        /* ms since the epoch */
static const uint8_t seal_fixture_key[32] = { 0x53, 0x65, 0x61, 0x6c, 0x20, 0x66, 0x75, 0x7a,
					     0x7a, 0x20, 0x6b, 0x65, 0x79 };
static const uint8_t seal_fixture_binding[32] = { 0x62, 0x69, 0x6e, 0x64 };

static inline uint64_t seal_fixture_clock(void *ctx)
{
	(void)ctx;
	return SEAL_FIXTURE_NOW;
}

#endif
