/*
 * bench/bench_slip.c — slip-bench: the Slipstream side of every benchmark,
 * doing the same work as slip-bench-raw and bench/js so scripts/bench.sh can
 * put the figures side by side.
 *
 *   put URL BUCKET N [PFX]         N sequential slip_writer_put, ops/s
 *   get URL BUCKET N [PFX]         N sequential slip_reader_get, ops/s
 *   scan URL BUCKET                slip_reader_scan_each (entries freed
 *                                  as they come, like the raw loop), s
 *   scanlist URL BUCKET            slip_reader_scan into a list, s
 *   keys URL BUCKET                slip_reader_keys into a list, s
 *   watch URL BUCKET N             slip_watch_all into a channel, N
 *                                  entries received, s
 *   applied URL BUCKET [SNAP]      slip_watch_applied (apply does nothing)
 *                                  until the cursor reaches the bucket's
 *                                  last sequence; with SNAP a snapshot
 *                                  writer on that fresh file, s
 *   resume URL BUCKET SNAP         start → caught up from an existing
 *                                  snapshot (writer open, connect, watch
 *                                  the delta), s
 *   snapload SNAP [METRIC]         slip_snapshot_load, s
 *   snapgen SNAP N                 write N records + one checkpoint
 *   rss URL BUCKET SNAP [BATCH] [PFX]
 *                                  mirror the bucket (keys PFX.i, default
 *                                  "k") with watch_applied + snapshot
 *                                  writer (batch_max BATCH, 0 = default);
 *                                  peak RSS (VmHWM)
 *   rssreplica URL BUCKET SNAP|- [BATCH] [PFX]
 *                                  the same mirror with slip_replica (and
 *                                  its snapshot, unless "-"), peak RSS
 *   chan N                         N entries through a channel between
 *                                  two threads, entries/s (and callgrind)
 *
 * Prints "R slip.<what> <value>" lines; details go to stderr.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slipstream.h>

#include "bench_util.h"

typedef struct slip_ctx {
	slip_conn *conn;
	slip_store *store;
} slip_ctx;

static int fail(const char *what, int rc)
{
	fprintf(stderr, "bench slip: %s: %s (%s)\n", what, slip_err_name(rc),
	        slip_last_error());
	return 1;
}

static void ctx_close(slip_ctx *c)
{
	slip_store_free(c->store);
	slip_conn_free(c->conn);
	memset(c, 0, sizeof(*c));
}

static int ctx_open(slip_ctx *c, const char *url, const char *bucket)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = slip_connect(&c->conn, url);
	if (rc == SLIP_OK)
		rc = slip_store_open(&c->store, c->conn, bucket);
	if (rc != SLIP_OK) {
		ctx_close(c);
		return fail(bucket, rc);
	}
	return 0;
}

static int cmd_put(const char *url, const char *bucket, long n,
                   const char *prefix, const char *metric)
{
	slip_ctx c;
	uint8_t val[100];
	char key[256];
	double t0;

	if (ctx_open(&c, url, bucket) != 0)
		return 1;
	t0 = bench_now();
	for (long i = 0; i < n; i++) {
		int rc;

		bench_key(key, sizeof(key), prefix, i);
		bench_value(val, sizeof(val), (uint64_t)i + 7);
		rc = slip_writer_put(slip_store_writer(c.store), key, val,
		                     sizeof(val), NULL);
		if (rc != SLIP_OK) {
			ctx_close(&c);
			return fail("put", rc);
		}
	}
	bench_result(metric, (double)n / (bench_now() - t0));
	ctx_close(&c);
	return 0;
}

static void count_failed(void *payload, const slip_write_result *r)
{
	if (r->rc != SLIP_OK)
		(*(long *)payload)++;
}

/*
 * N puts of 100-byte values through a pipeline with the window raw
 * js_PublishAsync gets in slip-bench-raw (4096 in flight), flushed.
 */
static int cmd_pipeput(const char *url, const char *bucket, long n,
                       const char *prefix)
{
	slip_ctx c;
	slip_pipeline *p = NULL;
	slip_pipeline_options o = SLIP_PIPELINE_OPTIONS_INIT;
	uint8_t val[100];
	char key[256];
	long failed = 0;
	double t0;
	int rc;

	if (ctx_open(&c, url, bucket) != 0)
		return 1;
	o.max_ops = 4096;
	o.on_result = count_failed;
	o.payload = &failed;
	t0 = bench_now();
	rc = slip_pipeline_new(&p, slip_store_writer(c.store), &o);
	for (long i = 0; i < n && rc == SLIP_OK; i++) {
		bench_key(key, sizeof(key), prefix, i);
		bench_value(val, sizeof(val), (uint64_t)i + 11);
		rc = slip_pipeline_put(p, key, val, sizeof(val));
	}
	if (rc == SLIP_OK)
		rc = slip_pipeline_flush(p, NULL);
	if (rc == SLIP_OK)
		bench_result("slip.pipeput_ops",
		             (double)n / (bench_now() - t0));
	else
		fail("pipelined put", rc);
	slip_pipeline_free(p);
	ctx_close(&c);
	return rc == SLIP_OK && failed == 0 ? 0 : 1;
}

static int cmd_get(const char *url, const char *bucket, long n,
                   const char *prefix)
{
	slip_ctx c;
	char key[256];
	double t0;

	if (ctx_open(&c, url, bucket) != 0)
		return 1;
	t0 = bench_now();
	for (long i = 0; i < n; i++) {
		slip_entry *e = NULL;
		int rc;

		bench_key(key, sizeof(key), prefix, i);
		rc = slip_reader_get(slip_store_reader(c.store), key, &e);
		if (rc != SLIP_OK || e == NULL) {
			ctx_close(&c);
			return fail("get", rc != SLIP_OK ? rc : SLIP_ENOTFOUND);
		}
		slip_entry_free(e);
	}
	bench_result("slip.get_ops", (double)n / (bench_now() - t0));
	ctx_close(&c);
	return 0;
}

static int count_and_free(void *payload, slip_entry *e)
{
	(*(long *)payload)++;
	slip_entry_free(e);
	return 0;
}

static int cmd_scan(const char *url, const char *bucket, const char *mode)
{
	slip_ctx c;
	slip_entry_list list = {0, NULL};
	slip_key_list keys = {0, NULL};
	slip_store_info info;
	slip_reader *r;
	long count = 0;
	double t0, dt;
	int rc;

	if (ctx_open(&c, url, bucket) != 0)
		return 1;
	rc = slip_store_get_info(c.store, &info);
	if (rc != SLIP_OK) {
		ctx_close(&c);
		return fail("store info", rc);
	}
	r = slip_store_reader(c.store);
	t0 = bench_now();
	if (strcmp(mode, "scan") == 0) {
		rc = slip_reader_scan_each(r, "", false, count_and_free,
		                           &count);
	} else if (strcmp(mode, "scanlist") == 0) {
		rc = slip_reader_scan(r, "", &list);
		count = (long)list.count;
	} else if (strcmp(mode, "keyseach") == 0) {
		rc = slip_reader_scan_each(r, "", true, count_and_free, &count);
	} else {
		rc = slip_reader_keys(r, "", &keys);
		count = (long)keys.count;
	}
	dt = bench_now() - t0;
	slip_entry_list_free(&list);
	slip_key_list_free(&keys);
	ctx_close(&c);
	if (rc != SLIP_OK)
		return fail(mode, rc);
	fprintf(stderr, "bench slip: %s: %ld entries\n", mode, count);
	if (count != (long)info.messages) {
		/* The bench buckets hold one live value per key. */
		fprintf(stderr, "bench slip: %s: LOST ENTRIES: %ld of %llu\n",
		        mode, count, (unsigned long long)info.messages);
		return 1;
	}
	if (strcmp(mode, "scan") == 0)
		bench_result("slip.scan_s", dt);
	else if (strcmp(mode, "scanlist") == 0)
		bench_result("slip.scanlist_s", dt);
	else if (strcmp(mode, "keyseach") == 0)
		bench_result("slip.keyseach_s", dt);
	else
		bench_result("slip.keys_s", dt);
	return 0;
}

/* ------------------------------------------------------------- watching */

typedef struct watch_thread {
	slip_watcher *w;
	slip_chan *ch;
	int rc;
} watch_thread;

static void *watch_main(void *arg)
{
	watch_thread *t = arg;

	t->rc = slip_watch_all(t->w, t->ch);
	return NULL;
}

static int cmd_watch(const char *url, const char *bucket, long n)
{
	slip_ctx c;
	watch_thread t = {NULL, NULL, 0};
	pthread_t th;
	long count = 0;
	double t0;
	int rc;

	if (ctx_open(&c, url, bucket) != 0)
		return 1;
	rc = slip_chan_new(&t.ch, 1024);
	if (rc != SLIP_OK) {
		ctx_close(&c);
		return fail("chan", rc);
	}
	t.w = slip_store_watcher(c.store);
	t0 = bench_now();
	pthread_create(&th, NULL, watch_main, &t);
	while (count < n) {
		slip_entry *e = NULL;

		rc = slip_chan_recv(t.ch, &e, 10000);
		if (rc != SLIP_OK)
			break;
		slip_entry_free(e);
		count++;
	}
	if (rc == SLIP_OK)
		bench_result("slip.watch_s", bench_now() - t0);
	slip_chan_close_recv(t.ch);
	pthread_join(th, NULL);
	slip_chan_free(t.ch);
	ctx_close(&c);
	if (rc != SLIP_OK)
		return fail("watch recv", rc);
	if (t.rc != SLIP_OK)
		return fail("watch", t.rc);
	return 0;
}

/* State of one slip_watch_applied run: stop once `target` is applied. */
typedef struct applied_run {
	slip_shutdown *stop;
	uint64_t target; /* the bucket's last sequence when we started */
	long applied;    /* updates handed to apply() */
	double t_done;   /* when the target was reached */
	bool caught_up;
} applied_run;

static int apply_nothing(void *payload, void *const *items, size_t count)
{
	applied_run *run = payload;

	(void)items;
	run->applied += (long)count;
	return 0;
}

static void on_applied(void *payload, const slip_cursor *cursor)
{
	applied_run *run = payload;
	uint64_t seq = 0;

	if (slip_cursor_seq(cursor, &seq) == SLIP_OK && seq >= run->target &&
	    run->t_done == 0) {
		run->t_done = bench_now();
		slip_shutdown_trigger(run->stop);
	}
}

static void on_caught_up(void *payload, const slip_cursor *cursor)
{
	applied_run *run = payload;

	run->caught_up = true;
	on_applied(payload, cursor);
}

/*
 * The bucket's facts (last sequence = the point to reach), read on a
 * connection of its own before any clock starts.
 */
static int fetch_info(const char *url, const char *bucket, slip_store_info *out)
{
	slip_ctx c;
	int rc;

	if (ctx_open(&c, url, bucket) != 0)
		return 1;
	rc = slip_store_get_info(c.store, out);
	ctx_close(&c);
	return rc == SLIP_OK ? 0 : fail("store info", rc);
}

static size_t g_batch_max; /* 0: the library's default */
static bool g_full_replay; /* no snapshot, no cursor: every key expected */

/*
 * Runs watch_applied on @p c until the bucket's last sequence (@p info,
 * read before the clock started) is applied. *secs gets the time from
 * @p t0 to that moment, *applied the number of updates apply() got.
 */
static int run_applied(slip_ctx *c, slip_snapshot_writer *snap,
                       const slip_store_info *info, double t0, double *secs,
                       long *applied)
{
	slip_applied_options o = SLIP_APPLIED_OPTIONS_INIT;
	applied_run run;
	slip_cursor final = slip_cursor_none();
	int rc;

	memset(&run, 0, sizeof(run));
	rc = slip_shutdown_new(&run.stop);
	if (rc != SLIP_OK)
		return fail("shutdown", rc);
	run.target = info->last_seq;
	o.watcher = slip_store_watcher(c->store);
	o.snapshot = snap;
	o.batch_max = g_batch_max;
	o.apply = apply_nothing;
	o.on_applied = on_applied;
	o.on_caught_up = on_caught_up;
	o.payload = &run;
	o.shutdown = run.stop;
	rc = slip_watch_applied(&o, &final);
	slip_shutdown_free(run.stop);
	if (rc != SLIP_OK)
		return fail("watch_applied", rc);
	if (run.t_done == 0) {
		fprintf(stderr,
		        "bench slip: watch_applied ended before "
		        "reaching sequence %llu\n",
		        (unsigned long long)run.target);
		return 1;
	}
	/*
	 * A full replay of a bucket keeping one value per key must hand
	 * apply() every key: anything less is lost updates, not speed.
	 */
	if (g_full_replay && run.applied != (long)info->messages) {
		fprintf(stderr,
		        "bench slip: LOST UPDATES: the cursor reached %llu "
		        "but apply() got %ld of %llu keys\n",
		        (unsigned long long)run.target, run.applied,
		        (unsigned long long)info->messages);
		return 1;
	}
	*secs = run.t_done - t0;
	*applied = run.applied;
	return 0;
}

static int cmd_applied(const char *url, const char *bucket, const char *snap)
{
	slip_ctx c;
	slip_store_info info;
	slip_snapshot_writer *w = NULL;
	double secs = 0;
	long applied = 0;
	int rc = 1;

	if (snap != NULL) {
		unlink(snap);
		rc = slip_snapshot_writer_open(&w, snap, 0);
		if (rc != SLIP_OK)
			return fail("snapshot open", rc);
		rc = 1;
	}
	if (ctx_open(&c, url, bucket) != 0)
		goto done;
	g_full_replay = true;
	rc = slip_store_get_info(c.store, &info);
	if (rc == SLIP_OK)
		rc = run_applied(&c, w, &info, bench_now(), &secs, &applied);
	else
		rc = fail("store info", rc);
	ctx_close(&c);
	if (rc == 0) {
		fprintf(stderr, "bench slip: applied %ld updates\n", applied);
		bench_result(snap ? "slip.applied_snap_s" : "slip.applied_s",
		             secs);
	}
done:
	slip_snapshot_writer_free(w);
	return rc;
}

/*
 * The service restart: everything from opening the snapshot to having the
 * delta applied, connecting included (a real service does all of it).
 */
static int cmd_resume(const char *url, const char *bucket, const char *snap,
                      const char *metric)
{
	slip_ctx c;
	slip_snapshot_writer *w = NULL;
	slip_store_info info;
	double t0, t_open, t_conn, secs = 0;
	long applied = 0;
	int rc;

	if (fetch_info(url, bucket, &info) != 0)
		return 1;
	t0 = bench_now();
	if (snap != NULL) {
		rc = slip_snapshot_writer_open(&w, snap, 0);
		if (rc != SLIP_OK)
			return fail("snapshot open", rc);
	}
	t_open = bench_now() - t0;
	g_full_replay = snap == NULL;
	if (ctx_open(&c, url, bucket) != 0) {
		slip_snapshot_writer_free(w);
		return 1;
	}
	t_conn = bench_now() - t0 - t_open;
	rc = run_applied(&c, w, &info, t0, &secs, &applied);
	ctx_close(&c);
	if (rc == 0) {
		fprintf(stderr,
		        "bench slip: %s: %ld updates applied in %.4f s: "
		        "snapshot open %.4f s, connect+bind %.4f s, "
		        "watch to caught up %.4f s\n",
		        metric, applied, secs, t_open, t_conn,
		        secs - t_open - t_conn);
		bench_result(metric, secs);
		if (snap != NULL) {
			bench_result("slip.resume_open_s", t_open);
			bench_result("slip.resume_conn_s", t_conn);
			bench_result("slip.resume_watch_s",
			             secs - t_open - t_conn);
		}
	}
	slip_snapshot_writer_free(w);
	return rc;
}

/* ------------------------------------------------------------- snapshot */

static int cmd_snapload(const char *path, const char *metric)
{
	slip_snapshot *s = NULL;
	double c0 = bench_cpu(), t0 = bench_now(), dt, cpu;
	int rc = slip_snapshot_load(&s, path);

	dt = bench_now() - t0;
	cpu = bench_cpu() - c0;
	if (rc != SLIP_OK)
		return fail("snapshot load", rc);
	if (s == NULL) {
		fprintf(stderr, "bench slip: %s: no snapshot\n", path);
		return 1;
	}
	fprintf(stderr, "bench slip: loaded %zu live entries (%llu records)\n",
	        s->count, (unsigned long long)s->records);
	bench_result(metric, dt);
	if (strcmp(metric, "slip.snapload_1m_s") == 0) {
		bench_result("slip.snapload_rps", (double)s->records / dt);
		/* Per CPU second: what the load costs, less the time spent
		 * waiting for a core on a busy machine. */
		bench_result("slip.snapload_cpu_rps", (double)s->records / cpu);
	}
	slip_snapshot_free(s);
	return 0;
}

/*
 * Makes entries [from, from + n) of the generated snapshot (untimed), in
 * shuffled key order: record i holds key k.<(i * 7919) mod total>, a
 * permutation of 0..total-1 whenever total is not a multiple of 7919.
 */
static int make_entries(slip_entry **out, long from, long n, long total)
{
	uint8_t val[100];
	char key[64];
	int rc = SLIP_OK;

	for (long i = 0; i < n; i++)
		out[i] = NULL;
	for (long i = 0; rc == SLIP_OK && i < n; i++) {
		slip_version v =
		        slip_version_from_u64((uint64_t)(from + i) + 1);

		long k = total % 7919 != 0 ? (from + i) * 7919 % total
		                           : from + i;

		bench_key(key, sizeof(key), "bench/snapshot/key", k);
		bench_value(val, sizeof(val), (uint64_t)k);
		rc = slip_entry_new(&out[i], key, val, sizeof(val), &v,
		                    SLIP_OP_PUT);
	}
	return rc;
}

#define SNAPGEN_CHUNK 10000

/*
 * Writes @p n records and one checkpoint. Only the snapshot calls are
 * timed: the entries are made beforehand, a chunk at a time.
 */
static int cmd_snapgen(const char *path, long n)
{
	slip_snapshot_writer *w = NULL;
	slip_entry **chunk = calloc(SNAPGEN_CHUNK, sizeof(*chunk));
	slip_cursor cur;
	char text[40];
	double timed = 0, t0;
	int rc;

	unlink(path);
	rc = chunk == NULL ? SLIP_ENOMEM
	                   : slip_snapshot_writer_open(&w, path, 0);
	for (long at = 0; rc == SLIP_OK && at < n; at += SNAPGEN_CHUNK) {
		long k = n - at < SNAPGEN_CHUNK ? n - at : SNAPGEN_CHUNK;

		rc = make_entries(chunk, at, k, n);
		t0 = bench_now();
		for (long i = 0; rc == SLIP_OK && i < k; i++)
			rc = slip_snapshot_writer_write(w, chunk[i]);
		timed += bench_now() - t0;
		for (long i = 0; i < k; i++)
			slip_entry_free(chunk[i]);
	}
	snprintf(text, sizeof(text), "%016llx", (unsigned long long)n);
	if (rc == SLIP_OK)
		rc = slip_cursor_from_string(&cur, text);
	t0 = bench_now();
	if (rc == SLIP_OK)
		rc = slip_snapshot_writer_checkpoint(w, &cur, NULL);
	timed += bench_now() - t0;
	slip_snapshot_writer_free(w);
	free(chunk);
	if (rc != SLIP_OK)
		return fail("snapgen", rc);
	bench_result("slip.snapwrite_rps", (double)n / timed);
	return 0;
}

/* --------------------------------------------------------------- memory */

/* Exact key + value bytes of @p n keys PFX.i with 100-byte values. */
static uint64_t mirror_bytes(const char *prefix, size_t n)
{
	uint64_t raw = 0;

	for (size_t i = 0; i < n; i++) {
		char key[256];

		bench_key(key, sizeof(key), prefix, (long)i);
		raw += strlen(key) + 100;
	}
	return raw;
}

/* Reports the peak RSS of a mirror of @p n keys; @p what names the rows. */
static void report_rss(const char *what, const char *prefix, size_t n,
                       uint64_t base, double secs)
{
	uint64_t peak = bench_peak_rss(), raw = mirror_bytes(prefix, n);
	char name[64];

	fprintf(stderr,
	        "bench slip: %s mirrored %zu keys in %.2f s; RSS before %.1f "
	        "MiB, peak %.1f MiB\n",
	        what, n, secs, (double)base / 1048576.0,
	        (double)peak / 1048576.0);
	snprintf(name, sizeof(name), "slip.%s_peak_mib", what);
	bench_result(name, (double)peak / 1048576.0);
	snprintf(name, sizeof(name), "slip.%s_raw_mib", what);
	bench_result(name, (double)raw / 1048576.0);
	snprintf(name, sizeof(name), "slip.%s_ratio", what);
	bench_result(name, (double)peak / (double)raw);
}

static int cmd_rss(const char *url, const char *bucket, const char *snap,
                   const char *prefix)
{
	slip_ctx c;
	slip_snapshot_writer *w = NULL;
	slip_store_info info;
	uint64_t base = bench_cur_rss();
	double secs = 0;
	long applied = 0;
	int rc;

	unlink(snap);
	rc = slip_snapshot_writer_open(&w, snap, 0);
	if (rc != SLIP_OK)
		return fail("snapshot open", rc);
	if (ctx_open(&c, url, bucket) != 0) {
		slip_snapshot_writer_free(w);
		return 1;
	}
	rc = slip_store_get_info(c.store, &info);
	g_full_replay = true;
	if (rc == SLIP_OK)
		rc = run_applied(&c, w, &info, bench_now(), &secs, &applied);
	else
		rc = fail("store info", rc);
	if (rc == 0) {
		report_rss("rss", prefix, slip_snapshot_writer_count(w), base,
		           secs);
		bench_result("slip.mirror_1m_s", secs);
	}
	ctx_close(&c);
	slip_snapshot_writer_free(w);
	return rc;
}

/* The mirror as a slip_replica (with its snapshot unless @p snap is "-"). */
static int cmd_rss_replica(const char *url, const char *bucket,
                           const char *snap, const char *prefix)
{
	slip_replica_options o = SLIP_REPLICA_OPTIONS_INIT;
	slip_replica *r = NULL;
	uint64_t base = bench_cur_rss();
	bool with_snap = strcmp(snap, "-") != 0;
	double t0;
	slip_ctx c;
	int rc;

	if (ctx_open(&c, url, bucket) != 0)
		return 1;
	if (with_snap)
		unlink(snap);
	o.store = c.store;
	o.snapshot_path = with_snap ? snap : NULL;
	o.batch_max = g_batch_max;
	t0 = bench_now();
	rc = slip_replica_open(&r, &o);
	if (rc == SLIP_OK)
		rc = slip_replica_wait_caught_up(r, 600000);
	if (rc == SLIP_OK)
		report_rss(with_snap ? "rss_replica_snap" : "rss_replica",
		           prefix, slip_replica_count(r), base,
		           bench_now() - t0);
	else
		fail("replica", rc);
	slip_replica_free(r);
	ctx_close(&c);
	return rc == SLIP_OK ? 0 : 1;
}

/* ------------------------------------------------------------- channel */

typedef struct chan_feed {
	slip_chan *ch;
	long n;
} chan_feed;

static void *chan_sender(void *arg)
{
	chan_feed *f = arg;
	slip_version v = slip_version_from_u64(1);

	for (long i = 0; i < f->n; i++) {
		slip_entry *e = NULL;

		if (slip_entry_new(&e, "k.1", "v", 1, &v, SLIP_OP_PUT) != 0)
			break;
		if (slip_chan_send(f->ch, e) != SLIP_OK) {
			slip_entry_free(e);
			break;
		}
	}
	slip_chan_close_send(f->ch);
	return NULL;
}

static int cmd_chan(long n)
{
	chan_feed f = {NULL, n};
	pthread_t th;
	slip_entry *e = NULL;
	long got = 0;
	double t0;
	int rc = slip_chan_new(&f.ch, 1024);

	if (rc != SLIP_OK)
		return fail("chan", rc);
	t0 = bench_now();
	pthread_create(&th, NULL, chan_sender, &f);
	while (slip_chan_recv(f.ch, &e, -1) == SLIP_OK) {
		slip_entry_free(e);
		got++;
	}
	pthread_join(th, NULL);
	slip_chan_free(f.ch);
	if (got != n) {
		fprintf(stderr, "bench slip: chan: %ld of %ld\n", got, n);
		return 1;
	}
	bench_result("slip.chan_ops", (double)n / (bench_now() - t0));
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: slip-bench put|get URL BUCKET N [PFX [METRIC]] | "
	        "pipeput URL BUCKET N [PFX] | "
	        "scan|scanlist|keys|keyseach URL BUCKET | watch URL "
	        "BUCKET N | applied URL BUCKET [SNAP] | resume URL "
	        "BUCKET SNAP | replay URL BUCKET | snapload SNAP "
	        "[METRIC] | snapgen SNAP N | rss URL BUCKET SNAP "
	        "[BATCH] [PFX] | rssreplica URL BUCKET SNAP|- "
	        "[BATCH] [PFX] | chan N\n");
	return 2;
}

static int run_net(int argc, char **argv)
{
	const char *cmd = argv[1];
	const char *url = bench_arg_str(argc, argv, 2, NULL);
	const char *bucket = bench_arg_str(argc, argv, 3, NULL);

	if (url == NULL || bucket == NULL)
		return usage();
	if (strcmp(cmd, "put") == 0)
		return cmd_put(url, bucket, bench_arg_long(argc, argv, 4, 1000),
		               bench_arg_str(argc, argv, 5, "p"),
		               bench_arg_str(argc, argv, 6, "slip.put_ops"));
	if (strcmp(cmd, "pipeput") == 0)
		return cmd_pipeput(url, bucket,
		                   bench_arg_long(argc, argv, 4, 100000),
		                   bench_arg_str(argc, argv, 5, "q"));
	if (strcmp(cmd, "get") == 0)
		return cmd_get(url, bucket, bench_arg_long(argc, argv, 4, 1000),
		               bench_arg_str(argc, argv, 5, "p"));
	if (strcmp(cmd, "scan") == 0 || strcmp(cmd, "scanlist") == 0 ||
	    strcmp(cmd, "keys") == 0 || strcmp(cmd, "keyseach") == 0)
		return cmd_scan(url, bucket, cmd);
	if (strcmp(cmd, "watch") == 0)
		return cmd_watch(url, bucket,
		                 bench_arg_long(argc, argv, 4, 1000));
	if (strcmp(cmd, "applied") == 0)
		return cmd_applied(url, bucket,
		                   bench_arg_str(argc, argv, 4, NULL));
	if (strcmp(cmd, "resume") == 0 && argc > 4)
		return cmd_resume(url, bucket, argv[4], "slip.resume_s");
	if (strcmp(cmd, "replay") == 0)
		return cmd_resume(url, bucket, NULL, "slip.replay_s");
	if (strcmp(cmd, "rss") == 0 && argc > 4) {
		g_batch_max = (size_t)bench_arg_long(argc, argv, 5, 0);
		return cmd_rss(url, bucket, argv[4],
		               bench_arg_str(argc, argv, 6, "k"));
	}
	if (strcmp(cmd, "rssreplica") == 0 && argc > 4) {
		g_batch_max = (size_t)bench_arg_long(argc, argv, 5, 0);
		return cmd_rss_replica(url, bucket, argv[4],
		                       bench_arg_str(argc, argv, 6, "k"));
	}
	return usage();
}

int main(int argc, char **argv)
{
	const char *cmd = bench_arg_str(argc, argv, 1, "");

	if (strcmp(cmd, "snapload") == 0 && argc > 2)
		return cmd_snapload(argv[2], bench_arg_str(argc, argv, 3,
		                                           "slip.snapload_s"));
	if (strcmp(cmd, "snapgen") == 0 && argc > 2)
		return cmd_snapgen(argv[2],
		                   bench_arg_long(argc, argv, 3, 1000000));
	if (strcmp(cmd, "chan") == 0)
		return cmd_chan(bench_arg_long(argc, argv, 2, 1000000));
	if (argc < 2)
		return usage();
	return run_net(argc, argv);
}
