/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: a bounded arena for protobuf-c's decoder. A request of many
 * empty repeated sub-messages costs the decoder tens of times its size;
 * decoding into an arena with a budget proportional to the request's size
 * stops that before it happens, and the arena hands its large blocks back to
 * the system when the request is done, so a burst does not stay resident. */
#ifndef TPA_PBARENA_H
#define TPA_PBARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct pbarena_block pbarena_block;

typedef struct {
	ProtobufCAllocator alloc;   /* give &alloc to protobuf-c */
	size_t budget, used;
	int exceeded;               /* an allocation was refused for the budget */
	pbarena_block *blocks;
	char *cur;
	size_t left;
} pbarena;

void pbarena__init(pbarena *a, size_t budget);
/* Frees everything decoded into the arena (free_unpacked is not needed). */
void pbarena__release(pbarena *a);

#endif
