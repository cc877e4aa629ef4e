/* SPDX-License-Identifier: MIT */
/*
 * blockmap.c - the sparse block map of memfs files (see blockmap.h).
 *
 * Every node keeps the number of blocks below it, so a full subtree is
 * skipped in O(1) when looking for a hole, a range count stops at subtrees
 * that lie inside the range, and an emptied node is freed at once: the tree
 * never keeps a node without a block under it.
 */
#include "blockmap.h"
#include "blockpool.h"

#include <stdlib.h>

#define FAN_SHIFT 6
#define FAN (1u << FAN_SHIFT)
#define MAX_HEIGHT 9
#define ZERO ((void *)bmap_zero_block)

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

static unsigned slot_of(uint64_t idx, unsigned h)
{
	return (idx >> shift_of(h)) & (FAN - 1);
}

/* A slot above the leaves that holds a node (not a hole or a zero subtree). */
static bool is_node(const void *p)
{
	return p && p != ZERO;
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
	for (unsigned h = m->height; h > 0 && is_node(p); h--)
		p = ((const struct node *)p)->slot[slot_of(idx, h)];
	return p;
}

/* A node standing for a zero subtree of total blocks, split open. */
static struct node *zero_node(uint64_t total)
{
	struct node *n = malloc(sizeof(*n));
	if (!n)
		return NULL;
	for (unsigned i = 0; i < FAN; i++)
		n->slot[i] = ZERO;
	n->total = total;
	return n;
}

static void free_subtree(struct node *n, unsigned h)
{
	for (unsigned i = 0; i < FAN; i++) {
		void *c = n->slot[i];
		if (!is_node(c))
			continue;
		if (h == 1)
			block_free(c);
		else
			free_subtree(c, h - 1);
	}
	free(n);
}

/* Raise the tree until it covers idx, with a root node. */
static bool grow(struct bmap *m, uint64_t idx)
{
	if (!m->root) {
		m->root = calloc(1, sizeof(struct node));
		if (!m->root)
			return false;
		m->height = 1;
		while (idx >= reach(m->height))
			m->height++;
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

/* Drop an empty root, and root levels whose only content is in slot 0. */
static void shrink(struct bmap *m)
{
	struct node *r = m->root;
	if (r && r->total == 0) {
		free(r);
		m->root = NULL;
		m->height = 0;
		return;
	}
	while (m->height > 1) {
		r = m->root;
		struct node *c = r->slot[0];
		if (!is_node(c) || c->total != r->total)
			break;
		free(r);
		m->root = c;
		m->height--;
	}
}

/* Free the empty nodes on the path to idx that a failed insertion left. */
static void prune_node(struct node *n, unsigned h, uint64_t idx)
{
	if (h == 1)
		return;
	void **s = &n->slot[slot_of(idx, h)];
	if (!is_node(*s))
		return;
	prune_node(*s, h - 1, idx);
	if (((struct node *)*s)->total == 0) {
		free(*s);
		*s = NULL;
	}
}

static void prune_path(struct bmap *m, uint64_t idx)
{
	if (!m->root)
		return;
	prune_node(m->root, m->height, idx);
	shrink(m);
}

/*
 * Fill path[0..height-1] with the nodes from the root down to the one whose
 * slot holds idx, creating missing ones and splitting zero subtrees.
 */
static bool walk_create(struct bmap *m, uint64_t idx, struct node **path)
{
	struct node *n = m->root;
	for (unsigned h = m->height; h > 1; h--) {
		path[m->height - h] = n;
		void **s = &n->slot[slot_of(idx, h)];
		if (!is_node(*s)) {
			struct node *c = *s ? zero_node(UINT64_C(1) << shift_of(h))
					    : calloc(1, sizeof(struct node));
			if (!c)
				return false;
			*s = c;
		}
		n = *s;
	}
	path[m->height - 1] = n;
	return true;
}

char *bmap_write(struct bmap *m, uint64_t idx, bool zero)
{
	struct node *path[MAX_HEIGHT];
	if (idx > BMAP_MAX_INDEX)
		return NULL;
	if (!grow(m, idx) || !walk_create(m, idx, path)) {
		prune_path(m, idx);
		return NULL;
	}
	void **s = &path[m->height - 1]->slot[idx & (FAN - 1)];
	if (is_node(*s))
		return *s;
	char *b = block_alloc(zero);
	if (!b) {
		prune_path(m, idx);
		return NULL;
	}
	if (!*s) {
		for (unsigned i = 0; i < m->height; i++)
			path[i]->total++;
		m->nblocks++;
	}
	*s = b;
	return b;
}

/* Make first..last zero blocks inside the node at height h starting at base. */
static bool fill_node(struct node *n, unsigned h, uint64_t base, uint64_t first,
		      uint64_t last, bool overwrite, uint64_t *added)
{
	unsigned sh = shift_of(h);
	uint64_t span = UINT64_C(1) << sh;
	unsigned i1 = (unsigned)min_u64((last - base) >> sh, FAN - 1);

	for (unsigned i = (unsigned)((first - base) >> sh); i <= i1; i++) {
		void *c = n->slot[i];
		uint64_t cb = base + ((uint64_t)i << sh), ce = cb + span - 1;
		if (c == ZERO || (h == 1 && c && !overwrite))
			continue;
		if (first <= cb && ce <= last && (overwrite || !c)) {
			uint64_t had = 0;
			if (c && h == 1) {
				block_free(c);
				had = 1;
			} else if (c) {
				had = ((struct node *)c)->total;
				free_subtree(c, h - 1);
			}
			n->slot[i] = ZERO;
			n->total += span - had;
			*added += span - had;
			continue;
		}
		struct node *cn = c ? c : calloc(1, sizeof(*cn));
		if (!cn)
			return false;
		n->slot[i] = cn;
		uint64_t a = 0;
		bool ok = fill_node(cn, h - 1, cb, max_u64(first, cb), min_u64(last, ce),
				    overwrite, &a);
		n->total += a;
		*added += a;
		if (cn->total == 0) {
			free(cn);
			n->slot[i] = NULL;
		}
		if (!ok)
			return false;
	}
	return true;
}

bool bmap_fill_zero(struct bmap *m, uint64_t first, uint64_t last, bool overwrite,
		    uint64_t *added)
{
	*added = 0;
	if (first > last)
		return true;
	if (last > BMAP_MAX_INDEX || !grow(m, last)) {
		if (m->root)
			shrink(m);
		return false;
	}
	bool ok = fill_node(m->root, m->height, 0, first, last, overwrite, added);
	m->nblocks += *added;
	shrink(m);
	return ok;
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
		uint64_t cb = base + ((uint64_t)i << sh), ce = cb + span - 1;
		if (h == 1 || (first <= cb && ce <= last)) {
			if (c == ZERO) {
				freed += span;
			} else if (h == 1) {
				block_free(c);
				freed++;
			} else {
				freed += ((struct node *)c)->total;
				free_subtree(c, h - 1);
			}
			n->slot[i] = NULL;
			continue;
		}
		if (c == ZERO) {
			c = zero_node(span);
			if (!c)
				continue;
			n->slot[i] = c;
		}
		struct node *cn = c;
		freed += punch_node(cn, h - 1, cb, max_u64(first, cb), min_u64(last, ce));
		if (cn->total == 0) {
			free(cn);
			n->slot[i] = NULL;
		}
	}
	n->total -= freed;
	return freed;
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
	uint64_t n = m->nblocks;
	if (m->root)
		free_subtree(m->root, m->height);
	bmap_init(m);
	return n;
}

static uint64_t count_node(const struct node *n, unsigned h, uint64_t base,
			   uint64_t first, uint64_t last)
{
	if (first == base && last - base == reach(h) - 1)
		return n->total;

	unsigned sh = shift_of(h);
	uint64_t span = UINT64_C(1) << sh, count = 0;
	unsigned i1 = (unsigned)min_u64((last - base) >> sh, FAN - 1);
	for (unsigned i = (unsigned)((first - base) >> sh); i <= i1; i++) {
		const void *c = n->slot[i];
		if (!c)
			continue;
		uint64_t cb = base + ((uint64_t)i << sh);
		uint64_t lo = max_u64(first, cb), hi = min_u64(last, cb + span - 1);
		if (h == 1)
			count++;
		else if (c == ZERO)
			count += hi - lo + 1;
		else
			count += count_node(c, h - 1, cb, lo, hi);
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
		if (h == 1 || c == ZERO) {
			*found = max_u64(idx, cb);
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
		if (h == 1 || c == ZERO || ((const struct node *)c)->total == span)
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
