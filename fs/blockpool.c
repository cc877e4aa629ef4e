/* SPDX-License-Identifier: MIT */
/* blockpool.c - memfs data blocks in huge-page chunks; see blockpool.h. */
#define _GNU_SOURCE
#include "blockpool.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "blockmap.h"

#define CHUNK_SIZE	(2u << 20)
#define CHUNK_BLOCKS	(CHUNK_SIZE / BMAP_BLOCK_SIZE)

/*
 * The first block of a chunk holds its header, so that a block finds its
 * chunk by rounding its address down and the other blocks stay aligned.
 */
struct chunk {
	struct chunk *prev, *next;	/* in the list of chunks with free blocks */
	char *free_list;		/* freed blocks; each holds the next one's address */
	unsigned fresh;			/* blocks from here on were never handed out */
	unsigned used;			/* blocks handed out now */
	bool listed;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct chunk *partial;		/* chunks with a free block */
static struct chunk *spare;		/* one empty chunk kept for the next burst */

static struct chunk *chunk_of(const char *block)
{
	return (struct chunk *)((uintptr_t)block & ~(uintptr_t)(CHUNK_SIZE - 1));
}

static void list_add(struct chunk *c)
{
	c->prev = NULL;
	c->next = partial;
	if (partial)
		partial->prev = c;
	partial = c;
	c->listed = true;
}

static void list_del(struct chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		partial = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->listed = false;
}

static struct chunk *chunk_new(void)
{
	char *p = mmap(NULL, 2 * CHUNK_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *aligned;
	struct chunk *c;

	if (p == MAP_FAILED)
		return NULL;
	aligned = (char *)(((uintptr_t)p + CHUNK_SIZE - 1) & ~(uintptr_t)(CHUNK_SIZE - 1));
	if (aligned > p)
		munmap(p, (size_t)(aligned - p));
	if (aligned + CHUNK_SIZE < p + 2 * CHUNK_SIZE)
		munmap(aligned + CHUNK_SIZE, (size_t)(p + 2 * CHUNK_SIZE - (aligned + CHUNK_SIZE)));
	madvise(aligned, CHUNK_SIZE, MADV_HUGEPAGE);	/* a hint: 4 KiB pages without THP */
	c = (struct chunk *)aligned;
	memset(c, 0, sizeof(*c));
	c->fresh = 1;	/* block 0 is the header */
	return c;
}

char *block_alloc(bool zero)
{
	struct chunk *c;
	char *b;
	bool reused;

	pthread_mutex_lock(&pool_lock);
	c = partial;
	if (!c) {
		c = spare ? spare : chunk_new();
		spare = NULL;
		if (!c) {
			pthread_mutex_unlock(&pool_lock);
			return NULL;
		}
		list_add(c);
	}
	reused = c->free_list != NULL;
	if (reused) {
		b = c->free_list;
		memcpy(&c->free_list, b, sizeof(c->free_list));
	} else {
		b = (char *)c + (size_t)c->fresh++ * BMAP_BLOCK_SIZE;
	}
	if (++c->used == CHUNK_BLOCKS - 1)
		list_del(c);
	pthread_mutex_unlock(&pool_lock);
	/* A fresh block comes zeroed from the kernel; a reused one holds old bytes. */
	if (zero && reused)
		memset(b, 0, BMAP_BLOCK_SIZE);
	return b;
}

void block_free(char *block)
{
	struct chunk *c = chunk_of(block);

	pthread_mutex_lock(&pool_lock);
	memcpy(block, &c->free_list, sizeof(c->free_list));
	c->free_list = block;
	if (!c->listed)
		list_add(c);
	if (--c->used == 0) {
		list_del(c);
		if (spare)
			munmap(c, CHUNK_SIZE);
		else
			spare = c;
	}
	pthread_mutex_unlock(&pool_lock);
}
