/* SPDX-License-Identifier: MIT */
/*
 * blockmap.h - a sparse map from block index to fixed-size data blocks: the
 * contents of one memfs file.
 *
 * A radix tree with 64 slots per node whose height grows with the largest
 * index, so a file with one byte at 5 GiB costs one block and a few nodes.
 * A slot holds a real block (or a node), NULL (a hole), or the shared
 * read-only bmap_zero_block: space reserved by fallocate but never written.
 * That reads as zeros, counts as data and as allocated, and uses no memory;
 * in a node's slot it stands for its whole subtree, so preallocating a
 * terabyte costs a few nodes.
 *
 * Not thread-safe: the owner serialises access.
 */
#ifndef FURI_BLOCKMAP_H
#define FURI_BLOCKMAP_H

#include <stdbool.h>
#include <stdint.h>

#define BMAP_BLOCK_SHIFT 12
#define BMAP_BLOCK_SIZE (1u << BMAP_BLOCK_SHIFT)
/* Enough for byte offsets up to 2^63 with 4 KiB blocks: 9 levels of 6 bits. */
#define BMAP_MAX_INDEX ((UINT64_C(1) << 54) - 1)

struct bmap {
	void *root;
	unsigned height;	/* node levels above the blocks; 0 when empty */
	uint64_t nblocks;	/* slots holding a block, real or zero */
};

/* Reads as zeros; never written. */
extern const char bmap_zero_block[BMAP_BLOCK_SIZE];

void bmap_init(struct bmap *m);
/* Drop every block. Returns how many slots were filled. */
uint64_t bmap_clear(struct bmap *m);

/* The block at idx (possibly bmap_zero_block), or NULL for a hole. */
const char *bmap_get(const struct bmap *m, uint64_t idx);
/*
 * A writable block at idx: the existing real block, or a new one replacing a
 * hole or the zero block. The new block is zero-filled when zero is true,
 * otherwise the caller overwrites all of it. NULL on ENOMEM or idx too large;
 * the map is then unchanged.
 */
char *bmap_write(struct bmap *m, uint64_t idx, bool zero);
/*
 * Allocate first..last (inclusive) as zero blocks: holes become zero blocks,
 * and so do real blocks when overwrite is set (otherwise they keep their
 * data). *added receives how many were holes. Returns false on ENOMEM or
 * last > BMAP_MAX_INDEX, with part of the range done (and counted).
 */
bool bmap_fill_zero(struct bmap *m, uint64_t first, uint64_t last, bool overwrite,
		    uint64_t *added);
/*
 * Make first..last (inclusive) holes. Returns how many blocks went. Best
 * effort: without memory to split a zero subtree at the edge of the range,
 * that part stays allocated (it reads as zeros either way).
 */
uint64_t bmap_punch(struct bmap *m, uint64_t first, uint64_t last);
/* How many slots in first..last (inclusive) hold a block. */
uint64_t bmap_count(const struct bmap *m, uint64_t first, uint64_t last);

/* The smallest index >= idx holding a block; false when there is none. */
bool bmap_next_data(const struct bmap *m, uint64_t idx, uint64_t *found);
/* The smallest index >= idx that is a hole (there always is one). */
uint64_t bmap_next_hole(const struct bmap *m, uint64_t idx);

#endif /* FURI_BLOCKMAP_H */
