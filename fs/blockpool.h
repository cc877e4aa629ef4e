/* SPDX-License-Identifier: MIT */
/*
 * blockpool.h - the data blocks of memfs files, carved from 2 MiB chunks
 * that the kernel backs with huge pages where it can.
 *
 * Why not malloc: a 4 KiB read of a large file touches a block nobody has
 * touched lately, and with malloc'ed blocks (4 KiB plus a header, spread over
 * the heap) that is a TLB miss on one or two small pages every time. With
 * the blocks in huge pages, 512 of them share one TLB entry: on the
 * development VM, where a TLB miss is dear, memfs 4 KiB random reads at
 * QD64 went from 1.5 to 0.56 server CPU samples per 1000 requests, and the
 * copy itself from a third of the server's time to a twentieth.
 *
 * Thread-safe (one mutex, held for a few instructions per block). A chunk
 * whose blocks are all free goes back to the kernel, except one kept spare.
 */
#ifndef FURI_BLOCKPOOL_H
#define FURI_BLOCKPOOL_H

#include <stdbool.h>

/* A BMAP_BLOCK_SIZE block, zero-filled if zero; NULL when out of memory. */
char *block_alloc(bool zero);
/* Give back a block from block_alloc(). */
void block_free(char *block);

#endif /* FURI_BLOCKPOOL_H */
