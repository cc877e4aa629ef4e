/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - furi_config_init() defaults and furi_config_set() on
 * every option: good values land in the right field, bad values give
 * -EINVAL with a message naming the option and leave the field alone,
 * unknown keys give -ENOENT with the option string given back intact
 * (a filesystem's own parser takes it next), sizes take K, M and G.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>

#include "internal.h"
#include <sys/mount.h>

#include "check.h"

static struct furi_config cfg;
static char err[256];
static char opt[512];

/* furi_config_set on a private copy of s, as a caller's argv would be. */
static int set(const char *s)
{
	snprintf(opt, sizeof(opt), "%s", s);
	err[0] = '\0';
	return furi_config_set(&cfg, opt, err, sizeof(err));
}

/* Rejected with -EINVAL, and the message names what was wrong. */
#define CHECK_BAD(s, key)                                              \
	do {                                                           \
		CHECK_EQ(set(s), -EINVAL);                             \
		CHECK_CONTAINS(err, key);                              \
	} while (0)

static void test_defaults(void)
{
	furi_config_init(&cfg);
	CHECK(cfg.fsname == NULL);
	CHECK(cfg.subtype == NULL);
	CHECK(!cfg.allow_other);
	CHECK(!cfg.default_permissions);
	CHECK(!cfg.read_only);
	CHECK(!cfg.suid);
	CHECK(!cfg.dev);
	CHECK_EQ(cfg.max_read, 0);
	CHECK_EQ(cfg.max_write, 1u << 20);
	CHECK_EQ(cfg.max_readahead, 0);
	CHECK_EQ(cfg.max_background, 0);
	CHECK_EQ(cfg.congestion_threshold, 0);
	CHECK(!cfg.writeback_cache);
	CHECK_EQ(cfg.transport, FURI_TRANSPORT_AUTO);
	CHECK_EQ(cfg.queue_depth, 64);
	CHECK_EQ(cfg.uring_threads, 0);
	CHECK_EQ(cfg.legacy_threads, 0);
	CHECK_EQ(cfg.spin_us, 0);
	CHECK_EQ(cfg.io_spin_us, 200);
	CHECK_EQ(cfg.sched_idle, FURI_SCHED_IDLE_AUTO);
	CHECK_EQ(cfg.pin, FURI_PIN_AUTO);
	CHECK(cfg.status_name == NULL);
}

static void test_string_options_point_into_opt(void)
{
	furi_config_init(&cfg);
	CHECK_EQ(set("fsname=myfs"), 0);
	CHECK_STR(cfg.fsname, "myfs");
	CHECK(cfg.fsname == opt + strlen("fsname="));	/* no copy: opt must outlive cfg */
	CHECK_EQ(set("subtype=memfs"), 0);
	CHECK_STR(cfg.subtype, "memfs");

	/* A value may contain '=' after the first one. */
	CHECK_EQ(set("fsname=a=b"), 0);
	CHECK_STR(cfg.fsname, "a=b");

	CHECK_BAD("fsname", "fsname");
	CHECK_BAD("fsname=", "fsname");
	CHECK_BAD("subtype", "subtype");
	CHECK_BAD("subtype=", "subtype");
}

static void test_flag_options(void)
{
	static const struct {
		const char *key;
		size_t off;
	} flags[] = {
		{ "allow_other", offsetof(struct furi_config, allow_other) },
		{ "default_permissions", offsetof(struct furi_config, default_permissions) },
		{ "ro", offsetof(struct furi_config, read_only) },
		{ "suid", offsetof(struct furi_config, suid) },
		{ "dev", offsetof(struct furi_config, dev) },
		{ "writeback_cache", offsetof(struct furi_config, writeback_cache) },
	};

	for (size_t i = 0; i < FURI_ARRAY_SIZE(flags); i++) {
		char bad[64];
		bool *field = (bool *)((char *)&cfg + flags[i].off);

		furi_config_init(&cfg);
		CHECK(!*field);
		CHECK_EQ(set(flags[i].key), 0);
		CHECK(*field);

		/* A flag takes no value; the message shows key and value. */
		furi_config_init(&cfg);
		snprintf(bad, sizeof(bad), "%s=yes", flags[i].key);
		CHECK_BAD(bad, flags[i].key);
		CHECK_CONTAINS(err, "yes");
		CHECK(!*field);
	}

	furi_config_init(&cfg);
	CHECK_EQ(set("ro"), 0);
	CHECK(cfg.read_only);
	CHECK_EQ(set("rw"), 0);
	CHECK(!cfg.read_only);
	CHECK_BAD("rw=1", "rw");

	furi_config_init(&cfg);
	CHECK_EQ(set("nopin"), 0);
	CHECK_EQ(cfg.pin, FURI_PIN_NEVER);
	furi_config_init(&cfg);
	CHECK_BAD("nopin=1", "nopin");
	CHECK_EQ(cfg.pin, FURI_PIN_AUTO);
}

struct uint_opt {
	const char *key;
	size_t off;
	unsigned lo, hi;
};

static const struct uint_opt uint_opts[] = {
	{ "max_read", offsetof(struct furi_config, max_read), 4096, 1u << 30 },
	{ "max_write", offsetof(struct furi_config, max_write), 4096, 16u << 20 },
	{ "max_readahead", offsetof(struct furi_config, max_readahead), 0, 1u << 30 },
	{ "max_background", offsetof(struct furi_config, max_background), 1, 65535 },
	{ "congestion_threshold", offsetof(struct furi_config, congestion_threshold), 1, 65535 },
	{ "queue_depth", offsetof(struct furi_config, queue_depth), 1, 4096 },
	{ "uring_threads", offsetof(struct furi_config, uring_threads), 1, 4096 },
	{ "threads", offsetof(struct furi_config, legacy_threads), 1, 1024 },
	{ "spin_us", offsetof(struct furi_config, spin_us), 0, 1000000 },
	{ "io_spin_us", offsetof(struct furi_config, io_spin_us), 0, 1000000 },
};

static void test_number_options_ranges(void)
{
	for (size_t i = 0; i < FURI_ARRAY_SIZE(uint_opts); i++) {
		const struct uint_opt *o = &uint_opts[i];
		unsigned *field = (unsigned *)((char *)&cfg + o->off);
		static const char *const junk[] = { "", "abc", "12x", "-1", "1KB", "0x10", "+-1" };
		char s[96];
		int before = check_failures;
		unsigned keep;

		furi_config_init(&cfg);
		snprintf(s, sizeof(s), "%s=%u", o->key, o->lo);
		CHECK_EQ(set(s), 0);
		CHECK_EQ(*field, o->lo);
		snprintf(s, sizeof(s), "%s=%u", o->key, o->hi);
		CHECK_EQ(set(s), 0);
		CHECK_EQ(*field, o->hi);
		keep = *field;

		/* Out of range: EINVAL, the range in the message, field kept. */
		snprintf(s, sizeof(s), "%s=%llu", o->key, (unsigned long long)o->hi + 1);
		CHECK_BAD(s, o->key);
		CHECK_CONTAINS(err, s + strlen(o->key) + 1);
		if (o->lo > 0) {
			snprintf(s, sizeof(s), "%s=%u", o->key, o->lo - 1);
			CHECK_BAD(s, o->key);
		}
		CHECK_EQ(*field, keep);

		for (size_t j = 0; j < FURI_ARRAY_SIZE(junk); j++) {
			snprintf(s, sizeof(s), "%s=%s", o->key, junk[j]);
			CHECK_BAD(s, o->key);
		}
		/* No value at all. */
		CHECK_BAD(o->key, o->key);
		CHECK_EQ(*field, keep);
		if (check_failures != before)
			fprintf(stderr, "  (option %s)\n", o->key);
	}
}

static void test_size_suffixes(void)
{
	furi_config_init(&cfg);
	CHECK_EQ(set("max_write=64k"), 0);
	CHECK_EQ(cfg.max_write, 65536);
	CHECK_EQ(set("max_write=128K"), 0);
	CHECK_EQ(cfg.max_write, 131072);
	CHECK_EQ(set("max_write=1M"), 0);
	CHECK_EQ(cfg.max_write, 1u << 20);
	CHECK_EQ(set("max_write=16m"), 0);
	CHECK_EQ(cfg.max_write, 16u << 20);
	CHECK_BAD("max_write=17M", "max_write");
	CHECK_EQ(set("max_read=1G"), 0);
	CHECK_EQ(cfg.max_read, 1u << 30);
	CHECK_EQ(set("max_readahead=1g"), 0);
	CHECK_EQ(cfg.max_readahead, 1u << 30);
	CHECK_BAD("max_read=2G", "max_read");
	CHECK_EQ(set("max_readahead=0"), 0);
	CHECK_EQ(cfg.max_readahead, 0);
	CHECK_EQ(set("queue_depth=4K"), 0);
	CHECK_EQ(cfg.queue_depth, 4096);

	/* Only one suffix, and only at the end. */
	CHECK_BAD("max_write=1MK", "max_write");
	CHECK_BAD("max_write=K", "max_write");
	CHECK_BAD("max_write=1T", "max_write");
}

/*
 * A number whose suffix shift overflows 64 bits must not wrap around into
 * the allowed range: 2^54 + 4 KiB is 2^64 + 4096, which wrapped to 4096.
 */
static void test_size_suffix_overflow_is_rejected(void)
{
	furi_config_init(&cfg);
	CHECK_BAD("max_write=18014398509481988K", "max_write");
	CHECK_BAD("max_write=17592186044420M", "max_write");	/* (2^44 + 4) << 20 */
	CHECK_BAD("max_write=17179869188G", "max_write");	/* (2^34 + 4) << 30 */
	CHECK_BAD("max_write=99999999999999999999", "max_write");	/* > 2^64 */
	CHECK_EQ(cfg.max_write, 1u << 20);
}

/* Options taking one of a few names; the first three are the ones the error lists. */
struct choice_opt {
	const char *key;
	size_t off;			/* of the enum in struct furi_config */
	const char *names[5];
	int values[5];
	const char *expected;		/* as the error message lists them */
};

static const struct choice_opt choice_opts[] = {
	{ "transport", offsetof(struct furi_config, transport),
	  { "auto", "uring", "io_uring", "legacy", "dev_fuse" },
	  { FURI_TRANSPORT_AUTO, FURI_TRANSPORT_URING, FURI_TRANSPORT_URING,
	    FURI_TRANSPORT_LEGACY, FURI_TRANSPORT_LEGACY },
	  "(expected auto, uring or legacy)" },
	{ "sched_idle", offsetof(struct furi_config, sched_idle),
	  { "always", "never", "auto" },
	  { FURI_SCHED_IDLE_ALWAYS, FURI_SCHED_IDLE_NEVER, FURI_SCHED_IDLE_AUTO },
	  "(expected auto, always or never)" },
	{ "pin", offsetof(struct furi_config, pin),
	  { "never", "always", "auto" },
	  { FURI_PIN_NEVER, FURI_PIN_ALWAYS, FURI_PIN_AUTO },
	  "(expected auto, always or never)" },
};

static void test_choice_values(void)
{
	for (size_t i = 0; i < FURI_ARRAY_SIZE(choice_opts); i++) {
		const struct choice_opt *c = &choice_opts[i];
		int *field = (int *)((char *)&cfg + c->off);
		static const char *const bad_values[] = { "=sometimes", "", "=", "=AUTO", "=auto " };
		char o[64], want[96];

		furi_config_init(&cfg);
		for (size_t k = 0; k < 5 && c->names[k]; k++) {
			*field = 99;
			snprintf(o, sizeof(o), "%s=%s", c->key, c->names[k]);
			CHECK_EQ(set(o), 0);
			CHECK_EQ(*field, c->values[k]);
		}
		/* A bad value names the option, the value and the choices, and changes nothing. */
		*field = c->values[0];
		for (size_t k = 0; k < FURI_ARRAY_SIZE(bad_values); k++) {
			snprintf(o, sizeof(o), "%s%s", c->key, bad_values[k]);
			CHECK_BAD(o, c->key);
			CHECK_CONTAINS(err, c->expected);
			CHECK_EQ(*field, c->values[0]);
		}
		snprintf(o, sizeof(o), "%s=sometimes", c->key);
		CHECK_BAD(o, c->key);
		snprintf(want, sizeof(want), "'sometimes' %s", c->expected);
		CHECK_CONTAINS(err, want);
	}
}

/* Unknown options are handed back untouched for the next parser. */
static void test_unknown_keys_restore_option(void)
{
	static const char *const unknown[] = {
		"foo", "foo=bar", "cache=yes=no", "max_writes=5", "Allow_other", "ro ",
		"=value", "", "=", "fsname_x=1", "max_write_=4096",
	};
	struct furi_config before;

	furi_config_init(&cfg);
	before = cfg;
	for (size_t i = 0; i < FURI_ARRAY_SIZE(unknown); i++) {
		CHECK_EQ(set(unknown[i]), -ENOENT);
		CHECK_STR(opt, unknown[i]);
		CHECK_STR(err, "");	/* not an error of ours: no message */
	}
	CHECK(memcmp(&before, &cfg, sizeof(cfg)) == 0);
}

/*
 * libfuse's option names: aliases where furi has the same behaviour, and an
 * error naming furi's option or why where it has none. kernel_cache and
 * direct_io are the filesystems' (-ENOENT here).
 */
static void test_libfuse_names(void)
{
	static const char *const for_filesystems[] = { "kernel_cache", "direct_io" };

	furi_config_init(&cfg);
	CHECK_EQ(set("debug"), 0);
	CHECK(cfg.debug);
	CHECK_EQ(set("max_threads=3"), 0);
	CHECK_EQ(cfg.legacy_threads, 3);
	CHECK_EQ(set("io_uring_q_depth=8"), 0);
	CHECK_EQ(cfg.queue_depth, 8);
	CHECK_EQ(set("io_uring"), 0);
	CHECK_EQ(cfg.transport, FURI_TRANSPORT_URING);
	CHECK_EQ(set("clone_fd"), 0);
	CHECK_BAD("max_threads=0", "max_threads");
	CHECK_BAD("io_uring=1", "io_uring");
	CHECK_BAD("clone_fd=1", "clone_fd");
	CHECK_BAD("debug=1", "debug");
	CHECK_BAD("max_idle_threads=10", "fix: -o threads=N");
	CHECK_BAD("umask=022", "-o umask is libfuse's");
	CHECK_BAD("allow_root", "fix: -o allow_other");
	for (size_t i = 0; i < FURI_ARRAY_SIZE(for_filesystems); i++) {
		CHECK_EQ(set(for_filesystems[i]), -ENOENT);
		CHECK_STR(opt, for_filesystems[i]);
	}
}

static void test_error_buffer_may_be_null_or_small(void)
{
	char small[8];

	furi_config_init(&cfg);
	snprintf(opt, sizeof(opt), "max_write=1");
	CHECK_EQ(furi_config_set(&cfg, opt, NULL, 0), -EINVAL);
	snprintf(opt, sizeof(opt), "max_write=1");
	memset(small, 'x', sizeof(small));
	CHECK_EQ(furi_config_set(&cfg, opt, small, sizeof(small)), -EINVAL);
	CHECK_EQ(small[sizeof(small) - 1], '\0');
	CHECK_EQ(strlen(small), sizeof(small) - 1);
	CHECK_EQ(cfg.max_write, 1u << 20);
}

static void test_help_lists_every_option(void)
{
	static const char *const keys[] = {
		"fsname=", "subtype=", "allow_other", "default_permissions", "ro", "rw", "suid",
		"dev", "max_read=", "max_write=", "max_readahead=", "max_background=",
		"congestion_threshold=", "writeback_cache", "transport=", "queue_depth=",
		"uring_threads=", "threads=", "spin_us=", "io_spin_us=", "sched_idle=", "pin=", "nopin",
		"debug", "max_threads=", "io_uring", "io_uring_q_depth=", "clone_fd", "kernel_cache",
		"direct_io", "max_idle_threads", "umask", "allow_root",
	};
	const char *help = furi_config_help();

	for (size_t i = 0; i < FURI_ARRAY_SIZE(keys); i++)
		CHECK_CONTAINS(help, keys[i]);
}

/* mount(8)'s generic flags, and their opposites undoing them. */
static void test_mount_flags(void)
{
	struct furi_config c;
	char msg[256];
	char o1[] = "noatime", o2[] = "noexec", o3[] = "sync", o4[] = "relatime", o5[] = "exec",
	     o6[] = "dirsync", o7[] = "noatime=1";

	furi_config_init(&c);
	CHECK_EQ_U64(c.mount_flags, 0);
	CHECK_EQ(furi_config_set(&c, o1, msg, sizeof(msg)), 0);
	CHECK_EQ(furi_config_set(&c, o2, msg, sizeof(msg)), 0);
	CHECK_EQ(furi_config_set(&c, o3, msg, sizeof(msg)), 0);
	CHECK_EQ(furi_config_set(&c, o6, msg, sizeof(msg)), 0);
	CHECK_EQ_U64(c.mount_flags, MS_NOATIME | MS_NOEXEC | MS_SYNCHRONOUS | MS_DIRSYNC);
	/* relatime replaces noatime; exec undoes noexec. */
	CHECK_EQ(furi_config_set(&c, o4, msg, sizeof(msg)), 0);
	CHECK_EQ(furi_config_set(&c, o5, msg, sizeof(msg)), 0);
	CHECK_EQ_U64(c.mount_flags, MS_RELATIME | MS_SYNCHRONOUS | MS_DIRSYNC);
	CHECK_EQ(furi_config_set(&c, o7, msg, sizeof(msg)), -EINVAL);
	CHECK(strstr(msg, "noatime") != NULL);
}

/* Every option mount(8) passes to a FUSE filesystem, each with its effect on cfg. */
static void test_every_mount8_option(void)
{
	static const struct {
		const char *opts;	/* applied in order to a fresh config */
		unsigned long flags;	/* furi_mount_option() from 0 */
		bool suid, dev, ro;
	} cases[] = {
		{ "nosuid,nodev", MS_NOSUID | MS_NODEV, false, false, false },
		{ "suid,dev", 0, true, true, false },
		{ "suid,nosuid", MS_NOSUID, false, false, false },
		{ "ro", MS_RDONLY, false, false, true },
		{ "ro,rw", 0, false, false, false },
		{ "noexec", MS_NOEXEC, false, false, false },
		{ "noexec,exec", 0, false, false, false },
		{ "sync,dirsync", MS_SYNCHRONOUS | MS_DIRSYNC, false, false, false },
		{ "sync,async", 0, false, false, false },
		{ "noatime,nodiratime", MS_NOATIME | MS_NODIRATIME, false, false, false },
		{ "noatime,atime", 0, false, false, false },
		{ "relatime,norelatime", 0, false, false, false },
		{ "strictatime", MS_STRICTATIME, false, false, false },
		{ "noatime,strictatime", MS_STRICTATIME, false, false, false },
		{ "strictatime,nostrictatime", 0, false, false, false },
		{ "nodiratime,diratime", 0, false, false, false },
		{ "lazytime", MS_LAZYTIME, false, false, false },
		{ "lazytime,nolazytime", 0, false, false, false },
		{ "nosymfollow", MS_NOSYMFOLLOW, false, false, false },
		{ "nosymfollow,symfollow", 0, false, false, false },
		{ "iversion,noiversion", 0, false, false, false },
		{ "silent", MS_SILENT, false, false, false },
		{ "silent,loud", 0, false, false, false },
		{ "mand,nomand", 0, false, false, false },
	};
	char msg[256], buf[128], *o, *save;

	for (size_t i = 0; i < FURI_ARRAY_SIZE(cases); i++) {
		struct furi_config c;
		unsigned long flags = 0;

		furi_config_init(&c);
		snprintf(buf, sizeof(buf), "%s", cases[i].opts);
		save = NULL;
		for (o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			char one[32];

			snprintf(one, sizeof(one), "%s", o);
			CHECK_EQ(furi_config_set(&c, one, msg, sizeof(msg)), 0);
			CHECK_EQ(furi_mount_option(o, &flags), 0);
		}
		CHECK_EQ_U64(flags, cases[i].flags);
		CHECK_EQ(c.suid, cases[i].suid);
		CHECK_EQ(c.dev, cases[i].dev);
		CHECK_EQ(c.read_only, cases[i].ro);
		CHECK_EQ_U64(c.mount_flags, cases[i].flags & ~(MS_NOSUID | MS_NODEV | MS_RDONLY));
	}
	/* Not a mount(8) option: the caller tries its own. */
	{
		unsigned long flags = 0;
		struct furi_config c;
		char rm[] = "remount", ns[] = "nosuid=1";

		CHECK_EQ(furi_mount_option("size", &flags), -ENOENT);
		CHECK_EQ(furi_mount_option("remount", &flags), -ENOENT);
		furi_config_init(&c);
		CHECK_EQ(furi_config_set(&c, rm, msg, sizeof(msg)), -EINVAL);
		CHECK(strstr(msg, "mount -o remount") != NULL);
		CHECK_EQ(furi_config_set(&c, ns, msg, sizeof(msg)), -EINVAL);
		CHECK(strstr(msg, "nosuid") != NULL);
	}
}

int main(void)
{
	test_mount_flags();
	test_every_mount8_option();
	test_defaults();
	test_string_options_point_into_opt();
	test_flag_options();
	test_number_options_ranges();
	test_size_suffixes();
	test_size_suffix_overflow_is_rejected();
	test_choice_values();
	test_unknown_keys_restore_option();
	test_libfuse_names();
	test_error_buffer_may_be_null_or_small();
	test_help_lists_every_option();
	return check_exit("test_config");
}
