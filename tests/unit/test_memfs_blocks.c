/* SPDX-License-Identifier: MIT */
/*
 * test_memfs_blocks.c - unit test of the memfs sparse block map
 * (fs/blockmap.c): holes and data, seeking, punching, zero blocks, counts,
 * and indices far past 4 GiB; and the pool its blocks come from
 * (fs/blockpool.c). Prints each failed check and exits non-zero.
 */
#include "blockmap.h"
#include "blockpool.h"

#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,    \
				__LINE__, #cond);                                \
			failures++;                                              \
		}                                                                \
	} while (0)

#define GiB (UINT64_C(1) << 30)
#define IDX(byte_off) ((uint64_t)(byte_off) >> BMAP_BLOCK_SHIFT)

static void test_empty(void)
{
	struct bmap m;
	uint64_t found = 77;
	bmap_init(&m);
	CHECK(bmap_get(&m, 0) == NULL);
	CHECK(bmap_get(&m, BMAP_MAX_INDEX) == NULL);
	CHECK(!bmap_next_data(&m, 0, &found));
	CHECK(found == 77);
	CHECK(bmap_next_hole(&m, 0) == 0);
	CHECK(bmap_next_hole(&m, 12345) == 12345);
	CHECK(bmap_count(&m, 0, UINT64_MAX) == 0);
	CHECK(bmap_punch(&m, 0, UINT64_MAX) == 0);
	CHECK(bmap_clear(&m) == 0);
}

static void test_write_read(void)
{
	struct bmap m;
	bmap_init(&m);
	char *b = bmap_write(&m, 3, true);
	CHECK(b != NULL);
	for (unsigned i = 0; b && i < BMAP_BLOCK_SIZE; i++)
		if (b[i]) {
			CHECK(!"new zeroed block is not zero");
			break;
		}
	if (b)
		memset(b, 0xab, BMAP_BLOCK_SIZE);
	CHECK(bmap_get(&m, 3) == b);
	CHECK(bmap_write(&m, 3, true) == b);	/* existing block is kept */
	CHECK(b && (unsigned char)b[17] == 0xab);
	CHECK(bmap_get(&m, 2) == NULL);
	CHECK(bmap_get(&m, 4) == NULL);
	CHECK(m.nblocks == 1);
	CHECK(bmap_clear(&m) == 1);
	CHECK(m.nblocks == 0 && m.root == NULL);
}

static void test_far_offsets(void)
{
	struct bmap m;
	uint64_t found = 0;
	bmap_init(&m);
	uint64_t at5g = IDX(5 * GiB), at4g = IDX(4 * GiB);

	char *b = bmap_write(&m, at5g, true);
	CHECK(b != NULL);
	if (b)
		b[0] = 'x';
	CHECK(m.nblocks == 1);
	CHECK(bmap_get(&m, at5g) == b);
	CHECK(bmap_get(&m, at5g - 1) == NULL);
	CHECK(bmap_get(&m, at4g) == NULL);
	CHECK(bmap_next_data(&m, 0, &found) && found == at5g);
	CHECK(bmap_next_data(&m, at5g, &found) && found == at5g);
	CHECK(!bmap_next_data(&m, at5g + 1, &found));
	CHECK(bmap_next_hole(&m, 0) == 0);
	CHECK(bmap_next_hole(&m, at5g) == at5g + 1);

	/* a block at 0 as well: the tree keeps both after growing */
	char *z = bmap_write(&m, 0, true);
	CHECK(z != NULL);
	CHECK(bmap_get(&m, at5g) == b);
	CHECK(bmap_count(&m, 0, UINT64_MAX) == 2);
	CHECK(bmap_count(&m, 1, at5g - 1) == 0);
	CHECK(bmap_next_data(&m, 1, &found) && found == at5g);

	/* dropping the far block shrinks the tree back */
	CHECK(bmap_punch(&m, 1, UINT64_MAX) == 1);
	CHECK(bmap_get(&m, 0) == z);
	CHECK(m.height == 1);

	/* the largest index a 2^63 byte file needs */
	uint64_t top = IDX(INT64_MAX);
	CHECK(top <= BMAP_MAX_INDEX);
	CHECK(bmap_write(&m, top, true) != NULL);
	CHECK(bmap_next_data(&m, 1, &found) && found == top);
	CHECK(bmap_next_hole(&m, top) == top + 1);
	CHECK(bmap_write(&m, BMAP_MAX_INDEX + 1, true) == NULL);
	CHECK(m.nblocks == 2);
	CHECK(bmap_clear(&m) == 2);
}

static void test_seek_runs(void)
{
	struct bmap m;
	uint64_t found = 0;
	bmap_init(&m);
	/* data at 10..199 and 300..(300+64*64) (crosses several leaves) */
	for (uint64_t i = 10; i < 200; i++)
		CHECK(bmap_write(&m, i, true) != NULL);
	for (uint64_t i = 300; i < 300 + 4096; i++)
		CHECK(bmap_write(&m, i, false) != NULL);
	CHECK(m.nblocks == 190 + 4096);
	CHECK(bmap_next_data(&m, 0, &found) && found == 10);
	CHECK(bmap_next_hole(&m, 10) == 200);
	CHECK(bmap_next_hole(&m, 150) == 200);
	CHECK(bmap_next_data(&m, 200, &found) && found == 300);
	CHECK(bmap_next_hole(&m, 300) == 300 + 4096);
	CHECK(bmap_next_hole(&m, 4000) == 300 + 4096);
	CHECK(!bmap_next_data(&m, 300 + 4096, &found));
	CHECK(bmap_count(&m, 0, 299) == 190);
	CHECK(bmap_count(&m, 100, 350) == 100 + 51);
	CHECK(bmap_count(&m, 0, UINT64_MAX) == 190 + 4096);

	/* punch a hole inside the big run */
	CHECK(bmap_punch(&m, 1000, 1999) == 1000);
	CHECK(bmap_get(&m, 999) != NULL);
	CHECK(bmap_get(&m, 1000) == NULL);
	CHECK(bmap_get(&m, 1999) == NULL);
	CHECK(bmap_get(&m, 2000) != NULL);
	CHECK(bmap_next_hole(&m, 300) == 1000);
	CHECK(bmap_next_data(&m, 1000, &found) && found == 2000);
	CHECK(bmap_count(&m, 0, UINT64_MAX) == 190 + 3096);
	CHECK(m.nblocks == 190 + 3096);

	/* punching a hole twice frees nothing more */
	CHECK(bmap_punch(&m, 1000, 1999) == 0);
	/* truncate-like punch of everything past 150 */
	CHECK(bmap_punch(&m, 150, UINT64_MAX) == 50 + 3096);
	CHECK(bmap_next_hole(&m, 10) == 150);
	CHECK(!bmap_next_data(&m, 150, &found));
	CHECK(bmap_clear(&m) == 140);
	CHECK(m.root == NULL && m.nblocks == 0);
}

static bool fill1(struct bmap *m, uint64_t idx)
{
	uint64_t added;
	return bmap_fill_zero(m, idx, idx, true, &added);
}

static void test_zero_blocks(void)
{
	struct bmap m;
	uint64_t found = 0, added = 99;
	bmap_init(&m);
	/* preallocated space: counted and seen as data, reads as zeros */
	CHECK(bmap_fill_zero(&m, 7, 7, true, &added) && added == 1);
	CHECK(bmap_get(&m, 7) == bmap_zero_block);
	CHECK(m.nblocks == 1);
	CHECK(bmap_next_data(&m, 0, &found) && found == 7);
	CHECK(bmap_next_hole(&m, 7) == 8);

	/* writing to it gives a real, zeroed block, without a new count */
	char *b = bmap_write(&m, 7, true);
	CHECK(b != NULL && b != bmap_zero_block);
	CHECK(b && b[BMAP_BLOCK_SIZE - 1] == 0);
	CHECK(m.nblocks == 1);
	if (b)
		b[5] = 'q';

	/* zeroing a real block frees it and keeps the slot allocated */
	CHECK(bmap_fill_zero(&m, 7, 7, true, &added) && added == 0);
	CHECK(bmap_get(&m, 7) == bmap_zero_block);
	CHECK(m.nblocks == 1);
	CHECK(bmap_zero_block[5] == 0);

	CHECK(bmap_punch(&m, 7, 7) == 1);
	CHECK(bmap_get(&m, 7) == NULL);
	CHECK(m.nblocks == 0 && m.root == NULL);
}

static void test_full_leaf_hole(void)
{
	struct bmap m;
	bmap_init(&m);
	/* several completely full leaves: the hole search skips them */
	for (uint64_t i = 0; i < 64 * 20; i++)
		CHECK(fill1(&m, i));
	CHECK(m.nblocks == 64 * 20);
	CHECK(bmap_next_hole(&m, 0) == 64 * 20);
	CHECK(bmap_write(&m, 64 * 64, true) != NULL);
	CHECK(bmap_next_hole(&m, 0) == 64 * 20);
	CHECK(bmap_next_hole(&m, 64 * 64) == 64 * 64 + 1);
	CHECK(bmap_count(&m, 64, 64 * 2 - 1) == 64);
	CHECK(bmap_clear(&m) == 64 * 20 + 1);
}

/* A terabyte of preallocation is a handful of zero subtrees. */
static void test_huge_fill(void)
{
	struct bmap m;
	uint64_t added = 0, found = 0;
	uint64_t first = IDX(3 * GiB) + 5, last = IDX(1024 * GiB) - 1;
	uint64_t n = last - first + 1;
	bmap_init(&m);

	char *b = bmap_write(&m, first + 10, true);
	CHECK(b != NULL);
	if (b)
		b[1] = 'd';
	CHECK(bmap_fill_zero(&m, first, last, true, &added));
	CHECK(added == n - 1);
	CHECK(m.nblocks == n);
	CHECK(bmap_count(&m, 0, UINT64_MAX) == n);
	CHECK(bmap_count(&m, first, first + 99) == 100);
	CHECK(bmap_count(&m, 0, first) == 1);
	/* the real block inside was replaced by zeros */
	CHECK(bmap_get(&m, first + 10) == bmap_zero_block);
	CHECK(bmap_get(&m, first - 1) == NULL);
	CHECK(bmap_get(&m, last) == bmap_zero_block);
	CHECK(bmap_get(&m, last + 1) == NULL);
	CHECK(bmap_next_data(&m, 0, &found) && found == first);
	CHECK(bmap_next_data(&m, first + 12345, &found) && found == first + 12345);
	CHECK(bmap_next_hole(&m, first) == last + 1);

	/* a write deep inside splits the zero subtrees on its path only */
	uint64_t mid = IDX(512 * GiB) + 3;
	b = bmap_write(&m, mid, true);
	CHECK(b != NULL && b != bmap_zero_block);
	CHECK(b && b[100] == 0);
	CHECK(m.nblocks == n);
	CHECK(bmap_get(&m, mid + 1) == bmap_zero_block);
	CHECK(bmap_get(&m, mid - 1) == bmap_zero_block);

	/* punch a hole across the middle, not aligned to any subtree */
	uint64_t p0 = mid - 1000, p1 = mid + 70000;
	CHECK(bmap_punch(&m, p0, p1) == p1 - p0 + 1);
	CHECK(m.nblocks == n - (p1 - p0 + 1));
	CHECK(bmap_get(&m, p0 - 1) == bmap_zero_block);
	CHECK(bmap_get(&m, p0) == NULL);
	CHECK(bmap_get(&m, p1) == NULL);
	CHECK(bmap_get(&m, p1 + 1) == bmap_zero_block);
	CHECK(bmap_next_hole(&m, first) == p0);
	CHECK(bmap_next_data(&m, p0, &found) && found == p1 + 1);
	CHECK(bmap_count(&m, 0, UINT64_MAX) == m.nblocks);

	/* truncate-like punch of the tail, then of everything */
	uint64_t before = m.nblocks;
	CHECK(bmap_punch(&m, first + 1, UINT64_MAX) == before - 1);
	CHECK(m.nblocks == 1);
	CHECK(bmap_get(&m, first) == bmap_zero_block);
	CHECK(bmap_punch(&m, 0, UINT64_MAX) == 1);
	CHECK(m.nblocks == 0 && m.root == NULL && m.height == 0);
}

/* Filling partly preallocated, partly written ranges counts only holes. */
static void test_fill_mixed(void)
{
	struct bmap m;
	uint64_t added = 0;
	bmap_init(&m);
	CHECK(bmap_write(&m, 100, false) != NULL);
	CHECK(bmap_fill_zero(&m, 90, 95, true, &added) && added == 6);
	CHECK(bmap_fill_zero(&m, 80, 200, true, &added) && added == 121 - 7);
	CHECK(m.nblocks == 121);
	CHECK(bmap_get(&m, 100) == bmap_zero_block);
	CHECK(bmap_fill_zero(&m, 80, 200, true, &added) && added == 0);
	CHECK(!bmap_fill_zero(&m, 0, BMAP_MAX_INDEX + 1, true, &added));
	CHECK(m.nblocks == 121);
	CHECK(bmap_clear(&m) == 121);
}

/* Preallocation fills holes around written blocks and keeps their data. */
static void test_fill_keep(void)
{
	struct bmap m;
	uint64_t added = 0, found = 0;
	bmap_init(&m);
	char *a = bmap_write(&m, 5, true), *b = bmap_write(&m, 64 * 64 + 1, true);
	CHECK(a && b);
	if (a && b) {
		a[0] = 'a';
		b[0] = 'b';
	}
	CHECK(bmap_fill_zero(&m, 0, 64 * 64 * 64 + 10, false, &added));
	CHECK(added == 64 * 64 * 64 + 11 - 2);
	CHECK(bmap_get(&m, 5) == a && a && a[0] == 'a');
	CHECK(bmap_get(&m, 64 * 64 + 1) == b && b && b[0] == 'b');
	CHECK(bmap_get(&m, 6) == bmap_zero_block);
	CHECK(bmap_count(&m, 0, UINT64_MAX) == 64 * 64 * 64 + 11);
	CHECK(bmap_next_hole(&m, 0) == 64 * 64 * 64 + 11);
	CHECK(bmap_next_data(&m, 64 * 64 * 64 + 10, &found) && found == 64 * 64 * 64 + 10);
	CHECK(bmap_clear(&m) == 64 * 64 * 64 + 11);
}

/* Chunk-sized runs of blocks: aligned, distinct, zeroed when asked after reuse, and a freed chunk unmapped. */
static void test_pool(void)
{
	enum { N = 3 * 512 };	/* three chunks' worth and more */
	static char *b[N];
	size_t i;
	bool distinct = true, aligned = true, zeros = true;

	for (i = 0; i < N; i++) {
		b[i] = block_alloc(false);
		CHECK(b[i] != NULL);
		if (!b[i])
			return;
		aligned &= ((uintptr_t)b[i] & (BMAP_BLOCK_SIZE - 1)) == 0;
		memset(b[i], 0xa5, BMAP_BLOCK_SIZE);	/* every byte writable */
		if (i && b[i] == b[i - 1])
			distinct = false;
	}
	CHECK(aligned);
	CHECK(distinct);
	for (i = 0; i < N; i += 2)
		block_free(b[i]);
	for (i = 0; i < N; i += 2) {
		char *z = block_alloc(true);
		CHECK(z != NULL);
		if (!z)
			return;
		for (size_t j = 0; j < BMAP_BLOCK_SIZE; j++)
			zeros &= z[j] == 0;
		b[i] = z;
	}
	CHECK(zeros);
	/* The odd ones kept their bytes through the others' reuse. */
	for (i = 1; i < N; i += 2)
		CHECK(b[i][0] == (char)0xa5 && b[i][BMAP_BLOCK_SIZE - 1] == (char)0xa5);
	for (i = 0; i < N; i++)
		block_free(b[i]);
}

int main(void)
{
	test_pool();
	test_empty();
	test_write_read();
	test_far_offsets();
	test_seek_runs();
	test_zero_blocks();
	test_full_leaf_hole();
	test_huge_fill();
	test_fill_mixed();
	test_fill_keep();
	if (failures) {
		fprintf(stderr, "test_memfs_blocks: %d check(s) failed\n", failures);
		return 1;
	}
	printf("test_memfs_blocks: ok\n");
	return 0;
}
