/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: the Secure Boot reference bundle and the Microsoft list it
 * is built from are untrusted input. Arbitrary bytes are read as a bundle
 * (what is read must answer its own lookups) and as the list (what builds
 * must read back, which the builder itself checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/sbref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_sbref *r = NULL;
	char *built = NULL;
	size_t a, i;

	if (tpa_sbref_parse(&r, data, size) == 0) {
		for (a = 0; a < TPA_SB_ARCH_COUNT; a++)
			for (i = 0; i < r->nimages[a]; i++)
				if (tpa_sbref_image_revoked(r, (tpa_sb_arch)a,
							    r->images[a][i].sha256) !=
				    &r->images[a][i])
					abort();
		for (i = 0; i < r->ncas; i++)
			if (tpa_sbref_ca_find(r, r->cas[i].sha256) != &r->cas[i])
				abort();
		for (i = 0; i < r->ntest_subjects; i++)
			if (!tpa_sbref_test_subject(r, r->test_subjects[i]))
				abort();
		tpa_sbref_free(r);
	}
	if (tpa_sbref_build(&built, data, size, NULL, 0, "fuzz", "2026-07-15") == 0)
		free(built);
	return 0;
}
