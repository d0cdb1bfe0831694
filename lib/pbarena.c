/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pbarena.h"

#define FIRST_BLOCK (16u << 10)
#define MMAP_FROM (128u << 10)   /* blocks this big are mapped, and unmapped at the end */
#define ALIGN 16u

struct pbarena_block {
	pbarena_block *next;
	size_t size;        /* the whole block, this header included */
	int mapped;
	char pad[ALIGN - (sizeof(void *) + sizeof(size_t) + sizeof(int)) % ALIGN];
};

static void *arena_alloc(void *data, size_t size)
{
	pbarena *a = data;
	pbarena_block *b;
	size_t need, bsize;

	need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (need < size || need > a->budget - a->used) {
		a->exceeded = 1;
		return NULL;
	}
	if (need > a->left) {
		bsize = a->blocks ? a->blocks->size * 2 : FIRST_BLOCK;
		if (bsize > (1u << 20))
			bsize = 1u << 20;
		if (bsize < need + sizeof(*b))
			bsize = need + sizeof(*b);
		if (bsize >= MMAP_FROM) {
			void *p = mmap(NULL, bsize, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				return NULL;
			b = p;
			b->mapped = 1;
		} else {
			if (!(b = malloc(bsize)))
				return NULL;
			b->mapped = 0;
		}
		b->size = bsize;
		b->next = a->blocks;
		a->blocks = b;
		a->cur = (char *)(b + 1);
		a->left = bsize - sizeof(*b);
	}
	a->used += need;
	a->left -= need;
	a->cur += need;
	return a->cur - need;
}

static void arena_free(void *data, void *p)
{
	(void)data;
	(void)p;   /* all at once, in pbarena__release */
}

void pbarena__init(pbarena *a, size_t budget)
{
	memset(a, 0, sizeof(*a));
	a->alloc.alloc = arena_alloc;
	a->alloc.free = arena_free;
	a->alloc.allocator_data = a;
	a->budget = budget;
}

void pbarena__release(pbarena *a)
{
	while (a->blocks) {
		pbarena_block *b = a->blocks;

		a->blocks = b->next;
		if (b->mapped)
			munmap(b, b->size);
		else
			free(b);
	}
	a->cur = NULL;
	a->left = a->used = 0;
}
