/*
 * tests/interop/test_interop.c — ctest interop-js: Slipstream and the official
 * NATS JavaScript client (@nats-io/kv, driven through tests/js/kvjs.mjs) on
 * the same bucket must agree on keys, values (binary and empty included),
 * revisions and operations.
 *
 *   js -> slip: the JS client creates a bucket and writes puts, deletes,
 *     purges, creates over a tombstone and over a purge, and a CAS update;
 *     a Slipstream watch running meanwhile sees every operation as written;
 *     entry/get/scan/keys and a fresh watch's initial state match what the JS
 *     client itself reports.
 *   slip -> js: Slipstream writes the same kinds of operations while a JS
 *     watch runs; the JS watch sees each one, and the JS client's view of the
 *     final state (watch, get, keys) matches what Slipstream wrote.
 */
#include "jsutil.h"
#include "natsd.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPS   64
#define HEX_MAX   1024
#define LINE_MAX_ 4096

static slip_natsd *g_srv;

static const char *url(void)
{
	if (!g_srv && (ju_check_node() != 0 || slip_natsd_start(&g_srv, NULL)))
		return NULL;
	return slip_natsd_url(g_srv);
}

/* One operation or entry as both sides describe it. */
typedef struct rec {
	char key[128];
	slip_op op;
	uint64_t rev;
	char hex[HEX_MAX];
} rec;

static slip_op op_from_js(const char *s)
{
	if (!strcmp(s, "PUT"))
		return SLIP_OP_PUT;
	if (!strcmp(s, "DEL"))
		return SLIP_OP_DELETE;
	if (!strcmp(s, "PURGE"))
		return SLIP_OP_PURGE;
	return (slip_op)0;
}

static bool rec_from_line(rec *r, const char *line)
{
	char op[16];

	memset(r, 0, sizeof(*r));
	return ju_json_str(line, "key", r->key, sizeof(r->key)) &&
	       ju_json_str(line, "op", op, sizeof(op)) &&
	       (r->op = op_from_js(op)) != 0 &&
	       ju_json_u64(line, "rev", &r->rev) &&
	       ju_json_str(line, "hex", r->hex, sizeof(r->hex));
}

static void rec_from_entry(rec *r, const slip_entry *e)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->key, sizeof(r->key), "%s", e->key);
	r->op = e->op;
	slip_version_to_u64(&e->version, &r->rev);
	if (e->value_len * 2 < HEX_MAX)
		ju_hex(r->hex, e->value, e->value_len);
	else
		snprintf(r->hex, sizeof(r->hex), "<%zu bytes>", e->value_len);
}

static bool rec_eq(const rec *a, const rec *b)
{
	return !strcmp(a->key, b->key) && a->op == b->op && a->rev == b->rev &&
	       !strcmp(a->hex, b->hex);
}

#define CHECK_REC(got, want)                                                   \
	do {                                                                   \
		if (!rec_eq((got), (want)))                                    \
			slip_test_fail(                                        \
			        __FILE__, __LINE__,                            \
			        "got %s %s rev %llu [%.40s], want %s %s "      \
			        "rev %llu [%.40s]",                            \
			        (got)->key, slip_op_name((got)->op),           \
			        (unsigned long long)(got)->rev, (got)->hex,    \
			        (want)->key, slip_op_name((want)->op),         \
			        (unsigned long long)(want)->rev, (want)->hex); \
	} while (0)

/* The latest record per key in @p ops (n of them) for @p key, or NULL. */
static const rec *last_for(const rec *ops, int n, const char *key)
{
	const rec *found = NULL;
	for (int i = 0; i < n; i++)
		if (!strcmp(ops[i].key, key))
			found = &ops[i];
	return found;
}

/* ----------------------------------------------------- a slip watch thread */

typedef struct watch_thread {
	pthread_t th;
	slip_watcher *w;
	slip_chan *ch;
	int rc;
} watch_thread;

static void *watch_main(void *arg)
{
	watch_thread *t = arg;
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;

	o.flags = SLIP_WATCH_MARKERS;
	t->rc = slip_watch(t->w, &o, t->ch);
	return NULL;
}

static int watch_start(watch_thread *t, slip_store *st)
{
	memset(t, 0, sizeof(*t));
	t->w = slip_store_watcher(st);
	if (!t->w || slip_chan_new(&t->ch, 256) != SLIP_OK)
		return -1;
	if (pthread_create(&t->th, NULL, watch_main, t) != 0) {
		slip_chan_free(t->ch);
		return -1;
	}
	return 0;
}

/* Next entry that is not a marker (1), a marker (2), or 0 on timeout/end. */
static int watch_next(watch_thread *t, rec *r, int timeout_ms)
{
	slip_entry *e = NULL;
	int kind;

	if (slip_chan_recv(t->ch, &e, timeout_ms) != SLIP_OK)
		return 0;
	kind = e->op == SLIP_OP_CAUGHT_UP ? 2 : 1;
	if (kind == 1)
		rec_from_entry(r, e);
	slip_entry_free(e);
	return kind;
}

static int watch_stop(watch_thread *t)
{
	slip_chan_close_recv(t->ch);
	pthread_join(t->th, NULL);
	slip_chan_free(t->ch);
	return t->rc;
}

/* Collects a watch's initial state (until the caught-up marker). */
static int initial_state(slip_store *st, rec *out, int cap)
{
	watch_thread t;
	rec r;
	int n = 0, kind;

	if (watch_start(&t, st) != 0)
		return -1;
	while ((kind = watch_next(&t, &r, 10000)) == 1)
		if (n < cap)
			out[n++] = r;
	if (kind != 2)
		n = -1;
	if (watch_stop(&t) != SLIP_OK)
		n = -1;
	return n;
}

/* ------------------------------------------------------------ js -> slip */

/* Parses `kvjs state` output into watch (w), get (g) and keys (k) lists. */
typedef struct js_state {
	rec w[MAX_OPS], g[MAX_OPS];
	char k[MAX_OPS][128];
	int nw, ng, nk;
} js_state;

static int js_state_load(js_state *s, const char *bucket)
{
	const char *args[] = {url(), bucket, NULL};
	char *out = NULL, *save = NULL, *line;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = ju_run(&out, "kvjs.mjs",
	            (const char *const[]){"state", args[0], args[1], NULL},
	            60000);
	for (line = out ? strtok_r(out, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "\"w\":1") && s->nw < MAX_OPS)
			rec_from_line(&s->w[s->nw++], line);
		else if (strstr(line, "\"g\":1") && s->ng < MAX_OPS)
			rec_from_line(&s->g[s->ng++], line);
		else if (strstr(line, "\"k\":1") && s->nk < MAX_OPS)
			ju_json_str(line, "key", s->k[s->nk++], 128);
	}
	free(out);
	return rc;
}

static bool has_key(char keys[][128], int n, const char *k)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(keys[i], k))
			return true;
	return false;
}

static void compare_reads(slip_store *st, const rec *ops, int nops,
                          const js_state *js)
{
	slip_reader *r = slip_store_reader(st);
	slip_entry_list list = {0};
	slip_key_list keys = {0};
	rec got, init[MAX_OPS];
	int n, live = 0;

	/* entry/get per key, against the write log and the JS client's get. */
	for (int i = 0; i < js->ng; i++) {
		const rec *want = &js->g[i];
		const rec *logged = last_for(ops, nops, want->key);
		slip_entry *e = NULL, *g = NULL;

		CHECK(logged && rec_eq(logged, want));
		CHECK_OK(slip_reader_entry(r, want->key, &e));
		CHECK_OK(slip_reader_get(r, want->key, &g));
		if (want->op == SLIP_OP_PURGE && e == NULL) {
			/*
			 * History removed: conn.h allows entry() to report
			 * nothing; when it reports the marker, it must be the
			 * one the JS client sees (checked below).
			 */
		} else if (e) {
			rec_from_entry(&got, e);
			CHECK_REC(&got, want);
		} else {
			slip_test_fail(__FILE__, __LINE__, "entry(%s) is NULL",
			               want->key);
		}
		if (want->op == SLIP_OP_PUT) {
			live++;
			if (g) {
				rec_from_entry(&got, g);
				CHECK_REC(&got, want);
			} else {
				slip_test_fail(__FILE__, __LINE__,
				               "get(%s) is NULL", want->key);
			}
		} else {
			CHECK(g == NULL);
		}
		slip_entry_free(e);
		slip_entry_free(g);
	}

	/* scan and keys: exactly the live keys the JS client lists. */
	CHECK_OK(slip_reader_scan(r, "", &list));
	CHECK(list.count == (size_t)live && js->nk == live);
	for (size_t i = 0; i < list.count; i++) {
		const rec *want = last_for(js->g, js->ng, list.entries[i]->key);
		rec_from_entry(&got, list.entries[i]);
		CHECK(want != NULL);
		if (want)
			CHECK_REC(&got, want);
		CHECK(has_key((char(*)[128])js->k, js->nk, got.key));
	}
	slip_entry_list_free(&list);
	CHECK_OK(slip_reader_keys(r, "", &keys));
	CHECK(keys.count == (size_t)js->nk);
	for (size_t i = 0; i < keys.count; i++)
		CHECK(has_key((char(*)[128])js->k, js->nk, keys.keys[i]));
	slip_key_list_free(&keys);

	/*
	 * String prefixes (not token-aligned ones too): Slipstream's scan and
	 * keys under a prefix are exactly the JS client's live keys that
	 * start with it.
	 */
	static const char *const prefixes[] = {"b",  "b.",   "d",
	                                       "di", "bin/", "zz"};
	for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
		const char *pre = prefixes[p];
		size_t want = 0;
		for (int i = 0; i < js->nk; i++)
			want += strncmp(js->k[i], pre, strlen(pre)) == 0;
		CHECK_OK(slip_reader_scan(r, pre, &list));
		CHECK_OK(slip_reader_keys(r, pre, &keys));
		if (list.count != want || keys.count != want)
			slip_test_fail(
			        __FILE__, __LINE__,
			        "prefix \"%s\": scan %zu, keys %zu, JS %zu",
			        pre, list.count, keys.count, want);
		for (size_t i = 0; i < list.count; i++)
			CHECK(!strncmp(list.entries[i]->key, pre,
			               strlen(pre)) &&
			      has_key((char(*)[128])js->k, js->nk,
			              list.entries[i]->key));
		slip_entry_list_free(&list);
		slip_key_list_free(&keys);
	}

	/* A fresh watch's initial state equals the JS watch's. */
	n = initial_state(st, init, MAX_OPS);
	CHECK(n == js->nw);
	for (int i = 0; i < n; i++) {
		const rec *want = last_for(js->w, js->nw, init[i].key);
		CHECK(want != NULL);
		if (want)
			CHECK_REC(&init[i], want);
	}
}

static void t_js_writes_slip_reads(void)
{
	const char *u = url();
	slip_conn *c = NULL;
	slip_store *st = NULL;
	watch_thread wt;
	rec ops[MAX_OPS], got;
	js_state *js = NULL;
	char *out = NULL, *save = NULL, *line;
	int nops = 0, kind;

	REQUIRE(u);
	REQUIRE(ju_run(&out, "kvjs.mjs",
	               (const char *const[]){"create", u, "jsw", "10", NULL},
	               60000) == 0);
	free(out);
	out = NULL;
	REQUIRE_OK(slip_connect(&c, u));
	CHECK_OK(slip_store_open(&st, c, "jsw"));
	if (!st || watch_start(&wt, st) != 0) {
		slip_store_free(st);
		slip_conn_free(c);
		REQUIRE(!"store and watch");
	}
	CHECK(watch_next(&wt, &got, 10000) == 2); /* empty: caught up */

	CHECK(ju_run(&out, "kvjs.mjs",
	             (const char *const[]){"write", u, "jsw", NULL},
	             60000) == 0);
	for (line = out ? strtok_r(out, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		if (nops < MAX_OPS && rec_from_line(&ops[nops], line))
			nops++;
	free(out);
	CHECK(nops == 15);

	/* The live watch saw every operation, in order, as the JS side did. */
	for (int i = 0; i < nops; i++) {
		kind = watch_next(&wt, &got, 10000);
		if (kind != 1) {
			slip_test_fail(__FILE__, __LINE__,
			               "watch: op %d of %d missing", i + 1,
			               nops);
			break;
		}
		CHECK_REC(&got, &ops[i]);
	}
	CHECK_OK(watch_stop(&wt));

	js = calloc(1, sizeof(*js));
	if (js && js_state_load(js, "jsw") == 0)
		compare_reads(st, ops, nops, js);
	else
		slip_test_fail(__FILE__, __LINE__, "kvjs state failed");
	free(js);
	slip_store_free(st);
	slip_conn_free(c);
}

/* ------------------------------------------------------------ slip -> js */

/* Appends what Slipstream just did to the expected log. */
static void expect(rec *ops, int *n, const char *key, slip_op op, uint64_t rev,
                   const void *val, size_t len)
{
	rec *r = &ops[(*n)++];
	memset(r, 0, sizeof(*r));
	snprintf(r->key, sizeof(r->key), "%s", key);
	r->op = op;
	r->rev = rev;
	ju_hex(r->hex, val, len);
}

/* Runs the write sequence; returns the number of operations or -1. */
static int slip_write_sequence(slip_writer *w, slip_reader *r, rec *ops)
{
	static const uint8_t bin[] = {0, 1, 2, 255, 254, 0, 10, 13};
	uint8_t big[300];
	slip_version v, va;
	uint64_t rev = 0, u;
	int n = 0;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
#define STEP(call)                                                             \
	do {                                                                   \
		int rc_ = (call);                                              \
		if (rc_ != SLIP_OK) {                                          \
			slip_test_fail(__FILE__, __LINE__, "%s: %s (%s)",      \
			               #call, slip_err_name(rc_),              \
			               slip_last_error());                     \
			return -1;                                             \
		}                                                              \
		rev++;                                                         \
	} while (0)
#define CHECK_V()                                                              \
	do {                                                                   \
		slip_version_to_u64(&v, &u);                                   \
		CHECK(u == rev);                                               \
	} while (0)

	STEP(slip_writer_put(w, "s.a", "one", 3, &v));
	CHECK_V();
	expect(ops, &n, "s.a", SLIP_OP_PUT, rev, "one", 3);
	va = v;
	STEP(slip_writer_put(w, "s.bin", bin, sizeof(bin), &v));
	CHECK_V();
	expect(ops, &n, "s.bin", SLIP_OP_PUT, rev, bin, sizeof(bin));
	STEP(slip_writer_put(w, "big/v", big, sizeof(big), &v));
	CHECK_V();
	expect(ops, &n, "big/v", SLIP_OP_PUT, rev, big, sizeof(big));
	STEP(slip_writer_delete(w, "s.bin"));
	expect(ops, &n, "s.bin", SLIP_OP_DELETE, rev, "", 0);
	STEP(slip_writer_create(w, "s.bin", "again", 5, &v));
	CHECK_V();
	expect(ops, &n, "s.bin", SLIP_OP_PUT, rev, "again", 5);
	STEP(slip_writer_put(w, "empty", "", 0, &v));
	CHECK_V();
	expect(ops, &n, "empty", SLIP_OP_PUT, rev, "", 0);
	STEP(slip_writer_update(w, "s.a", "two", 3, &va, &v));
	CHECK_V();
	expect(ops, &n, "s.a", SLIP_OP_PUT, rev, "two", 3);
	STEP(slip_writer_put(w, "p-q=r", "x", 1, &v));
	expect(ops, &n, "p-q=r", SLIP_OP_PUT, rev, "x", 1);
	STEP(slip_writer_purge(w, "p-q=r"));
	expect(ops, &n, "p-q=r", SLIP_OP_PURGE, rev, "", 0);
	STEP(slip_writer_create(w, "p-q=r", "after", 5, &v));
	CHECK_V();
	expect(ops, &n, "p-q=r", SLIP_OP_PUT, rev, "after", 5);
	STEP(slip_writer_delete_version(w, "s.a", &v) == SLIP_EREVISION
	             ? SLIP_OK
	             : SLIP_EBACKEND);
	rev--; /* the conflicting delete wrote nothing */
	{
		slip_entry *e = NULL;
		if (slip_reader_entry(r, "s.a", &e) == SLIP_OK && e) {
			STEP(slip_writer_delete_version(w, "s.a", &e->version));
			expect(ops, &n, "s.a", SLIP_OP_DELETE, rev, "", 0);
		}
		slip_entry_free(e);
	}
	STEP(slip_writer_put(w, "deep.x.y", "z", 1, &v));
	expect(ops, &n, "deep.x.y", SLIP_OP_PUT, rev, "z", 1);
	STEP(slip_writer_purge(w, "empty"));
	expect(ops, &n, "empty", SLIP_OP_PURGE, rev, "", 0);
#undef STEP
#undef CHECK_V
	return n;
}

static void t_slip_writes_js_reads(void)
{
	const char *u = url();
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_conn *c = NULL;
	slip_store *st = NULL;
	ju_proc *p = NULL;
	rec ops[MAX_OPS], got;
	js_state *js = NULL;
	char line[LINE_MAX_], count[16];
	int n, seen = 0, r;

	REQUIRE(u);
	REQUIRE_OK(slip_connect(&c, u));
	cfg.name = "slw";
	cfg.max_history = 10;
	CHECK_OK(slip_store_open_config(&st, c, &cfg));
	p = calloc(1, sizeof(*p));
	if (!st || !p)
		goto done;
	/* 13 operations; the JS watch stops after that many live updates. */
	snprintf(count, sizeof(count), "%d", 13);
	if (ju_spawn(p, "kvjs.mjs",
	             (const char *const[]){"watch", u, "slw", count, NULL})) {
		slip_test_fail(__FILE__, __LINE__, "cannot start kvjs watch");
		goto done;
	}
	while ((r = ju_readline(p, line, sizeof(line), 30000)) == 1 &&
	       !strstr(line, "\"ready\""))
		;
	CHECK(r == 1);
	n = slip_write_sequence(slip_store_writer(st), slip_store_reader(st),
	                        ops);
	CHECK(n == 13);
	while (n > 0 && seen < n &&
	       ju_readline(p, line, sizeof(line), 30000) == 1) {
		if (!strstr(line, "\"update\":true"))
			continue;
		if (!rec_from_line(&got, line)) {
			slip_test_fail(__FILE__, __LINE__, "bad line %s", line);
			continue;
		}
		CHECK_REC(&got, &ops[seen]);
		seen++;
	}
	CHECK(seen == n);
	CHECK(ju_finish(p, 10000) == 0);

	/* The JS client's view of the final state. */
	js = calloc(1, sizeof(*js));
	if (js && n > 0 && js_state_load(js, "slw") == 0) {
		int live = 0, nkeys = 0;
		for (int i = 0; i < n; i++) {
			const rec *last = last_for(ops, n, ops[i].key);
			if (last != &ops[i])
				continue; /* not the key's final op */
			nkeys++;
			live += last->op == SLIP_OP_PUT;
			const rec *w = last_for(js->w, js->nw, last->key);
			const rec *g = last_for(js->g, js->ng, last->key);
			CHECK(w && g);
			if (w)
				CHECK_REC(w, last);
			if (g)
				CHECK_REC(g, last);
			CHECK(has_key(js->k, js->nk, last->key) ==
			      (last->op == SLIP_OP_PUT));
		}
		CHECK(js->nw == nkeys);
		CHECK(js->nk == live);
	} else {
		slip_test_fail(__FILE__, __LINE__, "kvjs state failed");
	}
done:
	if (p && p->pid > 0)
		ju_finish(p, 1000);
	free(p);
	free(js);
	slip_store_free(st);
	slip_conn_free(c);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_js_writes_slip_reads),
        SLIP_TEST(t_slip_writes_js_reads),
        {0},
};

int main(int argc, char **argv)
{
	int rc = slip_test_main(argc, argv, cases);
	slip_natsd_free(g_srv);
	return rc;
}
