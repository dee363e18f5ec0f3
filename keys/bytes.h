/*
 * bytes.h: fixed-width little-endian load and store helpers, shared by every
 * on-disk format of coffre (keys/ and vault/).  Header-only.
 */
#ifndef COFFRE_BYTES_H
#define COFFRE_BYTES_H

#include <stdint.h>

static inline void
bytes_store32(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)x;
	p[1] = (uint8_t)(x >> 8);
	p[2] = (uint8_t)(x >> 16);
	p[3] = (uint8_t)(x >> 24);
}

static inline uint32_t
bytes_load32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	    ((uint32_t)p[3] << 24);
}

static inline void
bytes_store64(uint8_t *p, uint64_t x)
{
	bytes_store32(p, (uint32_t)x);
	bytes_store32(p + 4, (uint32_t)(x >> 32));
}

static inline uint64_t
bytes_load64(const uint8_t *p)
{
	return (uint64_t)bytes_load32(p) |
	    ((uint64_t)bytes_load32(p + 4) << 32);
}

static inline void
bytes_store16(uint8_t *p, uint16_t x)
{
	p[0] = (uint8_t)x;
	p[1] = (uint8_t)(x >> 8);
}

static inline uint16_t
bytes_load16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

/* Big-endian 64-bit, for LMDB keys that must sort numerically. */
static inline void
bytes_store64be(uint8_t *p, uint64_t x)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)x;
		x >>= 8;
	}
}

static inline uint64_t
bytes_load64be(const uint8_t *p)
{
	uint64_t x = 0;
	for (int i = 0; i < 8; i++)
		x = (x << 8) | p[i];
	return x;
}

#endif /* !COFFRE_BYTES_H */
