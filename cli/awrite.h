/*
 * awrite.h: an output written by a thread of its own (cli/awrite.c), so
 * that writing plaintext out overlaps decrypting the next chunks.
 */
#ifndef COFFRE_CLI_AWRITE_H
#define COFFRE_CLI_AWRITE_H

#include <stddef.h>
#include <stdint.h>

struct awriter;

/* awrite_open(fd): an asynchronous writer to ${fd}, or NULL. */
struct awriter *awrite_open(int fd);

/*
 * awrite(ctx, p, len): a coffre_write_fn: copy ${p} into the writer's
 * buffers.  0, or -1 with errno once a write has failed.
 */
int awrite(void *ctx, const uint8_t *p, size_t len);

/*
 * awrite_close(w, flush): with ${flush}, write what is left and wait;
 * without, drop what was not written yet (the document turned out bad).
 * Frees ${w} (NULL is a no-op).  0, or -1 with errno.
 */
int awrite_close(struct awriter *w, int flush);

#endif /* !COFFRE_CLI_AWRITE_H */
