/* SPDX-License-Identifier: BSD-3-Clause */
/* tpa_proc_cpu_seconds: this process's own CPU time, which grows as it
 * works; a process that is not there, or no pid, is -1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/procstat.h"

static void test_self(void)
{
	double a = tpa_proc_cpu_seconds((long)getpid()), b;
	volatile unsigned long x = 0;
	unsigned long i;

	CU_ASSERT(a >= 0);
	do {
		for (i = 0; i < 10000000UL; i++)
			x += i;
		b = tpa_proc_cpu_seconds((long)getpid());
	} while (b >= 0 && b <= a && b < a + 5);
	CU_ASSERT(b > a);
}

static void test_writes(void)
{
	char path[] = "/tmp/tpa-procstat-XXXXXX";
	double a = tpa_proc_write_bytes((long)getpid()), b;
	static char block[1 << 16];
	int fd = mkstemp(path), i;

	CU_ASSERT(a >= 0);
	CU_ASSERT_FATAL(fd >= 0);
	memset(block, 'x', sizeof(block));
	for (i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
	CU_ASSERT_EQUAL(fsync(fd), 0);
	b = tpa_proc_write_bytes((long)getpid());
	/* tmpfs writes nothing back: at least not less, then. */
	CU_ASSERT(b >= a);
	close(fd);
	unlink(path);
	CU_ASSERT_EQUAL(tpa_proc_write_bytes(0), -1);
	CU_ASSERT_EQUAL(tpa_proc_write_bytes(1L << 23), -1);
}

static void test_refused(void)
{
	CU_ASSERT_EQUAL(tpa_proc_cpu_seconds(0), -1);
	CU_ASSERT_EQUAL(tpa_proc_cpu_seconds(-5), -1);
	/* Above the kernel's pid_max (at most 2^22). */
	CU_ASSERT_EQUAL(tpa_proc_cpu_seconds(1L << 23), -1);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("a process's CPU time", NULL, NULL);
	CU_add_test(s, "this process's grows as it works", test_self);
	CU_add_test(s, "bytes written to storage", test_writes);
	CU_add_test(s, "no pid, or one not there: -1", test_refused);
	return test_run_all() ? 1 : 0;
}
