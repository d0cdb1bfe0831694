/* SPDX-License-Identifier: BSD-3-Clause */
/* What the kernel counts of a process: for the benchmarks and tpa-fleet,
 * which measure a verifier's CPU per request from outside it. */
#ifndef TPA_PROCSTAT_H
#define TPA_PROCSTAT_H

/* User + system time of process pid, all its threads, in seconds (from
 * /proc/PID/stat, in clock ticks: 10 ms here); -1 if unreadable. */
double tpa_proc_cpu_seconds(long pid);
/* The same of pid and its children as they are now (a database server's
 * postmaster and its backends: a child gone meanwhile no longer counts). */
double tpa_proc_tree_cpu_seconds(long pid);
/* Bytes process pid has caused to be written to storage (/proc/PID/io
 * write_bytes: the page cache's writeback and O_DIRECT, the WAL's and the
 * database's pages among them); -1 if unreadable. */
double tpa_proc_write_bytes(long pid);

#endif
