/* SPDX-License-Identifier: BSD-3-Clause */
/* Files the programs write: never through a link an attacker planted, never
 * half-written, never readable by more than they must be. */
#ifndef TPA_FILEIO_H
#define TPA_FILEIO_H

#include <stddef.h>

/* Replaces path with len bytes of data, atomically: a new file beside it
 * with a random name (O_CREAT|O_EXCL|O_NOFOLLOW: never an existing file or
 * link), given mode, written, fsync'd, then renamed over path (a rename
 * replaces a link at path; it never follows one), and the directory
 * fsync'd. */
int tpa_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* fsyncs the directory that holds path, so that a file created or renamed
 * there survives a crash with its name (best effort: a directory that
 * cannot be opened is left). */
void tpa_file_fsync_dir(const char *path);

#endif
