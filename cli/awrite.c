/*
 * awrite.c: an output that writes on a thread of its own, so that the
 * kernel's copy of the plaintext to a file or pipe overlaps the decryption
 * of the next chunks.  The plaintext passes through a few buffers in one
 * sodium_malloc'd region (locked, guarded, wiped when freed).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/awrite.h"

#define ABUF_BYTES (1024 * 1024)
#define ABUF_COUNT 4

struct awriter {
	int fd;
	uint8_t *region;
	uint8_t *bufs[ABUF_COUNT];
	size_t lens[ABUF_COUNT];
	uint8_t *buf; /* the buffer being filled */
	size_t buflen;
	int head, queued, stop, err;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *
athread(void *arg)
{
	struct awriter *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		uint8_t *b;
		size_t len;
		int e, skip;

		while (w->queued == 0 && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->queued == 0)
			break;
		b = w->bufs[w->head];
		len = w->lens[w->head];
		skip = w->err != 0;
		pthread_mutex_unlock(&w->mu);
		e = skip ? 0 : write_all(w->fd, b, len);
		sodium_memzero(b, len);
		pthread_mutex_lock(&w->mu);
		if (e != 0 && w->err == 0)
			w->err = e;
		w->head = (w->head + 1) % ABUF_COUNT;
		w->queued--;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct awriter *
awrite_open(int fd)
{
	struct awriter *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->fd = fd;
	if ((w->region = sodium_malloc(ABUF_COUNT * ABUF_BYTES)) == NULL)
		goto err;
	for (int i = 0; i < ABUF_COUNT; i++)
		w->bufs[i] = w->region + (size_t)i * ABUF_BYTES;
	w->buf = w->bufs[0];
	if (pthread_mutex_init(&w->mu, NULL) != 0)
		goto err;
	if (pthread_cond_init(&w->cv, NULL) != 0) {
		pthread_mutex_destroy(&w->mu);
		goto err;
	}
	if (pthread_create(&w->thread, NULL, athread, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		goto err;
	}
	return w;
err:
	if (w->region != NULL)
		sodium_free(w->region);
	free(w);
	return NULL;
}

/* Hand the filled buffer to the thread; wait for a free one. */
static int
handoff(struct awriter *w)
{
	int e;

	pthread_mutex_lock(&w->mu);
	w->lens[(w->head + w->queued) % ABUF_COUNT] = w->buflen;
	w->queued++;
	pthread_cond_broadcast(&w->cv);
	while (w->queued == ABUF_COUNT)
		pthread_cond_wait(&w->cv, &w->mu);
	w->buf = w->bufs[(w->head + w->queued) % ABUF_COUNT];
	w->buflen = 0;
	e = w->err;
	pthread_mutex_unlock(&w->mu);
	return e;
}

int
awrite(void *ctx, const uint8_t *p, size_t len)
{
	struct awriter *w = ctx;

	while (len > 0) {
		size_t n = ABUF_BYTES - w->buflen;
		if (n > len)
			n = len;
		memcpy(w->buf + w->buflen, p, n);
		w->buflen += n;
		p += n;
		len -= n;
		if (w->buflen == ABUF_BYTES) {
			int e = handoff(w);
			if (e != 0) {
				errno = e;
				return -1;
			}
		}
	}
	return 0;
}

int
awrite_close(struct awriter *w, int flush)
{
	int e = 0;

	if (w == NULL)
		return 0;
	if (flush && w->buflen > 0)
		e = handoff(w);
	pthread_mutex_lock(&w->mu);
	if (!flush) {
		/* Nothing more reaches the output. */
		w->err = w->err != 0 ? w->err : ECANCELED;
	}
	w->stop = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	if (e == 0 && flush)
		e = w->err;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	sodium_free(w->region);
	free(w);
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}
