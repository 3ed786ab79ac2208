/*
 * tests/conformance/conformance.c — the backend conformance suite: every
 * behaviour docs/design.md requires of a backend, written once against the
 * public API and linked with one fixture file per backend (fixture_*.c).
 *
 * Divisions: values and reads, prefixes, CAS, purge and history, watch
 * (initial state, live, prefix, resume, expiry, cancel, end), bad input,
 * threads, stores and connections; several prefixes at once live in
 * conf_multi.c. Each case uses a fresh bucket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

#define PUT_S(c, key, val, ver)                                                \
	CHECK_OK(slip_writer_put((c)->w, (key), (val), strlen(val), (ver)))

/* Frees an entry returned by EXPECT_ENTRY (NULL allowed). */
static void drop(slip_entry *e)
{
	slip_entry_free(e);
}

/* Gets @p key and checks it is a put of @p val (NULL: absent). */
static void check_get(conf_case *c, const char *key, const char *val,
                      const char *file, int line)
{
	slip_entry *e = NULL;
	int rc = slip_reader_get(c->r, key, &e);

	if (rc != SLIP_OK)
		slip_test_fail(file, line, "get \"%s\": %s (%s)", key,
		               slip_err_name(rc), slip_last_error());
	else if (val == NULL && e != NULL)
		slip_test_fail(file, line,
		               "get \"%s\": expected nothing, got "
		               "\"%.*s\"",
		               key, (int)e->value_len, (const char *)e->value);
	else if (val != NULL && (e == NULL || e->op != SLIP_OP_PUT ||
	                         e->value_len != strlen(val) ||
	                         memcmp(e->value, val, e->value_len) != 0))
		slip_test_fail(file, line,
		               "get \"%s\": expected \"%s\", got %s", key, val,
		               e ? (const char *)e->value : "nothing");
	slip_entry_free(e);
}
#define CHECK_GET(c, key, val) check_get((c), (key), (val), __FILE__, __LINE__)

/* ===================================================== values and reads */

static void t_capabilities(void)
{
	conf_case c;
	slip_capabilities caps = SLIP_CAPABILITIES_INIT;

	REQUIRE_OK(conf_open(&c, 0));
	CHECK_OK(slip_conn_capabilities(c.conn, &caps));
	CHECK(caps.version == SLIP_CAPABILITIES_VERSION);
	CHECK(caps.streaming_watch);
	if (strcmp(slip_conn_backend_name(c.conn), "mem") == 0) {
		/* No server: every feature is native, no version to name. */
		CHECK(caps.cas && caps.prefix_watch && caps.global_ordering);
		CHECK(caps.multi_filter && caps.msg_ttl && caps.batch_get &&
		      caps.atomic_batch);
		CHECK(caps.server_version[0] == '\0' && caps.api_level == -1);
	} else {
		CHECK(caps.server_version[0] != '\0');
	}
	CHECK(slip_conn_is_connected(c.conn));
	CHECK(strlen(slip_conn_backend_name(c.conn)) > 0);
	CHECK(strcmp(slip_store_name(c.store), c.bucket) == 0);
	conf_close(&c);
}

static void t_values_binary_and_empty(void)
{
	static const uint8_t bin[] = {0, 1, 0xff, 0, 'x', 0x80, 0};
	slip_version v1, v2, v3;
	slip_entry *e = NULL;
	conf_case c;
	size_t big_len = 100000;
	uint8_t *big = malloc(big_len);

	REQUIRE(big != NULL);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 7 + 3);
	REQUIRE_OK(conf_open(&c, 0));
	CHECK_OK(slip_writer_put(c.w, "v.bin", bin, sizeof(bin), &v1));
	CHECK_OK(slip_writer_put(c.w, "v.empty", NULL, 0, &v2));
	CHECK_OK(slip_writer_put(c.w, "v.big", big, big_len, &v3));
	CHECK(v1.len > 0 && slip_version_cmp(&v1, &v2) < 0 &&
	      slip_version_cmp(&v2, &v3) < 0);

	CHECK_OK(slip_reader_get(c.r, "v.bin", &e));
	CHECK(e != NULL && e->value_len == sizeof(bin) &&
	      memcmp(e->value, bin, sizeof(bin)) == 0 &&
	      slip_version_eq(&e->version, &v1) && e->op == SLIP_OP_PUT &&
	      strcmp(e->key, "v.bin") == 0);
	slip_entry_free(e);
	CHECK_OK(slip_reader_get(c.r, "v.empty", &e));
	CHECK(e != NULL && e->value_len == 0 && e->op == SLIP_OP_PUT &&
	      slip_version_eq(&e->version, &v2));
	slip_entry_free(e);
	CHECK_OK(slip_reader_get(c.r, "v.big", &e));
	CHECK(e != NULL && e->value_len == big_len &&
	      memcmp(e->value, big, big_len) == 0);
	slip_entry_free(e);
	e = (slip_entry *)1;
	CHECK_OK(slip_reader_get(c.r, "v.missing", &e));
	CHECK(e == NULL);
	free(big);
	conf_close(&c);
}

static void t_get_hides_tombstones_entry_shows_them(void)
{
	slip_version v1;
	slip_entry *e = NULL;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "k", "v", &v1);
	CHECK_OK(slip_writer_delete(c.w, "k"));
	CHECK_GET(&c, "k", NULL);
	CHECK_OK(slip_reader_entry(c.r, "k", &e));
	CHECK(e != NULL && e->op == SLIP_OP_DELETE && e->value_len == 0 &&
	      slip_version_cmp(&e->version, &v1) > 0);
	slip_entry_free(e);
	e = NULL;

	/* Deleting a key that never existed succeeds and leaves a tombstone. */
	CHECK_OK(slip_writer_delete(c.w, "ghost"));
	CHECK_GET(&c, "ghost", NULL);
	CHECK_OK(slip_reader_entry(c.r, "ghost", &e));
	CHECK(e != NULL && e->op == SLIP_OP_DELETE);
	slip_entry_free(e);
	e = (slip_entry *)1;
	CHECK_OK(slip_reader_entry(c.r, "never", &e));
	CHECK(e == NULL);

	/* A live value again after the tombstone. */
	PUT_S(&c, "k", "w", NULL);
	CHECK_GET(&c, "k", "w");
	conf_close(&c);
}

/* ============================================================= prefixes */

static bool list_has(const slip_key_list *l, const char *key)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->keys[i], key) == 0)
			return true;
	return false;
}

/* Checks keys(@p prefix) is exactly the NULL-terminated @p want. */
static void check_keys(conf_case *c, const char *prefix,
                       const char *const *want, int line)
{
	slip_key_list l = {0, NULL};
	size_t n = 0;
	int rc = slip_reader_keys(c->r, prefix, &l);

	if (rc != SLIP_OK) {
		slip_test_fail(__FILE__, line, "keys \"%s\": %s", prefix,
		               slip_err_name(rc));
		return;
	}
	for (; want[n] != NULL; n++)
		if (!list_has(&l, want[n]))
			slip_test_fail(__FILE__, line,
			               "keys \"%s\": \"%s\" missing", prefix,
			               want[n]);
	if (l.count != n)
		slip_test_fail(__FILE__, line,
		               "keys \"%s\": %zu keys, expected %zu", prefix,
		               l.count, n);
	slip_key_list_free(&l);
}

static void prefix_fixture(conf_case *c)
{
	PUT_S(c, "node.us-1", "1", NULL);
	PUT_S(c, "node.us-2", "2", NULL);
	PUT_S(c, "node.eu-1", "3", NULL);
	PUT_S(c, "nodes", "4", NULL);
	PUT_S(c, "node", "5", NULL);
	PUT_S(c, "other.x", "6", NULL);
	PUT_S(c, "node.us-3", "gone", NULL);
	CHECK_OK(slip_writer_delete(c->w, "node.us-3"));
	PUT_S(c, "node.us-4", "purged", NULL);
	CHECK_OK(slip_writer_purge(c->w, "node.us-4"));
	PUT_S(c, "node.us-1", "1b", NULL);
}

static void t_keys_token_and_string_prefixes(void)
{
	static const char *const aligned[] = {"node.us-1", "node.us-2",
	                                      "node.eu-1", NULL};
	static const char *const partial[] = {"node.us-1", "node.us-2", NULL};
	static const char *const node[] = {
	        "node.us-1", "node.us-2", "node.eu-1", "nodes", "node", NULL};
	static const char *const all[] = {"node.us-1", "node.us-2", "node.eu-1",
	                                  "nodes",     "node",      "other.x",
	                                  NULL};
	static const char *const none[] = {NULL};
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	prefix_fixture(&c);
	check_keys(&c, "node.", aligned, __LINE__);
	check_keys(&c, "node.us-", partial, __LINE__);
	check_keys(&c, "node", node, __LINE__);
	check_keys(&c, "", all, __LINE__);
	check_keys(&c, "zz", none, __LINE__);
	check_keys(&c, "node.us-3", none, __LINE__);
	conf_close(&c);
}

static int count_cb(void *payload, slip_entry *e)
{
	int *n = payload;

	(*n)++;
	CHECK(e->value_len == 0);
	slip_entry_free(e);
	return *n == 2 ? 7 : 0;
}

static void t_scan_values_and_streaming(void)
{
	slip_entry_list l = {0, NULL};
	conf_case c;
	int n = 0, seen = 0;

	REQUIRE_OK(conf_open(&c, 0));
	prefix_fixture(&c);
	CHECK_OK(slip_reader_scan(c.r, "node.us-", &l));
	CHECK(l.count == 2);
	for (size_t i = 0; i < l.count; i++) {
		const slip_entry *e = l.entries[i];
		CHECK(e->op == SLIP_OP_PUT);
		if (strcmp(e->key, "node.us-1") == 0) {
			seen |= 1;
			CHECK(e->value_len == 2 &&
			      memcmp(e->value, "1b", 2) == 0);
		} else if (strcmp(e->key, "node.us-2") == 0) {
			seen |= 2;
			CHECK(e->value_len == 1 && e->value[0] == '2');
		}
	}
	CHECK(seen == 3);
	slip_entry_list_free(&l);
	CHECK_OK(slip_reader_scan(c.r, "node.", &l));
	CHECK(l.count == 3);
	slip_entry_list_free(&l);

	/* Streaming, keys only; a non-zero callback result stops the pass. */
	CHECK_RC(slip_reader_scan_each(c.r, "", true, count_cb, &n), 7);
	CHECK(n == 2);
	conf_close(&c);
}

/* ================================================================== CAS */

static void t_cas_create(void)
{
	slip_version v1, v2;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	CHECK_OK(slip_writer_create(c.w, "a", "1", 1, &v1));
	CHECK(v1.len > 0);
	CHECK_RC(slip_writer_create(c.w, "a", "2", 1, NULL), SLIP_EEXISTS);
	CHECK_GET(&c, "a", "1");

	/* Create after delete: the tombstone does not count as existing. */
	CHECK_OK(slip_writer_delete(c.w, "a"));
	CHECK_OK(slip_writer_create(c.w, "a", "3", 1, &v2));
	CHECK(slip_version_cmp(&v2, &v1) > 0);
	CHECK_GET(&c, "a", "3");

	/* Create after purge. */
	CHECK_OK(slip_writer_purge(c.w, "a"));
	CHECK_OK(slip_writer_create(c.w, "a", "4", 1, NULL));
	CHECK_GET(&c, "a", "4");
	CHECK_RC(slip_writer_create(c.w, "a", "5", 1, NULL), SLIP_EEXISTS);
	conf_close(&c);
}

static void t_cas_update(void)
{
	slip_version v1, v2, vb, v3;
	slip_entry *e = NULL;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "a", "1", &v1);
	CHECK_OK(slip_writer_update(c.w, "a", "2", 1, &v1, &v2));
	CHECK(slip_version_cmp(&v2, &v1) > 0);
	CHECK_RC(slip_writer_update(c.w, "a", "x", 1, &v1, NULL),
	         SLIP_EREVISION);
	CHECK_GET(&c, "a", "2");

	/* A version taken from another key never matches. */
	PUT_S(&c, "b", "b", &vb);
	CHECK_RC(slip_writer_update(c.w, "a", "x", 1, &vb, NULL),
	         SLIP_EREVISION);
	CHECK_GET(&c, "a", "2");

	/* Update after delete: only the tombstone's version (entry) works. */
	CHECK_OK(slip_writer_delete(c.w, "a"));
	CHECK_RC(slip_writer_update(c.w, "a", "x", 1, &v2, NULL),
	         SLIP_EREVISION);
	CHECK_OK(slip_reader_entry(c.r, "a", &e));
	REQUIRE(e != NULL && e->op == SLIP_OP_DELETE);
	CHECK_OK(slip_writer_update(c.w, "a", "3", 1, &e->version, &v3));
	CHECK(slip_version_cmp(&v3, &e->version) > 0);
	slip_entry_free(e);
	CHECK_GET(&c, "a", "3");

	/* A key that never existed has no revision to match. */
	CHECK_RC(slip_writer_update(c.w, "missing", "x", 1, &v3, NULL),
	         SLIP_EREVISION);
	CHECK_GET(&c, "missing", NULL);

	/* Expected revision 0 matches only an absent key: it creates it
	 * (NATS: expected last subject sequence 0; issue 16 §3). */
	slip_version zero = slip_version_from_u64(0), vm;
	CHECK_OK(slip_writer_update(c.w, "missing", "m", 1, &zero, &vm));
	CHECK_GET(&c, "missing", "m");
	CHECK_RC(slip_writer_update(c.w, "missing", "x", 1, &zero, NULL),
	         SLIP_EREVISION);
	CHECK_RC(slip_writer_update(c.w, "a", "x", 1, &zero, NULL),
	         SLIP_EREVISION);
	CHECK_GET(&c, "missing", "m");
	/* Unlike create, it does not match a tombstone. */
	CHECK_OK(slip_writer_delete(c.w, "b"));
	CHECK_RC(slip_writer_update(c.w, "b", "x", 1, &zero, NULL),
	         SLIP_EREVISION);
	conf_close(&c);
}

static void t_cas_delete_version(void)
{
	slip_version v1, v2;
	slip_entry *e = NULL;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "a", "1", &v1);
	PUT_S(&c, "a", "2", &v2);
	CHECK_RC(slip_writer_delete_version(c.w, "a", &v1), SLIP_EREVISION);
	CHECK_GET(&c, "a", "2");
	CHECK_OK(slip_writer_delete_version(c.w, "a", &v2));
	CHECK_GET(&c, "a", NULL);
	CHECK_OK(slip_reader_entry(c.r, "a", &e));
	CHECK(e != NULL && e->op == SLIP_OP_DELETE);
	slip_entry_free(e);
	/* Its version is stale now: the latest is the tombstone. */
	CHECK_RC(slip_writer_delete_version(c.w, "a", &v2), SLIP_EREVISION);
	conf_close(&c);
}

/* ==================================================== purge and history */

static void t_purge_removes_history_watchers_see_it(void)
{
	slip_store_info info;
	slip_entry *e = NULL;
	conf_watch live, fresh;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 5));
	PUT_S(&c, "a", "1", NULL);
	PUT_S(&c, "a", "2", NULL);
	PUT_S(&c, "a", "3", NULL);
	PUT_S(&c, "b", "x", NULL);
	REQUIRE_OK(conf_watch_start(&live, c.wt, NULL, NULL, SLIP_WATCH_MARKERS,
	                            16));
	drop(EXPECT_ENTRY(&live, "a", SLIP_OP_PUT, "3"));
	drop(EXPECT_ENTRY(&live, "b", SLIP_OP_PUT, "x"));
	EXPECT_MARKER(&live);

	CHECK_OK(slip_writer_purge(c.w, "a"));
	drop(EXPECT_ENTRY(&live, "a", SLIP_OP_PURGE, NULL));
	CHECK_GET(&c, "a", NULL);
	e = (slip_entry *)1;
	CHECK_OK(slip_reader_entry(c.r, "a", &e));
	/* The contract (include/slipstream/conn.h): entry shows the one
	 * marker a purge leaves, on every backend (issue 16 §3). */
	CHECK(e != NULL && e->op == SLIP_OP_PURGE);
	slip_entry_free(e);
	/* History gone: b and the one purge marker are all that is held. */
	CHECK_OK(slip_store_get_info(c.store, &info));
	CHECK(info.messages == 2);

	/* A new watcher's initial state carries the purge marker. */
	REQUIRE_OK(conf_watch_start(&fresh, c.wt, NULL, NULL,
	                            SLIP_WATCH_MARKERS, 16));
	drop(EXPECT_ENTRY(&fresh, "b", SLIP_OP_PUT, "x"));
	drop(EXPECT_ENTRY(&fresh, "a", SLIP_OP_PURGE, NULL));
	EXPECT_MARKER(&fresh);
	CHECK_OK(conf_watch_stop(&fresh));
	CHECK_OK(conf_watch_stop(&live));
	conf_close(&c);
}

static void t_history_limit_and_info(void)
{
	slip_store_info info;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 3));
	for (int i = 1; i <= 5; i++) {
		char v[8];
		snprintf(v, sizeof(v), "%d", i);
		PUT_S(&c, "a", v, NULL);
	}
	CHECK_GET(&c, "a", "5");
	CHECK_OK(slip_store_get_info(c.store, &info));
	CHECK(strcmp(info.name, c.bucket) == 0);
	CHECK(info.max_history == 3);
	CHECK(info.messages == 3);
	CHECK(info.first_seq == 3 && info.last_seq == 5);
	CHECK(info.created_ns != 0);
	PUT_S(&c, "b", "b", NULL);
	CHECK_OK(slip_store_get_info(c.store, &info));
	CHECK(info.messages == 4 && info.last_seq == 6);
	conf_close(&c);

	/* Default history is one value per key. */
	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "a", "1", NULL);
	PUT_S(&c, "a", "2", NULL);
	PUT_S(&c, "b", "1", NULL);
	CHECK_OK(slip_store_get_info(c.store, &info));
	CHECK(info.messages == 2 && info.first_seq == 2 && info.last_seq == 3);
	conf_close(&c);
}

/* =============================================================== watch */

static void t_watch_initial_state_then_live(void)
{
	conf_watch cw;
	conf_case c;
	slip_entry *e;
	uint64_t last = 0;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "k1", "a", NULL);
	PUT_S(&c, "k2", "b", NULL);
	PUT_S(&c, "k1", "c", NULL);
	PUT_S(&c, "k3", "d", NULL);
	CHECK_OK(slip_writer_delete(c.w, "k3"));
	REQUIRE_OK(
	        conf_watch_start(&cw, c.wt, NULL, NULL, SLIP_WATCH_MARKERS, 4));
	/* Latest per key, tombstones included, in revision order. */
	drop(EXPECT_ENTRY(&cw, "k2", SLIP_OP_PUT, "b"));
	drop(EXPECT_ENTRY(&cw, "k1", SLIP_OP_PUT, "c"));
	e = EXPECT_ENTRY(&cw, "k3", SLIP_OP_DELETE, NULL);
	if (e != NULL) {
		CHECK(e->pending == 0);
		last = conf_rev(&e->version);
	}
	drop(e);
	EXPECT_MARKER(&cw);

	/* Each live record is received before the next write that could
	 * remove it from history (purge, or history 1): a backend only
	 * delivers records that it still holds. */
	{
		static const char *const keys[] = {"k4", "k1", "k2", "k4",
		                                   "zz.end"};
		static const slip_op ops[] = {SLIP_OP_PUT, SLIP_OP_PUT,
		                              SLIP_OP_DELETE, SLIP_OP_PURGE,
		                              SLIP_OP_PUT};
		PUT_S(&c, "k4", "e", NULL);
		PUT_S(&c, "k1", "f", NULL);
		CHECK_OK(slip_writer_delete(c.w, "k2"));
		for (int i = 0; i < 5; i++) {
			if (i == 3)
				CHECK_OK(slip_writer_purge(c.w, "k4"));
			if (i == 4)
				PUT_S(&c, "zz.end", "!", NULL);
			e = EXPECT_ENTRY(&cw, keys[i], ops[i], NULL);
			if (e != NULL) {
				CHECK(conf_rev(&e->version) > last);
				last = conf_rev(&e->version);
			}
			drop(e);
		}
	}
	/* Exactly once: the next write is the next thing delivered. */
	PUT_S(&c, "zz.end2", "!", NULL);
	drop(EXPECT_ENTRY(&cw, "zz.end2", SLIP_OP_PUT, "!"));
	CHECK_OK(conf_watch_stop(&cw));
	conf_close(&c);
}

static void t_watch_empty_bucket_marker(void)
{
	conf_watch cw;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	REQUIRE_OK(
	        conf_watch_start(&cw, c.wt, NULL, NULL, SLIP_WATCH_MARKERS, 4));
	EXPECT_MARKER(&cw);
	PUT_S(&c, "first", "1", NULL);
	drop(EXPECT_ENTRY(&cw, "first", SLIP_OP_PUT, "1"));
	CHECK_OK(conf_watch_stop(&cw));
	conf_close(&c);
}

static void t_watch_prefix_filters(void)
{
	conf_watch us, node;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "node.us-1", "1", NULL);
	PUT_S(&c, "nodes", "x", NULL);
	PUT_S(&c, "node.eu-1", "2", NULL);
	PUT_S(&c, "node.us-2", "3", NULL);
	PUT_S(&c, "other", "y", NULL);
	REQUIRE_OK(conf_watch_start(&us, c.wt, "node.us-", NULL,
	                            SLIP_WATCH_MARKERS, 4));
	REQUIRE_OK(conf_watch_start(&node, c.wt, "node.", NULL,
	                            SLIP_WATCH_MARKERS, 4));
	drop(EXPECT_ENTRY(&us, "node.us-1", SLIP_OP_PUT, "1"));
	drop(EXPECT_ENTRY(&us, "node.us-2", SLIP_OP_PUT, "3"));
	EXPECT_MARKER(&us);
	drop(EXPECT_ENTRY(&node, "node.us-1", SLIP_OP_PUT, "1"));
	drop(EXPECT_ENTRY(&node, "node.eu-1", SLIP_OP_PUT, "2"));
	drop(EXPECT_ENTRY(&node, "node.us-2", SLIP_OP_PUT, "3"));
	EXPECT_MARKER(&node);

	PUT_S(&c, "nodes", "x2", NULL);
	PUT_S(&c, "node.eu-2", "4", NULL);
	PUT_S(&c, "node.us-3", "5", NULL);
	PUT_S(&c, "node.us", "6", NULL);
	CHECK_OK(slip_writer_delete(c.w, "node.us-1"));
	PUT_S(&c, "node.us-end", "7", NULL);
	drop(EXPECT_ENTRY(&us, "node.us-3", SLIP_OP_PUT, "5"));
	drop(EXPECT_ENTRY(&us, "node.us-1", SLIP_OP_DELETE, NULL));
	drop(EXPECT_ENTRY(&us, "node.us-end", SLIP_OP_PUT, "7"));
	drop(EXPECT_ENTRY(&node, "node.eu-2", SLIP_OP_PUT, "4"));
	drop(EXPECT_ENTRY(&node, "node.us-3", SLIP_OP_PUT, "5"));
	drop(EXPECT_ENTRY(&node, "node.us", SLIP_OP_PUT, "6"));
	drop(EXPECT_ENTRY(&node, "node.us-1", SLIP_OP_DELETE, NULL));
	drop(EXPECT_ENTRY(&node, "node.us-end", SLIP_OP_PUT, "7"));
	CHECK_OK(conf_watch_stop(&us));
	CHECK_OK(conf_watch_stop(&node));
	conf_close(&c);
}

/* Watches from the start until caught up; returns the cursor of the entry
 * for @p key (none if absent). */
static slip_cursor cursor_of(conf_case *c, const char *key)
{
	slip_cursor cur = slip_cursor_none();
	conf_watch cw;
	slip_entry *e;

	if (conf_watch_start(&cw, c->wt, NULL, NULL, SLIP_WATCH_MARKERS, 16))
		return cur;
	while ((e = conf_watch_next(&cw)) != NULL &&
	       e->op != SLIP_OP_CAUGHT_UP) {
		if (strcmp(e->key, key) == 0)
			cur = e->cursor;
		slip_entry_free(e);
	}
	CHECK(e != NULL);
	slip_entry_free(e);
	CHECK_OK(conf_watch_stop(&cw));
	return cur;
}

static void expect_delta(conf_case *c, const slip_cursor *from,
                         const char *prefix)
{
	conf_watch cw;

	REQUIRE_OK(conf_watch_start(&cw, c->wt, prefix, from,
	                            SLIP_WATCH_MARKERS, 4));
	if (prefix == NULL) {
		drop(EXPECT_ENTRY(&cw, "d", SLIP_OP_PUT, "4"));
		drop(EXPECT_ENTRY(&cw, "a", SLIP_OP_DELETE, NULL));
	}
	drop(EXPECT_ENTRY(&cw, "e", SLIP_OP_PUT, "5"));
	if (prefix == NULL)
		drop(EXPECT_ENTRY(&cw, "c", SLIP_OP_PURGE, NULL));
	EXPECT_MARKER(&cw);
	PUT_S(c, "e", "live", NULL);
	drop(EXPECT_ENTRY(&cw, "e", SLIP_OP_PUT, "live"));
	CHECK_OK(conf_watch_stop(&cw));
}

static void t_watch_resume_from_cursor_delta(void)
{
	char text[SLIP_CURSOR_STRLEN];
	slip_cursor cur, parsed, short_cur, last;
	conf_watch cw;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "a", "1", NULL);
	PUT_S(&c, "b", "2", NULL);
	PUT_S(&c, "c", "3", NULL);
	cur = cursor_of(&c, "b");
	REQUIRE(!slip_cursor_is_none(&cur));
	PUT_S(&c, "d", "4", NULL);
	CHECK_OK(slip_writer_delete(c.w, "a"));
	PUT_S(&c, "e", "5", NULL);
	CHECK_OK(slip_writer_purge(c.w, "c"));

	/* The text form round-trips to the same bytes. */
	CHECK_OK(slip_cursor_to_string(&cur, text, sizeof(text)));
	CHECK_OK(slip_cursor_from_string(&parsed, text));
	CHECK(parsed.len == cur.len &&
	      memcmp(parsed.bytes, cur.bytes, cur.len) == 0);
	expect_delta(&c, &parsed, NULL);
	/* Writes above happened after the delta; use a fresh cursor view. */
	conf_close(&c);

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "a", "1", NULL);
	PUT_S(&c, "b", "2", NULL);
	PUT_S(&c, "c", "3", NULL);
	cur = cursor_of(&c, "b");
	PUT_S(&c, "d", "4", NULL);
	CHECK_OK(slip_writer_delete(c.w, "a"));
	PUT_S(&c, "e", "5", NULL);
	CHECK_OK(slip_writer_purge(c.w, "c"));
	expect_delta(&c, &cur, "e");

	/* An 8-byte cursor (sequence only, as the reference writes). */
	short_cur = cur;
	short_cur.len = 8;
	REQUIRE_OK(conf_watch_start(&cw, c.wt, NULL, &short_cur,
	                            SLIP_WATCH_MARKERS, 4));
	drop(EXPECT_ENTRY(&cw, "d", SLIP_OP_PUT, "4"));
	drop(EXPECT_ENTRY(&cw, "a", SLIP_OP_DELETE, NULL));
	drop(EXPECT_ENTRY(&cw, "c", SLIP_OP_PURGE, NULL));
	drop(EXPECT_ENTRY(&cw, "e", SLIP_OP_PUT, "live"));
	EXPECT_MARKER(&cw);
	CHECK_OK(conf_watch_stop(&cw));

	/* From the newest cursor: caught up at once, then live only. */
	last = cursor_of(&c, "e");
	REQUIRE_OK(conf_watch_start(&cw, c.wt, NULL, &last, SLIP_WATCH_MARKERS,
	                            4));
	EXPECT_MARKER(&cw);
	PUT_S(&c, "f", "6", NULL);
	drop(EXPECT_ENTRY(&cw, "f", SLIP_OP_PUT, "6"));
	CHECK_OK(conf_watch_stop(&cw));
	conf_close(&c);
}

/* Starts a watch from @p from and expects it to end with @p want. */
static void expect_watch_fails(conf_case *c, const slip_cursor *from, int want,
                               int line)
{
	conf_watch cw;
	slip_entry *e;
	int rc;

	if (conf_watch_start(&cw, c->wt, NULL, from, SLIP_WATCH_MARKERS, 4)) {
		slip_test_fail(__FILE__, line, "watch did not start");
		return;
	}
	e = conf_watch_next(&cw);
	if (e != NULL)
		slip_test_fail(__FILE__, line, "watch delivered %s \"%s\"",
		               slip_op_name(e->op), e->key);
	slip_entry_free(e);
	if (!conf_watch_wait(&cw))
		slip_test_fail(__FILE__, line, "watch did not end");
	rc = conf_watch_stop(&cw);
	if (rc != want)
		slip_test_fail(__FILE__, line, "watch returned %s, expected %s",
		               slip_err_name(rc), slip_err_name(want));
}

static void t_cursor_expired_after_history_dropped(void)
{
	slip_cursor c3, c7;
	conf_watch cw;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	for (int i = 1; i <= 10; i++) {
		char k[8];
		snprintf(k, sizeof(k), "k%d", i);
		PUT_S(&c, k, k, NULL);
	}
	c3 = cursor_of(&c, "k3");
	c7 = cursor_of(&c, "k7");
	REQUIRE(conf_backend.drop_before(conf_ctx, c.store, 8) == 0);
	expect_watch_fails(&c, &c3, SLIP_ECURSOREXPIRED, __LINE__);

	/* Just below the first revision held is still complete. */
	REQUIRE_OK(
	        conf_watch_start(&cw, c.wt, NULL, &c7, SLIP_WATCH_MARKERS, 4));
	drop(EXPECT_ENTRY(&cw, "k8", SLIP_OP_PUT, "k8"));
	drop(EXPECT_ENTRY(&cw, "k9", SLIP_OP_PUT, "k9"));
	drop(EXPECT_ENTRY(&cw, "k10", SLIP_OP_PUT, "k10"));
	EXPECT_MARKER(&cw);
	CHECK_OK(conf_watch_stop(&cw));

	/* A full watch still works and holds only what is left. */
	REQUIRE_OK(
	        conf_watch_start(&cw, c.wt, NULL, NULL, SLIP_WATCH_MARKERS, 4));
	drop(EXPECT_ENTRY(&cw, "k8", SLIP_OP_PUT, "k8"));
	drop(EXPECT_ENTRY(&cw, "k9", SLIP_OP_PUT, "k9"));
	drop(EXPECT_ENTRY(&cw, "k10", SLIP_OP_PUT, "k10"));
	EXPECT_MARKER(&cw);
	CHECK_OK(conf_watch_stop(&cw));
	conf_close(&c);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void t_cursor_expired_beyond_last(void)
{
	slip_cursor cur, beyond;
	conf_watch cw;
	conf_case c;
	uint64_t seq = 0;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "a", "1", NULL);
	PUT_S(&c, "b", "2", NULL);
	cur = cursor_of(&c, "b");
	REQUIRE_OK(slip_cursor_seq(&cur, &seq));
	beyond = cur;
	put_be64(beyond.bytes, seq + 5);
	expect_watch_fails(&c, &beyond, SLIP_ECURSOREXPIRED, __LINE__);
	/* The last revision itself is fine. */
	REQUIRE_OK(
	        conf_watch_start(&cw, c.wt, NULL, &cur, SLIP_WATCH_MARKERS, 4));
	EXPECT_MARKER(&cw);
	CHECK_OK(conf_watch_stop(&cw));
	conf_close(&c);
}

static void t_cursor_expired_bucket_recreated(void)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_store *old;
	slip_cursor cur;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "a", "1", NULL);
	PUT_S(&c, "b", "2", NULL);
	PUT_S(&c, "c", "3", NULL);
	cur = cursor_of(&c, "b");
	REQUIRE_OK(slip_store_delete(c.conn, c.bucket));
	old = c.store;
	cfg.name = c.bucket;
	REQUIRE_OK(slip_store_open_config(&c.store, c.conn, &cfg));
	slip_store_free(old);
	c.r = slip_store_reader(c.store);
	c.w = slip_store_writer(c.store);
	c.wt = slip_store_watcher(c.store);
	CHECK_GET(&c, "a", NULL);
	PUT_S(&c, "x", "1", NULL);
	PUT_S(&c, "y", "2", NULL);
	PUT_S(&c, "z", "3", NULL);
	/* Same sequence numbers exist again, but in another bucket. */
	expect_watch_fails(&c, &cur, SLIP_ECURSOREXPIRED, __LINE__);
	conf_close(&c);
}

static void t_watch_cancel_by_closing_channel(void)
{
	conf_watch cw;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	/* Idle: caught up, waiting for writes. */
	REQUIRE_OK(
	        conf_watch_start(&cw, c.wt, NULL, NULL, SLIP_WATCH_MARKERS, 4));
	EXPECT_MARKER(&cw);
	CHECK_OK(conf_watch_stop(&cw));

	/* Blocked: the channel is full (back-pressure). */
	for (int i = 0; i < 50; i++) {
		char k[8];
		snprintf(k, sizeof(k), "k%d", i);
		PUT_S(&c, k, "v", NULL);
	}
	REQUIRE_OK(conf_watch_start(&cw, c.wt, NULL, NULL, 0, 1));
	drop(EXPECT_ENTRY(&cw, "k0", SLIP_OP_PUT, "v"));
	CHECK_OK(conf_watch_stop(&cw));

	/* Before anything was received. */
	REQUIRE_OK(conf_watch_start(&cw, c.wt, "k1", NULL, 0, 2));
	CHECK_OK(conf_watch_stop(&cw));

	/* The store still works after the cancelled watches. */
	PUT_S(&c, "after", "1", NULL);
	CHECK_GET(&c, "after", "1");
	conf_close(&c);
}

static void t_watch_ends_when_bucket_deleted(void)
{
	slip_entry *e = NULL;
	conf_watch cw;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "a", "1", NULL);
	REQUIRE_OK(
	        conf_watch_start(&cw, c.wt, NULL, NULL, SLIP_WATCH_MARKERS, 4));
	drop(EXPECT_ENTRY(&cw, "a", SLIP_OP_PUT, "1"));
	EXPECT_MARKER(&cw);
	CHECK_OK(slip_store_delete(c.conn, c.bucket));
	CHECK(conf_watch_wait(&cw));
	CHECK(atomic_load(&cw.rc) == SLIP_EWATCH);
	/* The receiver learns the end: the sending side is closed. */
	CHECK_RC(slip_chan_recv(cw.ch, &e, 1000), SLIP_ECLOSED);
	conf_watch_stop(&cw);
	CHECK_RC(slip_store_delete(c.conn, c.bucket), SLIP_ENOTFOUND);
	conf_close(&c);
}

/* =========================================================== bad input */

static void check_bad_key(conf_case *c, const char *key)
{
	slip_version v = slip_version_from_u64(1);
	slip_entry *e = NULL;

	CHECK_RC(slip_reader_get(c->r, key, &e), SLIP_EINVAL);
	CHECK_RC(slip_reader_entry(c->r, key, &e), SLIP_EINVAL);
	CHECK_RC(slip_writer_put(c->w, key, "v", 1, NULL), SLIP_EINVAL);
	CHECK_RC(slip_writer_create(c->w, key, "v", 1, NULL), SLIP_EINVAL);
	CHECK_RC(slip_writer_update(c->w, key, "v", 1, &v, NULL), SLIP_EINVAL);
	CHECK_RC(slip_writer_delete(c->w, key), SLIP_EINVAL);
	CHECK_RC(slip_writer_delete_version(c->w, key, &v), SLIP_EINVAL);
	CHECK_RC(slip_writer_purge(c->w, key), SLIP_EINVAL);
	CHECK(e == NULL);
}

static void check_bad_prefix(conf_case *c, const char *prefix)
{
	slip_key_list kl = {0, NULL};
	slip_entry_list el = {0, NULL};
	slip_chan *ch = NULL;

	CHECK_RC(slip_reader_keys(c->r, prefix, &kl), SLIP_EINVAL);
	CHECK_RC(slip_reader_scan(c->r, prefix, &el), SLIP_EINVAL);
	REQUIRE_OK(slip_chan_new(&ch, 2));
	/* Rejected before it starts, so it returns at once. */
	CHECK_RC(slip_watch_prefix(c->wt, prefix, ch), SLIP_EINVAL);
	slip_chan_free(ch);
}

static void check_bad_bucket(conf_case *c, const char *name)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_store *s = NULL;

	cfg.name = name;
	CHECK_RC(slip_store_open(&s, c->conn, name), SLIP_EINVAL);
	CHECK_RC(slip_store_open_config(&s, c->conn, &cfg), SLIP_EINVAL);
	CHECK_RC(slip_store_delete(c->conn, name), SLIP_EINVAL);
	CHECK(s == NULL);
}

static void check_bad_cursor_text(const char *text)
{
	slip_cursor out;

	memset(&out, 0xab, sizeof(out));
	CHECK_RC(slip_cursor_from_string(&out, text), SLIP_EINVAL);
	CHECK(out.len == 0xab);
}

static void t_bad_input_rejected(void)
{
	static const char *const keys[] = {"a..b", ".a", "a.",   "a b", "",
	                                   "a*",   "a>", "a\tb", "é"};
	static const char *const prefixes[] = {".a", "a..b", "a b", "a*"};
	static const char *const texts[] = {
	        "xyz", "abc", "0g", "12345", "none ", "-1", "0x0011",
	        /* 34 bytes: longer than any cursor */
	        ("00112233445566778899aabbccddeeff00112233445566778899aabbccdd"
	         "eeff0011")};
	char long_name[SLIP_NAME_MAX + 2];
	slip_version none, v = slip_version_from_u64(1);
	slip_cursor four;
	slip_store_info info;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		check_bad_key(&c, keys[i]);
	CHECK_RC(slip_writer_put(c.w, NULL, "v", 1, NULL), SLIP_EINVAL);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		check_bad_prefix(&c, prefixes[i]);

	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	check_bad_bucket(&c, "a.b");
	check_bad_bucket(&c, "");
	check_bad_bucket(&c, "a b");
	check_bad_bucket(&c, "a/b");
	check_bad_bucket(&c, "a*");
	check_bad_bucket(&c, long_name);

	/* NULL value with a length; CAS without a version. */
	CHECK_RC(slip_writer_put(c.w, "k", NULL, 3, NULL), SLIP_EINVAL);
	CHECK_RC(slip_writer_create(c.w, "k", NULL, 3, NULL), SLIP_EINVAL);
	CHECK_RC(slip_writer_update(c.w, "k", NULL, 3, &v, NULL), SLIP_EINVAL);
	memset(&none, 0, sizeof(none));
	CHECK_RC(slip_writer_update(c.w, "k", "v", 1, &none, NULL),
	         SLIP_EINVAL);
	CHECK_RC(slip_writer_update(c.w, "k", "v", 1, NULL, NULL), SLIP_EINVAL);
	CHECK_RC(slip_writer_delete_version(c.w, "k", &none), SLIP_EINVAL);

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		check_bad_cursor_text(texts[i]);
	/* A cursor of a length this backend never makes. */
	memset(&four, 0, sizeof(four));
	four.len = 4;
	expect_watch_fails(&c, &four, SLIP_EINVAL, __LINE__);

	/* Nothing was written by any of it. */
	CHECK_OK(slip_store_get_info(c.store, &info));
	CHECK(info.messages == 0 && info.last_seq == 0);
	conf_close(&c);
}

/* ============================================================= threads */

#define N_WRITERS 4
#define N_WRITES  200

typedef struct writer_arg {
	slip_writer *w;
	int id;
	int failures;
} writer_arg;

static void *writer_main(void *p)
{
	writer_arg *a = p;

	for (int j = 0; j < N_WRITES; j++) {
		char k[32], v[32];
		snprintf(k, sizeof(k), "w%d.k%d", a->id, j);
		snprintf(v, sizeof(v), "%d:%d", a->id, j);
		if (slip_writer_put(a->w, k, v, strlen(v), NULL) != SLIP_OK)
			a->failures++;
	}
	return NULL;
}

/* Reads @p cw until the key @p last; checks order, exactly-once, prefix
 * and values; returns how many writer keys it saw. */
static int drain_check(conf_watch *cw, const char *prefix, const char *last)
{
	static unsigned char seen[N_WRITERS][N_WRITES];
	uint64_t prev = 0;
	int count = 0;
	slip_entry *e;

	memset(seen, 0, sizeof(seen));
	while ((e = conf_watch_next(cw)) != NULL) {
		int id, j, end = 0;
		bool done = strcmp(e->key, last) == 0;
		CHECK(conf_rev(&e->version) > prev);
		prev = conf_rev(&e->version);
		CHECK(strncmp(e->key, prefix, strlen(prefix)) == 0);
		if (sscanf(e->key, "w%d.k%d%n", &id, &j, &end) == 2 &&
		    e->key[end] == '\0' && id >= 0 && id < N_WRITERS &&
		    j >= 0 && j < N_WRITES) {
			char v[32];
			snprintf(v, sizeof(v), "%d:%d", id, j);
			CHECK(seen[id][j] == 0);
			CHECK(e->value_len == strlen(v) &&
			      memcmp(e->value, v, e->value_len) == 0);
			seen[id][j] = 1;
			count++;
		}
		slip_entry_free(e);
		if (done)
			break;
	}
	CHECK(e != NULL);
	return count;
}

static void t_threads_write_and_watch_at_once(void)
{
	static const char *const prefixes[] = {"", "", "w1.", "w2.k1"};
	/* Writer keys each watcher must see: all, all, w1.*, w2.k1*. */
	static const int want[] = {N_WRITERS * N_WRITES, N_WRITERS * N_WRITES,
	                           N_WRITES, 1 + 10 + 100};
	static const char *const last[] = {"w2.k1end", "w2.k1end", "w1.end",
	                                   "w2.k1end"};
	conf_watch cw[4];
	pthread_t th[N_WRITERS];
	writer_arg args[N_WRITERS];
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	for (int i = 0; i < 4; i++) {
		REQUIRE_OK(conf_watch_start(&cw[i], c.wt, prefixes[i], NULL,
		                            SLIP_WATCH_MARKERS, 8));
		EXPECT_MARKER(&cw[i]);
	}
	for (int i = 0; i < N_WRITERS; i++) {
		args[i].w = c.w;
		args[i].id = i;
		args[i].failures = 0;
		REQUIRE(pthread_create(&th[i], NULL, writer_main, &args[i]) ==
		        0);
	}
	for (int i = 0; i < N_WRITERS; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].failures == 0);
	}
	PUT_S(&c, "w1.end", "!", NULL);
	PUT_S(&c, "w2.k1end", "!", NULL);
	for (int i = 0; i < 4; i++) {
		int n = drain_check(&cw[i], prefixes[i], last[i]);
		if (n != want[i])
			slip_test_fail(__FILE__, __LINE__,
			               "watcher %d (\"%s\") saw %d writes, "
			               "expected %d",
			               i, prefixes[i], n, want[i]);
		CHECK_OK(conf_watch_stop(&cw[i]));
	}
	conf_close(&c);
}

/* ===================================================== stores, conns */

static void t_store_config_mismatch(void)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_store *s2 = NULL, *s3 = NULL;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	cfg.name = c.bucket;
	cfg.max_history = 5;
	CHECK_RC(slip_store_open_config(&s2, c.conn, &cfg), SLIP_ECONFIG);
	CHECK(strstr(slip_last_error(), "max_history") != NULL);
	CHECK(s2 == NULL);

	/* The same configuration binds to the same data. */
	cfg.max_history = 0;
	CHECK_OK(slip_store_open_config(&s2, c.conn, &cfg));
	CHECK_OK(slip_store_open(&s3, c.conn, c.bucket));
	PUT_S(&c, "shared", "1", NULL);
	if (s2 != NULL && s3 != NULL) {
		slip_entry *e = NULL;
		CHECK_OK(slip_reader_get(slip_store_reader(s3), "shared", &e));
		CHECK(e != NULL && e->value_len == 1);
		slip_entry_free(e);
	}
	slip_store_free(s2);
	slip_store_free(s3);
	conf_close(&c);
}

static void t_store_open_missing(void)
{
	char name[64];
	slip_store *s = (slip_store *)1;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	conf_bucket_name(name, sizeof(name));
	CHECK_RC(slip_store_open(&s, c.conn, name), SLIP_ENOTFOUND);
	CHECK(s == NULL);
	CHECK_RC(slip_store_delete(c.conn, name), SLIP_ENOTFOUND);
	conf_close(&c);
}

static void t_not_connected_after_close(void)
{
	slip_key_list kl = {0, NULL};
	slip_entry *e = NULL;
	slip_chan *ch = NULL;
	slip_conn *again = NULL;
	conf_watch cw;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "a", "1", NULL);
	REQUIRE_OK(
	        conf_watch_start(&cw, c.wt, NULL, NULL, SLIP_WATCH_MARKERS, 4));
	drop(EXPECT_ENTRY(&cw, "a", SLIP_OP_PUT, "1"));
	EXPECT_MARKER(&cw);
	slip_conn_close(c.conn);
	CHECK(!slip_conn_is_connected(c.conn));
	/* The running watch ends by itself. */
	CHECK(conf_watch_wait(&cw));
	CHECK(atomic_load(&cw.rc) == SLIP_ENOTCONNECTED);
	conf_watch_stop(&cw);

	CHECK_RC(slip_reader_get(c.r, "a", &e), SLIP_ENOTCONNECTED);
	CHECK_RC(slip_writer_put(c.w, "a", "2", 1, NULL), SLIP_ENOTCONNECTED);
	CHECK_RC(slip_reader_keys(c.r, "", &kl), SLIP_ENOTCONNECTED);
	CHECK_OK(slip_chan_new(&ch, 2));
	CHECK_RC(slip_watch_all(c.wt, ch), SLIP_ENOTCONNECTED);
	slip_chan_free(ch);
	CHECK(e == NULL);

	/* Clean up through a new connection. */
	if (slip_connect(&again, conf_backend.url(conf_ctx)) == SLIP_OK)
		CHECK_OK(slip_store_delete(again, c.bucket));
	slip_conn_free(again);
	conf_close(&c);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_capabilities),
        SLIP_TEST(t_values_binary_and_empty),
        SLIP_TEST(t_get_hides_tombstones_entry_shows_them),
        SLIP_TEST(t_keys_token_and_string_prefixes),
        SLIP_TEST(t_scan_values_and_streaming),
        SLIP_TEST(t_cas_create),
        SLIP_TEST(t_cas_update),
        SLIP_TEST(t_cas_delete_version),
        SLIP_TEST(t_purge_removes_history_watchers_see_it),
        SLIP_TEST(t_history_limit_and_info),
        SLIP_TEST(t_watch_initial_state_then_live),
        SLIP_TEST(t_watch_empty_bucket_marker),
        SLIP_TEST(t_watch_prefix_filters),
        SLIP_TEST(t_watch_resume_from_cursor_delta),
        SLIP_TEST(t_cursor_expired_after_history_dropped),
        SLIP_TEST(t_cursor_expired_beyond_last),
        SLIP_TEST(t_cursor_expired_bucket_recreated),
        SLIP_TEST(t_watch_cancel_by_closing_channel),
        SLIP_TEST(t_watch_ends_when_bucket_deleted),
        SLIP_TEST(t_bad_input_rejected),
        SLIP_TEST(t_threads_write_and_watch_at_once),
        SLIP_TEST(t_store_config_mismatch),
        SLIP_TEST(t_store_open_missing),
        SLIP_TEST(t_not_connected_after_close),
        SLIP_TEST(t_ttl_refused_without_markers),
        SLIP_TEST(t_ttl_key_expires_through_marker),
        SLIP_TEST(t_ttl_create_and_purge_marker),
        {0},
};

/* The cases above followed by the multi-prefix ones (conf_multi.c). */
static const slip_test_case *all_cases(void)
{
	static slip_test_case all[64];
	size_t n = 0;

	for (size_t i = 0; cases[i].name != NULL && n + 1 < 64; i++)
		all[n++] = cases[i];
	for (size_t i = 0; conf_multi_cases[i].name != NULL && n + 1 < 64; i++)
		all[n++] = conf_multi_cases[i];
	return all;
}

int main(int argc, char **argv)
{
	int rc;

	if (conf_backend.setup != NULL && conf_backend.setup(&conf_ctx) != 0) {
		fprintf(stderr, "conformance-%s: fixture setup failed\n",
		        conf_backend.name);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	rc = slip_test_main(argc, argv, all_cases());
	if (conf_backend.teardown != NULL)
		conf_backend.teardown(conf_ctx);
	return rc;
}
