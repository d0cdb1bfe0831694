/* SPDX-License-Identifier: BSD-3-Clause */
/* Timing helpers shared by the benchmarks. */
#ifndef TPA_BENCH_H
#define TPA_BENCH_H

#include <time.h>

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Microseconds per run of stmt, measured in rounds of 20 over at least
 * min_s seconds. */
#define TIME_US(stmt, min_s, out) do { \
	long n_ = 0; double t0_ = now_s(), el_; \
	do { for (int k_ = 0; k_ < 20; k_++) { stmt; } n_ += 20; el_ = now_s() - t0_; } \
	while (el_ < (min_s)); \
	(out) = el_ * 1e6 / (double)n_; \
} while (0)

#endif
