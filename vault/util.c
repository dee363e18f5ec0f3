/*
 * util.c: identifier checks, the document id encoding, dates, and durable
 * file-system helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coffre.h"
#include "vault/util.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
coffre_valid_id(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];
		if (n >= COFFRE_ID_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == ':' || c == '@' || c == '-'))
			return 0;
	}
	return n > 0;
}

void
util_docid_encode(const uint8_t raw[UTIL_DOCID_RAW], char out[23])
{
	uint32_t acc = 0;
	int bits = 0, o = 0;

	for (int i = 0; i < UTIL_DOCID_RAW; i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = b64[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

int
util_docid_decode(const char *s, uint8_t raw[UTIL_DOCID_RAW])
{
	uint32_t acc = 0;
	int bits = 0, o = 0;
	size_t i;

	if (s == NULL || strlen(s) != COFFRE_DOCID_LEN)
		return -1;
	for (i = 0; i < COFFRE_DOCID_LEN; i++) {
		const char *p = strchr(b64, s[i]);
		if (s[i] == '\0' || p == NULL)
			return -1;
		acc = (acc << 6) | (uint32_t)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* 22 chars carry 132 bits: the last 4 must be zero (canonical). */
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return o == UTIL_DOCID_RAW ? 0 : -1;
}

int
coffre_valid_docid(const char *s)
{
	uint8_t raw[UTIL_DOCID_RAW];

	return util_docid_decode(s, raw) == 0;
}

void
util_iso8601(int64_t t, char buf[21])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		memcpy(buf, "1970-01-01T00:00:00Z", 21);
}

int
util_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
util_pread_all(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int
util_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
util_mkdir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return -1;
}

int
util_day_parse(const char *s, int32_t *day)
{
	struct tm tm;
	time_t t;
	int y, m, d;

	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return -1;
		} else if (s[i] < '0' || s[i] > '9') {
			return -1;
		}
	}
	if (s[10] != '\0')
		return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1970 || y > 2999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	t = timegm(&tm);
	/* timegm normalises 31 April into 1 May: refuse what moved. */
	if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != m - 1)
		return -1;
	*day = (int32_t)(t / 86400);
	return 0;
}

void
util_day_format(int32_t day, char buf[11])
{
	struct tm tm;
	time_t t = (time_t)day * 86400;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 11, "%Y-%m-%d", &tm) == 0)
		memcpy(buf, "1970-01-01", 11);
}

int32_t
util_day_add_years(int32_t day, unsigned years)
{
	struct tm tm;
	time_t t = (time_t)day * 86400;

	if (gmtime_r(&t, &tm) == NULL)
		return day;
	tm.tm_year += (int)years;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	t = timegm(&tm);
	return (int32_t)(t / 86400);
}

int
util_valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		uint32_t c;
		int n;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1;
			c = *p & 0x1f;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			c = *p & 0x0f;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			c = *p & 0x07;
		} else {
			return 0;
		}
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && c < 0x800) || (n == 3 && c < 0x10000) ||
		    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			return 0;
		p += n + 1;
	}
	return 1;
}
