/* SPDX-License-Identifier: BSD-3-Clause */
/* The project's version, as `--version` prints it. One place, so that both
 * programs, the man pages and the tokens' build info agree. */
#ifndef TPA_VERSION_H
#define TPA_VERSION_H

#define TPA_VERSION "0.14.0"

#endif
