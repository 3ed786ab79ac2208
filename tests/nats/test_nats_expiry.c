/*
 * tests/nats/test_nats_expiry.c — expiring keys on NATS: limit markers
 * (Nats-Marker-Reason, no KV-Operation, no body) are removals on every read
 * path — get absent, entry a tombstone with its revision, keys/scan skip,
 * watch delivers the operation and revision, the replica drops the key —
 * and a KV-Operation that is not a valid operation is never a value. The
 * markers are published by hand (any server), then made for real by a
 * nats-server >= 2.11 ageing keys out of a bucket with limit markers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nats_util.h"

/* Publishes @p body on key @p key of @p bucket with one header. */
static uint64_t raw_pub(nu_raw *raw, const char *bucket, const char *key,
                        const char *hdr, const char *val, const char *body)
{
	char subj[256];
	natsMsg *m = NULL;
	jsPubAck *pa = NULL;
	uint64_t seq = 0;
	snprintf(subj, sizeof(subj), "$KV.%s.%s", bucket, key);
	if (natsMsg_Create(&m, subj, NULL, body, (int)strlen(body)) != NATS_OK)
		return 0;
	if (hdr != NULL)
		natsMsgHeader_Set(m, hdr, val);
	if (js_PublishMsg(&pa, raw->js, m, NULL, NULL) == NATS_OK)
		seq = pa->Sequence;
	jsPubAck_Destroy(pa);
	natsMsg_Destroy(m);
	return seq;
}

static uint64_t rev_of(const slip_entry *e)
{
	uint64_t r = 0;
	slip_version_to_u64(&e->version, &r);
	return r;
}

/* Collects the keys a keys() or scan() pass hands out. */
typedef struct seen {
	int n;
	char keys[16][32];
} seen;

static int seen_cb(void *p, slip_entry *e)
{
	seen *s = p;
	if (s->n < 16)
		snprintf(s->keys[s->n++], 32, "%s", e->key);
	slip_entry_free(e);
	return SLIP_OK;
}

static bool seen_has(const seen *s, const char *key)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->keys[i], key) == 0)
			return true;
	return false;
}

/* Every read path treats @p key as removed at @p rev with @p op. */
static void check_removed(nu_case *c, const char *key, uint64_t rev, slip_op op)
{
	slip_entry *e = NULL;
	CHECK_OK(slip_reader_get(c->r, key, &e));
	CHECK(e == NULL);
	slip_entry_free(e);
	e = NULL;
	CHECK_OK(slip_reader_entry(c->r, key, &e));
	REQUIRE(e != NULL);
	CHECK(e->op == op);
	CHECK(rev_of(e) == rev);
	CHECK(e->value_len == 0);
	slip_entry_free(e);
	seen k = {0}, s = {0};
	CHECK_OK(slip_reader_scan_each(c->r, "", true, seen_cb, &k));
	CHECK_OK(slip_reader_scan_each(c->r, "", false, seen_cb, &s));
	CHECK(!seen_has(&k, key));
	CHECK(!seen_has(&s, key));
}

/* The whole bucket through a watch: op and revision of @p key. */
static void check_watch(nu_case *c, const char *key, uint64_t rev, slip_op op)
{
	nu_watch nw;
	REQUIRE_OK(
	        nu_watch_start(&nw, c->wt, NULL, NULL, SLIP_WATCH_MARKERS, 64));
	bool found = false;
	for (;;) {
		slip_entry *e = NULL;
		if (slip_chan_recv(nw.ch, &e, 10000) != SLIP_OK)
			break;
		bool done = e->op == SLIP_OP_CAUGHT_UP;
		if (strcmp(e->key, key) == 0) {
			found = true;
			CHECK(e->op == op);
			CHECK(rev_of(e) == rev);
			CHECK(e->value_len == 0);
		}
		slip_entry_free(e);
		if (done)
			break;
	}
	CHECK(found);
	nu_watch_stop(&nw);
}

/* A replica of the bucket holds exactly @p live keys and not @p gone. */
static void check_replica(nu_case *c, size_t live, const char *gone)
{
	slip_replica *rp = NULL;
	slip_replica_options ro = SLIP_REPLICA_OPTIONS_INIT;
	ro.store = c->store;
	REQUIRE_OK(slip_replica_open(&rp, &ro));
	CHECK_OK(slip_replica_wait_caught_up(rp, 20000));
	CHECK(slip_replica_count(rp) == live);
	slip_entry *e = NULL;
	CHECK_OK(slip_replica_get(rp, gone, &e));
	CHECK(e == NULL);
	slip_entry_free(e);
	slip_replica_free(rp);
}

static void t_published_markers(void)
{
	static const struct {
		const char *key, *hdr, *val;
		slip_op op;
	} m[] = {
	        {"age", "Nats-Marker-Reason", "MaxAge", SLIP_OP_PURGE},
	        {"pur", "Nats-Marker-Reason", "Purge", SLIP_OP_PURGE},
	        {"rem", "Nats-Marker-Reason", "Remove", SLIP_OP_DELETE},
	        {"odd", "KV-Operation", "ROLLUP", SLIP_OP_DELETE},
	};
	nu_case c;
	nu_raw raw;
	REQUIRE_OK(nu_open(&c, 1));
	REQUIRE_OK(nu_raw_open(&raw, nu_url()));
	REQUIRE_OK(slip_writer_put(c.w, "keep", "v", 1, NULL));
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		REQUIRE_OK(slip_writer_put(c.w, m[i].key, "old", 3, NULL));
		/* A body on the marker must not surface as a value either. */
		uint64_t rev = raw_pub(&raw, c.bucket, m[i].key, m[i].hdr,
		                       m[i].val, "body");
		REQUIRE(rev > 0);
		check_removed(&c, m[i].key, rev, m[i].op);
		check_watch(&c, m[i].key, rev, m[i].op);
	}
	check_replica(&c, 1, "age");
	nu_raw_close(&raw);
	nu_close(&c);
}

/*
 * Creates KV_<bucket> through the raw API with limit markers (max_age and
 * subject_delete_marker_ttl in ms). False when the server does not echo
 * allow_msg_ttl back (before 2.11 it ignores the field).
 */
static bool raw_marker_bucket(nu_raw *raw, const char *bucket, int age_ms,
                              int marker_ms)
{
	char subj[128], req[768];
	natsMsg *reply = NULL;
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.CREATE.KV_%s", bucket);
	snprintf(req, sizeof(req),
	         "{\"name\":\"KV_%s\",\"subjects\":[\"$KV.%s.>\"],"
	         "\"max_msgs_per_subject\":1,\"max_age\":%lld,"
	         "\"discard\":\"new\",\"allow_rollup_hdrs\":true,"
	         "\"allow_direct\":true,\"storage\":\"file\","
	         "\"num_replicas\":1,\"duplicate_window\":%lld,"
	         "\"allow_msg_ttl\":true,"
	         "\"subject_delete_marker_ttl\":%lld}",
	         bucket, bucket, (long long)age_ms * 1000000LL,
	         (long long)age_ms * 1000000LL,
	         (long long)marker_ms * 1000000LL);
	if (natsConnection_RequestString(&reply, raw->nc, subj, req, 5000) !=
	    NATS_OK)
		return false;
	const char *d = natsMsg_GetData(reply);
	bool ok = d != NULL && strstr(d, "\"allow_msg_ttl\":true") != NULL;
	if (!ok && d != NULL && strstr(d, "\"error\"") != NULL)
		fprintf(stderr, "# stream create: %s\n", d);
	natsMsg_Destroy(reply);
	return ok;
}

static void t_server_markers(void)
{
	nu_case c;
	nu_raw raw;
	memset(&c, 0, sizeof(c));
	REQUIRE_OK(nu_raw_open(&raw, nu_url()));
	nu_bucket(c.bucket, sizeof(c.bucket));
	if (!raw_marker_bucket(&raw, c.bucket, 1000, 5000)) {
		slip_test_skip("this nats-server has no limit markers "
		               "(they need 2.11 or newer)");
		char stream[96];
		snprintf(stream, sizeof(stream), "KV_%s", c.bucket);
		js_DeleteStream(raw.js, stream, NULL, NULL);
		nu_raw_close(&raw);
		return;
	}
	REQUIRE_OK(nu_connect(&c.conn, nu_url()));
	REQUIRE_OK(slip_store_open(&c.store, c.conn, c.bucket));
	c.r = slip_store_reader(c.store);
	c.w = slip_store_writer(c.store);
	c.wt = slip_store_watcher(c.store);
	REQUIRE_OK(slip_writer_put(c.w, "a", "1", 1, NULL));
	/* The server ages "a" out and writes a MaxAge marker for it. */
	slip_entry *e = NULL;
	for (int i = 0; i < 100; i++) {
		usleep(100 * 1000);
		slip_entry_free(e);
		e = NULL;
		CHECK_OK(slip_reader_entry(c.r, "a", &e));
		if (e == NULL || e->op != SLIP_OP_PUT)
			break;
	}
	REQUIRE(e != NULL);
	CHECK(e->op == SLIP_OP_PURGE);
	uint64_t rev = rev_of(e);
	slip_entry_free(e);
	check_removed(&c, "a", rev, SLIP_OP_PURGE);
	check_watch(&c, "a", rev, SLIP_OP_PURGE);
	check_replica(&c, 0, "a");
	nu_raw_close(&raw);
	nu_close(&c);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_published_markers),
        SLIP_TEST(t_server_markers),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
