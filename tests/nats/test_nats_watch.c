/*
 * tests/nats/test_nats_watch.c — the NATS watcher against a real server:
 * cancel leaves no consumer behind, a deleted bucket ends a watch with
 * SLIP_EWATCH, closing the connection ends it with SLIP_ENOTCONNECTED,
 * expired cursors (retention moved first_seq, a cursor from the future, a
 * deleted-and-recreated bucket), and a slow receiver bounding memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nats_util.h"

/* ASan and TSan both inflate RSS (quarantine, shadow memory). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SLIP_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SLIP_TEST_ASAN 1
#endif
#endif
#ifndef SLIP_TEST_ASAN
#define SLIP_TEST_ASAN 0
#endif

static int consumer_count(nu_raw *raw, const char *bucket)
{
	char stream[128];
	jsConsumerNamesList *l = NULL;
	snprintf(stream, sizeof(stream), "KV_%s", bucket);
	if (js_ConsumerNames(&l, raw->js, stream, NULL, NULL) != NATS_OK)
		return 0; /* NATS_NOT_FOUND: an empty list */
	int n = l->Count;
	jsConsumerNamesList_Destroy(l);
	return n;
}

static slip_entry *next(nu_watch *nw)
{
	slip_entry *e = NULL;
	if (slip_chan_recv(nw->ch, &e, 10000) != SLIP_OK)
		return NULL;
	return e;
}

static void t_cancel_leaves_no_consumer(void)
{
	nu_case c;
	nu_watch nw;
	nu_raw raw;
	REQUIRE_OK(nu_open(&c, 1));
	REQUIRE(nu_raw_open(&raw, nu_url()) == 0);
	CHECK_OK(slip_writer_put(c.w, "a", "1", 1, NULL));
	REQUIRE_OK(nu_watch_start(&nw, c.wt, NULL, NULL, 0, 16));
	slip_entry *e = next(&nw);
	CHECK(e != NULL && strcmp(e->key, "a") == 0);
	slip_entry_free(e);
	CHECK(consumer_count(&raw, c.bucket) == 1);
	CHECK_OK(nu_watch_stop(&nw));
	int n = consumer_count(&raw, c.bucket);
	for (int i = 0; i < 50 && n != 0; i++) {
		usleep(100000);
		n = consumer_count(&raw, c.bucket);
	}
	CHECK(n == 0);
	nu_raw_close(&raw);
	nu_close(&c);
}

static void t_deleted_bucket_ends_watch(void)
{
	nu_case c;
	nu_watch nw;
	slip_conn *other = NULL;
	REQUIRE_OK(nu_open(&c, 1));
	CHECK_OK(slip_writer_put(c.w, "a", "1", 1, NULL));
	REQUIRE_OK(
	        nu_watch_start(&nw, c.wt, NULL, NULL, SLIP_WATCH_MARKERS, 16));
	slip_entry *e = next(&nw);
	slip_entry_free(e);
	e = next(&nw);
	CHECK(e != NULL && e->op == SLIP_OP_CAUGHT_UP);
	slip_entry_free(e);
	REQUIRE_OK(nu_connect(&other, nu_url()));
	CHECK_OK(slip_store_delete(other, c.bucket));
	slip_conn_free(other);
	CHECK(nu_watch_wait(&nw, 30000));
	CHECK(atomic_load(&nw.rc) == SLIP_EWATCH);
	nu_watch_stop(&nw);
	nu_close(&c);
}

static void t_close_ends_watch(void)
{
	nu_case c;
	nu_watch nw;
	REQUIRE_OK(nu_open(&c, 1));
	REQUIRE_OK(
	        nu_watch_start(&nw, c.wt, "x.", NULL, SLIP_WATCH_MARKERS, 16));
	slip_entry *e = next(&nw);
	CHECK(e != NULL && e->op == SLIP_OP_CAUGHT_UP);
	slip_entry_free(e);
	int64_t t0 = nu_now_ms();
	slip_conn_close(c.conn);
	CHECK(nu_watch_wait(&nw, 5000));
	CHECK(nu_now_ms() - t0 < 5000);
	CHECK(atomic_load(&nw.rc) == SLIP_ENOTCONNECTED);
	nu_watch_stop(&nw);
	nu_close(&c);
}

static int watch_rc(slip_watcher *wt, const slip_cursor *from)
{
	nu_watch nw;
	if (nu_watch_start(&nw, wt, NULL, from, 0, 16) != SLIP_OK)
		return SLIP_ENOMEM;
	if (!nu_watch_wait(&nw, 10000))
		return nu_watch_stop(&nw) == SLIP_OK ? 1 : 1;
	return nu_watch_stop(&nw);
}

static void t_expired_cursors(void)
{
	nu_case c;
	nu_raw raw;
	slip_version v;
	char stream[128];
	REQUIRE_OK(nu_open(&c, 10));
	REQUIRE(nu_raw_open(&raw, nu_url()) == 0);
	for (int i = 0; i < 10; i++)
		CHECK_OK(slip_writer_put(c.w, "k", "v", 1, &v));
	slip_store_info info;
	REQUIRE_OK(slip_store_get_info(c.store, &info));
	/* Retention: drop everything below sequence 6. */
	snprintf(stream, sizeof(stream), "KV_%s", c.bucket);
	jsOptions o;
	jsOptions_Init(&o);
	o.Stream.Purge.Sequence = 6;
	REQUIRE(js_PurgeStream(raw.js, stream, &o, NULL) == NATS_OK);

	slip_cursor ok = slip_cursor_none(), old = ok, future = ok;
	/* Built by hand: 8-byte seq + 8-byte identity, as documented. */
	uint64_t seqs[3] = {5, 3, 11};
	slip_cursor *cs[3] = {&ok, &old, &future};
	for (int i = 0; i < 3; i++) {
		cs[i]->len = 16;
		for (int b = 0; b < 8; b++) {
			cs[i]->bytes[b] = (uint8_t)(seqs[i] >> (56 - 8 * b));
			cs[i]->bytes[8 + b] =
			        (uint8_t)((uint64_t)info.created_ns >>
			                  (56 - 8 * b));
		}
	}
	CHECK(watch_rc(c.wt, &old) == SLIP_ECURSOREXPIRED);
	CHECK(watch_rc(c.wt, &future) == SLIP_ECURSOREXPIRED);
	/* A cursor at first_seq - 1 is still good: the watch runs. */
	nu_watch nw;
	REQUIRE_OK(nu_watch_start(&nw, c.wt, NULL, &ok, 0, 16));
	slip_entry *e = next(&nw);
	uint64_t rev = 0;
	CHECK(e != NULL && slip_version_to_u64(&e->version, &rev) == SLIP_OK &&
	      rev == 6);
	slip_entry_free(e);
	CHECK_OK(nu_watch_stop(&nw));

	/* Deleted and recreated: same sequences, other identity. */
	slip_store_free(c.store);
	c.store = NULL;
	REQUIRE_OK(slip_store_delete(c.conn, c.bucket));
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	cfg.name = c.bucket;
	cfg.max_history = 10;
	REQUIRE_OK(slip_store_open_config(&c.store, c.conn, &cfg));
	for (int i = 0; i < 10; i++)
		CHECK_OK(slip_writer_put(slip_store_writer(c.store), "k", "v",
		                         1, NULL));
	CHECK(watch_rc(slip_store_watcher(c.store), &ok) ==
	      SLIP_ECURSOREXPIRED);
	nu_raw_close(&raw);
	nu_close(&c);
}

static void t_slow_receiver_bounded(void)
{
	nu_case c;
	nu_watch nw;
	nu_raw raw;
	char stream[128], subj[128];
	enum { N = 20000, SZ = 2048 };
	REQUIRE_OK(nu_open(&c, 64));
	REQUIRE(nu_raw_open(&raw, nu_url()) == 0);
	char *val = malloc(SZ);
	REQUIRE(val != NULL);
	memset(val, 'x', SZ);
	snprintf(stream, sizeof(stream), "KV_%s", c.bucket);
	/* 20000 x 2 KiB = 40 MiB of history, written quickly and raw. */
	for (int i = 0; i < N; i++) {
		snprintf(subj, sizeof(subj), "$KV.%s.k%d", c.bucket, i % 400);
		REQUIRE(js_PublishAsync(raw.js, subj, val, SZ, NULL) ==
		        NATS_OK);
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = 30000;
	REQUIRE(js_PublishAsyncComplete(raw.js, &po) == NATS_OK);
	free(val);
	slip_cursor zero = slip_cursor_none();
	zero.len = 8; /* cursor 0: every update from the first */
	REQUIRE_OK(nu_watch_start(&nw, c.wt, NULL, &zero, 0, 4));
	long rss0 = nu_rss_kib();
	int got = 0;
	long peak = rss0;
	/* A slow receiver: a few entries, then a pause, for ~3 s. */
	for (int round = 0; round < 30; round++) {
		for (int j = 0; j < 20; j++) {
			slip_entry *e = next(&nw);
			if (e == NULL)
				break;
			got++;
			slip_entry_free(e);
		}
		usleep(100000);
		long r = nu_rss_kib();
		if (r > peak)
			peak = r;
		CHECK(slip_chan_len(nw.ch) <= 4);
	}
	CHECK(got == 600);
	/* The 40 MiB backlog must stay on the server, not in this process.
	 * (ASan keeps freed blocks in quarantine, so RSS says nothing
	 * there; the plain and valgrind runs check it.) */
	if (!SLIP_TEST_ASAN)
		CHECK(peak - rss0 < 24 * 1024);
	fprintf(stderr, "slow receiver: rss %ld KiB -> peak %ld KiB\n", rss0,
	        peak);
	CHECK_OK(nu_watch_stop(&nw));
	nu_raw_close(&raw);
	nu_close(&c);
}

/* Receives until an entry for @p key arrives or the watch ends. */
static slip_entry *wait_key(nu_watch *nw, const char *key, int ms)
{
	int64_t end = nu_now_ms() + ms;
	while (nu_now_ms() < end) {
		slip_entry *e = NULL;
		int rc = slip_chan_recv(nw->ch, &e, 200);
		if (rc == SLIP_ECLOSED)
			return NULL;
		if (rc != SLIP_OK)
			continue;
		if (strcmp(e->key, key) == 0)
			return e;
		slip_entry_free(e);
	}
	return NULL;
}

static void t_server_restart(void)
{
	slip_natsd *s = NULL;
	slip_conn *c = NULL;
	slip_store *st = NULL;
	nu_watch nw;
	slip_cursor last;
	REQUIRE(slip_natsd_start(&s, NULL) == 0);
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	o.url = slip_natsd_url(s);
	o.max_reconnect = -1;
	REQUIRE_OK(slip_conn_new(&c, &o));
	REQUIRE_OK(slip_conn_connect(c));
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	cfg.name = "restart";
	REQUIRE_OK(slip_store_open_config(&st, c, &cfg));
	CHECK_OK(slip_writer_put(slip_store_writer(st), "a", "1", 1, NULL));
	REQUIRE_OK(
	        nu_watch_start(&nw, slip_store_watcher(st), NULL, NULL, 0, 16));
	slip_entry *e = wait_key(&nw, "a", 10000);
	REQUIRE(e != NULL);
	last = e->cursor;
	slip_entry_free(e);

	REQUIRE(slip_natsd_kill(s) == 0);
	REQUIRE(slip_natsd_restart(s) == 0);
	/* Writes resume once the client has reconnected. */
	int rc = SLIP_EIO;
	for (int i = 0; i < 100 && rc != SLIP_OK; i++) {
		rc = slip_writer_put(slip_store_writer(st), "b", "2", 1, NULL);
		if (rc != SLIP_OK)
			usleep(100000);
	}
	CHECK_OK(rc);
	/* Either the watch recovers by itself or it ends with EWATCH. */
	e = wait_key(&nw, "b", 30000);
	fprintf(stderr, "server restart: the watch %s\n",
	        e != NULL ? "recovered" : "ended");
	if (e != NULL) {
		slip_entry_free(e);
	} else {
		CHECK(nu_watch_wait(&nw, 1000));
		CHECK(atomic_load(&nw.rc) == SLIP_EWATCH);
	}
	nu_watch_stop(&nw);
	/* Resuming from the last cursor sees b exactly once, nothing else. */
	REQUIRE_OK(nu_watch_start(&nw, slip_store_watcher(st), NULL, &last,
	                          SLIP_WATCH_MARKERS, 16));
	e = next(&nw);
	CHECK(e != NULL && strcmp(e->key, "b") == 0);
	slip_entry_free(e);
	e = next(&nw);
	CHECK(e != NULL && e->op == SLIP_OP_CAUGHT_UP);
	slip_entry_free(e);
	CHECK_OK(nu_watch_stop(&nw));
	slip_store_free(st);
	slip_conn_free(c);
	slip_natsd_free(s);
}

static void t_server_gone(void)
{
	slip_natsd *s = NULL;
	slip_conn *c = NULL;
	slip_store *st = NULL;
	nu_watch nw;
	REQUIRE(slip_natsd_start(&s, NULL) == 0);
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	o.url = slip_natsd_url(s);
	o.max_reconnect = -1;
	REQUIRE_OK(slip_conn_new(&c, &o));
	REQUIRE_OK(slip_conn_connect(c));
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	cfg.name = "gone";
	REQUIRE_OK(slip_store_open_config(&st, c, &cfg));
	REQUIRE_OK(nu_watch_start(&nw, slip_store_watcher(st), NULL, NULL,
	                          SLIP_WATCH_MARKERS, 16));
	slip_entry *e = next(&nw);
	CHECK(e != NULL && e->op == SLIP_OP_CAUGHT_UP);
	slip_entry_free(e);
	REQUIRE(slip_natsd_kill(s) == 0);
	/* A connection that stays down ends the watch: never a stall. */
	CHECK(nu_watch_wait(&nw, 30000));
	CHECK(atomic_load(&nw.rc) == SLIP_EWATCH);
	if (atomic_load(&nw.rc) != SLIP_EWATCH)
		fprintf(stderr, "server gone: watch ended with %s\n",
		        slip_err_name(atomic_load(&nw.rc)));
	nu_watch_stop(&nw);
	slip_store_free(st);
	slip_conn_free(c);
	slip_natsd_free(s);
}

/* Retention overrunning a live watch (the receiver is behind, the stream
 * drops its head): the watch must fail, never skip updates silently. */
static void t_retention_overruns_watch(void)
{
	nu_case c;
	nu_watch nw;
	nu_raw raw;
	char stream[128], subj[128];
	enum { N = 20000, SZ = 2048 };
	REQUIRE_OK(nu_open(&c, 64));
	REQUIRE(nu_raw_open(&raw, nu_url()) == 0);
	char *val = malloc(SZ);
	REQUIRE(val != NULL);
	memset(val, 'x', SZ);
	snprintf(stream, sizeof(stream), "KV_%s", c.bucket);
	CHECK_OK(slip_writer_put(c.w, "first", "1", 1, NULL));
	slip_cursor zero = slip_cursor_none();
	zero.len = 8;
	REQUIRE_OK(nu_watch_start(&nw, c.wt, NULL, &zero, 0, 1));
	slip_entry *e = next(&nw);
	CHECK(e != NULL);
	slip_entry_free(e);
	for (int i = 0; i < N; i++) {
		snprintf(subj, sizeof(subj), "$KV.%s.k%d", c.bucket, i % 400);
		REQUIRE(js_PublishAsync(raw.js, subj, val, SZ, NULL) ==
		        NATS_OK);
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = 30000;
	REQUIRE(js_PublishAsyncComplete(raw.js, &po) == NATS_OK);
	free(val);
	/* The watch holds at most a flow-control window; drop the head. */
	jsOptions o;
	jsOptions_Init(&o);
	o.Stream.Purge.Sequence = N - 100;
	REQUIRE(js_PurgeStream(raw.js, stream, &o, NULL) == NATS_OK);
	int got = 0;
	uint64_t prev = 1, rev = 0;
	bool gap = false;
	while ((e = next(&nw)) != NULL) {
		slip_version_to_u64(&e->version, &rev);
		if (rev != prev + 1)
			gap = true;
		prev = rev;
		got++;
		slip_entry_free(e);
	}
	CHECK(!gap); /* nothing delivered past a hole */
	CHECK(got < N);
	CHECK(nu_watch_wait(&nw, 5000));
	CHECK(atomic_load(&nw.rc) == SLIP_EWATCH);
	nu_watch_stop(&nw);
	nu_raw_close(&raw);
	nu_close(&c);
}

/* The bucket deleted and recreated under a running watch, and written past
 * the watch's position at once: libnats recreates its consumer on the new
 * stream; the watch must end, never deliver the new bucket's updates as if
 * they continued the old one. */
static void t_recreated_under_watch(void)
{
	nu_case c;
	nu_watch nw;
	slip_conn *other = NULL;
	slip_store *st2 = NULL;
	char key[32];
	REQUIRE_OK(nu_open(&c, 1));
	for (int i = 1; i <= 31; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CHECK_OK(slip_writer_put(c.w, key, "old", 3, NULL));
	}
	REQUIRE_OK(
	        nu_watch_start(&nw, c.wt, NULL, NULL, SLIP_WATCH_MARKERS, 64));
	int n = 0;
	slip_entry *e;
	while ((e = next(&nw)) != NULL) {
		bool marker = e->op == SLIP_OP_CAUGHT_UP;
		slip_entry_free(e);
		if (marker)
			break;
		n++;
	}
	CHECK(n == 31);
	REQUIRE_OK(nu_connect(&other, nu_url()));
	CHECK_OK(slip_store_delete(other, c.bucket));
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	cfg.name = c.bucket;
	REQUIRE_OK(slip_store_open_config(&st2, other, &cfg));
	for (int i = 1; i <= 41; i++) {
		snprintf(key, sizeof(key), "n%d", i);
		CHECK_OK(slip_writer_put(slip_store_writer(st2), key, "new", 3,
		                         NULL));
	}
	int leaked = 0;
	while ((e = next(&nw)) != NULL) {
		if (strcmp((const char *)e->value, "new") == 0)
			leaked++;
		slip_entry_free(e);
	}
	CHECK(leaked == 0);
	CHECK(nu_watch_wait(&nw, 1000));
	CHECK(atomic_load(&nw.rc) == SLIP_EWATCH);
	nu_watch_stop(&nw);
	slip_store_free(st2);
	slip_conn_free(other);
	nu_close(&c);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_cancel_leaves_no_consumer),
        SLIP_TEST(t_deleted_bucket_ends_watch),
        SLIP_TEST(t_close_ends_watch),
        SLIP_TEST(t_expired_cursors),
        SLIP_TEST(t_slow_receiver_bounded),
        SLIP_TEST(t_retention_overruns_watch),
        SLIP_TEST(t_recreated_under_watch),
        SLIP_TEST(t_server_restart),
        SLIP_TEST(t_server_gone),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
