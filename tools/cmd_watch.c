/*
 * tools/cmd_watch.c — `watch` (print every update of a bucket as it
 * happens) and `mirror` (keep a snapshot file equal to a bucket with
 * slip_watch_applied, resuming from the snapshot's cursor).
 *
 * Both block in a library call on one thread while another notices
 * SIGINT/SIGTERM: watch runs slip_watch() on a thread and reads the channel
 * here (closing it ends the watch); mirror runs slip_watch_applied() here
 * and a small thread turns the signal flag into a shutdown trigger.
 */
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "cli.h"

#define POLL_MS 100

/* ------------------------------------------------------------------ watch */

typedef struct watch_job {
	slip_watcher *watcher;
	slip_watch_options wo;
	const char *prefixes[CLI_MAX_PREFIXES + 1]; /* borrowed from argv */
	size_t nprefixes;
	slip_chan *ch;
	int rc;
	char err[512];
} watch_job;

static void *watch_main(void *arg)
{
	watch_job *j = arg;
	j->rc = slip_watch(j->watcher, &j->wo, j->ch);
	/* The message is thread-local: keep it for the main thread. */
	if (j->rc != SLIP_OK)
		snprintf(j->err, sizeof(j->err), "%s", slip_last_error());
	slip_chan_close_send(j->ch);
	return NULL;
}

static void print_update(const cli_opts *o, const slip_entry *e)
{
	char rev[64];
	if (o->json) {
		json_record(stdout, e, true);
		return;
	}
	version_text(rev, sizeof(rev), &e->version);
	printf("%-6s %s @%s", slip_op_name(e->op), e->key, rev);
	if (e->op == SLIP_OP_PUT) {
		putchar(' ');
		human_escaped(stdout, e->value, e->value_len);
	}
	putchar('\n');
	fflush(stdout);
}

/*
 * Reads updates until the watch ends, the user interrupts, --count is
 * reached or (with --until-caught-up) the caught-up marker arrives.
 */
static int watch_loop(const cli_opts *o, slip_chan *ch, uint64_t max,
                      uint64_t target_seq)
{
	uint64_t seen = 0, seq = 0;
	for (;;) {
		slip_entry *e = NULL;
		int rc = slip_chan_recv(ch, &e, POLL_MS);
		if (rc == SLIP_ETIMEOUT) {
			if (cli_interrupted())
				return SLIP_OK;
			continue;
		}
		if (rc != SLIP_OK)
			return SLIP_OK; /* the watch ended; its rc tells why */
		if (e->op == SLIP_OP_CAUGHT_UP) {
			char c[SLIP_CURSOR_STRLEN];
			slip_cursor_to_string(&e->cursor, c, sizeof(c));
			if (!o->json)
				fprintf(stderr, "# caught up at cursor %s\n",
				        c);
			slip_entry_free(e);
			if (o->until_caught_up)
				return SLIP_OK;
			continue;
		}
		print_update(o, e);
		/* Past the bucket's last revision at the start: caught up. */
		bool done = o->until_caught_up && target_seq > 0 &&
		            slip_cursor_seq(&e->cursor, &seq) == SLIP_OK &&
		            seq >= target_seq;
		slip_entry_free(e);
		if (ferror(stdout))
			return cli_fail(SLIP_EIO,
			                "watch: writing output failed");
		if (done || (max > 0 && ++seen >= max))
			return SLIP_OK;
	}
}

int cmd_watch(const cli_opts *o)
{
	slip_conn *conn = NULL;
	slip_store *st = NULL;
	slip_cursor from = slip_cursor_none();
	watch_job job;
	pthread_t tid;
	slip_store_info info;
	uint64_t max = 0, target_seq = 0;
	int rc = SLIP_OK;

	memset(&job, 0, sizeof(job));
	job.wo = (slip_watch_options)SLIP_WATCH_OPTIONS_INIT;
	job.wo.flags = SLIP_WATCH_MARKERS;
	rc = cli_prefixes(o, true, "watch", job.prefixes, &job.nprefixes);
	if (rc != SLIP_OK)
		return rc;
	/* Several prefixes: one stream and one cursor for their union. */
	if (job.nprefixes == 1)
		job.wo.prefix = job.prefixes[0];
	else if (job.nprefixes > 1)
		job.wo.prefixes = job.prefixes;
	job.wo.prefix_count = job.nprefixes > 1 ? job.nprefixes : 0;
	if (o->from && slip_cursor_from_string(&from, o->from) != SLIP_OK)
		return cli_lib_fail(SLIP_EINVAL, "watch --from", o->from);
	if (o->count && (rc = cli_parse_u64(&max, o->count, "--count")) != 0)
		return rc;
	job.wo.from = slip_cursor_is_none(&from) ? NULL : &from;

	rc = cli_open_store(&conn, &st, o, NULL);
	if (rc != SLIP_OK)
		goto done;
	if (slip_store_get_info(st, &info) == SLIP_OK)
		target_seq = info.last_seq;
	job.watcher = slip_store_watcher(st);
	if (!job.watcher) {
		rc = cli_fail(SLIP_EUNSUPPORTED, "watch: this backend cannot "
		                                 "stream updates");
		goto done;
	}
	rc = slip_chan_new(&job.ch, 256);
	if (rc != SLIP_OK || pthread_create(&tid, NULL, watch_main, &job)) {
		rc = cli_fail(SLIP_ENOMEM, "watch: cannot start");
		goto done;
	}
	rc = watch_loop(o, job.ch, max, target_seq);
	slip_chan_close_recv(job.ch);
	pthread_join(tid, NULL);
	if (rc == SLIP_OK && job.rc != SLIP_OK)
		rc = cli_fail(job.rc, "%s",
		              job.err[0] ? job.err : slip_strerror(job.rc));
done:
	slip_chan_free(job.ch);
	slip_store_free(st);
	slip_conn_free(conn);
	return rc;
}

/* ----------------------------------------------------------------- mirror */

typedef struct counts {
	uint64_t put, del, purge, synthetic, batches;
} counts;

typedef struct mirror {
	const cli_opts *o;
	slip_snapshot_writer *snap;
	slip_shutdown *shutdown;
	cli_progress progress;
	counts batch; /* the batch being applied */
	counts phase; /* since the start or the last caught-up */
	int64_t phase_start_ns;
	bool expired;   /* the starting cursor is known to have expired */
	bool caught_up; /* once: progress is for the initial phase only */
	/* The bucket's last revision when the mirror started (0: unknown). */
	uint64_t target_seq;
	const char *prefixes[CLI_MAX_PREFIXES]; /* borrowed from argv */
	size_t nprefixes;
} mirror;

static uint64_t total(const counts *c)
{
	return c->put + c->del + c->purge + c->synthetic;
}

static void add_counts(counts *to, const counts *c)
{
	to->put += c->put;
	to->del += c->del;
	to->purge += c->purge;
	to->synthetic += c->synthetic;
	to->batches++;
}

static int mirror_apply(void *payload, void *const *items, size_t count)
{
	mirror *m = payload;
	memset(&m->batch, 0, sizeof(m->batch));
	for (size_t i = 0; i < count; i++) {
		const slip_entry *e = items[i];
		if (e->flags & SLIP_ENTRY_SYNTHETIC)
			m->batch.synthetic++;
		else if (e->op == SLIP_OP_PUT)
			m->batch.put++;
		else if (e->op == SLIP_OP_DELETE)
			m->batch.del++;
		else
			m->batch.purge++;
		if (!m->caught_up)
			progress_step(&m->progress, e->pending);
	}
	/* Counted here, not in on_applied: a resync applies many batches
	 * before it reports one cursor. */
	add_counts(&m->phase, &m->batch);
	return SLIP_OK;
}

static void print_batch(mirror *m, const char *cur)
{
	progress_clear(&m->progress);
	if (m->o->json)
		printf("{\"applied\":%" PRIu64 ",\"put\":%" PRIu64
		       ",\"delete\":%" PRIu64 ",\"purge\":%" PRIu64
		       ",\"resync_delete\":%" PRIu64 ",\"cursor\":\"%s\"}\n",
		       total(&m->batch), m->batch.put, m->batch.del,
		       m->batch.purge, m->batch.synthetic, cur);
	else
		printf("applied %" PRIu64 " (put %" PRIu64 ", delete %" PRIu64
		       ", purge %" PRIu64 ", resync delete %" PRIu64
		       ")  cursor %s\n",
		       total(&m->batch), m->batch.put, m->batch.del,
		       m->batch.purge, m->batch.synthetic, cur);
	fflush(stdout);
}

static void mirror_caught_up(void *payload, const slip_cursor *cursor)
{
	mirror *m = payload;
	const counts *c = &m->phase;
	/* The marker after a caught-up already reported: nothing new. */
	if (m->caught_up && total(c) == 0 && !m->expired)
		return;
	char cur[SLIP_CURSOR_STRLEN];
	double secs = (double)(cli_now_ns() - m->phase_start_ns) / 1e9;
	bool resync = m->expired || c->synthetic > 0;
	size_t keys = slip_snapshot_writer_count(m->snap);

	progress_done(&m->progress);
	slip_cursor_to_string(cursor, cur, sizeof(cur));
	if (m->o->json)
		printf("{\"caught_up\":true,\"resync\":%s,\"applied\":%" PRIu64
		       ",\"put\":%" PRIu64 ",\"delete\":%" PRIu64
		       ",\"purge\":%" PRIu64 ",\"resync_delete\":%" PRIu64
		       ",\"batches\":%" PRIu64 ",\"seconds\":%.3f,\"keys\":%zu"
		       ",\"cursor\":\"%s\"}\n",
		       resync ? "true" : "false", total(c), c->put, c->del,
		       c->purge, c->synthetic, c->batches, secs, keys, cur);
	else
		printf("caught up%s: applied %" PRIu64 " updates (put %" PRIu64
		       ", delete %" PRIu64 ", purge %" PRIu64
		       ", resync delete %" PRIu64 ") in %" PRIu64
		       " batches, %.3f s; snapshot holds %zu keys; cursor %s\n",
		       resync ? " after resync" : "", total(c), c->put, c->del,
		       c->purge, c->synthetic, c->batches, secs, keys, cur);
	fflush(stdout);
	memset(&m->phase, 0, sizeof(m->phase));
	m->phase_start_ns = cli_now_ns();
	m->expired = false;
	m->caught_up = true;
	if (m->o->until_caught_up)
		slip_shutdown_trigger(m->shutdown);
}

static void mirror_applied(void *payload, const slip_cursor *cursor)
{
	mirror *m = payload;
	char cur[SLIP_CURSOR_STRLEN];
	uint64_t seq = 0;
	if (!m->o->quiet) {
		slip_cursor_to_string(cursor, cur, sizeof(cur));
		print_batch(m, cur);
	}
	/*
	 * Reaching the revision the bucket had when the mirror started is
	 * being caught up too, whether or not the backend's marker follows.
	 */
	if (!m->caught_up && m->target_seq > 0 &&
	    slip_cursor_seq(cursor, &seq) == SLIP_OK && seq >= m->target_seq)
		mirror_caught_up(m, cursor);
}

/*
 * Says where the mirror starts, and whether the snapshot's cursor can
 * still be resumed: one from another incarnation of the bucket (deleted
 * and recreated), or outside the revisions the bucket still holds, means
 * a full resync (watch_applied does it; this only tells the user).
 */
static void mirror_announce(mirror *m, slip_store *st)
{
	const slip_cursor *c = slip_snapshot_writer_cursor(m->snap);
	slip_store_info in;
	char cur[SLIP_CURSOR_STRLEN];
	uint64_t seq = 0;
	const char *why = NULL;

	slip_cursor_to_string(c, cur, sizeof(cur));
	bool have_info = slip_store_get_info(st, &in) == SLIP_OK;
	m->target_seq = have_info ? in.last_seq : 0;
	if (have_info && !slip_cursor_is_none(c) &&
	    slip_cursor_seq(c, &seq) == SLIP_OK) {
		int64_t id = 0;
		for (int i = 8; i < 16 && c->len >= 16; i++)
			id = (int64_t)(((uint64_t)id << 8) | c->bytes[i]);
		if (c->len >= 16 && id != in.created_ns)
			why = "the bucket was deleted and recreated";
		else if (seq > in.last_seq)
			why = "the cursor is past the bucket's last revision";
		else if (in.first_seq > 0 && seq + 1 < in.first_seq)
			why = "the bucket no longer holds every revision after "
			      "it";
	}
	m->expired = why != NULL;
	if (m->o->json || m->o->quiet) {
		if (why && !m->o->json)
			printf("cursor expired: %s; resyncing\n", why);
		return;
	}
	if (slip_cursor_is_none(c))
		printf("no snapshot cursor: full replay of bucket %s\n",
		       slip_store_name(st));
	else if (why)
		printf("snapshot cursor %s expired: %s; full resync\n", cur,
		       why);
	else
		printf("resuming from snapshot cursor %s (%zu keys)\n", cur,
		       slip_snapshot_writer_count(m->snap));
	fflush(stdout);
}

static void *signal_main(void *arg)
{
	slip_shutdown *s = arg;
	while (!slip_shutdown_wait(s, POLL_MS))
		if (cli_interrupted())
			slip_shutdown_trigger(s);
	return NULL;
}

static int mirror_run(mirror *m, slip_store *st, slip_cursor *final)
{
	slip_applied_options ao = SLIP_APPLIED_OPTIONS_INIT;
	pthread_t tid;
	int rc;

	ao.watcher = slip_store_watcher(st);
	if (!ao.watcher)
		return cli_fail(SLIP_EUNSUPPORTED, "mirror: this backend "
		                                   "cannot stream updates");
	if (m->nprefixes == 1)
		ao.prefix = m->prefixes[0];
	else if (m->nprefixes > 1)
		ao.prefixes = m->prefixes;
	ao.prefix_count = m->nprefixes > 1 ? m->nprefixes : 0;
	ao.snapshot = m->snap;
	ao.apply = mirror_apply;
	ao.on_applied = mirror_applied;
	ao.on_caught_up = mirror_caught_up;
	ao.payload = m;
	ao.shutdown = m->shutdown;
	if (pthread_create(&tid, NULL, signal_main, m->shutdown) != 0)
		return cli_fail(SLIP_ENOMEM, "mirror: cannot start");
	m->phase_start_ns = cli_now_ns();
	rc = slip_watch_applied(&ao, final);
	if (rc != SLIP_OK)
		cli_lib_fail(rc, "mirror", slip_store_name(st));
	slip_shutdown_trigger(m->shutdown);
	pthread_join(tid, NULL);
	progress_done(&m->progress);
	return rc;
}

int cmd_mirror(const cli_opts *o)
{
	slip_conn *conn = NULL;
	slip_store *st = NULL;
	mirror m;
	slip_cursor final = slip_cursor_none();
	char cur[SLIP_CURSOR_STRLEN];
	int rc;

	memset(&m, 0, sizeof(m));
	m.o = o;
	if (!o->snapshot)
		return cli_fail(SLIP_EINVAL, "mirror: --snapshot FILE is "
		                             "required");
	rc = cli_prefixes(o, false, "mirror --prefix", m.prefixes,
	                  &m.nprefixes);
	if (rc != SLIP_OK)
		return rc;
	rc = slip_snapshot_writer_open(&m.snap, o->snapshot, 64u << 20);
	if (rc != SLIP_OK)
		return cli_lib_fail(rc, "snapshot", o->snapshot);
	rc = cli_open_store(&conn, &st, o, o->pos[0]);
	if (rc == SLIP_OK)
		rc = slip_shutdown_new(&m.shutdown);
	if (rc != SLIP_OK)
		goto done;
	progress_init(&m.progress, o, "replay");
	mirror_announce(&m, st);
	rc = mirror_run(&m, st, &final);
	if (rc == SLIP_OK && o->compact) {
		rc = slip_snapshot_writer_compact(m.snap);
		if (rc != SLIP_OK)
			cli_lib_fail(rc, "snapshot compact", o->snapshot);
	}
	if (rc == SLIP_OK && !o->until_caught_up && !o->json) {
		slip_cursor_to_string(&final, cur, sizeof(cur));
		printf("stopped at cursor %s; snapshot holds %zu keys\n", cur,
		       slip_snapshot_writer_count(m.snap));
	}
done:
	slip_shutdown_free(m.shutdown);
	slip_snapshot_writer_free(m.snap);
	slip_store_free(st);
	slip_conn_free(conn);
	return rc;
}
