/*
 * tests/nats/test_nats_multi.c — watching and scanning several prefixes on
 * a real nats-server, beyond the conformance cases: on >= 2.10 one
 * consumer carrying every filter (filter_subjects), below 2.10 one consumer
 * on the prefixes' common part; no consumer left behind; the caught-up
 * marker only after every key of the union (many keys, values large
 * enough that the server must wait for flow-control answers); an idle
 * watch outliving several heartbeat intervals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_watch.h"
#include "nats_util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The server's version from its monitoring port (0.0 if unknown). */
static void server_version(int *major, int *minor)
{
	static char body[65536];
	*major = *minor = 0;
	if (slip_natsd_http_get(nu_server(), "/varz", body, sizeof(body)) !=
	    200)
		return;
	const char *v = strstr(body, "\"version\": \"");
	if (v == NULL || sscanf(v + 12, "%d.%d", major, minor) != 2)
		*major = *minor = 0;
	printf("# nats-server %d.%d\n", *major, *minor);
}

static bool at_least_2_10(void)
{
	int ma, mi;
	server_version(&ma, &mi);
	return ma > 2 || (ma == 2 && mi >= 10);
}

/* The consumer list of the bucket's stream as the server writes it. */
static int consumer_list(nu_raw *raw, const char *bucket, char *out, size_t cap)
{
	char subj[160];
	natsMsg *m = NULL;
	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.LIST.KV_%s", bucket);
	if (natsConnection_RequestString(&m, raw->nc, subj, "{}", 5000) !=
	    NATS_OK)
		return -1;
	snprintf(out, cap, "%.*s", natsMsg_GetDataLength(m),
	         natsMsg_GetData(m));
	natsMsg_Destroy(m);
	return 0;
}

static int count_of(const char *s, const char *what)
{
	int n = 0;
	for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

/* True when @p json holds the subject "$KV.<bucket>.<rest>>" in either of
 * the forms Go writes '>' in. */
static bool has_filter(const char *json, const char *bucket, const char *rest)
{
	char a[200], b[200];
	snprintf(a, sizeof(a), "\"$KV.%s.%s>\"", bucket, rest);
	snprintf(b, sizeof(b), "\"$KV.%s.%s\\u003e\"", bucket, rest);
	return strstr(json, a) != NULL || strstr(json, b) != NULL;
}

static bool wait_no_consumer(nu_raw *raw, const char *bucket)
{
	char json[8192];
	for (int i = 0; i < 50; i++) {
		if (consumer_list(raw, bucket, json, sizeof(json)) == 0 &&
		    strstr(json, "\"total\":0") != NULL)
			return true;
		usleep(100000);
	}
	return false;
}

static const char *const AB[] = {"a.", "b.", "node.us-"};

/* One consumer for the whole union, with every filter on >= 2.10 and the
 * common part (here the whole bucket) below; none left after the watch. */
static void t_one_consumer_for_the_union(void)
{
	static char json[65536];
	bool multi = at_least_2_10();
	nu_case c;
	nu_raw raw;
	conf_watch cw;

	REQUIRE_OK(nu_open(&c, 1));
	REQUIRE(nu_raw_open(&raw, nu_url()) == 0);
	CHECK_OK(slip_writer_put(c.w, "a.1", "1", 1, NULL));
	CHECK_OK(slip_writer_put(c.w, "x.1", "2", 1, NULL));
	CHECK_OK(slip_writer_put(c.w, "node.us-1", "3", 1, NULL));
	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, AB, N(AB), NULL,
	                                  SLIP_WATCH_MARKERS, 16));
	slip_entry_free(EXPECT_ENTRY(&cw, "a.1", SLIP_OP_PUT, "1"));
	slip_entry_free(EXPECT_ENTRY(&cw, "node.us-1", SLIP_OP_PUT, "3"));
	EXPECT_MARKER(&cw);
	REQUIRE(consumer_list(&raw, c.bucket, json, sizeof(json)) == 0);
	CHECK(strstr(json, "\"total\":1") != NULL);
	if (multi) {
		CHECK(count_of(json, "\"filter_subjects\"") == 1);
		CHECK(has_filter(json, c.bucket, "a."));
		CHECK(has_filter(json, c.bucket, "b."));
		CHECK(has_filter(json, c.bucket, "node."));
	} else {
		printf("# below 2.10: one consumer on the common part\n");
		CHECK(count_of(json, "\"filter_subjects\"") == 0);
		CHECK(has_filter(json, c.bucket, ""));
	}
	CHECK_OK(conf_watch_stop(&cw));
	CHECK(wait_no_consumer(&raw, c.bucket));
	nu_raw_close(&raw);
	nu_close(&c);
}

static int count_cb(void *payload, slip_entry *e)
{
	(*(int *)payload)++;
	slip_entry_free(e);
	return 0;
}

/*
 * 3000 keys with 1 KiB values under a., b. and c. (plus rewrites): the
 * watch of a. + b. delivers each of their 2000 keys once before the
 * marker, through a small channel (so the server waits on flow control);
 * scan and keys see the same 2000; no consumer is left.
 */
static void t_marker_after_the_whole_union(void)
{
	static const char *const pre[] = {"a.", "b."};
	char key[32], val[1024];
	nu_case c;
	nu_raw raw;
	conf_watch cw;
	slip_entry *e;
	int before = 0, bad = 0, scanned = 0, keys = 0;
	static unsigned char seen[2000];

	memset(val, 'v', sizeof(val));
	memset(seen, 0, sizeof(seen));
	REQUIRE_OK(nu_open(&c, 1));
	REQUIRE(nu_raw_open(&raw, nu_url()) == 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "%c.%d", "abc"[i % 3], i);
		CHECK_OK(slip_writer_put(c.w, key, val, sizeof(val), NULL));
	}
	for (int i = 0; i < 300; i++) { /* rewrites move keys to the end */
		snprintf(key, sizeof(key), "%c.%d", "abc"[i % 3], i);
		CHECK_OK(slip_writer_put(c.w, key, val, sizeof(val), NULL));
	}
	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, pre, N(pre), NULL,
	                                  SLIP_WATCH_MARKERS, 4));
	while ((e = conf_watch_next(&cw)) != NULL &&
	       e->op != SLIP_OP_CAUGHT_UP) {
		int i = atoi(e->key + 2), slot = i / 3 * 2 + i % 3;
		if (e->key[0] == 'c' || slot < 0 || slot >= 2000 ||
		    seen[slot]++ != 0)
			bad++;
		before++;
		slip_entry_free(e);
	}
	CHECK(e != NULL);
	slip_entry_free(e);
	CHECK(before == 2000);
	CHECK(bad == 0);
	CHECK_OK(conf_watch_stop(&cw));
	CHECK_OK(slip_reader_scan_each_prefixes(c.r, pre, N(pre), false,
	                                        count_cb, &scanned));
	CHECK_OK(slip_reader_scan_each_prefixes(c.r, pre, N(pre), true,
	                                        count_cb, &keys));
	CHECK(scanned == 2000 && keys == 2000);
	CHECK(wait_no_consumer(&raw, c.bucket));
	nu_raw_close(&raw);
	nu_close(&c);
}

/* Idle for several heartbeat intervals: heartbeats keep the watch alive
 * (none reaches the receiver), and a later write still arrives. */
static void t_idle_watch_survives_heartbeats(void)
{
	nu_case c;
	conf_watch cw;

	REQUIRE_OK(nu_open(&c, 1));
	REQUIRE_OK(conf_watch_start_multi(&cw, c.wt, AB, N(AB), NULL,
	                                  SLIP_WATCH_MARKERS, 16));
	EXPECT_MARKER(&cw);
	sleep(5);
	CHECK(!atomic_load(&cw.done));
	CHECK_OK(slip_writer_put(c.w, "b.late", "x", 1, NULL));
	slip_entry_free(EXPECT_ENTRY(&cw, "b.late", SLIP_OP_PUT, "x"));
	CHECK_OK(conf_watch_stop(&cw));
	nu_close(&c);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_one_consumer_for_the_union),
        SLIP_TEST(t_marker_after_the_whole_union),
        SLIP_TEST(t_idle_watch_survives_heartbeats),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
