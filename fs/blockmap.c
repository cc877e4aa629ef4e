/* SPDX-License-Identifier: MIT */
/*
 * blockmap.c - the sparse block map of memfs files (see blockmap.h).
 *
 * Every node keeps the number of blocks below it, so a full subtree is
 * skipped in O(1) when looking for a hole, a range count stops at subtrees
 * that lie inside the range, and an emptied node is freed at once: the tree
 * never holds a node without a block under it.
 */
#include "blockmap.h"

#include <stdlib.h>

#define FAN_SHIFT 6
#define FAN (1u << FAN_SHIFT)
#define MAX_HEIGHT 9

struct node {
	void *slot[FAN];
	uint64_t total;		/* blocks in this subtree */
};

const char bmap_zero_block[BMAP_BLOCK_SIZE];

/* Index bits below the slot number of a node at height h. */
static unsigned shift_of(unsigned h)
{
	return FAN_SHIFT * (h - 1);
}

/* Indices a tree of height h covers. */
static uint64_t reach(unsigned h)
{
	return UINT64_C(1) << (FAN_SHIFT * h);
}

static bool is_real(const void *b)
{
	return b && b != (const void *)bmap_zero_block;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void bmap_init(struct bmap *m)
{
	m->root = NULL;
	m->height = 0;
	m->nblocks = 0;
}

const char *bmap_get(const struct bmap *m, uint64_t idx)
{
	if (!m->root || idx >= reach(m->height))
		return NULL;
	const void *p = m->root;
	for (unsigned h = m->height; h > 0 && p; h--)
		p = ((const struct node *)p)->slot[(idx >> shift_of(h)) & (FAN - 1)];
	return p;
}

/* Raise the tree until it covers idx. */
static bool grow(struct bmap *m, uint64_t idx)
{
	if (!m->root) {
		unsigned h = 1;
		while (idx >= reach(h))
			h++;
		m->height = h;
		return true;
	}
	while (idx >= reach(m->height)) {
		struct node *n = calloc(1, sizeof(*n));
		if (!n)
			return false;
		n->slot[0] = m->root;
		n->total = m->nblocks;
		m->root = n;
		m->height++;
	}
	return true;
}

/*
 * Fill path[0..height-1] with the nodes from the root down to the one whose
 * slot holds idx, creating missing ones. On ENOMEM the caller prunes the
 * empty nodes left behind with bmap_punch(idx, idx).
 */
static bool walk_create(struct bmap *m, uint64_t idx, struct node **path)
{
	if (!m->root) {
		m->root = calloc(1, sizeof(struct node));
		if (!m->root)
			return false;
	}
	struct node *n = m->root;
	for (unsigned h = m->height; h > 1; h--) {
		path[m->height - h] = n;
		void **s = &n->slot[(idx >> shift_of(h)) & (FAN - 1)];
		if (!*s) {
			*s = calloc(1, sizeof(struct node));
			if (!*s)
				return false;
		}
		n = *s;
	}
	path[m->height - 1] = n;
	return true;
}

/* The leaf slot of idx with its path, created as needed; NULL on ENOMEM. */
static void **leaf_slot(struct bmap *m, uint64_t idx, struct node **path)
{
	if (idx > BMAP_MAX_INDEX || !grow(m, idx))
		return NULL;
	if (!walk_create(m, idx, path)) {
		bmap_punch(m, idx, idx);
		return NULL;
	}
	return &path[m->height - 1]->slot[idx & (FAN - 1)];
}

static void count_one(struct bmap *m, struct node **path)
{
	for (unsigned i = 0; i < m->height; i++)
		path[i]->total++;
	m->nblocks++;
}

char *bmap_write(struct bmap *m, uint64_t idx, bool zero)
{
	struct node *path[MAX_HEIGHT];
	void **s = leaf_slot(m, idx, path);
	if (!s)
		return NULL;
	if (is_real(*s))
		return *s;
	char *b = zero ? calloc(1, BMAP_BLOCK_SIZE) : malloc(BMAP_BLOCK_SIZE);
	if (!b) {
		if (!*s)
			bmap_punch(m, idx, idx);
		return NULL;
	}
	if (!*s)
		count_one(m, path);
	*s = b;
	return b;
}

bool bmap_set_zero(struct bmap *m, uint64_t idx)
{
	struct node *path[MAX_HEIGHT];
	void **s = leaf_slot(m, idx, path);
	if (!s)
		return false;
	if (is_real(*s))
		free(*s);
	else if (!*s)
		count_one(m, path);
	*s = (void *)bmap_zero_block;
	return true;
}

/* Empty first..last, which lie inside the node at height h starting at base. */
static uint64_t punch_node(struct node *n, unsigned h, uint64_t base,
			   uint64_t first, uint64_t last)
{
	unsigned sh = shift_of(h);
	uint64_t span = UINT64_C(1) << sh;
	unsigned i1 = (unsigned)min_u64((last - base) >> sh, FAN - 1);
	uint64_t freed = 0;

	for (unsigned i = (unsigned)((first - base) >> sh); i <= i1; i++) {
		void *c = n->slot[i];
		if (!c)
			continue;
		if (h == 1) {
			if (is_real(c))
				free(c);
			n->slot[i] = NULL;
			freed++;
			continue;
		}
		struct node *cn = c;
		uint64_t cb = base + ((uint64_t)i << sh);
		freed += punch_node(cn, h - 1, cb, max_u64(first, cb),
				    min_u64(last, cb + span - 1));
		if (cn->total == 0) {
			free(cn);
			n->slot[i] = NULL;
		}
	}
	n->total -= freed;
	return freed;
}

/* Drop root levels whose only content is in slot 0, so lookups stay short. */
static void shrink(struct bmap *m)
{
	struct node *r = m->root;
	if (r->total == 0) {
		free(r);
		m->root = NULL;
		m->height = 0;
		return;
	}
	while (m->height > 1) {
		r = m->root;
		struct node *c = r->slot[0];
		if (!c || c->total != r->total)
			break;
		free(r);
		m->root = c;
		m->height--;
	}
}

uint64_t bmap_punch(struct bmap *m, uint64_t first, uint64_t last)
{
	if (!m->root || first > last || first >= reach(m->height))
		return 0;
	last = min_u64(last, reach(m->height) - 1);
	uint64_t freed = punch_node(m->root, m->height, 0, first, last);
	m->nblocks -= freed;
	shrink(m);
	return freed;
}

uint64_t bmap_clear(struct bmap *m)
{
	return bmap_punch(m, 0, UINT64_MAX);
}

static uint64_t count_node(const struct node *n, unsigned h, uint64_t base,
			   uint64_t first, uint64_t last)
{
	unsigned sh = shift_of(h);
	uint64_t span = UINT64_C(1) << (FAN_SHIFT * h);
	if (first == base && last - base == span - 1)
		return n->total;

	uint64_t cspan = UINT64_C(1) << sh, count = 0;
	unsigned i1 = (unsigned)min_u64((last - base) >> sh, FAN - 1);
	for (unsigned i = (unsigned)((first - base) >> sh); i <= i1; i++) {
		const void *c = n->slot[i];
		if (!c)
			continue;
		if (h == 1) {
			count++;
			continue;
		}
		uint64_t cb = base + ((uint64_t)i << sh);
		count += count_node(c, h - 1, cb, max_u64(first, cb),
				    min_u64(last, cb + cspan - 1));
	}
	return count;
}

uint64_t bmap_count(const struct bmap *m, uint64_t first, uint64_t last)
{
	if (!m->root || first > last || first >= reach(m->height))
		return 0;
	last = min_u64(last, reach(m->height) - 1);
	return count_node(m->root, m->height, 0, first, last);
}

static bool data_node(const struct node *n, unsigned h, uint64_t base,
		      uint64_t idx, uint64_t *found)
{
	unsigned sh = shift_of(h);
	for (unsigned i = (unsigned)((idx - base) >> sh); i < FAN; i++) {
		const void *c = n->slot[i];
		if (!c)
			continue;
		uint64_t cb = base + ((uint64_t)i << sh);
		if (h == 1) {
			*found = cb;
			return true;
		}
		if (data_node(c, h - 1, cb, max_u64(idx, cb), found))
			return true;
	}
	return false;
}

bool bmap_next_data(const struct bmap *m, uint64_t idx, uint64_t *found)
{
	if (!m->root || idx >= reach(m->height))
		return false;
	return data_node(m->root, m->height, 0, idx, found);
}

static bool hole_node(const struct node *n, unsigned h, uint64_t base,
		      uint64_t idx, uint64_t *found)
{
	unsigned sh = shift_of(h);
	uint64_t span = UINT64_C(1) << sh;
	for (unsigned i = (unsigned)((idx - base) >> sh); i < FAN; i++) {
		const void *c = n->slot[i];
		uint64_t cb = base + ((uint64_t)i << sh);
		uint64_t start = max_u64(idx, cb);
		if (!c) {
			*found = start;
			return true;
		}
		if (h == 1 || ((const struct node *)c)->total == span)
			continue;
		if (hole_node(c, h - 1, cb, start, found))
			return true;
	}
	return false;
}

uint64_t bmap_next_hole(const struct bmap *m, uint64_t idx)
{
	uint64_t found;
	if (!m->root || idx >= reach(m->height))
		return idx;
	if (hole_node(m->root, m->height, 0, idx, &found))
		return found;
	return reach(m->height);
}
