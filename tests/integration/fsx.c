/* SPDX-License-Identifier: MIT */
/*
 * fsx.c - a small file system exerciser in the manner of ltp/xfstests fsx:
 * random reads, writes, truncations, hole punches, zero ranges,
 * preallocations, mmap reads and writes, SEEK_DATA/SEEK_HOLE queries and
 * reopens on one file, each checked against a model of the file kept in
 * memory (the reference copy). Seeded and reproducible: a failure prints the
 * seed, the failing operation and the last operations before it.
 *
 *   fsx [-S SEED] [-N OPS] [-l MAXLEN] [-o MAXOPLEN] [-Z] [-A ALIGN] [-F]
 *       [-M] [-R REFFILE] [-q] FILE
 *
 *   -S SEED    random seed (default: from the clock; always printed)
 *   -N OPS     number of operations (default 10000)
 *   -l MAXLEN  largest file size the operations reach (default 1 MiB)
 *   -o MAXOP   largest single read/write (default 64 KiB)
 *   -Z         O_DIRECT: reads and writes are ALIGN-aligned, buffers page-aligned
 *   -A ALIGN   alignment of O_DIRECT offsets and lengths (default 512)
 *   -F         fixed size: the file keeps its size (no truncate, nothing
 *              past the end), as a fixed-size disk image export must
 *   -M         no mmap operations
 *   -R FILE    at the end, write the model there (to compare with cmp)
 *   -q         print only failures and the summary
 *
 * The file's existing contents are read into the model first, so a fixed
 * size image can be exercised as it is.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum op {
	OP_READ, OP_WRITE, OP_MAPREAD, OP_MAPWRITE, OP_TRUNCATE, OP_PUNCH, OP_ZERO,
	OP_FALLOC, OP_SEEK, OP_FSYNC, OP_REOPEN, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"read", "write", "mapread", "mapwrite", "truncate", "punch", "zero",
	"falloc", "seek", "fsync", "reopen",
};

/* Relative frequency of each operation. */
static const unsigned op_weight[OP_COUNT] = { 20, 20, 6, 6, 4, 4, 4, 3, 4, 2, 1 };

struct logent {
	unsigned long n;
	enum op op;
	uint64_t off, len;
	int mode;
};

#define LOG_SIZE 32

static struct {
	const char *path;
	uint64_t seed, rng;
	unsigned long nops;
	uint64_t maxlen, maxop, align;
	bool direct, fixed, no_mmap, quiet;
	const char *ref_path;
	int fd;
	long page;
	unsigned char *model;		/* maxlen bytes; past size always zero */
	uint64_t size;
	unsigned char *buf;		/* maxop bytes, page-aligned */
	struct logent log[LOG_SIZE];
	unsigned long done;
	unsigned long count[OP_COUNT];
} g;

/* xorshift64*: fast, seedable, the same sequence everywhere. */
static uint64_t rnd(void)
{
	g.rng ^= g.rng >> 12;
	g.rng ^= g.rng << 25;
	g.rng ^= g.rng >> 27;
	return g.rng * UINT64_C(2685821657736338717);
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void dump_log(void)
{
	unsigned long i, first = g.done >= LOG_SIZE ? g.done - LOG_SIZE + 1 : 0;

	fprintf(stderr, "fsx: last operations (newest last):\n");
	for (i = first; i <= g.done; i++) {
		const struct logent *e = &g.log[i % LOG_SIZE];

		if (e->n != i)
			continue;	/* skipped: nothing fit */
		fprintf(stderr, "  #%lu %-8s off 0x%" PRIx64 " len 0x%" PRIx64 " mode %d\n", e->n,
			op_names[e->op], e->off, e->len, e->mode);
	}
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fsx: FAILED at operation %lu: ", g.done);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	dump_log();
	fprintf(stderr, "fsx: reproduce with: fsx -S %" PRIu64 " -N %lu -l %" PRIu64 " -o %" PRIu64
		"%s%s%s %s\n", g.seed, g.nops, g.maxlen, g.maxop, g.direct ? " -Z" : "",
		g.fixed ? " -F" : "", g.no_mmap ? " -M" : "", g.path);
	exit(1);
}

static void note(enum op op, uint64_t off, uint64_t len, int mode)
{
	g.log[g.done % LOG_SIZE] = (struct logent){ g.done, op, off, len, mode };
	g.count[op]++;
}

static void open_file(void)
{
	g.fd = open(g.path, O_RDWR | (g.direct ? O_DIRECT : 0));
	if (g.fd < 0)
		fail("open %s: %s", g.path, strerror(errno));
}

/* Fill the model from what the file holds now. */
static void load_model(void)
{
	struct stat st;
	int fd = open(g.path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || fstat(fd, &st))
		fail("open %s: %s", g.path, strerror(errno));
	if ((uint64_t)st.st_size > g.maxlen)
		fail("%s has %lld bytes, more than -l %" PRIu64, g.path, (long long)st.st_size,
		     g.maxlen);
	g.size = (uint64_t)st.st_size;
	for (uint64_t got = 0; got < g.size; got += (uint64_t)n) {
		n = pread(fd, g.model + got, g.size - got, (off_t)got);
		if (n <= 0)
			fail("reading %s: %s", g.path, n ? strerror(errno) : "early EOF");
	}
	close(fd);
}

static void compare(const unsigned char *got, uint64_t off, uint64_t len, const char *how)
{
	for (uint64_t i = 0; i < len; i++)
		if (got[i] != g.model[off + i])
			fail("%s: byte at 0x%" PRIx64 " is 0x%02x, expected 0x%02x (range 0x%" PRIx64
			     "+0x%" PRIx64 ", size 0x%" PRIx64 ")", how, off + i, got[i],
			     g.model[off + i], off, len, g.size);
}

/* An offset and length for I/O, aligned for O_DIRECT, ending before limit. */
static bool pick_range(uint64_t limit, uint64_t *off, uint64_t *len)
{
	uint64_t a = g.direct ? g.align : 1;

	if (limit < a)
		return false;
	*off = rnd_below(limit / a) * a;
	*len = (rnd_below(g.maxop / a) + 1) * a;
	if (*len > limit - *off)
		*len = (limit - *off) / a * a;
	return *len > 0;
}

static void check_size(const char *after)
{
	struct stat st;

	if (fstat(g.fd, &st))
		fail("fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != g.size)
		fail("after %s the size is 0x%llx, expected 0x%" PRIx64, after,
		     (unsigned long long)st.st_size, g.size);
}

static void do_read(void)
{
	uint64_t off, len;
	ssize_t n;

	if (!pick_range(g.size, &off, &len))
		return;
	note(OP_READ, off, len, 0);
	n = pread(g.fd, g.buf, len, (off_t)off);
	if (n < 0 || (uint64_t)n != len)
		fail("pread 0x%" PRIx64 "+0x%" PRIx64 ": got %zd (%s)", off, len, n,
		     n < 0 ? strerror(errno) : "short");
	compare(g.buf, off, len, "read");
}

/* Bytes that name the operation, so a mismatch tells which write it came from. */
static void fill(unsigned char *p, uint64_t len)
{
	uint64_t stamp = ((uint64_t)g.done << 8) | 1;

	for (uint64_t i = 0; i < len; i++)
		p[i] = (unsigned char)((stamp >> (8 * (i % 4))) + i);
}

static void model_grow(uint64_t end)
{
	if (end > g.size)
		g.size = end;
}

static void do_write(void)
{
	uint64_t off, len;
	ssize_t n;

	if (!pick_range(g.fixed ? g.size : g.maxlen, &off, &len))
		return;
	note(OP_WRITE, off, len, 0);
	fill(g.buf, len);
	n = pwrite(g.fd, g.buf, len, (off_t)off);
	if (n < 0 || (uint64_t)n != len)
		fail("pwrite 0x%" PRIx64 "+0x%" PRIx64 ": got %zd (%s)", off, len, n,
		     n < 0 ? strerror(errno) : "short");
	memcpy(g.model + off, g.buf, len);
	model_grow(off + len);
}

static void *map_range(uint64_t off, uint64_t len, int prot, uint64_t *pgoff)
{
	void *p;

	*pgoff = off % (uint64_t)g.page;
	p = mmap(NULL, len + *pgoff, prot, MAP_SHARED, g.fd, (off_t)(off - *pgoff));
	if (p == MAP_FAILED)
		fail("mmap 0x%" PRIx64 "+0x%" PRIx64 ": %s", off, len, strerror(errno));
	return p;
}

static void do_mapread(void)
{
	uint64_t off, len, pg;
	unsigned char *p;

	if (g.no_mmap || !pick_range(g.size, &off, &len))
		return;
	note(OP_MAPREAD, off, len, 0);
	p = map_range(off, len, PROT_READ, &pg);
	compare(p + pg, off, len, "mapread");
	munmap(p, len + pg);
}

static void do_mapwrite(void)
{
	uint64_t off, len, pg;
	unsigned char *p;

	if (g.no_mmap || !pick_range(g.fixed ? g.size : g.maxlen, &off, &len))
		return;
	note(OP_MAPWRITE, off, len, 0);
	/* A mapping cannot grow the file: extend it first, as fsx does. */
	if (off + len > g.size) {
		if (ftruncate(g.fd, (off_t)(off + len)))
			fail("ftruncate before mapwrite: %s", strerror(errno));
		model_grow(off + len);
	}
	p = map_range(off, len, PROT_READ | PROT_WRITE, &pg);
	fill(p + pg, len);
	memcpy(g.model + off, p + pg, len);
	if (msync(p, len + pg, MS_SYNC))
		fail("msync: %s", strerror(errno));
	munmap(p, len + pg);
}

static void do_truncate(void)
{
	uint64_t size = rnd_below(g.maxlen + 1);

	if (g.fixed)
		return;
	if (g.direct && rnd_below(2))
		size = size / g.align * g.align;
	note(OP_TRUNCATE, size, 0, 0);
	if (ftruncate(g.fd, (off_t)size))
		fail("ftruncate 0x%" PRIx64 ": %s", size, strerror(errno));
	if (size < g.size)
		memset(g.model + size, 0, g.size - size);
	g.size = size;
	check_size("truncate");
}

static void do_fallocate(enum op op, int mode, uint64_t limit)
{
	uint64_t off, len, end;

	if (!pick_range(limit, &off, &len))
		return;
	note(op, off, len, mode);
	if (fallocate(g.fd, mode, (off_t)off, (off_t)len)) {
		if (errno == EOPNOTSUPP)
			return;
		fail("fallocate mode 0x%x 0x%" PRIx64 "+0x%" PRIx64 ": %s", mode, off, len,
		     strerror(errno));
	}
	end = off + len;
	if (mode & FALLOC_FL_KEEP_SIZE)
		end = end < g.size ? end : g.size;
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		memset(g.model + off, 0, end > off ? end - off : 0);
	if (!(mode & FALLOC_FL_KEEP_SIZE))
		model_grow(off + len);
	check_size(op_names[op]);
}

static void do_punch(void)
{
	do_fallocate(OP_PUNCH, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, g.size);
}

static void do_zero(void)
{
	bool keep = g.fixed || rnd_below(2);

	do_fallocate(OP_ZERO, FALLOC_FL_ZERO_RANGE | (keep ? FALLOC_FL_KEEP_SIZE : 0),
		     keep ? g.size : g.maxlen);
}

static void do_falloc(void)
{
	bool keep = g.fixed || rnd_below(2);

	do_fallocate(OP_FALLOC, keep ? FALLOC_FL_KEEP_SIZE : 0, keep ? g.size : g.maxlen);
}

static bool model_zero(uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++)
		if (g.model[i])
			return false;
	return true;
}

/* Holes read as zeros: what SEEK_DATA skips must be zero, and both stay in the file. */
static void do_seek(void)
{
	uint64_t off = rnd_below(g.size + 1);
	off_t d, h;

	note(OP_SEEK, off, 0, 0);
	d = lseek(g.fd, (off_t)off, SEEK_DATA);
	if (d < 0 && errno != ENXIO)
		fail("SEEK_DATA 0x%" PRIx64 ": %s", off, strerror(errno));
	if (d < 0 && !model_zero(off, g.size))
		fail("SEEK_DATA 0x%" PRIx64 ": ENXIO, but there is data before the end", off);
	if (d >= 0 && ((uint64_t)d < off || (uint64_t)d >= g.size || !model_zero(off, (uint64_t)d)))
		fail("SEEK_DATA 0x%" PRIx64 " gave 0x%llx (size 0x%" PRIx64 ")", off,
		     (long long)d, g.size);
	h = lseek(g.fd, (off_t)off, SEEK_HOLE);
	if (off == g.size) {
		if (h >= 0 || errno != ENXIO)
			fail("SEEK_HOLE at the end 0x%" PRIx64 " gave %lld, expected ENXIO", off,
			     (long long)h);
		return;
	}
	if (h < 0 || (uint64_t)h < off || (uint64_t)h > g.size)
		fail("SEEK_HOLE 0x%" PRIx64 " gave %lld (size 0x%" PRIx64 ")", off, (long long)h,
		     g.size);
}

static void do_fsync(void)
{
	note(OP_FSYNC, 0, 0, 0);
	if (fsync(g.fd))
		fail("fsync: %s", strerror(errno));
}

static void do_reopen(void)
{
	note(OP_REOPEN, 0, 0, 0);
	if (close(g.fd))
		fail("close: %s", strerror(errno));
	open_file();
	check_size("reopen");
}

static enum op pick_op(void)
{
	unsigned total = 0, r, i;

	for (i = 0; i < OP_COUNT; i++)
		total += op_weight[i];
	r = (unsigned)rnd_below(total);
	for (i = 0; r >= op_weight[i]; i++)
		r -= op_weight[i];
	return (enum op)i;
}

static void run_op(enum op op)
{
	switch (op) {
	case OP_READ: do_read(); break;
	case OP_WRITE: do_write(); break;
	case OP_MAPREAD: do_mapread(); break;
	case OP_MAPWRITE: do_mapwrite(); break;
	case OP_TRUNCATE: do_truncate(); break;
	case OP_PUNCH: do_punch(); break;
	case OP_ZERO: do_zero(); break;
	case OP_FALLOC: do_falloc(); break;
	case OP_SEEK: do_seek(); break;
	case OP_FSYNC: do_fsync(); break;
	case OP_REOPEN: do_reopen(); break;
	case OP_COUNT: break;
	}
}

/* Read the whole file back (plainly, through a fresh descriptor) and compare. */
static void final_check(void)
{
	int fd = open(g.path, O_RDONLY);
	unsigned char *all = malloc(g.size ? g.size : 1);
	ssize_t n;

	if (fd < 0 || !all)
		fail("final check: %s", strerror(errno));
	for (uint64_t got = 0; got < g.size; got += (uint64_t)n) {
		n = pread(fd, all + got, g.size - got, (off_t)got);
		if (n <= 0)
			fail("final read at 0x%" PRIx64 ": %s", got, n ? strerror(errno) : "early EOF");
	}
	compare(all, 0, g.size, "final read");
	close(fd);
	free(all);
}

static void write_ref(void)
{
	FILE *f = fopen(g.ref_path, "we");

	if (!f || fwrite(g.model, 1, g.size, f) != g.size || fclose(f))
		fail("writing the reference %s: %s", g.ref_path, strerror(errno));
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end || end == s) {
		fprintf(stderr, "fsx: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	int c;

	g.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	g.nops = 10000;
	g.maxlen = 1 << 20;
	g.maxop = 64 << 10;
	g.align = 512;
	while ((c = getopt(argc, argv, "S:N:l:o:ZA:FMR:q")) != -1) {
		switch (c) {
		case 'S': g.seed = num(optarg); break;
		case 'N': g.nops = (unsigned long)num(optarg); break;
		case 'l': g.maxlen = num(optarg); break;
		case 'o': g.maxop = num(optarg); break;
		case 'Z': g.direct = true; break;
		case 'A': g.align = num(optarg); break;
		case 'F': g.fixed = true; break;
		case 'M': g.no_mmap = true; break;
		case 'R': g.ref_path = optarg; break;
		case 'q': g.quiet = true; break;
		default:
			fprintf(stderr, "usage: fsx [-S SEED] [-N OPS] [-l MAXLEN] [-o MAXOP] [-Z] [-A ALIGN] [-F] [-M] [-R REF] [-q] FILE\n");
			exit(2);
		}
	}
	if (optind != argc - 1 || !g.maxlen || !g.maxop || !g.align || g.maxop > g.maxlen) {
		fprintf(stderr, "fsx: need one FILE and sizes with MAXOP <= MAXLEN\n");
		exit(2);
	}
	g.path = argv[optind];
	g.rng = g.seed ? g.seed : 1;	/* xorshift never leaves 0 */
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	g.page = sysconf(_SC_PAGESIZE);
	g.model = calloc(1, g.maxlen);
	if (!g.model || posix_memalign((void **)&g.buf, (size_t)g.page, g.maxop)) {
		fprintf(stderr, "fsx: out of memory\n");
		return 1;
	}
	printf("fsx: seed %" PRIu64 ", %lu operations on %s%s%s\n", g.seed, g.nops, g.path,
	       g.direct ? " (O_DIRECT)" : "", g.fixed ? " (fixed size)" : "");
	load_model();
	open_file();
	for (g.done = 0; g.done < g.nops; g.done++)
		run_op(pick_op());
	check_size("the last operation");
	if (close(g.fd))
		fail("close: %s", strerror(errno));
	final_check();
	if (g.ref_path)
		write_ref();
	if (!g.quiet) {
		printf("fsx: passed; size 0x%" PRIx64 ";", g.size);
		for (int i = 0; i < OP_COUNT; i++)
			printf(" %s %lu", op_names[i], g.count[i]);
		printf("\n");
	}
	return 0;
}
