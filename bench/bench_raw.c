/*
 * bench/bench_raw.c — slip-bench-raw: the raw libnats baselines that the
 * Slipstream figures are compared with, plus the helpers scripts/bench.sh
 * needs before any benchmark runs (a free port, filling a bucket fast).
 *
 *   freeport                          print a free loopback TCP port
 *   fill URL BUCKET N [VSIZE] [PFX]   recreate BUCKET, N keys PFX.i by
 *                                     async publish (VSIZE-byte values)
 *   put URL BUCKET N [PFX]            N sequential kvStore_Put, ops/s
 *   get URL BUCKET N [PFX]            N sequential kvStore_Get, ops/s
 *   gets URL BUCKET N [PFX] [TO]      the same, reported as the time for
 *                                     TO gets (N's time scaled), s
 *   watchall URL BUCKET [meta|list|rss]
 *                                     kvStore_WatchAll replay to the
 *                                     "initial values done" marker, s
 *   keys URL BUCKET                   kvStore_Keys, s
 *   ordered URL BUCKET N [headers]    ordered consumer (js_SubscribeSync,
 *                                     Ordered, DeliverLastPerSubject)
 *                                     receiving N messages, s
 *
 * Each prints "R raw.<what> <value>" lines (bench_util.h); anything else
 * goes to stderr. Exit status is non-zero when the measurement failed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nats/nats.h>

#include "bench_util.h"

/* A connection, its JetStream context and (optionally) one bound bucket. */
typedef struct raw_ctx {
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
} raw_ctx;

static int fail(const char *what, natsStatus s)
{
	fprintf(stderr, "bench raw: %s: %s (%s)\n", what, natsStatus_GetText(s),
	        nats_GetLastError(NULL));
	return 1;
}

static void raw_close(raw_ctx *c)
{
	kvStore_Destroy(c->kv);
	jsCtx_Destroy(c->js);
	natsConnection_Destroy(c->nc);
	memset(c, 0, sizeof(*c));
}

static int raw_open(raw_ctx *c, const char *url, const char *bucket)
{
	jsOptions jo;
	natsStatus s;

	memset(c, 0, sizeof(*c));
	jsOptions_Init(&jo);
	jo.Wait = 30000;
	jo.PublishAsync.MaxPending = 4096;
	/* The default 200 ms stall gives up while the server is busy
	 * writing a million messages: wait for acks instead. */
	jo.PublishAsync.StallWait = 30000;
	s = natsConnection_ConnectTo(&c->nc, url);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&c->js, c->nc, &jo);
	if (s == NATS_OK && bucket != NULL)
		s = js_KeyValue(&c->kv, c->js, bucket);
	if (s != NATS_OK) {
		raw_close(c);
		return fail(url, s);
	}
	return 0;
}

static int cmd_freeport(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int rc = 1;

	if (fd < 0)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
		printf("%d\n", ntohs(sa.sin_port));
		rc = 0;
	}
	close(fd);
	return rc;
}

static natsStatus create_bucket(raw_ctx *c, const char *bucket)
{
	kvConfig cfg;

	js_DeleteKeyValue(c->js, bucket); /* absent is fine */
	kvConfig_Init(&cfg);
	cfg.Bucket = bucket;
	cfg.History = 1;
	cfg.StorageType = js_FileStorage;
	return js_CreateKeyValue(&c->kv, c->js, &cfg);
}

/*
 * Publishing straight to $KV.<bucket>.<key> with js_PublishAsync is what a
 * kvStore_Put does minus the wait for each ack, so a million keys go in
 * within seconds instead of minutes.
 */
/* The pubasync command: fill, reporting the publish rate. */
static bool g_report_fill;

static int cmd_fill(const char *url, const char *bucket, long n, long vsize,
                    const char *prefix)
{
	raw_ctx c;
	natsStatus s;
	uint8_t *val = malloc((size_t)vsize + 1);
	char subj[512], key[256];
	kvStatus *st = NULL;
	double t0;
	int rc = 1;

	if (val == NULL || raw_open(&c, url, NULL) != 0) {
		free(val);
		return 1;
	}
	s = create_bucket(&c, bucket);
	if (s != NATS_OK) {
		rc = fail("create bucket", s);
		goto done;
	}
	t0 = bench_now();
	for (long i = 0; i < n; i++) {
		bench_key(key, sizeof(key), prefix, i);
		snprintf(subj, sizeof(subj), "$KV.%s.%s", bucket, key);
		bench_value(val, (size_t)vsize, (uint64_t)i);
		s = js_PublishAsync(c.js, subj, val, (int)vsize, NULL);
		if (s != NATS_OK) {
			rc = fail("publish", s);
			goto done;
		}
	}
	s = js_PublishAsyncComplete(c.js, NULL);
	if (s == NATS_OK && g_report_fill)
		bench_result("raw.pubasync_ops",
		             (double)n / (bench_now() - t0));
	if (s == NATS_OK)
		s = kvStore_Status(&st, c.kv);
	if (s != NATS_OK) {
		rc = fail("publish complete", s);
		goto done;
	}
	if ((long)kvStatus_Values(st) != n) {
		fprintf(stderr,
		        "bench raw: fill %s: %llu values, expected %ld\n",
		        bucket, (unsigned long long)kvStatus_Values(st), n);
		goto done;
	}
	fprintf(stderr, "bench raw: filled %s with %ld keys in %.2f s\n",
	        bucket, n, bench_now() - t0);
	rc = 0;
done:
	kvStatus_Destroy(st);
	raw_close(&c);
	free(val);
	return rc;
}

static int cmd_put(const char *url, const char *bucket, long n,
                   const char *prefix)
{
	raw_ctx c;
	uint8_t val[100];
	char key[256];
	double t0;

	if (raw_open(&c, url, bucket) != 0)
		return 1;
	t0 = bench_now();
	for (long i = 0; i < n; i++) {
		uint64_t rev = 0;
		natsStatus s;

		bench_key(key, sizeof(key), prefix, i);
		bench_value(val, sizeof(val), (uint64_t)i + 7);
		s = kvStore_Put(&rev, c.kv, key, val, (int)sizeof(val));
		if (s != NATS_OK) {
			raw_close(&c);
			return fail("kvStore_Put", s);
		}
	}
	bench_result("raw.put_ops", (double)n / (bench_now() - t0));
	raw_close(&c);
	return 0;
}

/*
 * N sequential gets. "raw.get_ops" reports ops/s; otherwise the time,
 * scaled to @p scale_to gets when that is > 0 (the 100k-gets baseline is
 * taken as slices between the scans it is compared with).
 */
static int cmd_get(const char *url, const char *bucket, long n,
                   const char *prefix, const char *metric, long scale_to)
{
	raw_ctx c;
	char key[256];
	double t0, dt;

	if (raw_open(&c, url, bucket) != 0)
		return 1;
	t0 = bench_now();
	for (long i = 0; i < n; i++) {
		kvEntry *e = NULL;
		natsStatus s;

		bench_key(key, sizeof(key), prefix, i);
		s = kvStore_Get(&e, c.kv, key);
		if (s != NATS_OK) {
			raw_close(&c);
			return fail("kvStore_Get", s);
		}
		kvEntry_Destroy(e);
	}
	dt = bench_now() - t0;
	if (strcmp(metric, "raw.get_ops") == 0)
		bench_result(metric, (double)n / dt);
	else if (scale_to > 0)
		bench_result(metric, dt * (double)scale_to / (double)n);
	else
		bench_result(metric, dt);
	raw_close(&c);
	return 0;
}

/*
 * kvStore_WatchAll replay up to the "initial values done" marker. Modes:
 * "" frees each entry as it comes (as a streamed scan does), "meta" asks
 * for headers only, "list" keeps every entry until the end (as a scan into
 * a list does; freeing them is not timed), "rss" keeps them too and reports
 * the peak RSS instead of a time (a mirror written with libnats alone).
 */
static int cmd_watchall(const char *url, const char *bucket, const char *mode)
{
	raw_ctx c;
	kvWatchOptions o;
	kvWatcher *w = NULL;
	kvEntry **kept = NULL;
	natsStatus s;
	bool rss = strcmp(mode, "rss") == 0;
	bool keep = rss || strcmp(mode, "list") == 0;
	uint64_t kv_bytes = 0;
	long count = 0, cap = 0;
	double t0, dt;
	int rc = 0;

	if (raw_open(&c, url, bucket) != 0)
		return 1;
	kvWatchOptions_Init(&o);
	o.MetaOnly = strcmp(mode, "meta") == 0;
	t0 = bench_now();
	s = kvStore_WatchAll(&w, c.kv, &o);
	while (s == NATS_OK) {
		kvEntry *e = NULL;

		s = kvWatcher_Next(&e, w, 10000);
		if (s == NATS_OK && e == NULL)
			break; /* the "initial values done" marker */
		if (keep && count == cap) {
			cap = cap ? cap * 2 : 64;
			kept = realloc(kept, (size_t)cap * sizeof(*kept));
		}
		if (rss && e != NULL)
			kv_bytes += strlen(kvEntry_Key(e)) +
			            (uint64_t)kvEntry_ValueLen(e);
		if (keep && kept != NULL)
			kept[count] = e;
		else
			kvEntry_Destroy(e);
		count++;
	}
	dt = bench_now() - t0;
	if (s != NATS_OK || (keep && kept == NULL)) {
		rc = fail("kvStore_WatchAll", s);
	} else if (rss) {
		/* A hand-written libnats mirror: every kvEntry kept. */
		bench_result("raw.rss_peak_mib",
		             (double)bench_peak_rss() / 1048576.0);
		bench_result("raw.rss_ratio",
		             (double)bench_peak_rss() / (double)kv_bytes);
	} else {
		bench_result(keep         ? "raw.watchall_list_s"
		             : o.MetaOnly ? "raw.watchall_meta_s"
		                          : "raw.watchall_s",
		             dt);
		fprintf(stderr, "bench raw: watchall %s: %ld entries\n", mode,
		        count);
	}
	for (long i = 0; keep && kept != NULL && i < count; i++)
		kvEntry_Destroy(kept[i]);
	free(kept);
	kvWatcher_Destroy(w);
	raw_close(&c);
	return rc;
}

static int cmd_keys(const char *url, const char *bucket)
{
	raw_ctx c;
	kvWatchOptions o;
	kvKeysList list;
	natsStatus s;
	double t0;

	if (raw_open(&c, url, bucket) != 0)
		return 1;
	kvWatchOptions_Init(&o);
	/*
	 * 3.4.1 subtracts the time elapsed since the START from the remaining
	 * timeout after every key (kv.c, KV_GATHER_LIST), so the budget runs
	 * out quadratically: 100,000 keys need ~10^7 ms. Give it far more.
	 */
	o.Timeout = INT64_MAX / 4;
	memset(&list, 0, sizeof(list));
	t0 = bench_now();
	s = kvStore_Keys(&list, c.kv, &o);
	if (s != NATS_OK) {
		raw_close(&c);
		return fail("kvStore_Keys", s);
	}
	bench_result("raw.keys_s", bench_now() - t0);
	fprintf(stderr, "bench raw: keys: %d keys\n", list.Count);
	kvKeysList_Destroy(&list);
	raw_close(&c);
	return 0;
}

/*
 * The baseline for watch delivery: the cheapest way libnats offers to
 * receive a bucket's messages in order — an ordered push consumer read with
 * natsSubscription_NextMsg, doing nothing with each message.
 */
static int cmd_ordered(const char *url, const char *bucket, long n,
                       bool headers)
{
	raw_ctx c;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsSubscription *sub = NULL;
	char subj[512], stream[300];
	natsStatus s;
	long count = 0;
	double t0;

	if (raw_open(&c, url, NULL) != 0)
		return 1;
	snprintf(subj, sizeof(subj), "$KV.%s.>", bucket);
	snprintf(stream, sizeof(stream), "KV_%s", bucket);
	jsSubOptions_Init(&so);
	so.Stream = stream;
	so.Ordered = true;
	so.Config.DeliverPolicy = js_DeliverLastPerSubject;
	so.Config.HeadersOnly = headers;
	t0 = bench_now();
	s = js_SubscribeSync(&sub, c.js, subj, NULL, &so, &jerr);
	while (s == NATS_OK && count < n) {
		natsMsg *m = NULL;

		s = natsSubscription_NextMsg(&m, sub, 10000);
		natsMsg_Destroy(m);
		count++;
	}
	if (s != NATS_OK) {
		natsSubscription_Destroy(sub);
		raw_close(&c);
		return fail("ordered consumer", s);
	}
	bench_result(headers ? "raw.ordered_headers_s" : "raw.ordered_s",
	             bench_now() - t0);
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
	raw_close(&c);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: slip-bench-raw freeport | fill URL BUCKET N "
	                "[VSIZE] [PFX] | put|get URL BUCKET N [PFX] | "
	                "gets URL BUCKET N [PFX] [TO] | watchall URL BUCKET "
	                "[meta|list|rss] | "
	                "keys URL BUCKET | ordered URL BUCKET N [headers]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *cmd = bench_arg_str(argc, argv, 1, "");
	const char *url = bench_arg_str(argc, argv, 2, NULL);
	const char *bucket = bench_arg_str(argc, argv, 3, NULL);
	int rc;

	if (strcmp(cmd, "freeport") == 0)
		return cmd_freeport();
	if (url == NULL || bucket == NULL)
		return usage();
	g_report_fill = strcmp(cmd, "pubasync") == 0;
	if (strcmp(cmd, "fill") == 0 || g_report_fill)
		rc = cmd_fill(url, bucket, bench_arg_long(argc, argv, 4, 1000),
		              bench_arg_long(argc, argv, 5, 100),
		              bench_arg_str(argc, argv, 6, "k"));
	else if (strcmp(cmd, "put") == 0)
		rc = cmd_put(url, bucket, bench_arg_long(argc, argv, 4, 1000),
		             bench_arg_str(argc, argv, 5, "p"));
	else if (strcmp(cmd, "get") == 0)
		rc = cmd_get(url, bucket, bench_arg_long(argc, argv, 4, 1000),
		             bench_arg_str(argc, argv, 5, "p"), "raw.get_ops",
		             0);
	else if (strcmp(cmd, "gets") == 0)
		rc = cmd_get(url, bucket, bench_arg_long(argc, argv, 4, 1000),
		             bench_arg_str(argc, argv, 5, "k"), "raw.gets_s",
		             bench_arg_long(argc, argv, 6, 0));
	else if (strcmp(cmd, "watchall") == 0)
		rc = cmd_watchall(url, bucket,
		                  bench_arg_str(argc, argv, 4, ""));
	else if (strcmp(cmd, "keys") == 0)
		rc = cmd_keys(url, bucket);
	else if (strcmp(cmd, "ordered") == 0)
		rc = cmd_ordered(url, bucket, bench_arg_long(argc, argv, 4, 1),
		                 strcmp(bench_arg_str(argc, argv, 5, ""),
		                        "headers") == 0);
	else
		return usage();
	nats_Close();
	return rc;
}
