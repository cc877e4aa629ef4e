/* SPDX-License-Identifier: MIT */
/*
 * passthrough_setup.c - `furi mount passthrough`: its options, opening and
 * checking SOURCE_DIR, the open file limit, the server's identity, and the
 * filesystem's start and end. The requests are served in passthrough.c.
 */
#include "passthrough.h"

#include <sys/mount.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

/* ------------------------------------------------------------------------ */
/* Options and lifetime                                                     */
/* ------------------------------------------------------------------------ */

static int opt_seconds(double *field, const char *key, const char *val, char *err, size_t errlen)
{
	char *end;
	double v = val && *val ? strtod(val, &end) : -1;

	if (!val || !*val || *end || !isfinite(v) || v < 0 || v > 1e9) {
		snprintf(err, errlen, "bad value for -o %s: '%s' (expected seconds, like 1 or 0.5)",
			 key, val ? val : "");
		return -EINVAL;
	}
	*field = v;
	return 0;
}

static int opt_flag(bool *field, const char *key, const char *val, char *err, size_t errlen)
{
	if (val) {
		snprintf(err, errlen, "-o %s takes no value (got '%s')", key, val);
		return -EINVAL;
	}
	*field = true;
	return 0;
}

static int pt_set_option(void *fsp, char *opt, struct furi_config *cfg, char *err,
			 size_t errlen)
{
	struct passthrough *fs = fsp;
	const char *eq = strchr(opt, '=');
	const char *val = eq ? eq + 1 : NULL;
	char key[32];
	size_t klen = eq ? (size_t)(eq - opt) : strlen(opt);
	int r;

	(void)cfg;
	if (klen >= sizeof(key))
		return -ENOENT;
	memcpy(key, opt, klen);
	key[klen] = '\0';
	if (!strcmp(key, "timeout")) {
		r = opt_seconds(&fs->attr_timeout, key, val, err, errlen);
		fs->entry_timeout = fs->attr_timeout;
		return r;
	}
	if (!strcmp(key, "attr_timeout"))
		return opt_seconds(&fs->attr_timeout, key, val, err, errlen);
	if (!strcmp(key, "entry_timeout"))
		return opt_seconds(&fs->entry_timeout, key, val, err, errlen);
	if (!strcmp(key, "negative_timeout"))
		return opt_seconds(&fs->negative_timeout, key, val, err, errlen);
	if (!strcmp(key, "keep_cache") || !strcmp(key, "kernel_cache"))	/* libfuse's name */
		return opt_flag(&fs->keep_cache, key, val, err, errlen);
	if (!strcmp(key, "direct_io"))
		return opt_flag(&fs->direct_io, key, val, err, errlen);
	if (!strcmp(key, "source_direct_reads"))
		return opt_flag(&fs->source_direct_reads, key, val, err, errlen);
	if (!strcmp(key, "kernel_passthrough"))
		return opt_flag(&fs->kernel_passthrough, key, val, err, errlen);
	if (!strcmp(key, "nokillpriv_v2"))
		return opt_flag(&fs->no_killpriv_v2, key, val, err, errlen);
	if (!strcmp(key, "noacl"))
		return opt_flag(&fs->no_acl, key, val, err, errlen);
	return -ENOENT;
}

static void *pt_alloc(void)
{
	struct passthrough *fs = calloc(1, sizeof(*fs));
	int i;

	if (!fs)
		return NULL;
	for (i = 0; i < NSHARDS; i++) {
		pthread_mutex_init(&fs->shards[i].lock, NULL);
		fs->shards[i].nbuckets = SHARD_MIN_BUCKETS;
		fs->shards[i].buckets = calloc(SHARD_MIN_BUCKETS, sizeof(struct pnode *));
		if (!fs->shards[i].buckets) {
			while (i-- > 0)
				free(fs->shards[i].buckets);
			free(fs);
			return NULL;
		}
	}
	pthread_mutex_init(&fs->backing_lock, NULL);
	fs->root.fd = -1;
	fs->mount_fd = -1;
	fs->proc_fd = -1;
	fs->attr_timeout = DEFAULT_TIMEOUT;
	fs->entry_timeout = DEFAULT_TIMEOUT;
	atomic_init(&fs->next_generation, 1);
	return fs;
}

/*
 * Every node the kernel caches holds a descriptor: take the hard limit (as
 * root, first raise it to what the system allows).
 */
static int raise_fd_limit(struct passthrough *fs, char *err, size_t errlen)
{
	struct rlimit rl;
	unsigned long long nr_open = 0;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		snprintf(err, errlen, "passthrough: getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -errno;
	}
	if (geteuid() == 0 && (f = fopen("/proc/sys/fs/nr_open", "re"))) {
		if (fscanf(f, "%llu", &nr_open) == 1 && nr_open > rl.rlim_max) {
			struct rlimit more = { (rlim_t)nr_open, (rlim_t)nr_open };

			if (!setrlimit(RLIMIT_NOFILE, &more))
				rl = more;
		}
		fclose(f);
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			snprintf(err, errlen, "passthrough: cannot raise the open file limit to its "
				 "hard limit %llu: %s (fix: ulimit -n %llu before mounting)",
				 (unsigned long long)rl.rlim_max, strerror(errno),
				 (unsigned long long)rl.rlim_max);
			return -errno;
		}
	}
	/* A quarter stays for open files, directories and handles reopened for a call. */
	fs->max_node_fds = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX / 4
			   ? LONG_MAX / 4 : (long)rl.rlim_cur / 4 * 3;
	/* Pins take at most half of that quarter. */
	fs->max_pinned_fds = fs->max_node_fds == LONG_MAX / 4
			     ? LONG_MAX / 4 : (long)rl.rlim_cur / 8 * 7;
	return 0;
}

/*
 * For nodes beyond max_node_fds: file handles on the source's mount, which
 * open_by_handle_at resolves through a real (not O_PATH) descriptor there.
 * Without handle support every node keeps its descriptor.
 */
static void source_mount(struct passthrough *fs)
{
	struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);

	if (!h)
		return;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (!name_to_handle_at(fs->root.fd, "", h, &fs->mount_id, AT_EMPTY_PATH))
		fs->mount_fd = openat(fs->root.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(h);
}

/*
 * The mount's atime options give the source their semantics: the source is
 * served through a private copy of its mount (open_tree OPEN_TREE_CLONE:
 * detached, seen by no one else, gone with the server's last descriptor
 * of it) whose atime mode is the furi mount's, so the kernel updates atime
 * on the server's reads, readdirs and the kernel's own passthrough reads
 * exactly as on a local filesystem mounted so. The kernel's FUSE inodes
 * are S_NOATIME: atime is the server's alone. Returns an O_PATH descriptor
 * of the copy's root, or -errno (no CAP_SYS_ADMIN, Linux before 5.12).
 */
static int source_with_atime(const char *source, unsigned long ms_flags)
{
	struct mount_attr attr = { .attr_clr = MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME };
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, source,
			      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (fd < 0)
		return -errno;
	if (ms_flags & MS_NOATIME)
		attr.attr_set = MOUNT_ATTR_NOATIME;
	else if (ms_flags & MS_STRICTATIME)
		attr.attr_set = MOUNT_ATTR_STRICTATIME;
	else
		attr.attr_set = MOUNT_ATTR_RELATIME;	/* the kernel's default */
	if (ms_flags & MS_NODIRATIME)
		attr.attr_set |= MOUNT_ATTR_NODIRATIME;
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr))) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/*
 * Without a private mount (a user's server): -o noatime still keeps reads
 * from touching atime where the server may ask for O_NOATIME (its own
 * files); the other atime options are the source's.
 */
static void atime_fallback(struct passthrough *fs, unsigned long ms_flags, int why)
{
	fs->noatime_files = ms_flags & MS_NOATIME;
	fs->noatime_dirs = ms_flags & (MS_NOATIME | MS_NODIRATIME);
	if (ms_flags & (MS_STRICTATIME | MS_NODIRATIME | MS_RELATIME | MS_NOATIME))
		furi_log(FURI_LOG_WARN, "passthrough: cannot give %s the mount's atime options "
			 "(a private mount of it: %s)%s", fs->source, strerror(why),
			 ms_flags & MS_NOATIME ? "; -o noatime only spares the server's own files"
					       : "; the source's own apply");
}

static int open_source(struct passthrough *fs, const char *arg, unsigned long ms_flags,
		       char *err, size_t errlen)
{
	struct stat st;
	DIR *probe;
	int fd;

	if (!realpath(arg, fs->source)) {
		int e = errno;

		snprintf(err, errlen, e == ENOENT
			 ? "passthrough: SOURCE_DIR %s does not exist (fix: create it, or name an existing directory)"
			 : "passthrough: SOURCE_DIR %s: %s (fix: name a directory you can reach)",
			 arg, strerror(e));
		return -e;
	}
	if (stat(fs->source, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "passthrough: SOURCE_DIR %s is not a directory (fix: name the "
			 "directory to serve; `furi mount image` serves a single file)", arg);
		return -ENOTDIR;
	}
	/* Readable and searchable, as listing and looking up will need. */
	probe = opendir(fs->source);
	if (!probe || faccessat(AT_FDCWD, fs->source, X_OK, AT_EACCESS)) {
		int e = errno;

		if (probe)
			closedir(probe);
		snprintf(err, errlen, "passthrough: cannot read SOURCE_DIR %s: %s (fix: chmod u+rx it, "
			 "or mount as a user who may read it)", arg, strerror(e));
		return -e;
	}
	closedir(probe);
	fd = source_with_atime(fs->source, ms_flags);
	if (fd < 0) {
		atime_fallback(fs, ms_flags, -fd);
		fd = open(fs->source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, errlen, "passthrough: opening SOURCE_DIR %s: %s", arg, strerror(errno));
		return -errno;
	}
	fs->root.fd = fd;
	source_mount(fs);
	fs->root.dev = st.st_dev;
	fs->root.ino = st.st_ino;
	fs->root.type = S_IFDIR;
	fs->root.nlookup = 1;
	return 0;
}

/* A mountpoint below the source would make the server look itself up. */
static int check_mountpoint(struct passthrough *fs, const char *mountpoint, char *err,
			    size_t errlen)
{
	char real[PATH_MAX];
	size_t n = strlen(fs->source);
	bool inside;

	if (!realpath(mountpoint, real))
		return 0;	/* furi mount reports a bad mountpoint itself */
	if (!strcmp(fs->source, "/"))
		inside = strcmp(real, "/") != 0;
	else
		inside = !strncmp(real, fs->source, n) && real[n] == '/';
	if (!inside)
		return 0;
	snprintf(err, errlen, "passthrough: MOUNTPOINT %s is inside SOURCE_DIR %s; the server would "
		 "call into its own mount (fix: a mountpoint outside the source, or the source "
		 "directory itself)", mountpoint, fs->source);
	return -EINVAL;
}

static int server_identity(struct passthrough *fs, char *err, size_t errlen)
{
	int n;

	fs->server_uid = geteuid();
	fs->server_gid = getegid();
	fs->switch_creds = fs->server_uid == 0;
	n = getgroups(0, NULL);
	if (n < 0)
		n = 0;
	fs->server_groups = calloc((size_t)n + 1, sizeof(gid_t));
	if (!fs->server_groups) {
		snprintf(err, errlen, "passthrough: out of memory");
		return -ENOMEM;
	}
	fs->server_ngroups = n ? getgroups(n, fs->server_groups) : 0;
	if (fs->server_ngroups < 0)
		fs->server_ngroups = 0;
	return 0;
}

static int pt_prepare(void *fsp, char **args, const char *mountpoint, struct furi_config *cfg,
		      char *err, size_t errlen)
{
	struct passthrough *fs = fsp;
	int r;

	if (fs->root.fd >= 0)
		return 0;
	r = open_source(fs, args[0], cfg->mount_flags, err, errlen);
	if (!r)
		r = check_mountpoint(fs, mountpoint, err, errlen);
	if (!r)
		r = raise_fd_limit(fs, err, errlen);
	if (!r)
		r = server_identity(fs, err, errlen);
	if (r)
		return r;
	if (fs->kernel_passthrough && cfg->writeback_cache) {
		snprintf(err, errlen, "passthrough: -o kernel_passthrough and -o writeback_cache "
			 "exclude each other (the kernel refuses passthrough with a writeback cache)");
		return -EINVAL;
	}
	if (fs->kernel_passthrough && geteuid() != 0) {
		snprintf(err, errlen, "passthrough: -o kernel_passthrough needs root (CAP_SYS_ADMIN "
			 "registers backing files)");
		return -EPERM;
	}
	/* Only checked here: `furi mount` forks, and "self" must be the server (pt_init). */
	if (access("/proc/self/fd", X_OK)) {
		snprintf(err, errlen, "passthrough: cannot use /proc/self/fd: %s (fix: mount /proc)",
			 strerror(errno));
		return -errno;
	}
	fs->dirsync = cfg->mount_flags & (MS_DIRSYNC | MS_SYNCHRONOUS);
	/* ENODATA: ACLs are supported, this directory just has none. */
	fs->source_acl = getxattr(fs->source, "system.posix_acl_access", NULL, 0) >= 0 ||
			 errno == ENODATA;
	/* The kernel checks modes first (cheap, from its cache); the source has the last word. */
	cfg->default_permissions = true;
	if (!cfg->legacy_threads)
		cfg->legacy_threads = DEFAULT_LEGACY_THREADS;
	return 0;
}

static void pt_free(void *fsp)
{
	struct passthrough *fs = fsp;
	int i;

	if (!fs)
		return;
	for (i = 0; i < NSHARDS; i++) {
		struct shard *s = &fs->shards[i];
		size_t b;

		for (b = 0; b < s->nbuckets; b++) {
			struct pnode *n = s->buckets[b], *next;

			for (; n; n = next) {
				next = n->hnext;
				pt_node_free(fs, n);
			}
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	if (fs->root.fd >= 0)
		close(fs->root.fd);
	if (fs->proc_fd >= 0)
		close(fs->proc_fd);
	if (fs->mount_fd >= 0)
		close(fs->mount_fd);
	pthread_mutex_destroy(&fs->backing_lock);
	free(fs->server_groups);
	free(fs);
}

static const char passthrough_help[] =
"passthrough serves SOURCE_DIR, an existing directory, on MOUNTPOINT with the\n"
"semantics of the filesystem SOURCE_DIR lives on: what a call does on the mount is\n"
"what the same call does on the source, for every user. Run as root, each call runs\n"
"with the caller's fsuid, fsgid and supplementary groups, so ownership, modes,\n"
"sticky and setgid directories, POSIX ACLs and the clearing of setuid bits come\n"
"from the source. Use -o allow_other to let other users in. default_permissions\n"
"is always on: the kernel checks modes first, the source has the last word.\n"
"\n"
"Data moves without blocking the server: on io_uring, reads, writes, fsync and\n"
"fallocate are submitted on the queue's own ring, reads landing in the buffer the\n"
"kernel takes the reply from. O_DIRECT and O_SYNC opens are honoured on the source.\n"
"File locks (fcntl, OFD, flock) are kept by the kernel for the mount: processes\n"
"using SOURCE_DIR directly do not see them. Access times follow the mount's\n"
"options (noatime, relatime, strictatime, nodiratime), as root: the source is\n"
"served through a private copy of its mount with those options. With -o dirsync\n"
"(or sync) directory changes are synced on the source before the reply.\n"
"\n"
"Options:\n"
"  -o timeout=SECS         attribute and entry timeout together (default 1)\n"
"  -o attr_timeout=SECS    how long the kernel trusts attributes (default 1)\n"
"  -o entry_timeout=SECS   how long the kernel trusts names (default 1)\n"
"  -o negative_timeout=SECS  how long the kernel trusts \"no such name\" (default 0)\n"
"                          Longer timeouts save LOOKUP and GETATTR requests; changes\n"
"                          made in SOURCE_DIR directly take that long to show.\n"
"  -o keep_cache           keep cached file data across opens (default: dropped at\n"
"                          each open, so direct changes to SOURCE_DIR are seen);\n"
"                          libfuse's name, -o kernel_cache, works too\n"
"  -o writeback_cache      the kernel caches writes and writes back later (faster\n"
"                          small writes; st_blocks, SEEK_DATA/HOLE lag until then,\n"
"                          and direct changes to SOURCE_DIR may be overwritten)\n"
"  -o direct_io            no page cache at all (every read and write is a request)\n"
"  -o source_direct_reads  read the source with O_DIRECT where the range\n"
"                          allows: a copy less, and the source's cache keeps\n"
"                          no second copy of what the mount caches (faster\n"
"                          big sequential reads); but re-reads the mount no\n"
"                          longer caches go to the disk, and small reads lose\n"
"                          the source's readahead\n"
"  -o kernel_passthrough   the kernel reads and writes the source files itself (FUSE\n"
"                          passthrough, Linux 6.9+, root): no data requests at all.\n"
"                          Not with writeback_cache. A non-root writer of a setuid\n"
"                          file is served by furi, which clears the bit.\n"
"  -o noacl                do not enforce POSIX ACLs in the kernel\n"
"  -o nokillpriv_v2        let the kernel clear setuid bits (costs a GETXATTR per\n"
"                          write; for measurements)\n"
"  -o threads=N            /dev/fuse workers (default 16: a worker blocked on the\n"
"                          disk must not stall the others)\n"
"\n"
"Every inode the kernel caches holds an open descriptor on the source, up to 3/4 of\n"
"the open file limit, which furi raises to the hard limit at start (as root, to\n"
"fs.nr_open); past that, new inodes keep a file handle and are reopened per call.\n"
"Metadata calls (lookup, create, rename, stat, readdir, ...) run on the serving\n"
"thread; only data calls go to the ring.\n";

const struct furi_fs_type furi_passthrough_type = {
	.name = "passthrough",
	.args = "SOURCE_DIR",
	.nargs = 1,
	.summary = "SOURCE_DIR through FUSE, with the semantics of its filesystem",
	.help = passthrough_help,
	.alloc = pt_alloc,
	.set_option = pt_set_option,
	.prepare = pt_prepare,
	.free = pt_free,
	.ops = &pt_ops,
};
