/*
 * tests/nats/test_nats_pipe.c — pipelined writes (slipstream/pipeline.h)
 * on the memory backend and on a real nats-server: results in submission
 * order with the revision the server gave, per-key order, CAS conflicts
 * naming their key, create over a tombstone behind later writes to the
 * key, the window bound, bad input, and a server SIGKILLed mid-window
 * (in-flight writes fail with a clear error, flush returns, nothing
 * unacknowledged is reported stored).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nats_util.h"

#define MEM_URL "mem://pipe_test"

/* Every result, in the order on_result saw them. */
typedef struct rec {
	uint64_t index;
	slip_write_kind kind;
	char key[64];
	int rc;
	char message[256];
	uint64_t rev;
} rec;

typedef struct results {
	rec *r;
	size_t n, cap;
	slip_pipeline *p;
	size_t max_in_flight;
	int order_errors;
} results;

static void on_result(void *payload, const slip_write_result *w)
{
	results *rs = payload;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
	}
	rec *r = &rs->r[rs->n];
	if (w->index != rs->n)
		rs->order_errors++;
	r->index = w->index;
	r->kind = w->kind;
	snprintf(r->key, sizeof(r->key), "%s", w->key);
	r->rc = w->rc;
	snprintf(r->message, sizeof(r->message), "%s", w->message);
	r->rev = 0;
	if (w->rc == SLIP_OK && w->version.len == 8)
		slip_version_to_u64(&w->version, &r->rev);
	rs->n++;
}

typedef struct pcase {
	nu_case nc; /* nats: connection and bucket */
	slip_conn *conn;
	slip_store *store;
	slip_reader *r;
	slip_writer *w;
	slip_pipeline *p;
	results rs;
} pcase;

static int n_mem;

static bool open_case(pcase *c, bool nats, size_t max_ops, size_t max_bytes)
{
	slip_pipeline_options o = SLIP_PIPELINE_OPTIONS_INIT;
	char bucket[64];

	memset(c, 0, sizeof(*c));
	if (nats) {
		if (nu_open(&c->nc, 1) != SLIP_OK)
			return false;
		c->conn = c->nc.conn;
		c->store = c->nc.store;
	} else {
		slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
		snprintf(bucket, sizeof(bucket), "pipe%d", n_mem++);
		cfg.name = bucket;
		if (slip_connect(&c->conn, MEM_URL) != SLIP_OK ||
		    slip_store_open_config(&c->store, c->conn, &cfg) != SLIP_OK)
			return false;
	}
	c->r = slip_store_reader(c->store);
	c->w = slip_store_writer(c->store);
	o.max_ops = max_ops;
	o.max_bytes = max_bytes;
	o.on_result = on_result;
	o.payload = &c->rs;
	return slip_pipeline_new(&c->p, c->w, &o) == SLIP_OK;
}

static void close_case(pcase *c, bool nats)
{
	slip_pipeline_free(c->p);
	free(c->rs.r);
	if (nats) {
		nu_close(&c->nc);
	} else {
		slip_store_free(c->store);
		slip_conn_free(c->conn);
	}
}

static char *value_of(slip_reader *r, const char *key)
{
	slip_entry *e = NULL;
	char *v = NULL;
	if (slip_reader_get(r, key, &e) == SLIP_OK && e != NULL) {
		v = malloc(e->value_len + 1);
		memcpy(v, e->value, e->value_len);
		v[e->value_len] = '\0';
	}
	slip_entry_free(e);
	return v;
}

/* 3000 puts over 30 keys: results in order, revisions increasing, and
 * each key ends with the last value submitted for it. */
static void order_case(bool nats)
{
	pcase c;
	char key[32], val[32];
	const int n = 3000;

	REQUIRE(open_case(&c, nats, 256, 0));
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k.%d", i % 30);
		snprintf(val, sizeof(val), "v%d", i);
		CHECK_OK(slip_pipeline_put(c.p, key, val, strlen(val)));
	}
	CHECK_OK(slip_pipeline_flush(c.p, NULL));
	CHECK(c.rs.n == (size_t)n);
	CHECK(c.rs.order_errors == 0);
	CHECK(slip_pipeline_in_flight(c.p) == 0);
	uint64_t last = 0;
	int rev_errors = 0;
	for (size_t i = 0; i < c.rs.n; i++) {
		CHECK_OK(c.rs.r[i].rc);
		rev_errors += c.rs.r[i].rev <= last;
		last = c.rs.r[i].rev;
	}
	CHECK(rev_errors == 0);
	for (int k = 0; k < 30; k++) {
		snprintf(key, sizeof(key), "k.%d", k);
		snprintf(val, sizeof(val), "v%d", n - 30 + k);
		char *v = value_of(c.r, key);
		CHECK(v != NULL && strcmp(v, val) == 0);
		free(v);
	}
	close_case(&c, nats);
}

/* Conditional writes: right and wrong expected revisions, create on a live
 * key and over a tombstone (a second round trip that later writes to the
 * same key wait for), delete_version. */
static void cas_case(bool nats)
{
	pcase c;
	slip_version v1, stale = slip_version_from_u64(1);

	REQUIRE(open_case(&c, nats, 64, 0));
	REQUIRE_OK(slip_writer_put(c.w, "a", "1", 1, &v1));
	REQUIRE_OK(slip_writer_put(c.w, "t", "x", 1, NULL));
	REQUIRE_OK(slip_writer_delete(c.w, "t"));
	REQUIRE_OK(slip_writer_put(c.w, "d", "x", 1, NULL));
	CHECK_OK(slip_pipeline_update(c.p, "a", "2", 1, &v1));    /* 0 ok */
	CHECK_OK(slip_pipeline_update(c.p, "a", "3", 1, &v1));    /* 1 stale */
	CHECK_OK(slip_pipeline_create(c.p, "a", "4", 1));         /* 2 exists */
	CHECK_OK(slip_pipeline_create(c.p, "t", "new", 3));       /* 3 tomb */
	CHECK_OK(slip_pipeline_put(c.p, "t", "after", 5));        /* 4 ok */
	CHECK_OK(slip_pipeline_create(c.p, "fresh", "f", 1));     /* 5 ok */
	CHECK_OK(slip_pipeline_delete_version(c.p, "d", &stale)); /* 6 stale */
	CHECK_OK(slip_pipeline_delete(c.p, "d"));                 /* 7 ok */
	CHECK_OK(slip_pipeline_update(c.p, "new", "n", 1, &stale)); /* 8 */
	size_t failed = 0;
	CHECK_RC(slip_pipeline_flush(c.p, &failed), SLIP_EREVISION);
	CHECK(failed == 4);
	REQUIRE(c.rs.n == 9);
	static const int want[] = {
	        SLIP_OK, SLIP_EREVISION, SLIP_EEXISTS, SLIP_OK,       SLIP_OK,
	        SLIP_OK, SLIP_EREVISION, SLIP_OK,      SLIP_EREVISION};
	for (size_t i = 0; i < 9; i++) {
		if (c.rs.r[i].rc != want[i])
			fprintf(stderr, "  result %zu: %s (%s), want %s\n", i,
			        slip_err_name(c.rs.r[i].rc), c.rs.r[i].message,
			        slip_err_name(want[i]));
		CHECK(c.rs.r[i].rc == want[i]);
	}
	CHECK(strstr(c.rs.r[1].message, "\"a\"") != NULL);
	CHECK(strstr(c.rs.r[6].message, "\"d\"") != NULL);
	char *a = value_of(c.r, "a"), *t = value_of(c.r, "t");
	CHECK(a != NULL && strcmp(a, "2") == 0);
	CHECK(t != NULL && strcmp(t, "after") == 0);
	free(a);
	free(t);
	CHECK(value_of(c.r, "d") == NULL);
	close_case(&c, nats);
}

/* The window bounds what is in flight, by count and by bytes. */
static void window_case(bool nats)
{
	pcase c;
	char key[32], val[1000];
	size_t worst = 0;

	memset(val, 'v', sizeof(val));
	REQUIRE(open_case(&c, nats, 8, 4000));
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "w.%d", i);
		CHECK_OK(slip_pipeline_put(c.p, key, val, sizeof(val)));
		size_t f = slip_pipeline_in_flight(c.p);
		worst = f > worst ? f : worst;
	}
	CHECK_OK(slip_pipeline_flush(c.p, NULL));
	CHECK(worst <= 4); /* 4 × ~1 KB fit in 4000 bytes */
	CHECK(c.rs.n == 200);
	close_case(&c, nats);
}

/* Bad input: refused at submit, no result follows, nothing breaks. */
static void bad_input_case(bool nats)
{
	pcase c;
	slip_version empty = {0};
	slip_pipeline_options bad = SLIP_PIPELINE_OPTIONS_INIT;
	slip_pipeline *p = NULL;

	REQUIRE(open_case(&c, nats, 0, 0));
	CHECK_RC(slip_pipeline_put(c.p, "", "x", 1), SLIP_EINVAL);
	CHECK_RC(slip_pipeline_put(c.p, "a b", "x", 1), SLIP_EINVAL);
	CHECK_RC(slip_pipeline_put(c.p, "k", NULL, 3), SLIP_EINVAL);
	CHECK_RC(slip_pipeline_update(c.p, "k", "x", 1, NULL), SLIP_EINVAL);
	CHECK_RC(slip_pipeline_update(c.p, "k", "x", 1, &empty), SLIP_EINVAL);
	CHECK_RC(slip_pipeline_put(NULL, "k", "x", 1), SLIP_EINVAL);
	bad.version = 99;
	CHECK_RC(slip_pipeline_new(&p, c.w, &bad), SLIP_EINVAL);
	CHECK(p == NULL);
	CHECK_RC(slip_pipeline_new(&p, NULL, NULL), SLIP_EINVAL);
	CHECK_OK(slip_pipeline_put(c.p, "k", "x", 1));
	CHECK_OK(slip_pipeline_flush(c.p, NULL));
	CHECK(c.rs.n == 1);
	slip_pipeline_free(NULL);
	close_case(&c, nats);
}

static void t_mem_order(void)
{
	order_case(false);
}
static void t_nats_order(void)
{
	order_case(true);
}
static void t_mem_cas(void)
{
	cas_case(false);
}
static void t_nats_cas(void)
{
	cas_case(true);
}
static void t_mem_window(void)
{
	window_case(false);
}
static void t_nats_window(void)
{
	window_case(true);
}
static void t_mem_bad_input(void)
{
	bad_input_case(false);
}
static void t_nats_bad_input(void)
{
	bad_input_case(true);
}

/* ------------------------------------------------------ server killed */

/* Kills the paused server a little later, while the writer is blocked
 * on a full window of writes the server will never acknowledge. */
static void *kill_later(void *arg)
{
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	if (slip_natsd_kill(arg) != 0)
		fprintf(stderr, "  kill failed\n");
	return NULL;
}

/*
 * A server of its own, paused (SIGSTOP: no more acknowledgements) and then
 * SIGKILLed while thousands of puts are in flight:
 * every submission gets exactly one result or a refused submit; the ones
 * reported stored carry increasing revisions and are on the server once it
 * is back; the failed ones say the write may or may not have been stored;
 * flush returns.
 */
static void t_nats_server_killed(void)
{
	slip_natsd *d = NULL;
	slip_conn *conn = NULL;
	slip_store *st = NULL;
	slip_pipeline *p = NULL;
	results rs = {0};
	slip_pipeline_options o = SLIP_PIPELINE_OPTIONS_INIT;
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	char key[32], val[64];
	size_t submitted = 0, refused = 0;
	bool killed = false;
	pthread_t killer;

	REQUIRE(slip_natsd_start(&d, NULL) == 0);
	REQUIRE_OK(nu_connect(&conn, slip_natsd_url(d)));
	cfg.name = "killed";
	REQUIRE_OK(slip_store_open_config(&st, conn, &cfg));
	o.max_ops = 4096;
	o.on_result = on_result;
	o.payload = &rs;
	REQUIRE_OK(slip_pipeline_new(&p, slip_store_writer(st), &o));
	memset(val, 'x', sizeof(val));
	for (int i = 0; i < 200000 && refused == 0; i++) {
		snprintf(key, sizeof(key), "k.%d", i);
		int rc = slip_pipeline_put(p, key, val, sizeof(val));
		if (rc != SLIP_OK) {
			fprintf(stderr, "  submit %d refused: %s\n", i,
			        slip_last_error());
			refused++;
			break;
		}
		submitted++;
		if (!killed && rs.n >= 2000) {
			fprintf(stderr,
			        "  pausing the server with %zu in "
			        "flight, killing it in 300 ms\n",
			        slip_pipeline_in_flight(p));
			REQUIRE(slip_natsd_pause(d) == 0);
			REQUIRE(pthread_create(&killer, NULL, kill_later, d) ==
			        0);
			killed = true;
		}
	}
	int64_t t0 = nu_now_ms();
	size_t failed = 0;
	int frc = slip_pipeline_flush(p, &failed);
	fprintf(stderr, "  flush: %s after %lld ms, %zu failed: %s\n",
	        slip_err_name(frc), (long long)(nu_now_ms() - t0), failed,
	        slip_last_error());
	if (killed)
		pthread_join(killer, NULL);
	CHECK(killed);
	CHECK(refused == 1);
	CHECK(rs.n == submitted);
	CHECK(rs.order_errors == 0);
	CHECK(failed > 0);
	size_t ok = 0, clear = 0;
	uint64_t last = 0;
	int rev_errors = 0;
	for (size_t i = 0; i < rs.n; i++) {
		if (rs.r[i].rc == SLIP_OK) {
			ok++;
			rev_errors += rs.r[i].rev <= last;
			last = rs.r[i].rev;
		} else {
			clear += strstr(rs.r[i].message,
			                "may or may not have been stored") !=
			         NULL;
		}
	}
	CHECK(rev_errors == 0);
	CHECK(clear == rs.n - ok);
	fprintf(stderr, "  %zu submitted, %zu acknowledged, %zu failed\n",
	        submitted, ok, rs.n - ok);
	slip_pipeline_free(p);
	slip_store_free(st);
	slip_conn_free(conn);
	/* What was acknowledged is there after the restart. */
	REQUIRE(slip_natsd_restart(d) == 0);
	REQUIRE_OK(nu_connect(&conn, slip_natsd_url(d)));
	REQUIRE_OK(slip_store_open(&st, conn, "killed"));
	size_t missing = 0;
	for (size_t i = 0; i < rs.n; i++) {
		slip_entry *e = NULL;
		if (rs.r[i].rc != SLIP_OK)
			continue;
		if (slip_reader_get(slip_store_reader(st), rs.r[i].key, &e) !=
		            SLIP_OK ||
		    e == NULL)
			missing++;
		slip_entry_free(e);
	}
	CHECK(missing == 0);
	free(rs.r);
	slip_store_free(st);
	slip_conn_free(conn);
	slip_natsd_free(d);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_mem_order),
        SLIP_TEST(t_nats_order),
        SLIP_TEST(t_mem_cas),
        SLIP_TEST(t_nats_cas),
        SLIP_TEST(t_mem_window),
        SLIP_TEST(t_nats_window),
        SLIP_TEST(t_mem_bad_input),
        SLIP_TEST(t_nats_bad_input),
        SLIP_TEST(t_nats_server_killed),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
