/* SPDX-License-Identifier: BSD-3-Clause */
/* /proc/PID/stat, read for a process's CPU time (include/tpa/procstat.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tpa/procstat.h"

/* utime + stime in ticks, and the parent's pid, of pid: 0, or -1. */
static int stat_of(long pid, unsigned long *ticks, long *ppid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After "pid (comm) " (comm may hold spaces and parentheses: the
	 * last ')' ends it): state is field 3, ppid 4, utime 14, stime 15. */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ' ||
	    sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", ppid, &ut,
		   &st) != 3)
		return -1;
	*ticks = ut + st;
	return 0;
}

double tpa_proc_tree_cpu_seconds(long pid)
{
	unsigned long ticks, all = 0;
	struct dirent *e;
	long ppid;
	DIR *d;

	if (pid <= 0 || stat_of(pid, &all, &ppid) < 0 || !(d = opendir("/proc")))
		return -1;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long child = strtol(e->d_name, &end, 10);

		if (*end || child <= 0 || child == pid)
			continue;
		if (stat_of(child, &ticks, &ppid) == 0 && ppid == pid)
			all += ticks;
	}
	closedir(d);
	return (double)all / (double)sysconf(_SC_CLK_TCK);
}

double tpa_proc_cpu_seconds(long pid)
{
	unsigned long ticks;
	long ppid;

	if (pid <= 0 || stat_of(pid, &ticks, &ppid) < 0)
		return -1;
	return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

double tpa_proc_write_bytes(long pid)
{
	char path[64], line[128];
	unsigned long long v;
	double out = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/io", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "write_bytes: %llu", &v) == 1) {
			out = (double)v;
			break;
		}
	fclose(f);
	return out;
}
