/*
 * tests/conformance/conf_multi.c — the conformance cases for watching and
 * scanning several prefixes at once (slip_watch_options.prefixes,
 * slip_reader_scan_each_prefixes): one ordered stream for the union with
 * one cursor, each update once however the prefixes overlap, prefixes that
 * end inside a token filtered exactly, resume, expiry and bad input.
 * Public API only; linked into every backend's conformance run.
 */
#include <stdio.h>
#include <string.h>

#include "conformance.h"

#define PUT_S(c, key, val)                                                     \
	CHECK_OK(slip_writer_put((c)->w, (key), (val), strlen(val), NULL))
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void drop(slip_entry *e)
{
	slip_entry_free(e);
}

/* Receives entries up to the next marker; returns the marker's cursor. */
static slip_cursor until_marker(conf_watch *cw)
{
	slip_cursor cur = slip_cursor_none();
	slip_entry *e;

	while ((e = conf_watch_next(cw)) != NULL && e->op != SLIP_OP_CAUGHT_UP)
		slip_entry_free(e);
	CHECK(e != NULL);
	if (e != NULL)
		cur = e->cursor;
	slip_entry_free(e);
	return cur;
}

/* Overlapping ("a." covers "a.b."), token-aligned and mid-token prefixes:
 * the current state of the union in revision order, one marker, then
 * only the union's live updates, each once. */
static void t_multi_watch_union_once(void)
{
	static const char *const pre[] = {"a.b.", "a.", "node.us-", "b.", "a."};
	conf_watch cw;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "a.1", "1");
	PUT_S(&c, "a.b.2", "2");
	PUT_S(&c, "x.1", "3");
	PUT_S(&c, "node.us-1", "4");
	PUT_S(&c, "node.eu-1", "5");
	PUT_S(&c, "b.1", "6");
	PUT_S(&c, "a.1", "7");
	PUT_S(&c, "bb", "8");
	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, pre, N(pre), NULL,
	                                  SLIP_WATCH_MARKERS, 4));
	drop(EXPECT_ENTRY(&cw, "a.b.2", SLIP_OP_PUT, "2"));
	drop(EXPECT_ENTRY(&cw, "node.us-1", SLIP_OP_PUT, "4"));
	drop(EXPECT_ENTRY(&cw, "b.1", SLIP_OP_PUT, "6"));
	drop(EXPECT_ENTRY(&cw, "a.1", SLIP_OP_PUT, "7"));
	EXPECT_MARKER(&cw);

	PUT_S(&c, "x.2", "no");
	PUT_S(&c, "a.b.3", "9");
	PUT_S(&c, "node.us", "no");
	PUT_S(&c, "node.us-2", "10");
	CHECK_OK(slip_writer_delete(c.w, "b.1"));
	PUT_S(&c, "c", "no");
	CHECK_OK(slip_writer_purge(c.w, "a.1"));
	PUT_S(&c, "node.eu-2", "no");
	PUT_S(&c, "b.end", "11");
	drop(EXPECT_ENTRY(&cw, "a.b.3", SLIP_OP_PUT, "9"));
	drop(EXPECT_ENTRY(&cw, "node.us-2", SLIP_OP_PUT, "10"));
	drop(EXPECT_ENTRY(&cw, "b.1", SLIP_OP_DELETE, NULL));
	drop(EXPECT_ENTRY(&cw, "a.1", SLIP_OP_PURGE, NULL));
	drop(EXPECT_ENTRY(&cw, "b.end", SLIP_OP_PUT, "11"));
	CHECK_OK(conf_watch_stop(&cw));
	conf_close(&c);
}

/* Two prefixes ending inside the same token share one server filter; the
 * rest of each is matched exactly. An empty bucket still gets its marker. */
static void t_multi_watch_mid_token(void)
{
	static const char *const pre[] = {"node.us-", "node.eu-"};
	conf_watch cw;
	conf_case c;

	REQUIRE_OK(conf_open(&c, 0));
	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, pre, N(pre), NULL,
	                                  SLIP_WATCH_MARKERS, 4));
	EXPECT_MARKER(&cw);
	PUT_S(&c, "node.as-1", "no");
	PUT_S(&c, "node.eu-1", "1");
	PUT_S(&c, "nodes", "no");
	PUT_S(&c, "node.us", "no");
	PUT_S(&c, "node.us-1", "2");
	drop(EXPECT_ENTRY(&cw, "node.eu-1", SLIP_OP_PUT, "1"));
	drop(EXPECT_ENTRY(&cw, "node.us-1", SLIP_OP_PUT, "2"));
	CHECK_OK(conf_watch_stop(&cw));

	/* "" in the list means every key. */
	static const char *const all[] = {"node.us-", ""};
	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, all, N(all), NULL,
	                                  SLIP_WATCH_MARKERS, 8));
	drop(EXPECT_ENTRY(&cw, "node.as-1", SLIP_OP_PUT, "no"));
	drop(EXPECT_ENTRY(&cw, "node.eu-1", SLIP_OP_PUT, "1"));
	drop(EXPECT_ENTRY(&cw, "nodes", SLIP_OP_PUT, "no"));
	drop(EXPECT_ENTRY(&cw, "node.us", SLIP_OP_PUT, "no"));
	drop(EXPECT_ENTRY(&cw, "node.us-1", SLIP_OP_PUT, "2"));
	EXPECT_MARKER(&cw);
	CHECK_OK(conf_watch_stop(&cw));
	conf_close(&c);
}

/* Resuming from a cursor of the union's stream delivers exactly the union's
 * updates after it, from an entry's cursor or from a marker's. */
static void t_multi_watch_resume_delta(void)
{
	static const char *const pre[] = {"a.", "b."};
	slip_cursor first = slip_cursor_none(), mark;
	conf_watch cw;
	conf_case c;
	slip_entry *e;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "a.1", "1");
	PUT_S(&c, "x.1", "2");
	PUT_S(&c, "b.1", "3");
	PUT_S(&c, "x.2", "4");
	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, pre, N(pre), NULL,
	                                  SLIP_WATCH_MARKERS, 4));
	e = EXPECT_ENTRY(&cw, "a.1", SLIP_OP_PUT, "1");
	if (e != NULL)
		first = e->cursor;
	drop(e);
	drop(EXPECT_ENTRY(&cw, "b.1", SLIP_OP_PUT, "3"));
	mark = until_marker(&cw);
	CHECK_OK(conf_watch_stop(&cw));
	REQUIRE(!slip_cursor_is_none(&first) && !slip_cursor_is_none(&mark));

	PUT_S(&c, "x.3", "5");
	PUT_S(&c, "a.2", "6");
	CHECK_OK(slip_writer_delete(c.w, "b.1"));
	PUT_S(&c, "y", "7");
	PUT_S(&c, "a.1", "8");
	PUT_S(&c, "x.4", "9");

	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, pre, N(pre), &mark,
	                                  SLIP_WATCH_MARKERS, 4));
	drop(EXPECT_ENTRY(&cw, "a.2", SLIP_OP_PUT, "6"));
	drop(EXPECT_ENTRY(&cw, "b.1", SLIP_OP_DELETE, NULL));
	drop(EXPECT_ENTRY(&cw, "a.1", SLIP_OP_PUT, "8"));
	EXPECT_MARKER(&cw);
	PUT_S(&c, "x.5", "no");
	PUT_S(&c, "b.2", "10");
	drop(EXPECT_ENTRY(&cw, "b.2", SLIP_OP_PUT, "10"));
	CHECK_OK(conf_watch_stop(&cw));

	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, pre, N(pre), &first,
	                                  SLIP_WATCH_MARKERS, 8));
	/* History 1: b.1's put gave way to its delete. */
	drop(EXPECT_ENTRY(&cw, "a.2", SLIP_OP_PUT, "6"));
	drop(EXPECT_ENTRY(&cw, "b.1", SLIP_OP_DELETE, NULL));
	drop(EXPECT_ENTRY(&cw, "a.1", SLIP_OP_PUT, "8"));
	drop(EXPECT_ENTRY(&cw, "b.2", SLIP_OP_PUT, "10"));
	EXPECT_MARKER(&cw);
	CHECK_OK(conf_watch_stop(&cw));
	conf_close(&c);
}

/* A cursor older than the history held expires as for one prefix; one just
 * below the oldest record held still resumes. */
static void t_multi_cursor_expired(void)
{
	static const char *const pre[] = {"a.", "b."};
	slip_cursor c3 = slip_cursor_none(), c7 = slip_cursor_none();
	conf_watch cw;
	conf_case c;
	slip_entry *e;

	REQUIRE_OK(conf_open(&c, 0));
	for (int i = 1; i <= 10; i++) {
		char k[8];
		snprintf(k, sizeof(k), "%c.%d", i % 2 ? 'a' : 'b', i);
		PUT_S(&c, k, k);
	}
	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, pre, N(pre), NULL,
	                                  SLIP_WATCH_MARKERS, 16));
	while ((e = conf_watch_next(&cw)) != NULL &&
	       e->op != SLIP_OP_CAUGHT_UP) {
		if (strcmp(e->key, "a.3") == 0)
			c3 = e->cursor;
		if (strcmp(e->key, "a.7") == 0)
			c7 = e->cursor;
		slip_entry_free(e);
	}
	CHECK(e != NULL);
	slip_entry_free(e);
	CHECK_OK(conf_watch_stop(&cw));
	REQUIRE(!slip_cursor_is_none(&c3) && !slip_cursor_is_none(&c7));
	REQUIRE(conf_backend.drop_before(conf_ctx, c.store, 8) == 0);

	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, pre, N(pre), &c3,
	                                  SLIP_WATCH_MARKERS, 4));
	e = conf_watch_next(&cw);
	CHECK(e == NULL);
	slip_entry_free(e);
	CHECK(conf_watch_wait(&cw));
	CHECK_RC(conf_watch_stop(&cw), SLIP_ECURSOREXPIRED);

	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, pre, N(pre), &c7,
	                                  SLIP_WATCH_MARKERS, 4));
	drop(EXPECT_ENTRY(&cw, "b.8", SLIP_OP_PUT, "b.8"));
	drop(EXPECT_ENTRY(&cw, "a.9", SLIP_OP_PUT, "a.9"));
	drop(EXPECT_ENTRY(&cw, "b.10", SLIP_OP_PUT, "b.10"));
	EXPECT_MARKER(&cw);
	CHECK_OK(conf_watch_stop(&cw));
	conf_close(&c);
}

typedef struct seen {
	char keys[16][32];
	size_t n;
	bool values;
} seen;

static int seen_cb(void *payload, slip_entry *e)
{
	seen *s = payload;

	if (s->n < N(s->keys))
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", e->key);
	s->n++;
	if (e->value_len > 0)
		s->values = true;
	slip_entry_free(e);
	return 0;
}

static bool has_key(const seen *s, const char *key)
{
	for (size_t i = 0; i < s->n && i < N(s->keys); i++)
		if (strcmp(s->keys[i], key) == 0)
			return true;
	return false;
}

/* Scan and keys over a union: live keys only, each once. */
static void t_multi_scan_keys(void)
{
	static const char *const pre[] = {"node.us-", "node.", "other.", "zz"};
	static const char *const want[] = {"node.us-1", "node.us-2",
	                                   "node.eu-1", "other.x"};
	static const char *const mid[] = {"node.us-", "node.eu-"};
	static const char *const none[] = {"zz", "yy."};
	conf_case c;
	seen s;

	REQUIRE_OK(conf_open(&c, 0));
	PUT_S(&c, "node.us-1", "1");
	PUT_S(&c, "node.us-2", "2");
	PUT_S(&c, "node.eu-1", "3");
	PUT_S(&c, "nodes", "4");
	PUT_S(&c, "node", "5");
	PUT_S(&c, "other.x", "6");
	PUT_S(&c, "node.us-3", "gone");
	CHECK_OK(slip_writer_delete(c.w, "node.us-3"));
	PUT_S(&c, "node.us-1", "1b");
	for (int keys_only = 0; keys_only <= 1; keys_only++) {
		memset(&s, 0, sizeof(s));
		CHECK_OK(slip_reader_scan_each_prefixes(
		        c.r, pre, N(pre), keys_only, seen_cb, &s));
		CHECK(s.n == N(want));
		for (size_t i = 0; i < N(want); i++)
			CHECK(has_key(&s, want[i]));
		CHECK(s.values == !keys_only);
	}
	memset(&s, 0, sizeof(s));
	CHECK_OK(slip_reader_scan_each_prefixes(c.r, mid, N(mid), true, seen_cb,
	                                        &s));
	CHECK(s.n == 3 && has_key(&s, "node.us-1") &&
	      has_key(&s, "node.us-2") && has_key(&s, "node.eu-1"));
	memset(&s, 0, sizeof(s));
	CHECK_OK(slip_reader_scan_each_prefixes(c.r, none, N(none), false,
	                                        seen_cb, &s));
	CHECK(s.n == 0);
	conf_close(&c);
}

/* The version-1 options layout, as a caller built against the first header
 * passes it, followed by bytes that are not ours to read. */
typedef struct watch_options_v1 {
	unsigned version;
	const char *prefix;
	const slip_cursor *from;
	unsigned flags;
} watch_options_v1;

typedef struct v1_call {
	struct {
		watch_options_v1 v1;
		unsigned char junk[64];
	} o;
	slip_watcher *wt;
	slip_chan *ch;
	int rc;
} v1_call;

static void *v1_main(void *arg)
{
	v1_call *v = arg;

	v->rc = slip_watch(v->wt, (const slip_watch_options *)(void *)&v->o,
	                   v->ch);
	return NULL;
}

/* A caller built against the version-1 header still watches its prefix. */
static void check_v1_options(conf_case *c)
{
	v1_call v;
	pthread_t t;
	slip_entry *e = NULL;

	memset(&v, 0xff, sizeof(v));
	v.o.v1.version = 1;
	v.o.v1.prefix = "b.";
	v.o.v1.from = NULL;
	v.o.v1.flags = SLIP_WATCH_MARKERS;
	v.wt = c->wt;
	REQUIRE_OK(slip_chan_new(&v.ch, 4));
	REQUIRE(pthread_create(&t, NULL, v1_main, &v) == 0);
	CHECK_OK(slip_chan_recv(v.ch, &e, 10000));
	CHECK(e != NULL && strcmp(e->key, "b.1") == 0);
	slip_entry_free(e);
	e = NULL;
	CHECK_OK(slip_chan_recv(v.ch, &e, 10000));
	CHECK(e != NULL && e->op == SLIP_OP_CAUGHT_UP);
	slip_entry_free(e);
	slip_chan_close_recv(v.ch);
	pthread_join(t, NULL);
	CHECK_OK(v.rc);
	slip_chan_free(v.ch);
}

static int watch_now(conf_case *c, const slip_watch_options *o)
{
	slip_chan *ch = NULL;
	int rc = slip_chan_new(&ch, 4);

	if (rc == SLIP_OK)
		rc = slip_watch(c->wt, o, ch);
	slip_chan_free(ch);
	return rc;
}

static void t_multi_bad_input(void)
{
	static const char *const two[] = {"a.", "b."};
	static const char *const with_null[] = {"a.", NULL};
	static const char *const bad[] = {"a.", "b c"};
	static const char *many[SLIP_PREFIXES_MAX + 1];
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;
	slip_chan *ch = NULL;
	slip_entry *e = NULL;
	conf_case c;
	seen s;

	REQUIRE_OK(conf_open(&c, 0));
	o.prefix = "a.";
	o.prefixes = two;
	o.prefix_count = 2;
	CHECK_RC(watch_now(&c, &o), SLIP_EINVAL);
	o.prefix = NULL;
	o.prefixes = with_null;
	CHECK_RC(watch_now(&c, &o), SLIP_EINVAL);
	o.prefixes = bad;
	CHECK_RC(watch_now(&c, &o), SLIP_EINVAL);
	o.prefixes = NULL;
	CHECK_RC(watch_now(&c, &o), SLIP_EINVAL);
	for (size_t i = 0; i < N(many); i++)
		many[i] = "a.";
	o.prefixes = many;
	o.prefix_count = N(many);
	CHECK_RC(watch_now(&c, &o), SLIP_EINVAL);
	CHECK_RC(slip_reader_scan_each_prefixes(c.r, many, N(many), true,
	                                        seen_cb, &s),
	         SLIP_EINVAL);
	CHECK_RC(slip_reader_scan_each_prefixes(c.r, two, 0, true, seen_cb, &s),
	         SLIP_EINVAL);
	CHECK_RC(slip_reader_scan_each_prefixes(c.r, bad, 2, true, seen_cb, &s),
	         SLIP_EINVAL);
	REQUIRE_OK(slip_chan_new(&ch, 1));
	CHECK_RC(slip_watch_prefixes(c.wt, two, 0, NULL, ch), SLIP_EINVAL);
	CHECK(slip_chan_recv(ch, &e, 0) == SLIP_ECLOSED && e == NULL);
	slip_chan_free(ch);

	PUT_S(&c, "a.1", "1");
	PUT_S(&c, "b.1", "2");
	check_v1_options(&c);
	conf_close(&c);
}

const slip_test_case conf_multi_cases[] = {
        SLIP_TEST(t_multi_watch_union_once),
        SLIP_TEST(t_multi_watch_mid_token),
        SLIP_TEST(t_multi_watch_resume_delta),
        SLIP_TEST(t_multi_cursor_expired),
        SLIP_TEST(t_multi_scan_keys),
        SLIP_TEST(t_multi_bad_input),
        {0},
};
