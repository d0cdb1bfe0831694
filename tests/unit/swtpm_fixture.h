/* SPDX-License-Identifier: BSD-3-Clause */
/* A real swtpm for in-process tests and benchmarks, started through
 * simulator/tpa-swtpm in a private directory and torn down again. */
#ifndef TPA_TEST_SWTPM_FIXTURE_H
#define TPA_TEST_SWTPM_FIXTURE_H

typedef struct {
	char dir[256];
	char tcti[512];
} swtpm_fixture;

/* 0 on success; the simulator script is found through TPA_SIMULATOR or
 * simulator/tpa-swtpm relative to the working directory. */
int swtpm_fixture_start(swtpm_fixture *f);
void swtpm_fixture_stop(swtpm_fixture *f);

#endif
