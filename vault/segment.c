/*
 * segment.c: append-only segment files.  Writes are buffered and handed to
 * the kernel as they come, with early write-back (sync_file_range) so that
 * the disk works while the next chunks are encrypted; one fdatasync at the
 * end makes the record durable.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include <sodium.h>

#include "keys/bytes.h"
#include "keys/fault.h"
#include "vault/segment.h"
#include "vault/util.h"

#define SEG_FILE_HDR 32
#define SEG_ROLL (256ULL << 20)
#define WBUF_BYTES (512 * 1024)
#define WBUF_COUNT 4
#define WRITEBACK_EVERY (8ULL << 20)

struct segstore {
	char dir[4096];
	int wfd;         /* active segment, opened for appends */
	uint32_t wsegno; /* its number, 0 if none open */
	int unsynced;    /* records were appended to wfd without a sync */
	/* The writers' buffers, kept from one append to the next (one writer
	 * at a time): fresh ones would cost page faults on every record. */
	uint8_t *ring[WBUF_COUNT];
};

/*
 * A writer fills one buffer while a thread of its own writes the others to
 * the segment, so that encryption and the kernel's copy overlap.  Buffers
 * go round a ring: [head, head + queued) are waiting to be written, the one
 * at head + queued is being filled.  Only ciphertext passes through them.
 */
struct segwriter {
	struct segstore *s;
	uint64_t start;       /* where the record starts */
	uint64_t pos;         /* end of what the thread has written */
	uint64_t filled;      /* end of what was handed to the thread */
	uint64_t synced_upto; /* start of the range not yet sent to disk */
	uint8_t hdr[SEGMENT_REC_HDR];
	uint8_t *bufs[WBUF_COUNT];
	size_t lens[WBUF_COUNT];
	uint8_t *buf; /* the buffer being filled */
	size_t buflen;
	int head, queued, stop, failed, err;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

struct segreader {
	int fd;
	uint64_t pos, end; /* chunks lie in [pos, end) */
};

static void w_cut(struct segwriter *w);
static int w_start(struct segwriter *w);

static void
serr(char *err, size_t errlen, const char *what, const char *detail)
{
	if (err != NULL)
		snprintf(err, errlen, "%s: %s", what, detail);
}

static void
seg_path(const struct segstore *s, uint32_t n, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%08u.seg", s->dir, n);
}

int
segment_store_open(const char *dir, int create, struct segstore **out,
    char *err, size_t errlen)
{
	struct segstore *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		serr(err, errlen, "segments", "out of memory");
		return -1;
	}
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s/segments", dir) >=
	    sizeof(s->dir)) {
		serr(err, errlen, "segments", "path too long");
		free(s);
		return -1;
	}
	if (create && util_mkdir(s->dir) != 0) {
		serr(err, errlen, s->dir, strerror(errno));
		free(s);
		return -1;
	}
	s->wfd = -1;
	*out = s;
	return 0;
}

void
segment_store_close(struct segstore *s)
{
	if (s == NULL)
		return;
	if (s->wfd >= 0)
		close(s->wfd);
	for (int i = 0; i < WBUF_COUNT; i++)
		free(s->ring[i]);
	free(s);
}

/* The highest segment number present, 0 if none. */
static int
seg_last(const struct segstore *s, uint32_t *last)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	uint32_t max = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char *end;
		unsigned long n = strtoul(e->d_name, &end, 10);
		if (strlen(e->d_name) == 12 && strcmp(end, ".seg") == 0 &&
		    n > max && n < 0xffffffffUL)
			max = (uint32_t)n;
	}
	closedir(d);
	*last = max;
	return 0;
}

/* Sync what was appended to the active segment before it is left. */
static int
seg_leave(struct segstore *s, char *err, size_t errlen)
{
	if (s->wfd >= 0 && s->unsynced) {
		if (fdatasync(s->wfd) != 0) {
			serr(err, errlen, s->dir, strerror(errno));
			return -1;
		}
		s->unsynced = 0;
	}
	return 0;
}

int
segment_sync(struct segstore *s, char *err, size_t errlen)
{
	if (seg_leave(s, err, errlen) != 0)
		return -1;
	FAULT_POINT("segment-sync");
	return 0;
}

/* Create segment ${n} with its file header, durably. */
static int
seg_create(struct segstore *s, uint32_t n, char *err, size_t errlen)
{
	char path[4200];
	uint8_t hdr[SEG_FILE_HDR];
	int fd;

	if (seg_leave(s, err, errlen) != 0)
		return -1;

	seg_path(s, n, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		int e = errno;
		serr(err, errlen, path, strerror(e));
		errno = e; /* the caller tells EEXIST from the rest */
		return -1;
	}
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "CFSG", 4);
	hdr[4] = 1;
	bytes_store32(hdr + 8, n);
	if (util_write_all(fd, hdr, sizeof(hdr)) != 0 || fdatasync(fd) != 0 ||
	    util_fsync_dir(s->dir) != 0) {
		serr(err, errlen, path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (s->wfd >= 0)
		close(s->wfd);
	s->wfd = fd;
	s->wsegno = n;
	return 0;
}

static int
seg_open_active(struct segstore *s,
    int (*committed)(void *, uint32_t, uint64_t *), void *ctx, char *err,
    size_t errlen)
{
	char path[4200];
	uint32_t n;
	uint64_t end = SEG_FILE_HDR;
	struct stat st;
	uint8_t hdr[SEG_FILE_HDR];

	if (s->wfd >= 0)
		return 0;
	if (seg_last(s, &n) != 0) {
		serr(err, errlen, s->dir, strerror(errno));
		return -1;
	}
	if (n == 0)
		return seg_create(s, 1, err, errlen);
	seg_path(s, n, path, sizeof(path));
	if ((s->wfd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		serr(err, errlen, path, strerror(errno));
		return -1;
	}
	s->wsegno = n;
	if (committed(ctx, n, &end) != 0) {
		serr(err, errlen, path, "cannot read its committed end");
		goto err;
	}
	if (fstat(s->wfd, &st) != 0) {
		serr(err, errlen, path, strerror(errno));
		goto err;
	}
	if ((uint64_t)st.st_size < SEG_FILE_HDR && end <= SEG_FILE_HDR) {
		/*
		 * A crash while this segment was being created left it
		 * without its whole header, and nothing was ever committed
		 * in it: write the header again.
		 */
		memset(hdr, 0, sizeof(hdr));
		memcpy(hdr, "CFSG", 4);
		hdr[4] = 1;
		bytes_store32(hdr + 8, n);
		if (pwrite(s->wfd, hdr, sizeof(hdr), 0) !=
			(ssize_t)sizeof(hdr) ||
		    fdatasync(s->wfd) != 0 || fstat(s->wfd, &st) != 0) {
			serr(err, errlen, path, strerror(errno));
			goto err;
		}
	}
	if (util_pread_all(s->wfd, hdr, SEG_FILE_HDR, 0) != 0 ||
	    memcmp(hdr, "CFSG", 4) != 0 || bytes_load32(hdr + 8) != n) {
		serr(err, errlen, path, "corrupt segment header");
		goto err;
	}
	if ((uint64_t)st.st_size < end) {
		serr(err, errlen, path,
		    "segment shorter than its committed records (truncated)");
		goto err;
	}
	/*
	 * Bytes past the committed end are an unacknowledged torn tail (a
	 * crash between a segment write and its index commit).  Nothing
	 * refers to them; they are left as they are, and the next record
	 * starts after them: cutting them off could only ever lose data if
	 * the index itself were older than the segment.
	 */
	if ((uint64_t)st.st_size >= SEG_ROLL)
		return seg_create(s, n + 1, err, errlen);
	return 0;
err:
	close(s->wfd);
	s->wfd = -1;
	return -1;
}

int
segment_append_begin(struct segstore *s,
    int (*committed)(void *, uint32_t, uint64_t *), void *ctx,
    const uint8_t docid[16], uint64_t keyid,
    const uint8_t sshdr[SEGMENT_SSHDR_BYTES], struct segwriter **out, char *err,
    size_t errlen)
{
	struct segwriter *w;
	struct stat st;

	if (seg_open_active(s, committed, ctx, err, errlen) != 0)
		return -1;
	if (fstat(s->wfd, &st) != 0) {
		serr(err, errlen, s->dir, strerror(errno));
		return -1;
	}
	if ((uint64_t)st.st_size >= SEG_ROLL &&
	    seg_create(s, s->wsegno + 1, err, errlen) != 0) {
		/* Another handle rolled to it first: append to the last one. */
		if (errno != EEXIST || seg_leave(s, err, errlen) != 0)
			return -1;
		close(s->wfd);
		s->wfd = -1;
		if (seg_open_active(s, committed, ctx, err, errlen) != 0)
			return -1;
	}
	if (fstat(s->wfd, &st) != 0 || (w = calloc(1, sizeof(*w))) == NULL) {
		serr(err, errlen, s->dir, "out of memory");
		return -1;
	}
	w->s = s;
	w->start = w->pos = w->filled = w->synced_upto = (uint64_t)st.st_size;
	if (w_start(w) != 0) {
		serr(err, errlen, s->dir, "cannot start the writer thread");
		return -1;
	}
	memcpy(w->hdr, "CFRC", 4);
	w->hdr[4] = 1;
	memset(w->hdr + 5, 0, 3);
	memcpy(w->hdr + 8, docid, 16);
	bytes_store64(w->hdr + 24, keyid);
	memcpy(w->hdr + 32, sshdr, SEGMENT_SSHDR_BYTES);
	memcpy(w->buf, w->hdr, SEGMENT_REC_HDR);
	w->buflen = SEGMENT_REC_HDR;
	*out = w;
	return 0;
}

/* The writer thread: write queued buffers in order. */
static void *
w_thread(void *arg)
{
	struct segwriter *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		uint8_t *b;
		size_t len;
		uint64_t at;
		int e = 0, skip;

		while (w->queued == 0 && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->queued == 0)
			break;
		b = w->bufs[w->head];
		len = w->lens[w->head];
		at = w->pos;
		skip = w->failed;
		pthread_mutex_unlock(&w->mu);
		if (!skip) {
			ssize_t n = pwrite(w->s->wfd, b, len, (off_t)at);
			if (n != (ssize_t)len)
				e = n < 0 ? errno : ENOSPC;
		}
		if (e == 0 && at + len - w->synced_upto >= WRITEBACK_EVERY) {
			/* Start write-back now: the disk works meanwhile. */
			(void)sync_file_range(w->s->wfd, (off_t)w->synced_upto,
			    (off_t)(at + len - w->synced_upto),
			    SYNC_FILE_RANGE_WRITE);
			w->synced_upto = at + len;
		}
		pthread_mutex_lock(&w->mu);
		if (e != 0 && !w->failed) {
			w->failed = 1;
			w->err = e;
		}
		w->pos = at + len;
		w->head = (w->head + 1) % WBUF_COUNT;
		w->queued--;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int
w_start(struct segwriter *w)
{
	for (int i = 0; i < WBUF_COUNT; i++) {
		if (w->s->ring[i] == NULL &&
		    (w->s->ring[i] = malloc(WBUF_BYTES)) == NULL)
			goto err;
		w->bufs[i] = w->s->ring[i];
	}
	w->buf = w->bufs[0];
	if (pthread_mutex_init(&w->mu, NULL) != 0)
		goto err;
	if (pthread_cond_init(&w->cv, NULL) != 0) {
		pthread_mutex_destroy(&w->mu);
		goto err;
	}
	if (pthread_create(&w->thread, NULL, w_thread, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		goto err;
	}
	return 0;
err:
	free(w);
	return -1;
}

/* Hand the buffer being filled to the thread; take the next free one. */
static int
w_flush(struct segwriter *w)
{
	int slot, failed;

	pthread_mutex_lock(&w->mu);
	slot = (w->head + w->queued) % WBUF_COUNT;
	w->lens[slot] = w->buflen;
	w->queued++;
	w->filled += w->buflen;
	pthread_cond_broadcast(&w->cv);
	while (w->queued == WBUF_COUNT)
		pthread_cond_wait(&w->cv, &w->mu);
	w->buf = w->bufs[(w->head + w->queued) % WBUF_COUNT];
	w->buflen = 0;
	failed = w->failed;
	pthread_mutex_unlock(&w->mu);
	return failed ? -1 : 0;
}

/* Wait for the thread to write everything, stop it, and free buffers. */
static int
w_stop(struct segwriter *w)
{
	int failed;

	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	failed = w->failed;
	if (failed)
		errno = w->err;
	return failed ? -1 : 0;
}

static int
w_put(struct segwriter *w, const uint8_t *p, size_t len)
{
	while (len > 0) {
		size_t n = WBUF_BYTES - w->buflen;
		if (n > len)
			n = len;
		memcpy(w->buf + w->buflen, p, n);
		w->buflen += n;
		p += n;
		len -= n;
		if (w->buflen == WBUF_BYTES && w_flush(w) != 0)
			return -1;
	}
	return 0;
}

int
segment_append_chunk(struct segwriter *w, const uint8_t *ct, size_t len)
{
	uint8_t lb[4];
	int failed, err;

	/* The writer thread sets failed and err under the mutex. */
	pthread_mutex_lock(&w->mu);
	failed = w->failed;
	err = w->err;
	pthread_mutex_unlock(&w->mu);
	if (failed) {
		errno = err;
		return -1;
	}
	if (len > SEGMENT_CHUNK_MAX) {
		errno = EINVAL;
		return -1;
	}
	bytes_store32(lb, (uint32_t)len);
	if (w_put(w, lb, 4) != 0 || w_put(w, ct, len) != 0)
		return -1;
	return 0;
}

static void
trailer_sum(const uint8_t hdr[SEGMENT_REC_HDR], const uint8_t *tr,
    uint8_t sum[16])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 16);
	crypto_generichash_update(&st, hdr, SEGMENT_REC_HDR);
	crypto_generichash_update(&st, tr, 24);
	crypto_generichash_final(&st, sum, 16);
}

int
segment_append_finish(struct segwriter *w, uint64_t size, struct segloc *loc,
    int sync, char *err, size_t errlen)
{
	uint8_t tr[SEGMENT_REC_TRAILER];
	uint64_t body = w->filled + w->buflen - w->start;
	int rc;

	memset(tr, 0, sizeof(tr));
	memcpy(tr, "CFRE", 4);
	bytes_store64(tr + 8, body);
	bytes_store64(tr + 16, size);
	trailer_sum(w->hdr, tr, tr + 24);
	rc = w_put(w, tr, sizeof(tr));
	if (rc == 0 && w->buflen > 0)
		rc = w_flush(w);
	if (w_stop(w) != 0 || rc != 0) {
		serr(err, errlen, w->s->dir, strerror(errno));
		w_cut(w);
		return -1;
	}
	FAULT_POINT("segment-append");
	if (!sync) {
		w->s->unsynced = 1;
	} else if (fdatasync(w->s->wfd) != 0) {
		serr(err, errlen, w->s->dir, strerror(errno));
		w_cut(w);
		return -1;
	} else {
		FAULT_POINT("segment-sync");
	}
	loc->segno = w->s->wsegno;
	loc->offset = w->start;
	loc->length = w->pos - w->start;
	free(w);
	return 0;
}

/* Cut off a partial record (nothing refers to it) and free ${w}. */
static void
w_cut(struct segwriter *w)
{
	if (ftruncate(w->s->wfd, (off_t)w->start) != 0) {
		/* The next append_begin cuts it off from the index's view. */
		close(w->s->wfd);
		w->s->wfd = -1;
	}
	free(w);
}

void
segment_append_abort(struct segwriter *w)
{
	if (w == NULL)
		return;
	(void)w_stop(w);
	w_cut(w);
}

int
segment_read_open(struct segstore *s, const struct segloc *loc,
    const uint8_t docid[16], uint64_t keyid, uint8_t sshdr[SEGMENT_SSHDR_BYTES],
    uint64_t *size, struct segreader **out, char *err, size_t errlen)
{
	char path[4200];
	uint8_t hdr[SEGMENT_REC_HDR], tr[SEGMENT_REC_TRAILER], sum[16];
	struct segreader *r;
	struct stat st;
	int fd;

	seg_path(s, loc->segno, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		serr(err, errlen, path, strerror(errno));
		return -1;
	}
	if (loc->length < SEGMENT_REC_HDR + SEGMENT_REC_TRAILER ||
	    loc->offset > UINT64_MAX - loc->length || fstat(fd, &st) != 0 ||
	    loc->offset + loc->length > (uint64_t)st.st_size) {
		serr(err, errlen, path, "record missing or truncated");
		goto err;
	}
	{
		uint8_t fh[SEG_FILE_HDR], zero[SEG_FILE_HDR - 12];
		memset(zero, 0, sizeof(zero));
		if (util_pread_all(fd, fh, sizeof(fh), 0) != 0 ||
		    memcmp(fh, "CFSG", 4) != 0 || fh[4] != 1 || fh[5] != 0 ||
		    fh[6] != 0 || fh[7] != 0 ||
		    bytes_load32(fh + 8) != loc->segno ||
		    memcmp(fh + 12, zero, sizeof(zero)) != 0) {
			serr(err, errlen, path, "corrupt segment header");
			goto err;
		}
	}
	if (util_pread_all(fd, hdr, sizeof(hdr), (off_t)loc->offset) != 0 ||
	    util_pread_all(fd, tr, sizeof(tr),
		(off_t)(loc->offset + loc->length - SEGMENT_REC_TRAILER)) !=
		0) {
		serr(err, errlen, path, strerror(errno));
		goto err;
	}
	trailer_sum(hdr, tr, sum);
	if (memcmp(hdr, "CFRC", 4) != 0 || hdr[4] != 1 ||
	    memcmp(tr, "CFRE", 4) != 0 ||
	    sodium_memcmp(sum, tr + 24, 16) != 0 ||
	    bytes_load64(tr + 8) != loc->length - SEGMENT_REC_TRAILER ||
	    sodium_memcmp(hdr + 8, docid, 16) != 0 ||
	    bytes_load64(hdr + 24) != keyid) {
		serr(err, errlen, path, "corrupt record header or trailer");
		goto err;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		serr(err, errlen, path, "out of memory");
		goto err;
	}
	memcpy(sshdr, hdr + 32, SEGMENT_SSHDR_BYTES);
	*size = bytes_load64(tr + 16);
	(void)posix_fadvise(fd, (off_t)loc->offset, (off_t)loc->length,
	    POSIX_FADV_SEQUENTIAL);
	r->fd = fd;
	r->pos = loc->offset + SEGMENT_REC_HDR;
	r->end = loc->offset + loc->length - SEGMENT_REC_TRAILER;
	*out = r;
	return 0;
err:
	close(fd);
	return -1;
}

int
segment_read_chunk(struct segreader *r, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t lb[4];
	uint32_t n;

	if (r->pos == r->end)
		return 0;
	if (r->end - r->pos < 4 ||
	    util_pread_all(r->fd, lb, 4, (off_t)r->pos) != 0)
		return -1;
	n = bytes_load32(lb);
	if (n > cap || n > SEGMENT_CHUNK_MAX || r->end - r->pos - 4 < n ||
	    util_pread_all(r->fd, buf, n, (off_t)(r->pos + 4)) != 0)
		return -1;
	r->pos += 4 + (uint64_t)n;
	*len = n;
	return 1;
}

void
segment_read_close(struct segreader *r)
{
	if (r == NULL)
		return;
	close(r->fd);
	free(r);
}
