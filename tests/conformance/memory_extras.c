/*
 * tests/conformance/memory_extras.c — what the memory backend does beyond
 * the conformance suite: namespaces shared by connections, its URL rules,
 * limits (max_value_size, max_bytes, max_age_ms), retention while a watch
 * runs, store handles following a recreated bucket, large logs (compaction,
 * long prefix scans, key map removal), entry->pending, no thread started
 * by the backend, and random writes checked against a model.
 * ctest: memory-extras.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <slipstream/memory.h>

#include "conformance.h"

/* The suite's helpers connect through the fixture's URL. */
static const char *extras_url(void *ctx)
{
	(void)ctx;
	return "mem://extras";
}

static int extras_drop(void *ctx, slip_store *store, uint64_t revision)
{
	(void)ctx;
	return slip_mem_drop_before(store, revision);
}

const conf_fixture conf_backend = {
        .name = "mem-extras",
        .url = extras_url,
        .drop_before = extras_drop,
};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int open_cfg(slip_store **out, slip_conn *conn,
                    const slip_store_config *base, const char *name)
{
	slip_store_config cfg = *base;

	cfg.name = name;
	return slip_store_open_config(out, conn, &cfg);
}

static void put_n(slip_writer *w, const char *fmt, int from, int to)
{
	for (int i = from; i < to; i++) {
		char k[64];
		snprintf(k, sizeof(k), fmt, i);
		CHECK_OK(slip_writer_put(w, k, k, strlen(k), NULL));
	}
}

static void t_namespaces_shared_and_separate(void)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_conn *a = NULL, *b = NULL, *other = NULL;
	slip_store *sa = NULL, *sb = NULL, *so = NULL;
	slip_entry *e = NULL;

	REQUIRE_OK(slip_connect(&a, "mem://ns1"));
	REQUIRE_OK(slip_connect(&b, "mem://ns1"));
	REQUIRE_OK(slip_connect(&other, "mem://ns2"));
	CHECK(strcmp(slip_conn_backend_name(a), "mem") == 0);
	CHECK_OK(open_cfg(&sa, a, &cfg, "shared"));
	CHECK_OK(slip_writer_put(slip_store_writer(sa), "k", "v", 1, NULL));
	/* Another connection naming ns1 sees the bucket and its data. */
	CHECK_OK(slip_store_open(&sb, b, "shared"));
	if (sb != NULL)
		CHECK_OK(slip_reader_get(slip_store_reader(sb), "k", &e));
	CHECK(e != NULL && e->value_len == 1);
	slip_entry_free(e);
	/* ns2 is another world. */
	CHECK_RC(slip_store_open(&so, other, "shared"), SLIP_ENOTFOUND);
	slip_store_free(sa);
	slip_store_free(sb);
	slip_conn_free(a);
	slip_conn_free(b);
	slip_conn_free(other);

	/* The namespace went with its last connection. */
	REQUIRE_OK(slip_connect(&a, "mem://ns1"));
	CHECK_RC(slip_store_open(&sa, a, "shared"), SLIP_ENOTFOUND);
	slip_conn_free(a);
}

static void t_url_rules(void)
{
	slip_conn *c = NULL;

	CHECK_RC(slip_connect(&c, "mem://bad/name"), SLIP_EINVAL);
	CHECK_RC(slip_connect(&c, "mem://a b"), SLIP_EINVAL);
	CHECK_RC(slip_connect(&c, "mem://a?x=1"), SLIP_EINVAL);
	CHECK(c == NULL);
	CHECK_OK(slip_connect(&c, "mem://"));
	slip_conn_free(c);
	c = NULL;
	CHECK_OK(slip_connect(&c, "mem://My-ns_1.x"));
	slip_conn_free(c);
}

static void t_limits_value_size_and_bytes(void)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_store_info info;
	slip_conn *conn = NULL;
	slip_store *s = NULL;
	slip_writer *w;
	char big[64];

	memset(big, 'x', sizeof(big));
	REQUIRE_OK(slip_connect(&conn, "mem://limits"));
	cfg.max_value_size = 16;
	cfg.max_bytes = 40;
	REQUIRE_OK(open_cfg(&s, conn, &cfg, "lim"));
	w = slip_store_writer(s);
	CHECK_RC(slip_writer_put(w, "a", big, 17, NULL), SLIP_ETOOBIG);
	CHECK_OK(slip_writer_put(w, "a", big, 16, NULL)); /* 17 bytes */
	CHECK_OK(slip_writer_put(w, "b", big, 16, NULL)); /* 34 bytes */
	CHECK_RC(slip_writer_put(w, "c", big, 16, NULL), SLIP_ETOOBIG);
	/* Overwriting frees the value it replaces (history 1). */
	CHECK_OK(slip_writer_put(w, "a", big, 10, NULL));
	CHECK_OK(slip_store_get_info(s, &info));
	CHECK(info.bytes == 11 + 17 && info.messages == 2);
	CHECK(info.max_bytes == 40 && info.max_value_size == 16);
	slip_store_free(s);
	slip_store_delete(conn, "lim");
	slip_conn_free(conn);
}

static void t_max_age_expires_records(void)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_store_info info;
	slip_conn *conn = NULL;
	slip_store *s = NULL;
	slip_entry *e = NULL;

	REQUIRE_OK(slip_connect(&conn, "mem://age"));
	cfg.max_age_ms = 100;
	REQUIRE_OK(open_cfg(&s, conn, &cfg, "aging"));
	CHECK_OK(slip_writer_put(slip_store_writer(s), "old", "1", 1, NULL));
	sleep_ms(250);
	CHECK_OK(slip_writer_put(slip_store_writer(s), "new", "2", 1, NULL));
	CHECK_OK(slip_reader_get(slip_store_reader(s), "old", &e));
	CHECK(e == NULL);
	slip_entry_free(e);
	CHECK_OK(slip_store_get_info(s, &info));
	/* "new" may itself have expired on a slow machine; "old" has. */
	CHECK(info.messages <= 1 && info.first_seq >= 2 && info.last_seq == 2);
	slip_store_free(s);
	slip_conn_free(conn);
}

static void t_handle_follows_recreated_bucket(void)
{
	conf_case c;
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_store *fresh = NULL;
	slip_entry *e = NULL;

	REQUIRE_OK(conf_open(&c, 0));
	CHECK_OK(slip_writer_put(c.w, "k", "old", 3, NULL));
	CHECK_OK(slip_store_delete(c.conn, c.bucket));
	CHECK_RC(slip_reader_get(c.r, "k", &e), SLIP_ENOTFOUND);
	CHECK_RC(slip_writer_put(c.w, "k", "x", 1, NULL), SLIP_ENOTFOUND);
	cfg.name = c.bucket;
	REQUIRE_OK(slip_store_open_config(&fresh, c.conn, &cfg));
	/* The old handle now works on the new, empty bucket. */
	CHECK_OK(slip_reader_get(c.r, "k", &e));
	CHECK(e == NULL);
	CHECK_OK(slip_writer_put(c.w, "k", "new", 3, NULL));
	CHECK_OK(slip_reader_get(slip_store_reader(fresh), "k", &e));
	CHECK(e != NULL && e->value_len == 3 &&
	      memcmp(e->value, "new", 3) == 0);
	slip_entry_free(e);
	slip_store_free(fresh);
	conf_close(&c);
}

static void t_drop_before_arguments(void)
{
	conf_case c;

	CHECK_RC(slip_mem_drop_before(NULL, 1), SLIP_EINVAL);
	REQUIRE_OK(conf_open(&c, 0));
	put_n(c.w, "k%d", 0, 3);
	/* Past the end drops everything; later writes go on numbering. */
	CHECK_OK(slip_mem_drop_before(c.store, 100));
	{
		slip_store_info info;
		slip_version v;
		CHECK_OK(slip_store_get_info(c.store, &info));
		CHECK(info.messages == 0 && info.first_seq == 4 &&
		      info.last_seq == 3);
		CHECK_OK(slip_writer_put(c.w, "k", "v", 1, &v));
		CHECK(conf_rev(&v) == 4);
	}
	slip_conn_close(c.conn);
	CHECK_RC(slip_mem_drop_before(c.store, 1), SLIP_ENOTCONNECTED);
	slip_store_free(c.store);
	slip_conn_free(c.conn);
}

static void t_retention_during_watch_is_reported(void)
{
	conf_watch cw;
	conf_case c;
	slip_entry *e;
	uint64_t prev = 0;
	int got = 0;

	REQUIRE_OK(conf_open(&c, 0));
	put_n(c.w, "k%d", 0, 200);
	REQUIRE_OK(conf_watch_start(&cw, c.wt, NULL, NULL, 0, 1));
	e = conf_watch_next(&cw);
	CHECK(e != NULL);
	prev = e ? conf_rev(&e->version) : 0;
	slip_entry_free(e);
	REQUIRE_OK(slip_mem_drop_before(c.store, 150));
	/* Whatever arrives is gap-free; then the watch says it lost data. */
	while ((e = conf_watch_next(&cw)) != NULL) {
		CHECK(conf_rev(&e->version) == prev + 1);
		prev = conf_rev(&e->version);
		got++;
		slip_entry_free(e);
	}
	CHECK(prev < 149);
	CHECK(conf_watch_wait(&cw));
	CHECK_RC(conf_watch_stop(&cw), SLIP_ECURSOREXPIRED);
	conf_close(&c);
}

static void t_large_log_and_long_prefix_scan(void)
{
	slip_store_info info;
	slip_key_list kl = {0, NULL};
	conf_watch cw;
	conf_case c;
	slip_entry *e;
	int n = 0;

	REQUIRE_OK(conf_open(&c, 0));
	/* 20000 writes over 100 keys: the log compacts as history goes. */
	for (int round = 0; round < 200; round++)
		put_n(c.w, "hot.%d", 0, 100);
	CHECK_OK(slip_store_get_info(c.store, &info));
	CHECK(info.messages == 100 && info.last_seq == 20000 &&
	      info.first_seq == 19901);
	/* 10000 non-matching records before the only match. */
	put_n(c.w, "cold.%d", 0, 10000);
	CHECK_OK(slip_writer_put(c.w, "needle", "!", 1, NULL));
	REQUIRE_OK(conf_watch_start(&cw, c.wt, "need", NULL, SLIP_WATCH_MARKERS,
	                            4));
	e = EXPECT_ENTRY(&cw, "needle", SLIP_OP_PUT, "!");
	slip_entry_free(e);
	EXPECT_MARKER(&cw);
	CHECK_OK(conf_watch_stop(&cw));

	/* Full watch: every key once, pending counting down to 0. */
	REQUIRE_OK(conf_watch_start(&cw, c.wt, "hot.", NULL, SLIP_WATCH_MARKERS,
	                            16));
	while ((e = conf_watch_next(&cw)) != NULL &&
	       e->op != SLIP_OP_CAUGHT_UP) {
		n++;
		CHECK(e->pending <= 100 - (uint64_t)n);
		if (n == 100)
			CHECK(e->pending == 0);
		slip_entry_free(e);
	}
	slip_entry_free(e);
	CHECK(n == 100);
	CHECK_OK(conf_watch_stop(&cw));

	/* Dropping half of the cold keys removes them from the key map. */
	CHECK_OK(slip_mem_drop_before(c.store, 20000 + 5001));
	CHECK_OK(slip_reader_keys(c.r, "cold.", &kl));
	CHECK(kl.count == 5000);
	slip_key_list_free(&kl);
	for (int i = 0; i < 10000; i += 97) {
		char k[32];
		snprintf(k, sizeof(k), "cold.%d", i);
		e = NULL;
		CHECK_OK(slip_reader_get(c.r, k, &e));
		CHECK((e != NULL) == (i >= 5000));
		slip_entry_free(e);
	}
	conf_close(&c);
}

static void t_close_while_watch_blocked(void)
{
	conf_watch cw;
	conf_case c;
	slip_conn *again = NULL;

	REQUIRE_OK(conf_open(&c, 0));
	put_n(c.w, "k%d", 0, 20);
	REQUIRE_OK(conf_watch_start(&cw, c.wt, NULL, NULL, 0, 1));
	/* Nobody reads: the watch is blocked on the full channel. */
	slip_conn_close(c.conn);
	CHECK(conf_watch_wait(&cw));
	CHECK_RC(conf_watch_stop(&cw), SLIP_ENOTCONNECTED);
	if (slip_connect(&again, "mem://extras") == SLIP_OK)
		slip_store_delete(again, c.bucket);
	slip_conn_free(again);
	conf_close(&c);
}

/* Threads of this process, from /proc/self/task. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void t_backend_starts_no_thread(void)
{
	conf_watch cw[3];
	conf_case c;
	int before;

	REQUIRE_OK(conf_open(&c, 0));
	put_n(c.w, "k%d", 0, 10);
	before = thread_count();
	REQUIRE(before > 0);
	for (int i = 0; i < 3; i++) {
		REQUIRE_OK(conf_watch_start(&cw[i], c.wt, NULL, NULL,
		                            SLIP_WATCH_MARKERS, 4));
		slip_entry_free(conf_watch_next(&cw[i]));
	}
	/* Only the three threads this test made. */
	CHECK(thread_count() == before + 3);
	for (int i = 0; i < 3; i++)
		CHECK_OK(conf_watch_stop(&cw[i]));
	CHECK(thread_count() == before);
	conf_close(&c);
}

/* ------------------------------------------------ a model to compare with */

#define M_KEYS 6
#define M_HIST 3
#define M_MAX  20000

/* Every record ever written; held says whether the bucket keeps it. */
typedef struct m_rec {
	int key;
	slip_op op;
	int value;
	bool held;
} m_rec;

static m_rec m_log[M_MAX + 1]; /* by sequence, from 1 */
static uint64_t m_last;

static const char *m_key(int k)
{
	static const char *const names[M_KEYS] = {"a",  "a.b", "a.c",
	                                          "ab", "b",   "b.x"};
	return names[k];
}

/* Latest held record of key @p k, or 0. */
static uint64_t m_latest(int k)
{
	for (uint64_t s = m_last; s > 0; s--)
		if (m_log[s].held && m_log[s].key == k)
			return s;
	return 0;
}

static void m_append(int k, slip_op op, int value)
{
	int count = 0;

	m_last++;
	m_log[m_last] = (m_rec){k, op, value, true};
	for (uint64_t s = m_last - 1; s > 0; s--) {
		if (!m_log[s].held || m_log[s].key != k)
			continue;
		if (op == SLIP_OP_PURGE || ++count >= M_HIST)
			m_log[s].held = false;
	}
}

static uint64_t m_first(void)
{
	for (uint64_t s = 1; s <= m_last; s++)
		if (m_log[s].held)
			return s;
	return m_last + 1;
}

/* One random write on store and model; results must agree. */
static void m_write(conf_case *c, unsigned *seed)
{
	int k = (int)(rand_r(seed) % M_KEYS), op = (int)(rand_r(seed) % 6);
	int value = (int)(rand_r(seed) % 1000);
	uint64_t latest = m_latest(k);
	slip_op lop = latest ? m_log[latest].op : SLIP_OP_PURGE;
	/* Half the CAS attempts use the right version, half a wrong one. */
	uint64_t guess = rand_r(seed) % 2 ? latest : latest + 1;
	slip_version v = slip_version_from_u64(guess);
	char val[16];
	int rc, want = SLIP_OK;

	snprintf(val, sizeof(val), "%d", value);
	switch (op) {
	case 0:
		rc = slip_writer_put(c->w, m_key(k), val, strlen(val), NULL);
		break;
	case 1:
		rc = slip_writer_create(c->w, m_key(k), val, strlen(val), NULL);
		want = lop == SLIP_OP_PUT ? SLIP_EEXISTS : SLIP_OK;
		break;
	case 2:
		rc = slip_writer_update(c->w, m_key(k), val, strlen(val), &v,
		                        NULL);
		want = guess == latest ? SLIP_OK : SLIP_EREVISION;
		break;
	case 3:
		rc = slip_writer_delete(c->w, m_key(k));
		break;
	case 4:
		rc = slip_writer_delete_version(c->w, m_key(k), &v);
		want = guess == latest ? SLIP_OK : SLIP_EREVISION;
		break;
	default:
		rc = slip_writer_purge(c->w, m_key(k));
		break;
	}
	CHECK(rc == want);
	if (rc != SLIP_OK)
		return;
	m_append(k,
	         op <= 2   ? SLIP_OP_PUT
	         : op <= 4 ? SLIP_OP_DELETE
	                   : SLIP_OP_PURGE,
	         value);
}

static void m_check_reads(conf_case *c)
{
	slip_store_info info;

	for (int k = 0; k < M_KEYS; k++) {
		uint64_t s = m_latest(k);
		slip_entry *e = NULL;
		bool live = s && m_log[s].op == SLIP_OP_PUT;
		CHECK_OK(slip_reader_get(c->r, m_key(k), &e));
		CHECK((e != NULL) == live);
		if (e != NULL && live)
			CHECK(conf_rev(&e->version) == s &&
			      atoi((const char *)e->value) == m_log[s].value);
		slip_entry_free(e);
		e = NULL;
		CHECK_OK(slip_reader_entry(c->r, m_key(k), &e));
		/* entry shows the latest record, tombstones and purges too */
		CHECK((e != NULL) == (s != 0));
		if (e != NULL)
			CHECK(conf_rev(&e->version) == s &&
			      e->op == m_log[s].op);
		slip_entry_free(e);
	}
	CHECK_OK(slip_store_get_info(c->store, &info));
	CHECK(info.last_seq == m_last && info.first_seq == m_first());
}

/* Watch from a random cursor (prefix "a"): exactly the held records after
 * it, in order, then the marker. */
static void m_check_watch(conf_case *c, unsigned *seed)
{
	uint64_t first = m_first(), from;
	slip_cursor cur;
	conf_watch cw;
	slip_entry *e;

	from = first - 1 + rand_r(seed) % (m_last - first + 2);
	cur = slip_cursor_none();
	cur.len = 8;
	for (int i = 7, x = 0; i >= 0; i--, x += 8)
		cur.bytes[i] = (uint8_t)(from >> x);
	REQUIRE_OK(
	        conf_watch_start(&cw, c->wt, "a", &cur, SLIP_WATCH_MARKERS, 8));
	for (uint64_t s = from + 1; s <= m_last; s++) {
		if (!m_log[s].held || m_key(m_log[s].key)[0] != 'a')
			continue;
		e = conf_watch_next(&cw);
		REQUIRE(e != NULL);
		CHECK(conf_rev(&e->version) == s && e->op == m_log[s].op &&
		      strcmp(e->key, m_key(m_log[s].key)) == 0);
		slip_entry_free(e);
	}
	e = conf_watch_next(&cw);
	CHECK(e != NULL && e->op == SLIP_OP_CAUGHT_UP);
	slip_entry_free(e);
	CHECK_OK(conf_watch_stop(&cw));
}

static void t_random_ops_match_model(void)
{
	unsigned seed = 12345;
	conf_case c;

	memset(m_log, 0, sizeof(m_log));
	m_last = 0;
	REQUIRE_OK(conf_open(&c, M_HIST));
	for (int i = 1; i <= 6000 && slip_test_case_failures() == 0; i++) {
		m_write(&c, &seed);
		if (i % 7 == 0)
			m_check_reads(&c);
		if (i % 300 == 0)
			m_check_watch(&c, &seed);
		if (i % 1100 == 0) {
			/* Retention: drop a random stretch of old records. */
			uint64_t rev = m_first() + rand_r(&seed) % 50;
			CHECK_OK(slip_mem_drop_before(c.store, rev));
			for (uint64_t q = 1; q < rev && q <= m_last; q++)
				m_log[q].held = false;
		}
	}
	conf_close(&c);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_namespaces_shared_and_separate),
        SLIP_TEST(t_url_rules),
        SLIP_TEST(t_limits_value_size_and_bytes),
        SLIP_TEST(t_max_age_expires_records),
        SLIP_TEST(t_handle_follows_recreated_bucket),
        SLIP_TEST(t_drop_before_arguments),
        SLIP_TEST(t_retention_during_watch_is_reported),
        SLIP_TEST(t_large_log_and_long_prefix_scan),
        SLIP_TEST(t_close_while_watch_blocked),
        SLIP_TEST(t_backend_starts_no_thread),
        SLIP_TEST(t_random_ops_match_model),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
