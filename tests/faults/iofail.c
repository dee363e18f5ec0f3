/*
 * iofail.c: an LD_PRELOAD shim that makes one write or sync call fail, for
 * the fault-injection scenario tests/e2e/t94_faults.sh.  Never part of the
 * release build: the scenario compiles it itself with
 *
 *	cc -shared -fPIC -o iofail.so tests/faults/iofail.c -ldl
 *
 * It wraps write, pwrite, pwrite64, writev, pwritev, pwritev64 (the data
 * writes), ftruncate, ftruncate64, and fsync, fdatasync, sync_file_range,
 * msync (the syncs).  A call "matches" when its file's path (from
 * /proc/self/fd/N, or /proc/self/maps for msync) contains IOFAIL_PATH (every
 * call when IOFAIL_PATH is unset or empty) and its class is in IOFAIL_OPS.
 * Matching calls are numbered from 1 in each process.  The environment:
 *
 *	IOFAIL_PATH=S    only calls on files whose path contains S
 *	IOFAIL_OPS=all|write|sync
 *	                 which calls match: all (default), the data writes
 *	                 and ftruncate ("write"), or the syncs ("sync")
 *	IOFAIL_AT=N      fail the Nth matching call (0 or unset: none)
 *	IOFAIL_ERR=EIO|ENOSPC|SHORT
 *	                 how it fails: -1 with that errno (default EIO), or
 *	                 SHORT: a data write writes the first half of its bytes
 *	                 and returns that short count (a call of one byte, and
 *	                 a sync or ftruncate, fail with EIO instead)
 *	IOFAIL_STICKY=1  every matching call from the Nth on fails (a disk that
 *	                 stays full), not the Nth alone
 *	IOFAIL_LOG=FILE  append one line per matching call to FILE:
 *	                 "N CALL PATH" and " FAILED" when it was failed; the
 *	                 dry run of the scenario counts the lines
 *
 * The log is written with the raw system call, so that a process that dies
 * by _exit or SIGKILL leaves every line up to its death.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum cls {
	C_WRITE = 1,
	C_SYNC = 2
};

static unsigned long counter;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *want_path;
static int want_ops = C_WRITE | C_SYNC;
static unsigned long fail_at;
static int fail_err = EIO;
static int fail_short;
static int sticky;
static int logfd = -1;

static void
init_once(void)
{
	const char *s;

	want_path = getenv("IOFAIL_PATH");
	if (want_path != NULL && *want_path == '\0')
		want_path = NULL;
	s = getenv("IOFAIL_OPS");
	if (s != NULL && strcmp(s, "write") == 0)
		want_ops = C_WRITE;
	else if (s != NULL && strcmp(s, "sync") == 0)
		want_ops = C_SYNC;
	s = getenv("IOFAIL_AT");
	fail_at = s != NULL ? strtoul(s, NULL, 10) : 0;
	s = getenv("IOFAIL_ERR");
	if (s != NULL && strcmp(s, "ENOSPC") == 0)
		fail_err = ENOSPC;
	else if (s != NULL && strcmp(s, "SHORT") == 0)
		fail_short = 1;
	s = getenv("IOFAIL_STICKY");
	sticky = s != NULL && strcmp(s, "1") == 0;
	s = getenv("IOFAIL_LOG");
	if (s != NULL && *s != '\0')
		logfd = (int)syscall(SYS_openat, AT_FDCWD, s,
		    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static void
init(void)
{
	(void)pthread_once(&once, init_once);
}

static void *
real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (f == NULL) {
		static const char msg[] = "iofail: dlsym failed\n";
		(void)!syscall(SYS_write, 2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	return f;
}

/* The path of FD, or "" if it has none. */
static void
fd_path(int fd, char *buf, size_t cap)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, cap - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/* The path of the mapping that holds ADDR, from /proc/self/maps. */
static void
map_path(const void *addr, char *buf, size_t cap)
{
	static char maps[1 << 16];
	uintptr_t a = (uintptr_t)addr;
	ssize_t n, got = 0;
	char *line, *nl;
	int fd;

	buf[0] = '\0';
	fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps",
	    O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while (got < (ssize_t)sizeof(maps) - 1 &&
	    (n = (ssize_t)syscall(SYS_read, fd, maps + got,
		 sizeof(maps) - 1 - (size_t)got)) > 0)
		got += n;
	syscall(SYS_close, fd);
	maps[got] = '\0';
	for (line = maps; line != NULL && *line != '\0'; line = nl) {
		unsigned long lo, hi;
		char *p;
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || a < lo || a >= hi)
			continue;
		p = strchr(line, '/');
		if (p != NULL)
			snprintf(buf, cap, "%s", p);
		return;
	}
}

/*
 * Decide for one call: 0 to pass it through, 1 to fail it.  PATH is the
 * file's path.
 */
static int
decide(enum cls c, const char *call, const char *path)
{
	unsigned long n;
	char line[PATH_MAX + 64];
	int fail, len;

	init();
	if (!(want_ops & (int)c))
		return 0;
	if (want_path != NULL && strstr(path, want_path) == NULL)
		return 0;
	n = __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
	fail = fail_at != 0 && (n == fail_at || (sticky && n > fail_at));
	if (logfd >= 0) {
		len = snprintf(line, sizeof(line), "%lu %s %s%s\n", n, call,
		    path, fail ? " FAILED" : "");
		if (len > 0)
			(void)!syscall(SYS_write, logfd, line,
			    (size_t)len < sizeof(line) ? (size_t)len
						       : sizeof(line) - 1);
	}
	return fail;
}

static int
fd_decide(enum cls c, const char *call, int fd)
{
	char path[PATH_MAX];

	init();
	if (!(want_ops & (int)c))
		return 0;
	fd_path(fd, path, sizeof(path));
	return decide(c, call, path);
}

static ssize_t
fail_now(void)
{
	errno = fail_short ? EIO : fail_err;
	return -1;
}

/* (the POSIX idiom for dlsym's function pointers: no cast from void *) */
#define REAL(type, name, args)                                                 \
	static type(*real_##name) args;                                        \
	if (real_##name == NULL)                                               \
	*(void **)&real_##name = real(#name)

ssize_t
write(int fd, const void *buf, size_t len)
{
	REAL(ssize_t, write, (int, const void *, size_t));
	if (fd_decide(C_WRITE, "write", fd)) {
		if (fail_short && len >= 2)
			return real_write(fd, buf, len / 2);
		return fail_now();
	}
	return real_write(fd, buf, len);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	REAL(ssize_t, pwrite, (int, const void *, size_t, off_t));
	if (fd_decide(C_WRITE, "pwrite", fd)) {
		if (fail_short && len >= 2)
			return real_pwrite(fd, buf, len / 2, off);
		return fail_now();
	}
	return real_pwrite(fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	REAL(ssize_t, pwrite64, (int, const void *, size_t, off64_t));
	if (fd_decide(C_WRITE, "pwrite64", fd)) {
		if (fail_short && len >= 2)
			return real_pwrite64(fd, buf, len / 2, off);
		return fail_now();
	}
	return real_pwrite64(fd, buf, len, off);
}

/* IOV cut to the first half of its bytes, in OUT (at most 64 entries). */
static int
half_iov(const struct iovec *iov, int cnt, struct iovec *out, size_t *total)
{
	size_t sum = 0, half, left;
	int i, n = 0;

	for (i = 0; i < cnt; i++)
		sum += iov[i].iov_len;
	*total = sum;
	half = sum / 2;
	left = half;
	for (i = 0; i < cnt && n < 64 && left > 0; i++) {
		out[n] = iov[i];
		if (out[n].iov_len > left)
			out[n].iov_len = left;
		left -= out[n].iov_len;
		n++;
	}
	return n;
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	REAL(ssize_t, writev, (int, const struct iovec *, int));
	if (fd_decide(C_WRITE, "writev", fd)) {
		struct iovec h[64];
		size_t total;
		int n = half_iov(iov, cnt, h, &total);
		if (fail_short && total >= 2 && n > 0)
			return real_writev(fd, h, n);
		return fail_now();
	}
	return real_writev(fd, iov, cnt);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	REAL(ssize_t, pwritev, (int, const struct iovec *, int, off_t));
	if (fd_decide(C_WRITE, "pwritev", fd)) {
		struct iovec h[64];
		size_t total;
		int n = half_iov(iov, cnt, h, &total);
		if (fail_short && total >= 2 && n > 0)
			return real_pwritev(fd, h, n, off);
		return fail_now();
	}
	return real_pwritev(fd, iov, cnt, off);
}

ssize_t
pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	REAL(ssize_t, pwritev64, (int, const struct iovec *, int, off64_t));
	if (fd_decide(C_WRITE, "pwritev64", fd)) {
		struct iovec h[64];
		size_t total;
		int n = half_iov(iov, cnt, h, &total);
		if (fail_short && total >= 2 && n > 0)
			return real_pwritev64(fd, h, n, off);
		return fail_now();
	}
	return real_pwritev64(fd, iov, cnt, off);
}

int
ftruncate(int fd, off_t len)
{
	REAL(int, ftruncate, (int, off_t));
	if (fd_decide(C_WRITE, "ftruncate", fd))
		return (int)fail_now();
	return real_ftruncate(fd, len);
}

int
ftruncate64(int fd, off64_t len)
{
	REAL(int, ftruncate64, (int, off64_t));
	if (fd_decide(C_WRITE, "ftruncate64", fd))
		return (int)fail_now();
	return real_ftruncate64(fd, len);
}

int
fsync(int fd)
{
	REAL(int, fsync, (int));
	if (fd_decide(C_SYNC, "fsync", fd))
		return (int)fail_now();
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	REAL(int, fdatasync, (int));
	if (fd_decide(C_SYNC, "fdatasync", fd))
		return (int)fail_now();
	return real_fdatasync(fd);
}

int
sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
	REAL(int, sync_file_range, (int, off64_t, off64_t, unsigned int));
	if (fd_decide(C_SYNC, "sync_file_range", fd))
		return (int)fail_now();
	return real_sync_file_range(fd, off, n, flags);
}

int
msync(void *addr, size_t len, int flags)
{
	char path[PATH_MAX];

	REAL(int, msync, (void *, size_t, int));
	init();
	if (want_ops & C_SYNC) {
		map_path(addr, path, sizeof(path));
		if (decide(C_SYNC, "msync", path))
			return (int)fail_now();
	}
	return real_msync(addr, len, flags);
}
