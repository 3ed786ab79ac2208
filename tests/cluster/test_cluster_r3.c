/*
 * tests/cluster/test_cluster_r3.c — ctest cluster-r3 (issue 7, point 2) on a
 * 3-node nats-server cluster started by the harness:
 *
 *   - a store opened with num_replicas = 3 is really R3: the server's own
 *     stream info (read with libnats, behind Slipstream's back) shows three
 *     replicas and a leader, and slip_store_get_info agrees;
 *   - a connection given all three URLs works while any one node is down:
 *     each node in turn is SIGKILLed; a connection made then and the one
 *     made before both write and read; every acknowledged write is still
 *     there at the end, on every node. Reads right after a failover may
 *     lag for a moment; they are retried to a deadline and counted;
 *   - a bucket with more replicas than servers fails with the server's
 *     error 10005 after the bounded retry, and nothing is created.
 */
#include "natsd.h"
#include "test.h"

#include <nats/nats.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUCKET "r3"
#define STREAM "KV_r3"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libnats connection to one node (no reconnects); NULL on failure. */
static natsConnection *raw_connect(const char *url)
{
	natsConnection *nc = NULL;
	natsOptions *o = NULL;

	if (natsOptions_Create(&o) != NATS_OK)
		return NULL;
	natsOptions_SetURL(o, url);
	natsOptions_SetTimeout(o, 2000);
	natsOptions_SetAllowReconnect(o, false);
	if (natsConnection_Connect(&nc, o) != NATS_OK)
		nc = NULL;
	natsOptions_Destroy(o);
	return nc;
}

/*
 * Stream info as the server reports it through node @p url: replicas in
 * the config, peers besides the leader, how many of them are current.
 */
typedef struct r3_info {
	int config_replicas;
	int peers;
	int current_peers;
	char leader[64];
	uint64_t msgs;
} r3_info;

static int stream_info(const char *url, r3_info *out)
{
	natsConnection *nc = raw_connect(url);
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	jsOptions jo;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!nc)
		return -1;
	jsOptions_Init(&jo);
	jo.Wait = 3000;
	if (natsConnection_JetStream(&js, nc, &jo) != NATS_OK ||
	    js_GetStreamInfo(&si, js, STREAM, NULL, &jerr) != NATS_OK)
		goto done;
	out->config_replicas = (int)si->Config->Replicas;
	out->msgs = si->State.Msgs;
	if (si->Cluster) {
		snprintf(out->leader, sizeof(out->leader), "%s",
		         si->Cluster->Leader ? si->Cluster->Leader : "");
		out->peers = si->Cluster->ReplicasLen;
		for (int i = 0; i < si->Cluster->ReplicasLen; i++)
			out->current_peers +=
			        si->Cluster->Replicas[i]->Current &&
			        !si->Cluster->Replicas[i]->Offline;
	}
	rc = 0;
done:
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}

/* Waits until the stream has a leader and @p want current followers. */
static int wait_stream(slip_natsd_cluster *c, int want, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	r3_info in;

	while (now_ms() < deadline) {
		for (int i = 0; i < slip_natsd_cluster_size(c); i++) {
			slip_natsd *n = slip_natsd_cluster_node(c, i);
			if (slip_natsd_running(n) &&
			    stream_info(slip_natsd_url(n), &in) == 0 &&
			    in.leader[0] && in.current_peers >= want)
				return 0;
		}
		usleep(200 * 1000);
	}
	return -1;
}

/*
 * Puts @p key, retrying while the stream elects a new leader (a failed
 * attempt may still have landed; the value is the same either way).
 */
static int put_retry(slip_store *st, const char *key, const char *val)
{
	long long deadline = now_ms() + 20000;
	int rc;

	do {
		rc = slip_writer_put(slip_store_writer(st), key, val,
		                     strlen(val), NULL);
		if (rc == SLIP_OK)
			return 0;
		usleep(200 * 1000);
	} while (now_ms() < deadline);
	fprintf(stderr, "put %s: %s (%s)\n", key, slip_err_name(rc),
	        slip_last_error());
	return -1;
}

/*
 * Right after a failover a read may briefly lag an acknowledged write (a
 * direct get answered by a replica that has not applied it yet, a consumer
 * on a new leader still applying its log). Reads are therefore retried up
 * to a deadline; lagging reads are counted and reported, lost writes fail.
 */
static int g_stale_reads;

static bool value_is(slip_store *st, const char *key, const char *val)
{
	long long deadline = now_ms() + 10000;

	do {
		slip_entry *e = NULL;
		bool ok = false;
		if (slip_reader_get(slip_store_reader(st), key, &e) == SLIP_OK)
			ok = e && e->value_len == strlen(val) &&
			     !memcmp(e->value, val, e->value_len);
		slip_entry_free(e);
		if (ok)
			return true;
		g_stale_reads++;
		usleep(100 * 1000);
	} while (now_ms() < deadline);
	return false;
}

/* Live keys in the store, retried until @p want or the deadline. */
static size_t count_keys(slip_store *st, size_t want)
{
	long long deadline = now_ms() + 10000;
	size_t n = 0;

	do {
		slip_key_list keys = {0};
		if (slip_reader_keys(slip_store_reader(st), "", &keys) ==
		    SLIP_OK)
			n = keys.count;
		slip_key_list_free(&keys);
		if (n == want)
			return n;
		g_stale_reads++;
		usleep(100 * 1000);
	} while (now_ms() < deadline);
	return n;
}

/*
 * More replicas than servers can never be placed: the open retries error
 * 10005 only for its operation timeout (a starting cluster's transient
 * answer), then fails with the server's reason, creating nothing.
 */
static void check_unplaceable(slip_conn *c)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_store *st = NULL;

	cfg.name = "r5";
	cfg.num_replicas = 5;
	CHECK(slip_store_open_config(&st, c, &cfg) != SLIP_OK);
	CHECK(strstr(slip_last_error(), "10005") != NULL);
	fprintf(stderr, "  R5 on 3 nodes: %s\n", slip_last_error());
	CHECK(st == NULL);
	CHECK_RC(slip_store_open(&st, c, "r5"), SLIP_ENOTFOUND);
}

static void t_r3_really_replicated_and_survives_any_node(void)
{
	slip_natsd_cluster *cl = NULL;
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_store_info info;
	slip_conn *c1 = NULL;
	slip_store *s1 = NULL;
	r3_info in;
	char key[32], val[32];
	int written = 0;

	REQUIRE(slip_natsd_cluster_start(&cl, 3) == 0);
	c1 = slip_natsd_connect(slip_natsd_cluster_urls(cl));
	if (!c1)
		goto done;
	cfg.name = BUCKET;
	cfg.num_replicas = 3;
	cfg.max_history = 5;
	CHECK_OK(slip_store_open_config(&s1, c1, &cfg));
	if (!s1)
		goto done;

	/* R3 per the server itself, and per Slipstream. */
	CHECK(wait_stream(cl, 2, 20000) == 0);
	CHECK(stream_info(slip_natsd_url(slip_natsd_cluster_node(cl, 0)),
	                  &in) == 0);
	CHECK(in.config_replicas == 3);
	CHECK(in.peers == 2);
	CHECK(in.leader[0] != '\0');
	CHECK_OK(slip_store_get_info(s1, &info));
	CHECK(info.num_replicas == 3);
	check_unplaceable(c1);
	fprintf(stderr, "  R3: leader %s, %d peers\n", in.leader, in.peers);

	for (int down = 0; down < 3; down++) {
		slip_natsd *node = slip_natsd_cluster_node(cl, down);
		slip_conn *c2 = NULL;
		slip_store *s2 = NULL;

		CHECK(slip_natsd_kill(node) == 0);
		CHECK(slip_natsd_cluster_wait_ready(cl, 20000) == 0);
		/* The stream may need a new leader before it answers. */
		CHECK(wait_stream(cl, 1, 20000) == 0);
		/* A new connection with all URLs, one of them dead. */
		c2 = slip_natsd_connect(slip_natsd_cluster_urls(cl));
		CHECK(c2 != NULL);
		if (c2)
			CHECK_OK(slip_store_open(&s2, c2, BUCKET));
		for (int i = 0; i < 5; i++) {
			snprintf(key, sizeof(key), "n%d.k%d", down, i);
			snprintf(val, sizeof(val), "v%d.%d", down, i);
			/* Alternate the old and the new connection. */
			slip_store *st = (i % 2 && s2) ? s2 : s1;
			if (put_retry(st, key, val) == 0)
				written++;
			else
				slip_test_fail(__FILE__, __LINE__,
				               "write %s with node %d down",
				               key, down + 1);
			CHECK(value_is(s2 ? s2 : s1, key, val));
		}
		slip_store_free(s2);
		slip_conn_free(c2);

		CHECK(slip_natsd_restart(node) == 0);
		CHECK(slip_natsd_cluster_wait_ready(cl, 20000) == 0);
		/* Back in the replica set before the next node goes down. */
		CHECK(wait_stream(cl, 2, 30000) == 0);
	}
	CHECK(written == 15);

	/* Every acknowledged write, read through each node alone. */
	for (int n = 0; n < 3; n++) {
		slip_conn *cn = NULL;
		slip_store *sn = NULL;

		cn = slip_natsd_connect(
		        slip_natsd_url(slip_natsd_cluster_node(cl, n)));
		CHECK(cn != NULL);
		if (cn)
			CHECK_OK(slip_store_open(&sn, cn, BUCKET));
		if (sn) {
			size_t got = count_keys(sn, 15);
			if (got != 15)
				slip_test_fail(__FILE__, __LINE__,
				               "node %d: %zu keys, want 15",
				               n + 1, got);
		}
		slip_store_free(sn);
		slip_conn_free(cn);
	}
	fprintf(stderr, "  %d writes with a node down, %d lagging reads\n",
	        written, g_stale_reads);
done:
	CHECK(s1 != NULL);
	slip_store_free(s1);
	slip_conn_free(c1);
	slip_natsd_cluster_free(cl);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_r3_really_replicated_and_survives_any_node),
        {0},
};

int main(int argc, char **argv)
{
	int rc = slip_test_main(argc, argv, cases);
	nats_Close();
	return rc;
}
