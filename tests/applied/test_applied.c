/*
 * tests/applied/test_applied.c — watch_applied behaviour, run unchanged
 * against the memory backend (`test_applied mem`) and a real nats-server
 * (`test_applied nats`, started here through natsd.h).
 *
 * Each case runs the loop on a thread (a "consumer") that applies into a
 * local map, and checks what the issue asks: apply → checkpoint →
 * on_applied order (observing the snapshot file from inside the
 * callbacks), a cursor that never moves backwards, dropped updates that
 * still advance the cursor, a restart that receives exactly the delta,
 * resync after CursorExpired and after the bucket was recreated, apply and
 * checkpoint failures, shutdown promptness and resubscribe after a server
 * restart.
 */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include "applied_internal.h"
#include "fileio.h"
#include "fx.h"
#include "natsd.h"
#include "test.h"

static const char *g_url;   /* mem://… or the nats-server's URL */
static slip_natsd *g_natsd; /* NATS runs only */

/* ------------------------------------------------------------ consumer */

typedef struct consumer consumer;
struct consumer {
	slip_applied_options o;
	slip_shutdown *sd;
	slip_snapshot_writer *snap;
	char snap_path[512];
	pthread_t tid;
	bool running;
	int rc;
	slip_cursor final;

	pthread_mutex_t mu;
	fx_map state;
	slip_cursor last_applied; /* what on_applied reported last */
	uint64_t batches, zero_batches, updates, synthetic, caught_up;
	uint64_t on_applied_calls, resyncs;
	int order_errors, backwards;
	uint64_t last_rev_seen; /* revisions must arrive increasing */
	int rev_order_errors;
	bool expect_synthetic;        /* a resync with stale keys is due */
	int applied_before_synthetic; /* on_applied while it was still due */

	/* knobs */
	const char *drop_prefix; /* parse drops these keys */
	int fail_apply;          /* non-zero: apply returns it */
	bool check_order;        /* read the snapshot file in callbacks */
	int first_apply_ms;      /* the first apply sleeps this long */
};

static int c_parse(void *payload, const slip_entry *e, void **item)
{
	consumer *c = payload;
	*item = (void *)e;
	if (c->drop_prefix != NULL &&
	    strncmp(e->key, c->drop_prefix, strlen(c->drop_prefix)) == 0)
		*item = NULL;
	return 0;
}

static slip_cursor file_cursor(consumer *c)
{
	slip_snapshot *s = NULL;
	slip_cursor cur = slip_cursor_none();
	if (slip_snapshot_load(&s, c->snap_path) == SLIP_OK && s != NULL)
		cur = s->cursor;
	slip_snapshot_free(s);
	return cur;
}

static bool cursor_eq(const slip_cursor *a, const slip_cursor *b)
{
	return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

static int c_apply(void *payload, void *const *items, size_t count)
{
	consumer *c = payload;
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (c->fail_apply) {
		rc = c->fail_apply;
		goto done;
	}
	/* Nothing of this batch may be committed yet. */
	if (c->check_order && c->snap != NULL) {
		slip_cursor fc = file_cursor(c);
		if (!cursor_eq(&fc, &c->last_applied))
			c->order_errors++;
	}
	if (c->batches == 0 && c->first_apply_ms > 0)
		fx_sleep_ms(c->first_apply_ms);
	c->batches++;
	c->zero_batches += count == 0;
	for (size_t i = 0; i < count; i++) {
		const slip_entry *e = items[i];
		uint64_t rev = 0;
		if (e->flags & SLIP_ENTRY_SYNTHETIC) {
			c->synthetic++;
			c->expect_synthetic = false;
		} else if (slip_version_to_u64(&e->version, &rev) == SLIP_OK) {
			if (rev <= c->last_rev_seen && c->resyncs == 0)
				c->rev_order_errors++;
			c->last_rev_seen = rev;
		}
		c->updates++;
		fx_map_apply(&c->state, e);
	}
done:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static void c_on_applied(void *payload, const slip_cursor *cursor)
{
	consumer *c = payload;

	pthread_mutex_lock(&c->mu);
	if (c->check_order && c->snap != NULL) {
		slip_cursor fc = file_cursor(c);
		if (!cursor_eq(&fc, cursor))
			c->order_errors++;
	}
	if (!slip_cursor_is_none(&c->last_applied) &&
	    fx_cursor_seq(cursor) < fx_cursor_seq(&c->last_applied) &&
	    c->resyncs == 0)
		c->backwards++;
	if (c->expect_synthetic)
		c->applied_before_synthetic++;
	c->last_applied = *cursor;
	c->on_applied_calls++;
	pthread_mutex_unlock(&c->mu);
}

static void c_on_caught_up(void *payload, const slip_cursor *cursor)
{
	consumer *c = payload;
	(void)cursor;
	pthread_mutex_lock(&c->mu);
	c->caught_up++;
	pthread_mutex_unlock(&c->mu);
}

static int c_on_resync(void *payload)
{
	consumer *c = payload;
	pthread_mutex_lock(&c->mu);
	c->resyncs++;
	fx_map_clear(&c->state);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static void *c_main(void *arg)
{
	consumer *c = arg;
	c->rc = slip_watch_applied(&c->o, &c->final);
	return NULL;
}

/*
 * Sets up a consumer over @p f. With @p snap_path the consumer uses a
 * snapshot there and starts from its committed state (as a service that
 * trusts its snapshot does).
 */
static int c_init(consumer *c, fx *f, const char *snap_path)
{
	slip_applied_options init = SLIP_APPLIED_OPTIONS_INIT;
	int rc;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	c->o = init;
	c->o.watcher = f->watcher;
	c->o.parse = c_parse;
	c->o.apply = c_apply;
	c->o.on_applied = c_on_applied;
	c->o.on_caught_up = c_on_caught_up;
	c->o.on_resync = c_on_resync;
	c->o.payload = c;
	rc = slip_shutdown_new(&c->sd);
	if (rc != SLIP_OK)
		return rc;
	c->o.shutdown = c->sd;
	if (snap_path != NULL) {
		snprintf(c->snap_path, sizeof(c->snap_path), "%s", snap_path);
		rc = fx_map_from_snapshot(&c->state, snap_path,
		                          &c->last_applied);
		if (rc == SLIP_OK)
			rc = slip_snapshot_writer_open(&c->snap, snap_path, 0);
		c->o.snapshot = c->snap;
	}
	return rc;
}

static int c_start(consumer *c)
{
	if (pthread_create(&c->tid, NULL, c_main, c) != 0)
		return SLIP_ENOMEM;
	c->running = true;
	return SLIP_OK;
}

/* Joins a loop that ends by itself (an error); false on timeout. */
static bool c_join_within(consumer *c, int ms)
{
	int64_t end = fx_now_ms() + ms;
	while (fx_now_ms() < end) {
		if (pthread_tryjoin_np(c->tid, NULL) == 0) {
			c->running = false;
			return true;
		}
		fx_sleep_ms(5);
	}
	return false;
}

static void c_stop(consumer *c)
{
	if (c->running) {
		slip_shutdown_trigger(c->sd);
		pthread_join(c->tid, NULL);
		c->running = false;
	}
}

static void c_free(consumer *c)
{
	c_stop(c);
	slip_snapshot_writer_free(c->snap);
	slip_shutdown_free(c->sd);
	fx_map_clear(&c->state);
	pthread_mutex_destroy(&c->mu);
}

/* Waits until on_applied reported a cursor at or past @p seq. */
static bool c_wait_seq(consumer *c, uint64_t seq, int ms)
{
	int64_t end = fx_now_ms() + ms;
	for (;;) {
		pthread_mutex_lock(&c->mu);
		bool ok = fx_cursor_seq(&c->last_applied) >= seq;
		pthread_mutex_unlock(&c->mu);
		if (ok)
			return true;
		if (fx_now_ms() >= end)
			return false;
		fx_sleep_ms(2);
	}
}

static bool c_wait_caught_up(consumer *c, uint64_t n, int ms)
{
	int64_t end = fx_now_ms() + ms;
	for (;;) {
		pthread_mutex_lock(&c->mu);
		bool ok = c->caught_up >= n;
		pthread_mutex_unlock(&c->mu);
		if (ok)
			return true;
		if (fx_now_ms() >= end)
			return false;
		fx_sleep_ms(2);
	}
}

/* -------------------------------------------------------------- setup */

/*
 * The per-case fixture: a fresh bucket named after the case
 * (SLIP_TEST_F(.., bucket_setup, bucket_teardown)), and with
 * snapshot_setup also a temporary directory and a snapshot path in it.
 */
static struct {
	fx f;
	bool open;
	char dir[256];
	char path[300];
} S;

static void bucket_setup(void)
{
	const char *name = slip_test_name();

	if (strncmp(name, "t_", 2) == 0)
		name += 2;
	S.open = fx_open_fresh(&S.f, g_url, "applied", name);
	REQUIRE(S.open);
}

static void bucket_teardown(void)
{
	if (S.open)
		fx_close(&S.f);
	S.open = false;
}

static void dir_setup(void)
{
	S.dir[0] = '\0';
	REQUIRE(slip_test_tmpdir(S.dir, sizeof(S.dir), "applied") == 0);
	snprintf(S.path, sizeof(S.path), "%s/state.snap", S.dir);
}

static void dir_teardown(void)
{
	if (S.dir[0] != '\0')
		slip_test_rmdir(S.dir);
	S.dir[0] = '\0';
}

static void snapshot_setup(void)
{
	dir_setup();
	if (slip_test_case_failures() == 0)
		bucket_setup();
}

static void snapshot_teardown(void)
{
	bucket_teardown();
	dir_teardown();
}

static int put(fx *f, const char *key, const char *value, uint64_t *rev)
{
	slip_version v;
	int rc = slip_writer_put(f->w, key, value, strlen(value), &v);
	if (rc == SLIP_OK && rev != NULL)
		slip_version_to_u64(&v, rev);
	return rc;
}

/* Puts @p value under "<prefix>0" … "<prefix><n-1>"; *rev: the last. */
static void put_numbered(fx *f, const char *prefix, int n, const char *value,
                         uint64_t *rev)
{
	char key[32];

	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%d", prefix, i);
		CHECK_OK(put(f, key, value, rev));
	}
}

/*
 * Checks that snapshot @p path loads to exactly the server's state under
 * @p prefix. Its cursor and key count go to @p cursor / @p count when they
 * are not NULL.
 */
static void check_snapshot_is_server(const char *path, fx *f,
                                     const char *prefix, slip_cursor *cursor,
                                     size_t *count)
{
	fx_map snapmap = {0};
	slip_cursor sc = slip_cursor_none();

	CHECK_OK(fx_map_from_snapshot(&snapmap, path, &sc));
	CHECK(fx_map_diff_server(&snapmap, f, prefix) == 0);
	if (cursor != NULL)
		*cursor = sc;
	if (count != NULL)
		*count = snapmap.count;
	fx_map_clear(&snapmap);
}

/* -------------------------------------------------------------- cases */

/* apply → checkpoint → on_applied, observed from the snapshot file; the
 * cursor never moves backwards; final state equals the server's. */
static void t_order(void)
{
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	char key[32], val[32];
	uint64_t rev = 0;

	REQUIRE_OK(c_init(&c, f, path));
	c.check_order = true;
	c.o.batch_max = 7;
	REQUIRE_OK(c_start(&c));
	for (int i = 0; i < 150; i++) {
		snprintf(key, sizeof(key), "k.%d", i % 40);
		snprintf(val, sizeof(val), "v%d", i);
		if (i % 17 == 16)
			CHECK_OK(slip_writer_delete(f->w, key));
		else
			CHECK_OK(put(f, key, val, &rev));
	}
	rev = fx_last_seq(f);
	CHECK(c_wait_seq(&c, rev, 20000));
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(c.order_errors == 0);
	CHECK(c.backwards == 0);
	CHECK(c.rev_order_errors == 0);
	CHECK(c.batches > 1);
	CHECK(cursor_eq(&c.final, &c.last_applied));
	CHECK(fx_cursor_seq(&c.final) == rev);
	CHECK(fx_map_diff_server(&c.state, f, "") == 0);
	slip_cursor sc;
	check_snapshot_is_server(path, f, "", &sc, NULL);
	CHECK(cursor_eq(&sc, &c.final));
	c_free(&c);
}

/* Updates parse drops still advance the cursor; apply may see count 0. */
static void t_parse_drop(void)
{
	fx *f = &S.f;
	consumer c;
	uint64_t rev = 0;

	REQUIRE_OK(c_init(&c, f, NULL));
	c.drop_prefix = "drop.";
	REQUIRE_OK(c_start(&c));
	CHECK_OK(put(f, "keep.a", "1", &rev));
	CHECK(c_wait_seq(&c, rev, 10000));
	put_numbered(f, "drop.", 30, "x", &rev);
	CHECK(c_wait_seq(&c, rev, 10000));
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(fx_cursor_seq(&c.final) == rev);
	CHECK(c.zero_batches >= 1);
	CHECK(c.state.count == 1);
	CHECK(fx_map_get(&c.state, "keep.a") != NULL);
	c_free(&c);
}

/* A restart from the snapshot receives exactly the updates made since. */
static void t_restart_delta(void)
{
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	char key[32];
	uint64_t rev = 0;

	REQUIRE_OK(c_init(&c, f, path));
	REQUIRE_OK(c_start(&c));
	put_numbered(f, "k.", 50, "a", &rev);
	CHECK(c_wait_seq(&c, rev, 10000));
	c_stop(&c);
	CHECK_OK(c.rc);
	c_free(&c);

	/* The delta: 10 overwrites, 5 new keys, 2 deletes = 17 updates. */
	for (int i = 0; i < 15; i++) {
		snprintf(key, sizeof(key), "k.%d", i * 4);
		CHECK_OK(put(f, key, "b", &rev));
	}
	CHECK_OK(slip_writer_delete(f->w, "k.1"));
	CHECK_OK(slip_writer_delete(f->w, "k.3"));
	rev = fx_last_seq(f);

	REQUIRE_OK(c_init(&c, f, path));
	uint64_t start = fx_cursor_seq(&c.last_applied);
	CHECK(start == rev - 17);
	REQUIRE_OK(c_start(&c));
	CHECK(c_wait_seq(&c, rev, 10000));
	CHECK(c_wait_caught_up(&c, 1, 10000));
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(c.updates == 17);
	CHECK(c.synthetic == 0);
	CHECK(fx_map_diff_server(&c.state, f, "") == 0);
	c_free(&c);
}

/*
 * The cursor expires while a key was deleted (and its tombstone discarded)
 * during the gap: the resync applies a synthetic Delete for it before any
 * cursor is reported, and ends equal to the server.
 */
static void t_expired_deleted_key(void)
{
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	uint64_t rev = 0, tomb = 0;

	REQUIRE_OK(c_init(&c, f, path));
	REQUIRE_OK(c_start(&c));
	put_numbered(f, "a.", 5, "old", &rev);
	CHECK_OK(put(f, "gone", "soon", &rev));
	CHECK(c_wait_seq(&c, rev, 10000));
	c_stop(&c);
	c_free(&c);

	/* The gap: delete "gone", rewrite the rest, then lose the tombstone
	 * and everything before it. */
	CHECK_OK(slip_writer_delete(f->w, "gone"));
	tomb = fx_last_seq(f);
	put_numbered(f, "a.", 5, "new", &rev);
	CHECK_OK(put(f, "fresh", "1", &rev));
	REQUIRE_OK(fx_expire(f, tomb + 1));

	REQUIRE_OK(c_init(&c, f, path));
	CHECK(fx_map_get(&c.state, "gone") != NULL);
	c.expect_synthetic = true;
	c.check_order = true;
	REQUIRE_OK(c_start(&c));
	CHECK(c_wait_caught_up(&c, 1, 10000));
	CHECK(c_wait_seq(&c, rev, 10000));
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(c.synthetic == 1);
	CHECK(c.applied_before_synthetic == 0);
	CHECK(c.order_errors == 0);
	CHECK(fx_map_get(&c.state, "gone") == NULL);
	CHECK(fx_map_diff_server(&c.state, f, "") == 0);
	check_snapshot_is_server(path, f, "", NULL, NULL);
	c_free(&c);
}

/* Without a snapshot, on_resync tells the caller to reconcile. */
static void t_expired_no_snapshot(void)
{
	fx *f = &S.f;
	consumer c;
	slip_cursor resume;
	uint64_t rev = 0;

	REQUIRE_OK(c_init(&c, f, NULL));
	REQUIRE_OK(c_start(&c));
	CHECK_OK(put(f, "x", "1", &rev));
	CHECK_OK(put(f, "y", "1", &rev));
	CHECK(c_wait_seq(&c, rev, 10000));
	c_stop(&c);
	resume = c.final;
	fx_map keep = c.state; /* the caller's state survives the restart */
	memset(&c.state, 0, sizeof(c.state));
	c_free(&c);

	CHECK_OK(slip_writer_delete(f->w, "y"));
	CHECK_OK(put(f, "x", "2", &rev));
	CHECK_OK(put(f, "z", "1", &rev));
	REQUIRE_OK(fx_expire(f, rev - 1));

	REQUIRE_OK(c_init(&c, f, NULL));
	c.state = keep;
	c.o.resume = &resume;
	REQUIRE_OK(c_start(&c));
	CHECK(c_wait_caught_up(&c, 1, 10000));
	CHECK(c_wait_seq(&c, rev, 10000));
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(c.resyncs == 1);
	CHECK(fx_map_diff_server(&c.state, f, "") == 0);
	c_free(&c);
}

/* A bucket deleted and recreated: local state ends equal to the new one. */
static void t_recreated_bucket(void)
{
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	uint64_t rev = 0;

	REQUIRE_OK(c_init(&c, f, path));
	REQUIRE_OK(c_start(&c));
	put_numbered(f, "old.", 8, "o", &rev);
	CHECK(c_wait_seq(&c, rev, 10000));
	c_stop(&c);
	c_free(&c);

	REQUIRE_OK(fx_recreate(f));
	CHECK_OK(put(f, "old.1", "again", &rev));
	CHECK_OK(put(f, "new.1", "n", &rev));
	CHECK_OK(put(f, "new.2", "n", &rev));

	REQUIRE_OK(c_init(&c, f, path));
	c.expect_synthetic = true;
	REQUIRE_OK(c_start(&c));
	CHECK(c_wait_caught_up(&c, 1, 10000));
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(c.synthetic == 7);
	CHECK(c.applied_before_synthetic == 0);
	CHECK(fx_map_diff_server(&c.state, f, "") == 0);
	size_t snap_keys = 0;
	check_snapshot_is_server(path, f, "", NULL, &snap_keys);
	CHECK(snap_keys == 3);
	c_free(&c);
}

/* A prefix watch resyncs only its own keys: keys outside the prefix are
 * never delivered, never deleted. */
static void t_prefix_resync(void)
{
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	uint64_t rev = 0, tomb = 0;

	REQUIRE_OK(c_init(&c, f, path));
	c.o.prefix = "app.";
	REQUIRE_OK(c_start(&c));
	CHECK_OK(put(f, "app.a", "1", &rev));
	CHECK_OK(put(f, "app.b", "1", &rev));
	CHECK_OK(put(f, "other.x", "1", &rev));
	CHECK_OK(put(f, "app.c", "1", &rev));
	CHECK(c_wait_seq(&c, rev, 10000));
	c_stop(&c);
	CHECK(c.state.count == 3);
	CHECK(fx_map_get(&c.state, "other.x") == NULL);
	c_free(&c);

	CHECK_OK(slip_writer_delete(f->w, "app.b"));
	tomb = fx_last_seq(f);
	CHECK_OK(put(f, "app.a", "2", &rev));
	CHECK_OK(put(f, "app.c", "2", &rev));
	CHECK_OK(put(f, "other.x", "2", &rev));
	REQUIRE_OK(fx_expire(f, tomb + 1));

	REQUIRE_OK(c_init(&c, f, path));
	c.o.prefix = "app.";
	c.expect_synthetic = true;
	REQUIRE_OK(c_start(&c));
	CHECK(c_wait_caught_up(&c, 1, 10000));
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(c.synthetic == 1);
	CHECK(c.applied_before_synthetic == 0);
	CHECK(fx_map_get(&c.state, "app.b") == NULL);
	CHECK(fx_map_get(&c.state, "other.x") == NULL);
	CHECK(fx_map_diff_server(&c.state, f, "app.") == 0);
	check_snapshot_is_server(path, f, "app.", NULL, NULL);
	c_free(&c);
}

/* Several prefixes: one loop over the union; a resync deletes the key gone
 * from inside the union and never touches keys outside it. */
static void t_prefixes_resync(void)
{
	static const char *const pre[] = {"cfg.", "app.", "app.x."};
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	uint64_t rev = 0, tomb = 0;

	REQUIRE_OK(c_init(&c, f, path));
	c.o.prefixes = pre;
	c.o.prefix_count = 3;
	REQUIRE_OK(c_start(&c));
	CHECK_OK(put(f, "app.a", "1", &rev));
	CHECK_OK(put(f, "cfg.b", "1", &rev));
	CHECK_OK(put(f, "other.x", "1", &rev));
	CHECK_OK(put(f, "app.x.c", "1", &rev));
	CHECK(c_wait_seq(&c, rev, 10000));
	c_stop(&c);
	CHECK(c.state.count == 3);
	CHECK(fx_map_get(&c.state, "other.x") == NULL);
	c_free(&c);

	CHECK_OK(slip_writer_delete(f->w, "cfg.b"));
	tomb = fx_last_seq(f);
	CHECK_OK(put(f, "app.a", "2", &rev));
	CHECK_OK(put(f, "app.x.c", "2", &rev));
	CHECK_OK(put(f, "other.x", "2", &rev));
	REQUIRE_OK(fx_expire(f, tomb + 1));

	REQUIRE_OK(c_init(&c, f, path));
	c.o.prefixes = pre;
	c.o.prefix_count = 3;
	c.expect_synthetic = true;
	REQUIRE_OK(c_start(&c));
	CHECK(c_wait_caught_up(&c, 1, 10000));
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(c.synthetic == 1);
	CHECK(c.applied_before_synthetic == 0);
	CHECK(fx_map_get(&c.state, "cfg.b") == NULL);
	CHECK(fx_map_get(&c.state, "other.x") == NULL);
	CHECK(fx_map_get(&c.state, "app.a") != NULL &&
	      strcmp(fx_map_get(&c.state, "app.a")->value, "2") == 0);
	CHECK(fx_map_get(&c.state, "app.x.c") != NULL &&
	      strcmp(fx_map_get(&c.state, "app.x.c")->value, "2") == 0);
	CHECK(c.state.count == 2);
	CHECK(fx_map_diff_server(&c.state, f, "app.") == 0);
	c_free(&c);

	/* Both one prefix and a list is bad input. */
	REQUIRE_OK(c_init(&c, f, NULL));
	c.o.prefix = "app.";
	c.o.prefixes = pre;
	c.o.prefix_count = 3;
	CHECK_RC(slip_watch_applied(&c.o, NULL), SLIP_EINVAL);
	c_free(&c);
}

/* Compaction while updates stream in loses nothing: the compacted file
 * loads to exactly the server's state. */
static void t_compaction(void)
{
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	char key[32], val[64];
	uint64_t rev = 0;

	REQUIRE_OK(c_init(&c, f, NULL));
	snprintf(c.snap_path, sizeof(c.snap_path), "%s", path);
	REQUIRE_OK(slip_snapshot_writer_open(&c.snap, path, 2048));
	c.o.snapshot = c.snap;
	c.o.batch_max = 10;
	REQUIRE_OK(c_start(&c));
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "c.%d", i % 25);
		snprintf(val, sizeof(val), "value-%d-padding-padding", i);
		CHECK_OK(put(f, key, val, &rev));
	}
	CHECK(c_wait_seq(&c, rev, 20000));
	c_stop(&c);
	CHECK_OK(c.rc);
	/* 400 puts of ~50 bytes were appended; compaction kept it small. */
	FILE *fp = fopen(path, "rb");
	long size = -1;
	if (fp != NULL && fseek(fp, 0, SEEK_END) == 0)
		size = ftell(fp);
	if (fp != NULL)
		fclose(fp);
	CHECK(size > 0 && size < 8192);
	slip_cursor sc;
	check_snapshot_is_server(path, f, "", &sc, NULL);
	CHECK(fx_cursor_seq(&sc) == rev);
	CHECK(fx_map_diff_server(&c.state, f, "") == 0);
	c_free(&c);
}

/* apply failing stops the loop with its error, cursor not advanced. */
static void t_apply_failure(void)
{
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	uint64_t rev = 0, good = 0;

	REQUIRE_OK(c_init(&c, f, path));
	REQUIRE_OK(c_start(&c));
	CHECK_OK(put(f, "a", "1", &good));
	CHECK(c_wait_seq(&c, good, 10000));
	pthread_mutex_lock(&c.mu);
	c.fail_apply = -1000;
	pthread_mutex_unlock(&c.mu);
	CHECK_OK(put(f, "b", "1", &rev));
	REQUIRE(c_join_within(&c, 10000));
	CHECK(c.rc == -1000);
	CHECK(fx_cursor_seq(&c.final) == good);
	CHECK(fx_cursor_seq(&c.last_applied) == good);
	slip_cursor fc = file_cursor(&c);
	CHECK(fx_cursor_seq(&fc) == good);
	c_free(&c);
}

/* fdatasync fails once armed: the checkpoint fails, on_applied is not
 * called for that cursor and the loop stops with the error. */
static bool g_fail_sync;
static int failing_fdatasync(int fd)
{
	if (__atomic_load_n(&g_fail_sync, __ATOMIC_SEQ_CST)) {
		errno = EIO;
		return -1;
	}
	return slip__fileio_system()->fdatasync(fd);
}

static void t_checkpoint_failure(void)
{
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	uint64_t rev = 0, good = 0;
	slip__fileio io = *slip__fileio_system();

	io.fdatasync = failing_fdatasync;
	io.fsync = failing_fdatasync;
	slip__fileio_set(&io);
	REQUIRE_OK(c_init(&c, f, path));
	REQUIRE_OK(c_start(&c));
	CHECK_OK(put(f, "a", "1", &good));
	CHECK(c_wait_seq(&c, good, 10000));
	__atomic_store_n(&g_fail_sync, true, __ATOMIC_SEQ_CST);
	CHECK_OK(put(f, "b", "1", &rev));
	REQUIRE(c_join_within(&c, 10000));
	__atomic_store_n(&g_fail_sync, false, __ATOMIC_SEQ_CST);
	CHECK(c.rc == SLIP_EIO);
	CHECK(fx_cursor_seq(&c.final) == good);
	CHECK(fx_cursor_seq(&c.last_applied) == good);
	CHECK(c.on_applied_calls >= 1);
	slip__fileio_set(NULL);
	slip_cursor fc = file_cursor(&c);
	CHECK(fx_cursor_seq(&fc) == good);
	c_free(&c);
}

/* Counts checkpoints (fdatasync calls) of the group-commit case. */
static int g_syncs;
static int counting_fdatasync(int fd)
{
	__atomic_add_fetch(&g_syncs, 1, __ATOMIC_SEQ_CST);
	return slip__fileio_system()->fdatasync(fd);
}

/*
 * Group commit: batches queued behind a checkpoint share the next one, so
 * there are far fewer syncs than batches; the order checks still hold
 * (the file never runs ahead of on_applied, nor on_applied of the file).
 */
static void t_group_commit(void)
{
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	uint64_t rev = 0;
	slip__fileio io = *slip__fileio_system();

	io.fdatasync = counting_fdatasync;
	put_numbered(f, "g.", 1000, "v", &rev);
	slip__fileio_set(&io);
	REQUIRE_OK(c_init(&c, f, path));
	c.check_order = true;
	c.first_apply_ms = 300; /* everything queues behind batch one */
	c.o.batch_max = 10;
	REQUIRE_OK(c_start(&c));
	CHECK(c_wait_seq(&c, rev, 30000));
	c_stop(&c);
	slip__fileio_set(NULL);
	int syncs = __atomic_load_n(&g_syncs, __ATOMIC_SEQ_CST);
	fprintf(stderr, "  %llu batches, %d syncs\n",
	        (unsigned long long)c.batches, syncs);
	CHECK_OK(c.rc);
	CHECK(c.batches >= 100);
	CHECK(syncs * 4 < (int)c.batches);
	CHECK(c.order_errors == 0);
	CHECK(c.backwards == 0);
	CHECK(fx_cursor_seq(&c.final) == rev);
	CHECK(fx_map_diff_server(&c.state, f, "") == 0);
	slip_cursor sc;
	check_snapshot_is_server(path, f, "", &sc, NULL);
	CHECK(cursor_eq(&sc, &c.final));
	c_free(&c);
}

/* Shutdown returns within about a batch window, with the final cursor. */
static void t_shutdown_prompt(void)
{
	fx *f = &S.f;
	consumer c;
	uint64_t rev = 0;

	REQUIRE_OK(c_init(&c, f, NULL));
	c.o.batch_window_ms = 20;
	REQUIRE_OK(c_start(&c));
	CHECK_OK(put(f, "a", "1", &rev));
	CHECK(c_wait_seq(&c, rev, 10000));
	int64_t t0 = fx_now_ms();
	slip_shutdown_trigger(c.sd);
	/* Generous bound: a functional check (no hang), not a speed test. */
	CHECK(c_join_within(&c, 2000));
	int64_t took = fx_now_ms() - t0;
	fprintf(stderr, "  shutdown took %lld ms\n", (long long)took);
	CHECK_OK(c.rc);
	CHECK(fx_cursor_seq(&c.final) == rev);
	c_free(&c);
}

/*
 * Shutdown ends a long batch window at once (issue 16 §4): with a window
 * of an hour and a batch open, watch_applied applies the open batch,
 * checkpoints its cursor and returns — it never waits the window out.
 */
static void t_shutdown_open_batch(void)
{
	fx *f = &S.f;
	consumer c;
	uint64_t rev = 0;

	REQUIRE_OK(c_init(&c, f, NULL));
	c.o.batch_window_ms = 3600 * 1000;
	REQUIRE_OK(c_start(&c));
	/* Live, so no caught-up marker flushes the batch the put opens. */
	CHECK(c_wait_caught_up(&c, 1, 10000));
	CHECK_OK(put(f, "a", "1", &rev));
	/* Let the loop take the update: the batch is then open. */
	fx_sleep_ms(300);
	CHECK(fx_cursor_seq(&c.last_applied) < rev); /* the batch is open */
	int64_t t0 = fx_now_ms();
	slip_shutdown_trigger(c.sd);
	/* Generous bound: a functional check (no hang), not a speed test. */
	CHECK(c_join_within(&c, 5000));
	fprintf(stderr, "  shutdown took %lld ms\n",
	        (long long)(fx_now_ms() - t0));
	CHECK_OK(c.rc);
	/* The rule: the open batch is applied, then its cursor committed. */
	CHECK(fx_cursor_seq(&c.final) == rev);
	CHECK(fx_cursor_seq(&c.last_applied) == rev);
	c_free(&c);
}

/* Bad options are refused before anything starts. */
static void t_bad_options(void)
{
	fx *f = &S.f;
	slip_applied_options o = SLIP_APPLIED_OPTIONS_INIT;
	slip_cursor cur;
	CHECK_RC(slip_watch_applied(NULL, &cur), SLIP_EINVAL);
	CHECK_RC(slip_watch_applied(&o, &cur), SLIP_EINVAL);
	CHECK(slip_cursor_is_none(&cur));
	o.version = 99;
	CHECK_RC(slip_watch_applied(&o, NULL), SLIP_EINVAL);
	/* A complete set but an absurd batch size or window. */
	o.version = SLIP_APPLIED_OPTIONS_VERSION;
	o.watcher = f->watcher;
	o.apply = c_apply;
	o.batch_max = (size_t)1 << 40;
	CHECK_RC(slip_watch_applied(&o, NULL), SLIP_EINVAL);
	o.batch_max = 0;
	o.batch_window_ms = -1;
	CHECK_RC(slip_watch_applied(&o, NULL), SLIP_EINVAL);
}

/* The resync key tracker: seeded from the snapshot within the prefix; a
 * broken-off replay attempt makes its keys stale again. */
static slip_entry *mk(const char *key, slip_op op)
{
	slip_version v = slip_version_from_u64(1);
	slip_entry *e = NULL;
	slip_entry_new(&e, key, op == SLIP_OP_PUT ? "v" : NULL,
	               op == SLIP_OP_PUT ? 1 : 0, &v, op);
	return e;
}

static void t_resync_tracker(void)
{
	const char *path = S.path;
	slip_snapshot_writer *w = NULL;
	slip__resync *r = NULL;
	slip_entry_list stale = {0, NULL};
	const char *seed[] = {"app.a", "app.b", "app.c", "other.z"};
	slip_entry *e;

	REQUIRE_OK(slip_snapshot_writer_open(&w, path, 0));
	for (size_t i = 0; i < 4; i++) {
		e = mk(seed[i], SLIP_OP_PUT);
		CHECK_OK(slip_snapshot_writer_write(w, e));
		slip_entry_free(e);
	}
	slip_cursor cur = slip_cursor_none();
	cur.len = 8;
	CHECK_OK(slip_snapshot_writer_checkpoint(w, &cur, NULL));
	slip_prefix_set app, all;
	REQUIRE_OK(slip__prefix_set_init(&app, "app.", NULL, 0, "test"));
	REQUIRE_OK(slip__prefix_set_init(&all, NULL, NULL, 0, "test"));
	REQUIRE_OK(slip__resync_new(&r, w, &app));
	CHECK(slip__resync_count(r) == 3);
	/* Attempt 1 delivers app.a and a new key, then breaks off. */
	e = mk("app.a", SLIP_OP_PUT);
	CHECK_OK(slip__resync_note(r, e));
	slip_entry_free(e);
	e = mk("app.n", SLIP_OP_PUT);
	CHECK_OK(slip__resync_note(r, e));
	slip_entry_free(e);
	slip__resync_restart(r);
	/* Attempt 2 delivers app.b, and app.c as a tombstone. */
	e = mk("app.b", SLIP_OP_PUT);
	CHECK_OK(slip__resync_note(r, e));
	slip_entry_free(e);
	e = mk("app.c", SLIP_OP_DELETE);
	CHECK_OK(slip__resync_note(r, e));
	slip_entry_free(e);
	REQUIRE_OK(slip__resync_stale(r, &stale));
	REQUIRE(stale.count == 2);
	CHECK(strcmp(stale.entries[0]->key, "app.a") == 0);
	CHECK(strcmp(stale.entries[1]->key, "app.n") == 0);
	for (size_t i = 0; i < stale.count; i++) {
		CHECK(stale.entries[i]->op == SLIP_OP_DELETE);
		CHECK(stale.entries[i]->flags & SLIP_ENTRY_SYNTHETIC);
		CHECK(slip_cursor_is_none(&stale.entries[i]->cursor));
	}
	slip_entry_list_free(&stale);
	slip__resync_free(r);
	slip__resync_free(NULL);
	/* Many keys: the table grows and nothing is lost. */
	REQUIRE_OK(slip__resync_new(&r, NULL, &all));
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k.%d", i);
		e = mk(key, i % 3 ? SLIP_OP_PUT : SLIP_OP_PURGE);
		CHECK_OK(slip__resync_note(r, e));
		slip_entry_free(e);
	}
	CHECK(slip__resync_count(r) == 5000);
	slip__resync_restart(r);
	REQUIRE_OK(slip__resync_stale(r, &stale));
	CHECK(stale.count == 5000 - 1667);
	slip_entry_list_free(&stale);
	slip__resync_free(r);
	slip__prefix_set_free(&app);
	slip__prefix_set_free(&all);
	slip_snapshot_writer_free(w);
}

/* The shutdown handle on its own. */
static void t_shutdown_handle(void)
{
	slip_shutdown *s = NULL;
	REQUIRE_OK(slip_shutdown_new(&s));
	CHECK(!slip_shutdown_triggered(s));
	CHECK(!slip_shutdown_wait(s, 10));
	slip_shutdown_trigger(s);
	slip_shutdown_trigger(s);
	CHECK(slip_shutdown_triggered(s));
	CHECK(slip_shutdown_wait(s, -1));
	CHECK(slip_shutdown_wait(s, 0));
	slip_shutdown_free(s);
	slip_shutdown_free(NULL);
}

/*
 * NATS only: the server restarts (graceful, then SIGKILL) while writes
 * continue; the loop resubscribes from its applied cursor: revisions arrive
 * strictly increasing (nothing twice) and the end state equals the server.
 */
static void t_resubscribe_restart(void)
{
	fx *f = &S.f;
	consumer c;
	char key[32], val[32];
	uint64_t rev = 0;

	REQUIRE(g_natsd != NULL); /* registered for NATS only */
	REQUIRE_OK(c_init(&c, f, NULL));
	REQUIRE_OK(c_start(&c));
	/* Subscribed before the first write: every revision must arrive. */
	CHECK(c_wait_caught_up(&c, 1, 10000));
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 40; i++) {
			snprintf(key, sizeof(key), "r%d.%d", round, i % 10);
			snprintf(val, sizeof(val), "%d", i);
			/* Writes during the outage fail; retry until back. */
			int64_t end = fx_now_ms() + 20000;
			while (put(f, key, val, &rev) != SLIP_OK &&
			       fx_now_ms() < end)
				fx_sleep_ms(50);
		}
		if (round == 0)
			CHECK(slip_natsd_stop(g_natsd) == 0);
		else if (round == 1)
			CHECK(slip_natsd_kill(g_natsd) == 0);
		if (round < 2) {
			pid_t before = slip_natsd_pid(g_natsd);
			fx_sleep_ms(200);
			CHECK(slip_natsd_restart(g_natsd) == 0);
			CHECK(slip_natsd_pid(g_natsd) != before);
		}
	}
	rev = fx_last_seq(f);
	CHECK(rev > 0);
	CHECK(c_wait_seq(&c, rev, 30000));
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(c.rev_order_errors == 0);
	CHECK(c.backwards == 0);
	CHECK(c.resyncs == 0);
	fprintf(stderr, "  %llu updates applied up to revision %llu\n",
	        (unsigned long long)c.updates, (unsigned long long)rev);
	CHECK(c.updates == rev);
	CHECK(fx_map_diff_server(&c.state, f, "") == 0);
	c_free(&c);
}

/* Waits until apply has seen @p n synthetic Deletes. */
static bool c_wait_synthetic(consumer *c, uint64_t n, int ms)
{
	int64_t end = fx_now_ms() + ms;
	for (;;) {
		pthread_mutex_lock(&c->mu);
		bool ok = c->synthetic >= n;
		pthread_mutex_unlock(&c->mu);
		if (ok)
			return true;
		if (fx_now_ms() >= end)
			return false;
		fx_sleep_ms(5);
	}
}

/*
 * Silent removals while live: the server drops keys without a message
 * (retention below the first sequence); the running loop drops them too,
 * through synthetic Deletes, without a restart, and the snapshot follows.
 */
static void t_silent_removal_live(void)
{
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	uint64_t rev = 0;

	REQUIRE_OK(c_init(&c, f, path));
	c.o.expiry_check_ms = 100;
	c.check_order = true;
	REQUIRE_OK(c_start(&c));
	put_numbered(f, "old.", 5, "v", &rev);
	CHECK_OK(put(f, "keep", "k", &rev));
	CHECK(c_wait_seq(&c, rev, 10000));
	REQUIRE_OK(fx_expire(f, rev)); /* old.* gone, no message */
	CHECK(c_wait_synthetic(&c, 5, 10000));
	CHECK_OK(put(f, "after", "a", &rev));
	CHECK(c_wait_seq(&c, rev, 10000));
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(c.synthetic == 5);
	CHECK(c.order_errors == 0);
	CHECK(fx_map_get(&c.state, "old.0") == NULL);
	CHECK(fx_map_get(&c.state, "keep") != NULL);
	CHECK(fx_map_diff_server(&c.state, f, "") == 0);
	check_snapshot_is_server(path, f, "", NULL, NULL);
	c_free(&c);
}

/*
 * Silent removals while down: the cursor is still valid (no resync), yet
 * keys below the new first sequence are gone; they are dropped before the
 * resumed loop reports caught-up.
 */
static void t_silent_removal_down(void)
{
	fx *f = &S.f;
	const char *path = S.path;
	consumer c;
	uint64_t rev = 0;

	REQUIRE_OK(c_init(&c, f, path));
	c.o.expiry_check_ms = -1; /* off while the keys are written */
	REQUIRE_OK(c_start(&c));
	put_numbered(f, "old.", 4, "v", &rev);
	CHECK_OK(put(f, "keep", "k", &rev));
	CHECK(c_wait_seq(&c, rev, 10000));
	c_stop(&c);
	c_free(&c);
	REQUIRE_OK(fx_expire(f, rev));

	REQUIRE_OK(c_init(&c, f, path));
	CHECK(fx_map_get(&c.state, "old.0") != NULL);
	c.o.expiry_check_ms = 60000; /* only the resume check can see it */
	REQUIRE_OK(c_start(&c));
	CHECK(c_wait_caught_up(&c, 1, 10000));
	pthread_mutex_lock(&c.mu);
	CHECK(c.synthetic == 4); /* before caught-up was reported */
	pthread_mutex_unlock(&c.mu);
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(c.resyncs == 0);
	CHECK(fx_map_diff_server(&c.state, f, "") == 0);
	check_snapshot_is_server(path, f, "", NULL, NULL);
	c_free(&c);
}

/* Rewrites "hot.0".."hot.9" until told to stop. */
typedef struct hot_writer {
	fx *f;
	atomic_bool stop;
	int rc;
	uint64_t last;
} hot_writer;

static void *hot_main(void *arg)
{
	hot_writer *h = arg;
	char key[16];
	for (int i = 0; !atomic_load(&h->stop) && h->rc == SLIP_OK; i++) {
		snprintf(key, sizeof(key), "hot.%d", i % 10);
		h->rc = put(h->f, key, "h", &h->last);
	}
	return NULL;
}

/*
 * Nothing is dropped that still exists: while a writer rewrites ten keys
 * (with history 1 every rewrite removes the key's older message, so the
 * first sequence keeps passing revisions the loop holds), a check every
 * 20 ms must drop only the keys that are really gone.
 */
static void t_silent_removal_race(void)
{
	fx *f = &S.f;
	consumer c;
	hot_writer h = {0};
	pthread_t tid;
	uint64_t rev = 0;

	REQUIRE_OK(c_init(&c, f, NULL));
	c.o.expiry_check_ms = 20;
	REQUIRE_OK(c_start(&c));
	put_numbered(f, "cold.", 3, "c", &rev);
	h.f = f;
	REQUIRE(pthread_create(&tid, NULL, hot_main, &h) == 0);
	fx_sleep_ms(300);
	REQUIRE_OK(fx_expire(f, rev + 1)); /* cold.* go silently */
	fx_sleep_ms(500);
	atomic_store(&h.stop, true);
	pthread_join(tid, NULL);
	CHECK_OK(h.rc);
	CHECK(c_wait_seq(&c, h.last, 10000));
	CHECK(c_wait_synthetic(&c, 3, 10000));
	fx_sleep_ms(200); /* a few more checks: none may drop a hot key */
	c_stop(&c);
	CHECK_OK(c.rc);
	CHECK(c.synthetic == 3);
	CHECK(fx_map_get(&c.state, "hot.0") != NULL);
	CHECK(fx_map_diff_server(&c.state, f, "") == 0);
	c_free(&c);
}

static const slip_test_case cases[] = {
        SLIP_TEST_F(t_bad_options, bucket_setup, bucket_teardown),
        SLIP_TEST(t_shutdown_handle),
        SLIP_TEST_F(t_resync_tracker, dir_setup, dir_teardown),
        SLIP_TEST_F(t_order, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_parse_drop, bucket_setup, bucket_teardown),
        SLIP_TEST_F(t_restart_delta, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_expired_deleted_key, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_expired_no_snapshot, bucket_setup, bucket_teardown),
        SLIP_TEST_F(t_recreated_bucket, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_prefix_resync, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_prefixes_resync, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_compaction, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_apply_failure, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_checkpoint_failure, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_group_commit, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_shutdown_prompt, bucket_setup, bucket_teardown),
        SLIP_TEST_F(t_shutdown_open_batch, bucket_setup, bucket_teardown),
        /* Last, so the memory run can leave it out: no server to restart. */
        SLIP_TEST_F(t_resubscribe_restart, bucket_setup, bucket_teardown),
        SLIP_TEST_F(t_silent_removal_live, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_silent_removal_down, snapshot_setup, snapshot_teardown),
        SLIP_TEST_F(t_silent_removal_race, bucket_setup, bucket_teardown),
        {0},
};

/* Cases that need a real server to restart, pause or freeze. */
static void (*const nats_only[])(void) = {t_resubscribe_restart, NULL};

int main(int argc, char **argv)
{
	return fx_main(&g_url, &g_natsd, argc, argv, cases,
	               "mem://applied-test", nats_only);
}
