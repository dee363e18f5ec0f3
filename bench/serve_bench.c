/*
 * serve_bench.c: the client side of the daemon benchmark, for
 * bench/serve.sh (docs/BENCHMARKS.md, "The daemon").  It talks HTTP/1.1 to
 * `coffre serve` over its unix socket with libcurl, keeping connections
 * alive (one easy handle per thread, reused for every request).
 *
 *   serve_bench seal [-i IDS] SOCKET NCLIENTS FILE...
 *       reads every FILE into memory first (file reading is not timed),
 *       then NCLIENTS threads take the files in turn (a shared atomic
 *       index) and POST each one's bytes to
 *       /v1/documents?user=bench-uN&community=bench (N = the file's index
 *       / 5: five documents per user); every answer must be 201 with an
 *       "id".  Prints one line of key=value: elapsed seconds, docs/s, and
 *       the p50/p99 latency of one seal as its client saw it.  With -i,
 *       writes the ids to IDS, one a line, in the order of the files.
 *
 *   serve_bench open SOCKET ID N [FILE]
 *       GET /v1/documents/ID/content once untimed (warm-up), then N times
 *       in a row, each timed (CLOCK_MONOTONIC) from the request to the
 *       last byte of the plaintext, received into memory.  With FILE, the
 *       plaintext must be FILE's bytes.  Prints p50, p99 (nearest rank),
 *       min, max and mean in ms.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#define DOCS_PER_USER 5
#define ID_MAX 64

struct doc {
	unsigned char *buf;
	size_t len;
	char id[ID_MAX];
	double lat; /* seconds */
};

/* A growable response body. */
struct body {
	char *p;
	size_t len, cap;
};

struct shared {
	const char *sock;
	struct doc *docs;
	size_t ndocs;
	atomic_size_t next;
	atomic_int failed;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted ${v}. */
static double
pct(const double *v, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

static _Noreturn void
die(const char *what, const char *detail)
{
	fprintf(stderr, "serve_bench: %s: %s\n", what, detail);
	exit(1);
}

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: serve_bench seal [-i IDS] SOCKET NCLIENTS FILE...\n"
	    "       serve_bench open SOCKET ID N [FILE]\n");
	exit(2);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		die(path, strerror(errno));
	if (fstat(fileno(f), &st) != 0)
		die(path, strerror(errno));
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		die(path, "out of memory");
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		die(path, "short read");
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

static size_t
body_cb(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct body *b = ctx;
	size_t n = size * nmemb;

	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return 0; /* curl fails the transfer */
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static CURL *
handle(const char *sock, struct body *b)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		die("curl_easy_init", "failed");
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 0L);
	return h;
}

/* The "id" of a 201 answer into ${id}; -1 if there is none. */
static int
answer_id(const struct body *b, char id[ID_MAX])
{
	json_error_t je;
	json_t *o = json_loadb(b->p, b->len, 0, &je);
	const char *s = NULL;
	int rc = -1;

	if (o != NULL && json_unpack(o, "{s:s}", "id", &s) == 0 &&
	    strlen(s) < ID_MAX) {
		snprintf(id, ID_MAX, "%s", s);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

static void *
sealer(void *arg)
{
	struct shared *sh = arg;
	struct body b = {NULL, 0, 0};
	struct curl_slist *hdrs = NULL;
	char url[256], err[CURL_ERROR_SIZE];
	CURL *h = handle(sh->sock, &b);
	size_t i;

	/* No "Expect: 100-continue" round trip before a body. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	hdrs =
	    curl_slist_append(hdrs, "Content-Type: application/octet-stream");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	while ((i = atomic_fetch_add(&sh->next, 1)) < sh->ndocs &&
	    !atomic_load(&sh->failed)) {
		struct doc *d = &sh->docs[i];
		long status = 0;
		double t0;
		CURLcode cc;

		snprintf(url, sizeof(url),
		    "http://localhost/v1/documents?user=bench-u%zu"
		    "&community=bench",
		    i / DOCS_PER_USER);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, d->buf);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)d->len);
		b.len = 0;
		err[0] = '\0';
		t0 = now();
		cc = curl_easy_perform(h);
		d->lat = now() - t0;
		if (cc != CURLE_OK) {
			fprintf(stderr, "serve_bench: document %zu: %s\n", i,
			    err[0] ? err : curl_easy_strerror(cc));
			atomic_store(&sh->failed, 1);
			break;
		}
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (status != 201 || answer_id(&b, d->id) != 0) {
			fprintf(stderr,
			    "serve_bench: document %zu: HTTP %ld: %.300s\n", i,
			    status, b.p != NULL ? b.p : "");
			atomic_store(&sh->failed, 1);
			break;
		}
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	free(b.p);
	return NULL;
}

static int
do_seal(int argc, char **argv)
{
	struct shared sh;
	const char *ids = NULL;
	pthread_t *th;
	double t0, el, *lat;
	unsigned long nc;
	uint64_t bytes = 0;
	char *end;

	if (argc >= 2 && strcmp(argv[0], "-i") == 0) {
		ids = argv[1];
		argv += 2;
		argc -= 2;
	}
	if (argc < 3)
		usage();
	memset(&sh, 0, sizeof(sh));
	sh.sock = argv[0];
	errno = 0;
	nc = strtoul(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || nc < 1 || nc > 1024)
		die(argv[1], "NCLIENTS is a number from 1 to 1024");
	sh.ndocs = (size_t)(argc - 2);
	if ((sh.docs = calloc(sh.ndocs, sizeof(*sh.docs))) == NULL ||
	    (th = calloc(nc, sizeof(*th))) == NULL ||
	    (lat = calloc(sh.ndocs, sizeof(*lat))) == NULL)
		die("memory", "out of memory");
	for (size_t i = 0; i < sh.ndocs; i++) {
		sh.docs[i].buf = slurp(argv[2 + i], &sh.docs[i].len);
		bytes += sh.docs[i].len;
	}
	atomic_init(&sh.next, 0);
	atomic_init(&sh.failed, 0);

	t0 = now();
	for (unsigned long t = 0; t < nc; t++)
		if (pthread_create(&th[t], NULL, sealer, &sh) != 0)
			die("pthread_create", "failed");
	for (unsigned long t = 0; t < nc; t++)
		pthread_join(th[t], NULL);
	el = now() - t0;
	if (atomic_load(&sh.failed))
		die("seal", "a request failed");

	if (ids != NULL) {
		FILE *f = fopen(ids, "w");
		if (f == NULL)
			die(ids, strerror(errno));
		for (size_t i = 0; i < sh.ndocs; i++)
			fprintf(f, "%s\n", sh.docs[i].id);
		if (fclose(f) != 0)
			die(ids, strerror(errno));
	}
	for (size_t i = 0; i < sh.ndocs; i++)
		lat[i] = sh.docs[i].lat;
	qsort(lat, sh.ndocs, sizeof(double), dcmp);
	printf("mode=seal clients=%lu docs=%zu bytes=%llu elapsed_s=%.3f "
	       "docs_per_s=%.1f mib_per_s=%.1f seal_p50_ms=%.2f "
	       "seal_p99_ms=%.2f\n",
	    nc, sh.ndocs, (unsigned long long)bytes, el, (double)sh.ndocs / el,
	    (double)bytes / 1048576.0 / el, pct(lat, sh.ndocs, 0.50) * 1e3,
	    pct(lat, sh.ndocs, 0.99) * 1e3);
	for (size_t i = 0; i < sh.ndocs; i++)
		free(sh.docs[i].buf);
	free(sh.docs);
	free(th);
	free(lat);
	return 0;
}

static int
do_open(int argc, char **argv)
{
	struct body b = {NULL, 0, 0};
	char url[256], err[CURL_ERROR_SIZE];
	unsigned char *want = NULL;
	size_t wantlen = 0;
	double *t, sum = 0;
	unsigned long n;
	char *end;
	CURL *h;

	if (argc != 3 && argc != 4)
		usage();
	errno = 0;
	n = strtoul(argv[2], &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > 1000000)
		die(argv[2], "N is a number from 1 to 1000000");
	if (argc == 4)
		want = slurp(argv[3], &wantlen);
	if ((t = calloc(n, sizeof(*t))) == NULL)
		die("memory", "out of memory");
	snprintf(url, sizeof(url), "http://localhost/v1/documents/%s/content",
	    argv[1]);
	h = handle(argv[0], &b);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	/* Iteration 0 is the warm-up, not counted. */
	for (unsigned long i = 0; i <= n; i++) {
		long status = 0;
		double t0;
		CURLcode cc;

		b.len = 0;
		err[0] = '\0';
		t0 = now();
		cc = curl_easy_perform(h);
		if (i > 0)
			t[i - 1] = now() - t0;
		if (cc != CURLE_OK)
			die(url, err[0] ? err : curl_easy_strerror(cc));
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200) {
			fprintf(stderr, "serve_bench: %s: HTTP %ld: %.300s\n",
			    url, status, b.p != NULL ? b.p : "");
			exit(1);
		}
		if (want != NULL &&
		    (b.len != wantlen || memcmp(b.p, want, wantlen) != 0))
			die(url, "the plaintext differs from FILE");
	}
	for (unsigned long i = 0; i < n; i++)
		sum += t[i];
	qsort(t, n, sizeof(double), dcmp);
	printf("mode=open n=%lu bytes=%zu p50_ms=%.3f p99_ms=%.3f min_ms=%.3f "
	       "max_ms=%.3f mean_ms=%.3f\n",
	    n, b.len, pct(t, n, 0.50) * 1e3, pct(t, n, 0.99) * 1e3, t[0] * 1e3,
	    t[n - 1] * 1e3, sum / (double)n * 1e3);
	curl_easy_cleanup(h);
	free(b.p);
	free(want);
	free(t);
	return 0;
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc < 2)
		usage();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		die("curl_global_init", "failed");
	if (strcmp(argv[1], "seal") == 0)
		rc = do_seal(argc - 2, argv + 2);
	else if (strcmp(argv[1], "open") == 0)
		rc = do_open(argc - 2, argv + 2);
	else
		usage();
	curl_global_cleanup();
	return rc;
}
