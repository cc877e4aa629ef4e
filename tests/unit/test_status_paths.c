/* SPDX-License-Identifier: MIT */
/*
 * test_status_paths.c - the helpers `furi status` and the server share
 * (lib/status.c, lib/stats.c): furi_path_absolute() cleaning paths without
 * touching the filesystem, the mountinfo line parser and its \ooo
 * unescaping on fixed strings, latency percentiles from known histograms,
 * opcode names, where status files live, fields of /proc status files, and
 * the I/O priority a thread's disk requests get.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/ioprio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "check.h"

/* furi_path_absolute into a roomy buffer; returns the result or an error tag. */
static const char *absolute(const char *path)
{
	static char buf[PATH_MAX];
	int r = furi_path_absolute(path, buf, sizeof(buf));

	if (r == -EINVAL)
		return "<EINVAL>";
	if (r == -ENAMETOOLONG)
		return "<ENAMETOOLONG>";
	if (r)
		return "<error>";
	return buf;
}

static void test_path_absolute_cleans_absolute_paths(void)
{
	CHECK_STR(absolute("/"), "/");
	CHECK_STR(absolute("/a/b/c"), "/a/b/c");
	CHECK_STR(absolute("//a//b///c/"), "/a/b/c");
	CHECK_STR(absolute("/a/./b/."), "/a/b");
	CHECK_STR(absolute("/a/b/../c"), "/a/c");
	CHECK_STR(absolute("/a/b/c/../../d"), "/a/d");
	CHECK_STR(absolute("/a/.."), "/");
	CHECK_STR(absolute("/.."), "/");
	CHECK_STR(absolute("/../../x"), "/x");
	CHECK_STR(absolute("/./"), "/");
	CHECK_STR(absolute("///"), "/");
	/* Only "." and ".." are special: other dot names are names. */
	CHECK_STR(absolute("/.../..a/a../.b"), "/.../..a/a../.b");
	CHECK_STR(absolute("/mnt/my mount"), "/mnt/my mount");
	CHECK_STR(absolute(NULL), "<EINVAL>");
	CHECK_STR(absolute(""), "<EINVAL>");
}

static void test_path_absolute_resolves_relative_against_cwd(void)
{
	char tmpl[] = "/tmp/furi-test-paths-XXXXXX";
	char cwd[PATH_MAX], want[PATH_MAX + 16], parent[PATH_MAX], *slash;
	int saved = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (saved < 0 || !mkdtemp(tmpl) || chdir(tmpl) || !getcwd(cwd, sizeof(cwd))) {
		CHECK(!"cannot set up a temporary working directory");
		return;
	}
	snprintf(parent, sizeof(parent), "%s", cwd);
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';

	CHECK_STR(absolute("."), cwd);
	CHECK_STR(absolute("./"), cwd);
	snprintf(want, sizeof(want), "%s/x/y", cwd);
	CHECK_STR(absolute("x/y"), want);
	CHECK_STR(absolute("x//y/"), want);
	CHECK_STR(absolute("x/z/../y"), want);
	CHECK_STR(absolute(".."), parent);
	snprintf(want, sizeof(want), "%s/.hidden", cwd);
	CHECK_STR(absolute(".hidden"), want);
	/* More ".." than components stops at the root. */
	CHECK_STR(absolute("../../../../../../../../../../../../../../../../.."), "/");

	if (fchdir(saved))
		CHECK(!"cannot return to the old working directory");
	close(saved);
	rmdir(tmpl);
}

static void test_path_absolute_length_limits(void)
{
	char buf[16];
	static char longp[PATH_MAX * 2 + 2];
	static char many[2 * 2049 + 4];	/* room for "/.." after 2048 components */
	static char out[PATH_MAX * 2];
	size_t i;

	/* The result and its NUL must fit, exactly. */
	CHECK_EQ(furi_path_absolute("/abc", buf, 4), -ENAMETOOLONG);
	CHECK_EQ(furi_path_absolute("/abc", buf, 5), 0);
	CHECK_STR(buf, "/abc");
	CHECK_EQ(furi_path_absolute("/", buf, 1), -ENAMETOOLONG);
	CHECK_EQ(furi_path_absolute("/", buf, 2), 0);
	CHECK_STR(buf, "/");
	CHECK_EQ(furi_path_absolute("/a/b/../c", buf, 5), 0);	/* the clean form fits */
	CHECK_STR(buf, "/a/c");

	/* An input of PATH_MAX * 2 bytes or more. */
	longp[0] = '/';
	memset(longp + 1, 'a', sizeof(longp) - 2);
	longp[sizeof(longp) - 1] = '\0';
	CHECK_EQ(furi_path_absolute(longp, out, sizeof(out)), -ENAMETOOLONG);

	/* More components than the parser keeps (PATH_MAX / 2). */
	for (i = 0; i < 2049; i++) {
		many[2 * i] = '/';
		many[2 * i + 1] = 'a';
	}
	many[2 * 2049] = '\0';
	CHECK_EQ(furi_path_absolute(many, out, sizeof(out)), -ENAMETOOLONG);
	many[2 * 2048] = '\0';				/* exactly 2048 are fine */
	CHECK_EQ(furi_path_absolute(many, out, sizeof(out)), 0);
	CHECK_EQ(strlen(out), 2 * 2048);
	/* Components dropped by ".." do not count against the limit. */
	memcpy(many + 2 * 2048, "/..", 4);
	CHECK_EQ(furi_path_absolute(many, out, sizeof(out)), 0);
	CHECK_EQ(strlen(out), 2 * 2047);
}

/* Parse a copy of line for path; mi is poisoned first so leftovers show. */
static int parse(const char *line, const char *path, struct furi_mountinfo *mi)
{
	char copy[1024];

	snprintf(copy, sizeof(copy), "%s", line);
	memset(mi, 0x5a, sizeof(*mi));
	return furi_mountinfo_parse_line(copy, path, mi);
}

static void test_mountinfo_line_fields_and_unescaping(void)
{
	struct furi_mountinfo mi;

	CHECK_EQ(parse("120 29 0:52 / /tmp/my\\040mnt rw,nosuid,nodev,relatime shared:60 - "
		       "fuse.furi my\\134fs\\011x rw,user_id=0,group_id=0\n",
		       "/tmp/my mnt", &mi), 0);
	CHECK_EQ(mi.major, 0);
	CHECK_EQ(mi.minor, 52);
	CHECK_STR(mi.fstype, "fuse.furi");
	CHECK_STR(mi.source, "my\\fs\tx");

	/* No optional fields: the separator directly follows the options. */
	CHECK_EQ(parse("25 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro\n",
		       "/", &mi), 0);
	CHECK_EQ(mi.major, 8);
	CHECK_EQ(mi.minor, 1);
	CHECK_STR(mi.fstype, "ext4");
	CHECK_STR(mi.source, "/dev/sda1");

	/* Several optional fields; newline and backslash in the mount point. */
	CHECK_EQ(parse("36 35 259:3 /sub /a\\012b\\134c rw shared:1 master:2 propagate_from:3 - "
		       "xfs /dev/nvme0n1p3 rw\n", "/a\nb\\c", &mi), 0);
	CHECK_EQ(mi.major, 259);
	CHECK_EQ(mi.minor, 3);
	CHECK_STR(mi.fstype, "xfs");
	CHECK_STR(mi.source, "/dev/nvme0n1p3");

	/* Not octal, or cut short: kept as written. */
	CHECK_EQ(parse("1 2 0:9 / /x\\08\\4 rw - tmpfs a\\9b rw\n", "/x\\08\\4", &mi), 0);
	CHECK_STR(mi.source, "a\\9b");
	CHECK_EQ(parse("1 2 0:9 / /y\\04 rw - tmpfs s rw\n", "/y\\04", &mi), 0);

	/* A line without the " - " part still gives the device. */
	CHECK_EQ(parse("1 2 3:4 / /p rw", "/p", &mi), 0);
	CHECK_EQ(mi.major, 3);
	CHECK_EQ(mi.minor, 4);
	CHECK_STR(mi.fstype, "");
	CHECK_STR(mi.source, "");
}

static void test_mountinfo_line_any_mount_and_owner(void)
{
	struct furi_mountinfo mi;

	/* path NULL: any line; the mount point and user_id= come back. */
	CHECK_EQ(parse("120 29 0:52 / /tmp/my\\040mnt rw shared:60 - fuse.furi passthrough:/srv/d "
		       "rw,user_id=1000,group_id=1000\n", NULL, &mi), 0);
	CHECK_STR(mi.mountpoint, "/tmp/my mnt");
	CHECK_STR(mi.source, "passthrough:/srv/d");
	CHECK_EQ(mi.user_id, 1000);
	/* No user_id: -1; a longer option name ending in it is not it. */
	CHECK_EQ(parse("25 1 8:1 / / rw - ext4 /dev/sda1 rw,errors=remount-ro\n", NULL, &mi), 0);
	CHECK_EQ(mi.user_id, -1);
	CHECK_EQ(parse("1 2 0:9 / /x rw - fuse.x s rw,fake_user_id=7\n", NULL, &mi), 0);
	CHECK_EQ(mi.user_id, -1);
	CHECK_EQ(parse("1 2 0:9 / /x rw - fuse.x s user_id=0,group_id=0\n", NULL, &mi), 0);
	CHECK_EQ(mi.user_id, 0);
	CHECK_EQ(parse("garbage\n", NULL, &mi), -ENOENT);
}

static void test_mountinfo_line_mismatch_leaves_result_alone(void)
{
	struct furi_mountinfo mi, poison;

	memset(&poison, 0x5a, sizeof(poison));
	/* Another mount point; the escaped form is not the path. */
	CHECK_EQ(parse("120 29 0:52 / /tmp/my\\040mnt rw - fuse.furi x rw\n", "/tmp/my\\040mnt",
		       &mi), -ENOENT);
	CHECK(memcmp(&mi, &poison, sizeof(mi)) == 0);
	CHECK_EQ(parse("120 29 0:52 / /tmp/a rw - fuse.furi x rw\n", "/tmp", &mi), -ENOENT);
	CHECK_EQ(parse("120 29 0:52 / /tmp/a rw - fuse.furi x rw\n", "/tmp/a/", &mi), -ENOENT);
	/* Broken lines. */
	CHECK_EQ(parse("", "/", &mi), -ENOENT);
	CHECK_EQ(parse("garbage\n", "/", &mi), -ENOENT);
	CHECK_EQ(parse("1 2 3:4 /", "/", &mi), -ENOENT);
	CHECK_EQ(parse("1 2 x:y / / rw - ext4 s rw\n", "/", &mi), -ENOENT);
	CHECK(memcmp(&mi, &poison, sizeof(mi)) == 0);
}

static void test_mountinfo_long_fields_are_truncated(void)
{
	struct furi_mountinfo mi;
	char line[1024], fstype[100], source[400];

	memset(fstype, 't', sizeof(fstype) - 1);
	fstype[sizeof(fstype) - 1] = '\0';
	memset(source, 's', sizeof(source) - 1);
	source[sizeof(source) - 1] = '\0';
	snprintf(line, sizeof(line), "1 2 0:5 / /m rw - %s %s rw\n", fstype, source);
	CHECK_EQ(parse(line, "/m", &mi), 0);
	CHECK_EQ(strlen(mi.fstype), sizeof(mi.fstype) - 1);
	CHECK_EQ(strlen(mi.source), sizeof(mi.source) - 1);
}

static void test_mountinfo_find_reads_this_process(void)
{
	struct furi_mountinfo mi;

	/* "/" is always mounted; a made-up path never is. */
	CHECK_EQ(furi_mountinfo_find("/", &mi), 0);
	CHECK(mi.fstype[0] != '\0');
	CHECK_EQ(furi_mountinfo_find("/nonexistent/furi/test/mount point", &mi), -ENOENT);
}

static void test_latency_percentiles_on_known_histograms(void)
{
	uint64_t lat[FURI_LAT_BUCKETS];

	memset(lat, 0, sizeof(lat));
	CHECK_EQ(furi_lat_percentile(lat, 50), 0);	/* nothing recorded */

	/* 100 samples in [1024, 2048): linear inside the bucket. */
	lat[10] = 100;
	CHECK_EQ(furi_lat_percentile(lat, 50), 1024 + 512);
	CHECK_EQ(furi_lat_percentile(lat, 25), 1024 + 256);
	CHECK_EQ(furi_lat_percentile(lat, 99), 1024 + 1013);	/* 1024 * 0.99 = 1013.76 */
	CHECK_EQ(furi_lat_percentile(lat, 100), 1024 + 1013);	/* the last sample */
	CHECK_EQ(furi_lat_percentile(lat, 0.001), 1024);

	/* Two clusters: the median sits at the start of the upper one. */
	memset(lat, 0, sizeof(lat));
	lat[3] = 50;	/* [8, 16) */
	lat[20] = 50;	/* [1 Mi, 2 Mi) */
	CHECK_EQ(furi_lat_percentile(lat, 49), 8 + 7);	/* rank 49 of 50: 8 + 8 * 0.98 */
	CHECK_EQ(furi_lat_percentile(lat, 50), 1u << 20);
	CHECK_EQ(furi_lat_percentile(lat, 90), (1u << 20) + (1u << 20) * 4 / 5);

	/* Bucket 0 holds 0 and 1 ns; the last bucket is the catch-all. */
	memset(lat, 0, sizeof(lat));
	lat[0] = 1;
	CHECK_EQ(furi_lat_percentile(lat, 50), 1);
	memset(lat, 0, sizeof(lat));
	lat[FURI_LAT_BUCKETS - 1] = 4;
	CHECK_EQ_U64(furi_lat_percentile(lat, 50), (1ULL << 39) + (1ULL << 38));
}

static void test_opcode_names(void)
{
	CHECK_STR(furi_opcode_name(FUSE_LOOKUP), "LOOKUP");
	CHECK_STR(furi_opcode_name(FUSE_READ), "READ");
	CHECK_STR(furi_opcode_name(FUSE_INIT), "INIT");
	CHECK_STR(furi_opcode_name(FUSE_READDIRPLUS), "READDIRPLUS");
	CHECK_STR(furi_opcode_name(FUSE_COPY_FILE_RANGE), "COPY_FILE_RANGE");
	CHECK_STR(furi_opcode_name(FUSE_COPY_FILE_RANGE_64), "COPY_FILE_RANGE_64");
	CHECK(furi_opcode_name(0) == NULL);
	CHECK(furi_opcode_name(7) == NULL);	/* a gap in the numbering */
	CHECK(furi_opcode_name(FURI_OPCODE_MAX) == NULL);
	CHECK(furi_opcode_name(UINT_MAX) == NULL);
	/* Every opcode furi counts that the kernel defines has a name. */
	for (unsigned op = 1; op < FURI_OPCODE_MAX; op++)
		if (op != 7 && op != 19)
			CHECK(furi_opcode_name(op) != NULL);
}

static void test_status_file_locations(void)
{
	char dir[256], path[256], want[300];

	if (geteuid() == 0) {
		CHECK_EQ(furi_status_dir(dir, sizeof(dir)), 0);
		CHECK_STR(dir, "/run/furi");
	} else {
		setenv("XDG_RUNTIME_DIR", "/run/user/4321", 1);
		CHECK_EQ(furi_status_dir(dir, sizeof(dir)), 0);
		CHECK_STR(dir, "/run/user/4321/furi");
		/* A relative runtime dir is not trusted. */
		setenv("XDG_RUNTIME_DIR", "relative", 1);
		CHECK_EQ(furi_status_dir(dir, sizeof(dir)), 0);
		snprintf(want, sizeof(want), "/tmp/furi-%u", (unsigned)geteuid());
		CHECK_STR(dir, want);
		unsetenv("XDG_RUNTIME_DIR");
		CHECK_EQ(furi_status_dir(dir, sizeof(dir)), 0);
		CHECK_STR(dir, want);
	}
	CHECK_EQ(furi_status_path(path, sizeof(path), 0, 52), 0);
	snprintf(want, sizeof(want), "%s/0-52.status", dir);
	CHECK_STR(path, want);
	CHECK_EQ(furi_status_path(path, 10, 0, 52), -ENAMETOOLONG);
	CHECK_EQ(furi_status_dir(dir, 4), -ENAMETOOLONG);
}

static void test_proc_status_fields(void)
{
	char path[] = "/tmp/furi-test-status-XXXXXX", buf[64];
	int fd = mkstemp(path);
	const char text[] = "Name:\tfuri-uring0\nCpus:\tnot this one\nCpus_allowed_list:\t0-1\n"
			    "VmRSS:\t    1234 kB\nCapEff:\t0000000000800000\n";

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	CHECK_EQ(furi_proc_status_field(path, "Cpus_allowed_list", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "0-1");
	CHECK_EQ(furi_proc_status_field(path, "Cpus", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "not this one");	/* the whole key, not a prefix of another */
	CHECK_EQ(furi_proc_status_field(path, "VmRSS", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "1234 kB");
	CHECK_EQ(furi_proc_status_field(path, "CapEff", buf, 5), 0);
	CHECK_STR(buf, "0000");		/* truncated to the buffer, terminated */
	CHECK_EQ(furi_proc_status_field(path, "VmSwap", buf, sizeof(buf)), -ENOENT);
	unlink(path);
	CHECK_EQ(furi_proc_status_field(path, "Name", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(furi_proc_status_field("/proc/self/status", "Name", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "test_status_pat");	/* comm: 15 characters */
}

static void test_thread_io_priority(void)
{
	bool derived;
	int prio = furi_thread_io_priority(0, &derived);

	/* A test runs with no I/O priority of its own, as SCHED_OTHER at nice 0..19. */
	CHECK(prio >= 0);
	CHECK(derived);
	CHECK_EQ(IOPRIO_PRIO_CLASS(prio), IOPRIO_CLASS_BE);
	CHECK_EQ((int)IOPRIO_PRIO_DATA(prio), (getpriority(PRIO_PROCESS, 0) + 20) / 5);
	CHECK_EQ(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 6)),
		 0);
	prio = furi_thread_io_priority(0, &derived);
	CHECK(!derived);
	CHECK_EQ(prio, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 6));
	CHECK_EQ(furi_thread_io_priority(0x7ffffff0, &derived), -ESRCH);
}

int main(void)
{
	test_path_absolute_cleans_absolute_paths();
	test_path_absolute_resolves_relative_against_cwd();
	test_path_absolute_length_limits();
	test_mountinfo_line_fields_and_unescaping();
	test_mountinfo_line_any_mount_and_owner();
	test_mountinfo_line_mismatch_leaves_result_alone();
	test_mountinfo_long_fields_are_truncated();
	test_mountinfo_find_reads_this_process();
	test_latency_percentiles_on_known_histograms();
	test_opcode_names();
	test_status_file_locations();
	test_proc_status_fields();
	test_thread_io_priority();
	return check_exit("test_status_paths");
}
