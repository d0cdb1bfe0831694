/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swtpm_fixture.h"

static const char *script(void)
{
	const char *s = getenv("TPA_SIMULATOR");

	return s && *s ? s : "simulator/tpa-swtpm";
}

int swtpm_fixture_start(swtpm_fixture *f)
{
	char cmd[1024];
	FILE *p;
	size_t n;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tpa-test-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s start %s", script(), f->dir);
	if (!(p = popen(cmd, "r")))
		return -1;
	n = fread(f->tcti, 1, sizeof(f->tcti) - 1, p);
	if (pclose(p) != 0 || n == 0)
		return -1;
	f->tcti[n] = '\0';
	f->tcti[strcspn(f->tcti, "\n")] = '\0';
	return 0;
}

void swtpm_fixture_stop(swtpm_fixture *f)
{
	char cmd[1024];

	if (!f->dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "%s stop %s && rm -rf %s", script(), f->dir, f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "swtpm fixture: cannot stop %s\n", f->dir);
	f->dir[0] = '\0';
}
