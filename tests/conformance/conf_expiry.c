/*
 * tests/conformance/conf_expiry.c — conformance cases for expiring keys:
 * per-key TTL (put / create / purge with a TTL) and the limit markers a
 * store with a marker TTL writes when a key ages out. The same semantics on
 * every backend: the memory backend's clock is moved by the fixture, NATS
 * runs in real time on a nats-server >= 2.11; an older server must refuse
 * such a store with a clear SLIP_EUNSUPPORTED before creating anything.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"

#define MARKER_TTL_MS 1000
#define TTL_MS        1000
#define STEP_MS       250
#define MAX_STEPS     80 /* 20 s: nats-server checks TTLs about once a second */

static void advance(slip_store *st, int64_t ms)
{
	if (conf_backend.advance_ms != NULL)
		CHECK_OK(conf_backend.advance_ms(conf_ctx, st, ms));
	else
		usleep((useconds_t)ms * 1000);
}

/*
 * Opens a store with limit markers. False (case over) when the backend
 * refuses it as unsupported: then the refusal must be clear and leave no
 * bucket behind.
 */
static bool open_ttl(conf_case *c)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	cfg.marker_ttl_ms = MARKER_TTL_MS;
	int rc = conf_open_config(c, &cfg);
	if (rc == SLIP_EUNSUPPORTED) {
		printf("# skip: %s\n", slip_last_error());
		CHECK(strstr(slip_last_error(), "2.11") != NULL);
		slip_store *st = NULL;
		CHECK_RC(slip_store_open(&st, c->conn, c->bucket),
		         SLIP_ENOTFOUND);
		slip_store_free(st);
		conf_close(c);
		return false;
	}
	CHECK_OK(rc);
	return rc == SLIP_OK;
}

/* The latest entry of @p key including tombstones (NULL: none). */
static slip_entry *latest(conf_case *c, const char *key)
{
	slip_entry *e = NULL;
	CHECK_OK(slip_reader_entry(c->r, key, &e));
	return e;
}

/* Lets time pass until @p key's latest entry is no longer a Put. */
static slip_entry *until_not_put(conf_case *c, const char *key)
{
	for (int i = 0; i < MAX_STEPS; i++) {
		slip_entry *e = latest(c, key);
		if (e == NULL || e->op != SLIP_OP_PUT)
			return e;
		slip_entry_free(e);
		advance(c->store, STEP_MS);
	}
	return latest(c, key);
}

/* Lets time pass until @p key holds nothing at all (markers gone too). */
static bool until_gone(conf_case *c, const char *key)
{
	for (int i = 0; i < MAX_STEPS; i++) {
		slip_entry *e = latest(c, key);
		if (e == NULL)
			return true;
		slip_entry_free(e);
		advance(c->store, STEP_MS);
	}
	return false;
}

void t_ttl_refused_without_markers(void)
{
	conf_case c;
	REQUIRE_OK(conf_open(&c, 1));
	CHECK_RC(slip_writer_put_ttl(c.w, "k", "v", 1, TTL_MS, NULL),
	         SLIP_EUNSUPPORTED);
	CHECK(strstr(slip_last_error(), "TTL") != NULL);
	CHECK_RC(slip_writer_create_ttl(c.w, "k", "v", 1, TTL_MS, NULL),
	         SLIP_EUNSUPPORTED);
	CHECK_RC(slip_writer_purge_ttl(c.w, "k", TTL_MS), SLIP_EUNSUPPORTED);
	slip_entry *e = latest(&c, "k");
	CHECK(e == NULL); /* nothing was written */
	slip_entry_free(e);
	/* A version-1 configuration (before marker_ttl_ms) still binds. */
	slip_store_config v1 = SLIP_STORE_CONFIG_INIT;
	slip_store *st = NULL;
	v1.version = 1;
	v1.name = c.bucket;
	v1.max_history = 1;
	v1.marker_ttl_ms = 5000; /* not part of a v1 struct: ignored */
	CHECK_OK(slip_store_open_config(&st, c.conn, &v1));
	slip_store_free(st);
	/* Below the minimum is bad input whatever the store. */
	CHECK_RC(slip_writer_put_ttl(c.w, "k", "v", 1, 999, NULL), SLIP_EINVAL);
	conf_close(&c);
}

static int count_keys(conf_case *c)
{
	slip_key_list keys = {0};
	CHECK_OK(slip_reader_keys(c->r, "", &keys));
	int n = (int)keys.count;
	slip_key_list_free(&keys);
	return n;
}

void t_ttl_key_expires_through_marker(void)
{
	conf_case c;
	conf_watch cw;
	slip_version v;
	if (!open_ttl(&c))
		return;
	REQUIRE_OK(slip_writer_put(c.w, "stay", "s", 1, NULL));
	REQUIRE_OK(slip_writer_put_ttl(c.w, "tmp", "t", 1, TTL_MS, &v));
	REQUIRE_OK(conf_watch_start(&cw, c.wt, NULL, NULL, SLIP_WATCH_MARKERS,
	                            64));
	slip_entry_free(EXPECT_ENTRY(&cw, "stay", SLIP_OP_PUT, "s"));
	slip_entry_free(EXPECT_ENTRY(&cw, "tmp", SLIP_OP_PUT, "t"));
	EXPECT_MARKER(&cw);
	slip_entry *e = until_not_put(&c, "tmp");
	REQUIRE(e != NULL);
	/* The marker: a Purge with its own, newer revision and no value. */
	CHECK(e->op == SLIP_OP_PURGE);
	CHECK(conf_rev(&e->version) > conf_rev(&v));
	CHECK(e->value_len == 0);
	uint64_t marker_rev = conf_rev(&e->version);
	slip_entry_free(e);
	e = NULL;
	CHECK_OK(slip_reader_get(c.r, "tmp", &e));
	CHECK(e == NULL);
	slip_entry_free(e);
	CHECK(count_keys(&c) == 1);
	e = EXPECT_ENTRY(&cw, "tmp", SLIP_OP_PURGE, NULL);
	CHECK(e != NULL && conf_rev(&e->version) == marker_rev);
	slip_entry_free(e);
	/* The marker expires after the marker TTL; "stay" never does. */
	CHECK(until_gone(&c, "tmp"));
	e = latest(&c, "stay");
	CHECK(e != NULL && e->op == SLIP_OP_PUT);
	slip_entry_free(e);
	conf_watch_stop(&cw);
	conf_close(&c);
}

void t_ttl_create_and_purge_marker(void)
{
	conf_case c;
	if (!open_ttl(&c))
		return;
	REQUIRE_OK(slip_writer_create_ttl(c.w, "lease", "a", 1, TTL_MS, NULL));
	CHECK_RC(slip_writer_create_ttl(c.w, "lease", "b", 1, TTL_MS, NULL),
	         SLIP_EEXISTS);
	slip_entry *e = until_not_put(&c, "lease");
	CHECK(e != NULL && e->op == SLIP_OP_PURGE);
	slip_entry_free(e);
	/* A lease that expired can be taken again (create over a marker). */
	CHECK_OK(slip_writer_create_ttl(c.w, "lease", "b", 1, TTL_MS, NULL));
	/* A purge with a marker TTL: the purge marker goes away by itself. */
	REQUIRE_OK(slip_writer_put(c.w, "p", "v", 1, NULL));
	REQUIRE_OK(slip_writer_purge_ttl(c.w, "p", TTL_MS));
	e = latest(&c, "p");
	CHECK(e != NULL && e->op == SLIP_OP_PURGE);
	slip_entry_free(e);
	CHECK(until_gone(&c, "p"));
	conf_close(&c);
}
