/*
 * src/backends/memory/watch.c — the memory backend's streaming watch.
 *
 * A watch covers one prefix or the union of several (one pass over the
 * log either way, so each record is looked at, and sent, once).
 * A watch runs on the caller's thread and walks the bucket's log in
 * revision order from a position (the last sequence it has looked at).
 * From the beginning, records up to the last revision at start are sent
 * only while they are still their key's latest (the current state, markers
 * included); from a cursor, every record after it still in the log is sent
 * (the delta). After that boundary every new record is sent as it comes.
 *
 * Entries are copied in small batches under the bucket lock and sent with
 * the lock released, so a slow receiver (back-pressure) never blocks
 * writers. Between batches, and every MEM_POLL_MS while idle or blocked on
 * a full channel, the watch checks whether the receiver closed the channel
 * (→ SLIP_OK), the connection was closed (→ SLIP_ENOTCONNECTED), the
 * bucket was deleted (→ SLIP_EWATCH) or retention dropped records it had
 * not delivered yet (→ SLIP_ECURSOREXPIRED, never a silent gap).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "mem.h"

#define MEM_BATCH 64
/* Non-matching records looked at per lock hold (prefix watches). */
#define MEM_SCAN_MAX 4096
#define MEM_POLL_MS  50

typedef struct mem_watch {
	mem_bucket *b;
	const atomic_bool *closed;
	slip_chan *tx;
	const char *const *prefixes; /* normalised by the core */
	size_t prefix_count;
	const char *single;   /* the one prefix of a single-prefix watch */
	bool skip_superseded; /* from the beginning: latest per key only */
	bool markers;         /* SLIP_WATCH_MARKERS */
	bool caught_up;       /* past the initial state / delta */
	uint64_t pos;         /* last sequence looked at */
	uint64_t boundary;    /* last_seq when the watch started */
	uint64_t expected;    /* estimate of initial entries, for pending */
	uint64_t sent;        /* initial entries sent so far */
	slip_entry *batch[MEM_BATCH];
	size_t n;
} mem_watch;

/* ------------------------------------------------------------ start-up */

static bool prefix_match(const mem_watch *w, const mem_key *k)
{
	return slip__prefixes_match(w->prefixes, w->prefix_count, k->name);
}

/* Refuses a cursor the bucket cannot serve the full delta after. Holds the
 * lock. */
static int check_cursor(const mem_bucket *b, uint64_t seq, bool has_id,
                        int64_t id)
{
	uint64_t first = slip__mem_first_seq(b);

	if (has_id && id != b->identity)
		return slip_set_error(SLIP_ECURSOREXPIRED,
		                      "watch \"%s\": cursor is from another "
		                      "incarnation of the bucket (identity "
		                      "%lld, bucket has %lld)",
		                      b->name, (long long)id,
		                      (long long)b->identity);
	if (seq > b->last_seq)
		return slip_set_error(SLIP_ECURSOREXPIRED,
		                      "watch \"%s\": cursor %llu is beyond the "
		                      "last revision %llu",
		                      b->name, (unsigned long long)seq,
		                      (unsigned long long)b->last_seq);
	if (seq + 1 < first)
		return slip_set_error(SLIP_ECURSOREXPIRED,
		                      "watch \"%s\": cursor %llu is older than "
		                      "the history held (first revision %llu)",
		                      b->name, (unsigned long long)seq,
		                      (unsigned long long)first);
	return SLIP_OK;
}

/* Counts what the initial phase will send, for entry->pending. Holds the
 * lock. From the beginning: live keys under the prefix (an upper bound);
 * from a cursor: records held after it (an upper bound too). */
static uint64_t estimate(const mem_watch *w)
{
	const mem_bucket *b = w->b;
	uint64_t n = 0;

	if (!w->skip_superseded)
		return b->log_len - slip__mem_log_after(b, w->pos);
	for (size_t i = 0; i < b->map.cap; i++) {
		const mem_key *k = slip__mem_key_at(b, i);
		if (k != NULL && prefix_match(w, k))
			n++;
	}
	return n;
}

static int watch_start(mem_watch *w, const slip_watch_options *opts)
{
	mem_bucket *b = w->b;
	uint64_t seq = 0;
	int64_t id = 0;
	bool has_id = false, from = !slip_cursor_is_none(opts->from);
	int rc = SLIP_OK;

	if (from && slip_cursor_seq_split(opts->from, &seq, &has_id, &id) != 0)
		return slip_set_error(
		        SLIP_EINVAL,
		        "watch \"%s\": a cursor of %u bytes is not "
		        "a memory cursor (8 or 16 bytes)",
		        b->name, (unsigned)opts->from->len);
	/* One prefix comes in opts->prefix, several in opts->prefixes. */
	if (opts->prefix_count > 0) {
		w->prefixes = opts->prefixes;
		w->prefix_count = opts->prefix_count;
	} else {
		w->prefixes = &w->single;
		w->prefix_count = 1;
		w->single = opts->prefix != NULL ? opts->prefix : "";
	}
	w->markers = (opts->flags & SLIP_WATCH_MARKERS) != 0;
	w->skip_superseded = !from;
	pthread_mutex_lock(&b->lock);
	if (atomic_load(&b->deleted)) {
		rc = slip_set_error(SLIP_ENOTFOUND,
		                    "watch \"%s\": bucket was deleted",
		                    b->name);
		goto done;
	}
	slip__mem_expire(b);
	if (from)
		rc = check_cursor(b, seq, has_id, id);
	if (rc != SLIP_OK)
		goto done;
	/* From the beginning, start where retention left off. */
	w->pos = from ? seq : b->floor - 1;
	w->boundary = b->last_seq;
	w->expected = estimate(w);
done:
	pthread_mutex_unlock(&b->lock);
	return rc;
}

/* ------------------------------------------------------------ batches */

static void batch_free(mem_watch *w)
{
	for (size_t i = 0; i < w->n; i++)
		slip_entry_free(w->batch[i]);
	w->n = 0;
}

/* Whether the record in slot @p s goes to this watcher. */
static bool wanted(const mem_watch *w, const mem_slot *s)
{
	const mem_rec *r = s->rec;

	if (r == NULL || !prefix_match(w, r->key))
		return false;
	/* In the initial state a key's older records are not sent: its
	 * latest follows later in the log. */
	return !(w->skip_superseded && s->seq <= w->boundary &&
	         r->key->latest != r);
}

static int batch_add(mem_watch *w, const mem_rec *r)
{
	slip_entry *e;
	int rc = slip__mem_rec_entry(&e, r, true);

	if (rc != SLIP_OK)
		return rc;
	e->cursor = slip_cursor_seq_make(r->seq, w->b->identity);
	if (!w->caught_up) {
		w->sent++;
		e->pending = w->expected > w->sent ? w->expected - w->sent : 0;
	}
	w->batch[w->n++] = e;
	return SLIP_OK;
}

/* Copies up to MEM_BATCH wanted records after pos into the batch and
 * advances pos over everything looked at. Holds the lock. */
static int batch_fill(mem_watch *w)
{
	const mem_bucket *b = w->b;
	uint64_t limit = w->caught_up ? UINT64_MAX : w->boundary;
	size_t i = slip__mem_log_after(b, w->pos), looked = 0;
	int rc = SLIP_OK;

	for (; i < b->log_len && w->n < MEM_BATCH && looked < MEM_SCAN_MAX;
	     i++, looked++) {
		const mem_slot *s = &b->log[i];
		if (s->seq > limit)
			break;
		w->pos = s->seq;
		if (wanted(w, s) && (rc = batch_add(w, s->rec)) != SLIP_OK)
			return rc;
	}
	/* At the end of the log (or of the initial phase), removed records
	 * past the last slot are behind us too. */
	if (i == b->log_len || (i < b->log_len && b->log[i].seq > limit))
		w->pos = limit < b->last_seq ? limit : b->last_seq;
	if (!w->caught_up && w->pos >= w->boundary && w->n > 0)
		w->batch[w->n - 1]->pending = 0;
	return SLIP_OK;
}

static void wait_for_more(mem_watch *w)
{
	struct timespec ts = slip__deadline_after_ms(MEM_POLL_MS);

	pthread_cond_timedwait(&w->b->cond, &w->b->lock, &ts);
}

/* One round under the lock: checks stop conditions, fills the batch,
 * notes the end of the initial phase or waits for a write. Sets
 * *marker when a caught-up marker is due. */
static int round_locked(mem_watch *w, bool *marker)
{
	mem_bucket *b = w->b;
	int rc;

	if (atomic_load(&b->deleted))
		return slip_set_error(SLIP_EWATCH,
		                      "watch \"%s\": bucket was deleted",
		                      b->name);
	slip__mem_expire(b);
	if (w->pos + 1 < b->floor)
		return slip_set_error(SLIP_ECURSOREXPIRED,
		                      "watch \"%s\": retention dropped "
		                      "revisions after %llu before they were "
		                      "delivered",
		                      b->name, (unsigned long long)w->pos);
	rc = batch_fill(w);
	if (rc != SLIP_OK || w->n > 0)
		return rc;
	if (!w->caught_up && w->pos >= w->boundary) {
		w->caught_up = true;
		*marker = w->markers;
	} else if (w->caught_up && w->pos >= b->last_seq) {
		wait_for_more(w);
	}
	return SLIP_OK;
}

/* ------------------------------------------------------------ delivery */

/* Stop conditions checked without the lock. SLIP_ECLOSED: receiver gone. */
static int stopped(const mem_watch *w)
{
	if (atomic_load(w->closed))
		return slip_set_error(SLIP_ENOTCONNECTED,
		                      "watch \"%s\": connection closed",
		                      w->b->name);
	if (slip_chan_recv_closed(w->tx))
		return SLIP_ECLOSED;
	return SLIP_OK;
}

/* Sends @p e, polling the stop conditions while the channel is full. On
 * any error @p e is freed. */
static int send_one(mem_watch *w, slip_entry *e)
{
	for (;;) {
		int rc = slip_chan_send_timeout(w->tx, e, MEM_POLL_MS);
		if (rc == SLIP_OK)
			return SLIP_OK;
		if (rc == SLIP_ETIMEOUT)
			rc = stopped(w);
		if (rc != SLIP_OK) {
			slip_entry_free(e);
			return rc;
		}
	}
}

static int send_batch(mem_watch *w)
{
	int rc = SLIP_OK;
	size_t i;

	for (i = 0; i < w->n && rc == SLIP_OK; i++)
		rc = send_one(w, w->batch[i]);
	/* Entries after a failed send were never handed over. */
	for (; i < w->n; i++)
		slip_entry_free(w->batch[i]);
	w->n = 0;
	return rc;
}

static int send_marker(mem_watch *w)
{
	slip_entry *e;
	int rc = slip_entry_alloc(&e, "", 0, 0, NULL);

	if (rc != SLIP_OK)
		return rc;
	e->op = SLIP_OP_CAUGHT_UP;
	e->cursor = slip_cursor_seq_make(w->pos, w->b->identity);
	return send_one(w, e);
}

int slip__mem_watch(mem_bucket *b, const atomic_bool *closed,
                    const slip_watch_options *opts, slip_chan *tx)
{
	mem_watch w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.b = b;
	w.closed = closed;
	w.tx = tx;
	rc = watch_start(&w, opts);
	while (rc == SLIP_OK && (rc = stopped(&w)) == SLIP_OK) {
		bool marker = false;
		pthread_mutex_lock(&b->lock);
		rc = round_locked(&w, &marker);
		pthread_mutex_unlock(&b->lock);
		if (rc == SLIP_OK)
			rc = send_batch(&w);
		if (rc == SLIP_OK && marker)
			rc = send_marker(&w);
	}
	batch_free(&w);
	/* The receiver closing the channel is how a caller cancels. */
	return rc == SLIP_ECLOSED ? SLIP_OK : rc;
}
