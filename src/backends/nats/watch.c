/*
 * src/backends/nats/watch.c — the watcher: one ordered push consumer (flow
 * control + idle heartbeat, recreated by libnats after a gap) filtered on
 * the token-aligned part of the prefix, delivering the last entry per key
 * (from the start) or every update after a cursor; the rest of the prefix
 * is matched here. Several prefixes (filters.c): on nats-server >= 2.10 one
 * multi-filter consumer of our own (multi.c), not recreated after a gap
 * (SLIP_EWATCH instead); below 2.10 the ordered consumer on their common
 * token-aligned part. The
 * cursor is checked against the stream before subscribing and again once the
 * consumer is live, because the server silently clamps an out-of-range start
 * sequence. A heartbeat watchdog turns a lost stream into SLIP_EWATCH; a closed
 * connection ends the watch with SLIP_ENOTCONNECTED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_backend.h"

#define WATCH_HEARTBEAT_MS 1000
#define WATCH_POLL_MS      150
#define WATCH_FIRST_MS     20
#define WATCH_MISSED_MAX   3     /* missed-heartbeat reports before EWATCH */
#define WATCH_DOWN_MAX_MS  10000 /* connection down this long: EWATCH */
/*
 * libnats 3.4.1 drops messages past these limits and an ordered consumer
 * does not always notice (the delivered count moves on): the server's
 * flow-control window is what bounds memory, so the limits sit above it
 * (no count limit, 256 MiB) and a drop still ends the watch (SLIP_EWATCH).
 */
#define WATCH_PENDING_MSGS  (-1)
#define WATCH_PENDING_BYTES (256 * 1024 * 1024)

typedef struct watch_state {
	slip_nats_store *st;
	slip_chan *tx;
	jsCtx *js;
	natsConnection *nc;
	slip_nats_filters f; /* server filters, client-side prefixes */
	bool markers;
	bool has_cursor;
	uint64_t from_seq; /* cursor sequence, 0 without a cursor */
	int64_t identity;
	uint64_t start_last; /* stream last_seq before subscribing */
	uint64_t last_seen;  /* last stream sequence delivered */
	uint64_t last_dseq;  /* its consumer sequence */
	/* Caught up once a message at or past @c target (the last sequence
	 * on the server filter once the consumer existed) is delivered. Not
	 * the NumPending of the ack subjects: nats-server 2.9 recounts it for
	 * last-per-subject consumers on every consumer-info request, which
	 * undercounts keys rewritten while the initial phase runs, and
	 * double-counts messages it delivers twice after an eviction. */
	uint64_t target;
	int64_t target_checked; /* last re-read of the target, ns */
	bool caught_up;
	/* Floor guard: with a whole-bucket filter every stored message
	 * reaches us in order once past the initial last-per-key phase, so a
	 * jump past frontier + 1 is either an interior eviction (harmless:
	 * the key's later revision follows) or retention overrunning the
	 * watch (updates lost unseen) — told apart by the stream's first_seq.
	 */
	bool dense_filter;
	bool dense;
	uint64_t frontier;
	natsSubscription *sub;
	slip_nats_consumer cn;
	slip_nats_watch_reg reg;
	bool multi; /* several server filters: our own consumer (multi.c) */
	slip_nats_mcons mc;
} watch_state;

static int stream_facts(watch_state *w, jsStreamInfo **si)
{
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(si, w->js, w->st->stream, NULL, &jerr);
	if (s == NATS_OK)
		return SLIP_OK;
	*si = NULL;
	if (s == NATS_NOT_FOUND || jerr == SLIP_NATS_ERR_STREAM_NOT_FOUND) {
		return slip_set_error(SLIP_EWATCH,
		                      "watch \"%s\": bucket no longer exists",
		                      w->st->name);
	}
	return slip__nats_fail(w->st->c, s, jerr, "watch", w->st->name);
}

/* docs/design.md, "Cursors": usable only if every later update is held. */
static int check_cursor(watch_state *w, const jsStreamInfo *si,
                        const char *when)
{
	if (si->Created != w->identity)
		return slip_set_error(
		        SLIP_ECURSOREXPIRED,
		        "watch \"%s\": cursor expired: the bucket "
		        "was deleted and recreated (%s)",
		        w->st->name, when);
	if (!w->has_cursor)
		return SLIP_OK;
	uint64_t first = si->State.FirstSeq;
	if (first > 0 && w->from_seq + 1 < first)
		return slip_set_error(
		        SLIP_ECURSOREXPIRED,
		        "watch \"%s\": cursor expired: updates "
		        "after %llu are gone (oldest held is %llu, "
		        "%s)",
		        w->st->name, (unsigned long long)w->from_seq,
		        (unsigned long long)first, when);
	if (w->from_seq > si->State.LastSeq)
		return slip_set_error(
		        SLIP_ECURSOREXPIRED,
		        "watch \"%s\": cursor expired: cursor %llu "
		        "is past the bucket's last revision %llu",
		        w->st->name, (unsigned long long)w->from_seq,
		        (unsigned long long)si->State.LastSeq);
	return SLIP_OK;
}

/* One consumer filtered on every server filter (nats-server >= 2.10). */
static int subscribe_multi(watch_state *w)
{
	slip_nats_mopts o = {
	        .op = "watch",
	        .f = &w->f,
	        .start_seq = w->has_cursor ? w->from_seq + 1 : 0,
	        .headers_only = false,
	        .heartbeat_ns = (int64_t)WATCH_HEARTBEAT_MS * 1000000,
	};
	int rc = slip__nats_mcons_start(w->st, w->nc, w->js, &o, &w->mc);
	if (rc == SLIP_ENOTFOUND)
		rc = slip_set_error(SLIP_EWATCH,
		                    "watch \"%s\": bucket no longer exists",
		                    w->st->name);
	if (rc != SLIP_OK)
		return rc;
	w->multi = true;
	w->sub = w->mc.sub;
	w->cn = w->mc.cn;
	w->reg.sub = w->sub;
	atomic_init(&w->reg.missed, 0);
	slip__nats_watch_register(w->st->c, &w->reg);
	return SLIP_OK;
}

/* The next message of either kind of consumer. */
static natsStatus next_msg(watch_state *w, natsMsg **m, int timeout_ms)
{
	if (w->multi)
		return slip__nats_mcons_next(&w->mc, m, timeout_ms,
		                             &w->reg.missed);
	return natsSubscription_NextMsg(m, w->sub, timeout_ms);
}

static int subscribe(watch_state *w)
{
	jsSubOptions so;
	jsErrCode jerr = 0;
	const char *filter = w->f.subj[0];
	if (w->f.count > 1)
		return subscribe_multi(w);
	jsSubOptions_Init(&so);
	so.Stream = w->st->stream;
	so.Ordered = true;
	so.Config.Heartbeat = (int64_t)WATCH_HEARTBEAT_MS * 1000000;
	so.Config.InactiveThreshold = SLIP_NATS_INACTIVE_NS;
	if (w->has_cursor) {
		so.Config.DeliverPolicy = js_DeliverByStartSequence;
		so.Config.OptStartSeq = w->from_seq + 1;
	} else {
		so.Config.DeliverPolicy = js_DeliverLastPerSubject;
	}
	natsStatus s =
	        js_SubscribeSync(&w->sub, w->js, filter, NULL, &so, &jerr);
	if (s != NATS_OK) {
		w->sub = NULL;
		if (jerr == SLIP_NATS_ERR_STREAM_NOT_FOUND ||
		    s == NATS_NOT_FOUND)
			return slip_set_error(SLIP_EWATCH,
			                      "watch \"%s\": bucket no longer "
			                      "exists",
			                      w->st->name);
		return slip__nats_fail(w->st->c, s, jerr, "watch", w->st->name);
	}
	natsSubscription_SetPendingLimits(w->sub, WATCH_PENDING_MSGS,
	                                  WATCH_PENDING_BYTES);
	w->reg.sub = w->sub;
	atomic_init(&w->reg.missed, 0);
	slip__nats_watch_register(w->st->c, &w->reg);
	return SLIP_OK;
}

/* Sends @p e, waiting while the channel is full but staying responsive to
 * close(). SLIP_ECLOSED when the receiver went away. Frees @p e unless the
 * channel took it. */
static int deliver(watch_state *w, slip_entry *e)
{
	for (;;) {
		int rc = slip_chan_send_timeout(w->tx, e, WATCH_POLL_MS);
		if (rc == SLIP_OK)
			return SLIP_OK;
		if (rc != SLIP_ETIMEOUT) {
			slip_entry_free(e);
			return rc;
		}
		if (slip__nats_is_closed(w->st->c)) {
			slip_entry_free(e);
			return slip_set_error(SLIP_ENOTCONNECTED,
			                      "watch \"%s\": connection closed",
			                      w->st->name);
		}
	}
}

static int send_marker(watch_state *w)
{
	slip_entry *e = NULL;
	uint8_t *v = NULL;
	int rc = slip_entry_alloc(&e, "", 0, 0, &v);
	if (rc != SLIP_OK)
		return rc;
	uint64_t pos =
	        w->last_seen > w->start_last ? w->last_seen : w->start_last;
	if (w->has_cursor && w->from_seq > pos)
		pos = w->from_seq;
	e->op = SLIP_OP_CAUGHT_UP;
	e->cursor = slip_cursor_seq_make(pos, w->identity);
	return deliver(w, e);
}

static int caught_up(watch_state *w)
{
	w->caught_up = true;
	if (w->start_last > w->frontier)
		w->frontier = w->start_last;
	w->dense = w->dense_filter;
	return w->markers ? send_marker(w) : SLIP_OK;
}

/* The consumer's name, for deleting it at the end, when no message
 * brought it. */
static int learn_consumer(watch_state *w)
{
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr = 0;
	if (w->multi)
		return SLIP_OK; /* named by the create answer */
	natsStatus s =
	        natsSubscription_GetConsumerInfo(&ci, w->sub, NULL, &jerr);
	if (s != NATS_OK)
		return slip__nats_fail(w->st->c, s, jerr, "watch", w->st->name);
	if (ci->Name != NULL && w->cn.name[0] == '\0')
		snprintf(w->cn.name, sizeof(w->cn.name), "%s", ci->Name);
	jsConsumerInfo_Destroy(ci);
	return SLIP_OK;
}

/* The last stream sequence on the union of the watch's server filters. */
static int last_on_filter(watch_state *w, uint64_t *out)
{
	return slip__nats_last_on_filters(w->st, w->js, w->f.subj, w->f.count,
	                                  "watch", out);
}

/* Is everything up to the target already delivered (or never there)? */
static bool reached(const watch_state *w, uint64_t target)
{
	uint64_t floor = w->has_cursor ? w->from_seq : 0;
	if (w->last_seen > floor)
		floor = w->last_seen;
	return target <= floor;
}

/* The server thinks nothing is left but the target was not reached: the
 * messages up to it may have been removed (max_age, max_bytes, purge). Re-read
 * the last sequence on the filter; caught up if it was delivered. */
static int recheck_target(watch_state *w)
{
	uint64_t now_last = 0;
	w->target_checked = slip__now_ns();
	int rc = last_on_filter(w, &now_last);
	if (rc == SLIP_OK && reached(w, now_last))
		rc = caught_up(w);
	return rc;
}

/* A gap in a dense delivery, or a recreated consumer: harmless only if it
 * is still the same bucket and (@p floor) nothing after the frontier was
 * removed from the head of the stream. */
static int floor_check(watch_state *w, uint64_t seq, bool floor)
{
	jsStreamInfo *si = NULL;
	int rc = stream_facts(w, &si);
	if (rc != SLIP_OK)
		return rc == SLIP_ENOTCONNECTED ? rc : SLIP_EWATCH;
	uint64_t first = si->State.FirstSeq;
	bool recreated = si->Created != w->identity;
	jsStreamInfo_Destroy(si);
	if (recreated)
		return slip_set_error(SLIP_EWATCH,
		                      "watch \"%s\": bucket was deleted and "
		                      "recreated",
		                      w->st->name);
	if (floor && first > w->frontier + 1)
		return slip_set_error(
		        SLIP_EWATCH,
		        "watch \"%s\": retention removed updates "
		        "%llu..%llu before they were delivered; "
		        "resume from the last cursor",
		        w->st->name, (unsigned long long)w->frontier + 1,
		        (unsigned long long)(first < seq ? first - 1
		                                         : seq - 1));
	return SLIP_OK;
}

static int on_message(watch_state *w, natsMsg *m);

/* A first message this quick needs no consumer-info round trip to tell
 * whether there is anything to catch up with. */
static int first_message(watch_state *w)
{
	natsMsg *m = NULL;
	int rc = last_on_filter(w, &w->target);
	w->target_checked = slip__now_ns();
	if (rc != SLIP_OK)
		return rc;
	natsStatus s = next_msg(w, &m, WATCH_FIRST_MS);
	if (s == NATS_OK) {
		rc = on_message(w, m);
		natsMsg_Destroy(m);
		return rc;
	}
	/* Learnt before any marker goes out: the receiver may act on it. */
	rc = learn_consumer(w);
	if (rc == SLIP_OK && reached(w, w->target))
		rc = caught_up(w); /* nothing to deliver (empty / no delta) */
	return rc;
}

/*
 * A subscription delivers each revision at most once and in increasing
 * order whatever the server sends again (nats-server 2.9 was seen
 * redelivering a message during the last-per-key phase while keys were
 * overwritten): drop what is not above the last delivered sequence and
 * count it (slip_store_info.watch_dropped).
 */
static bool redelivered(watch_state *w, const slip_nats_meta *meta)
{
	uint64_t floor = w->has_cursor ? w->from_seq : 0;
	if (w->last_seen > floor)
		floor = w->last_seen;
	if (floor == 0 || meta->sseq > floor)
		return false;
	atomic_fetch_add(&w->st->watch_dropped, 1);
	/* The consumer sequence still counts it: keep the gap check exact. */
	if (!slip__nats_consumer_changed(&w->cn, meta) &&
	    meta->dseq == w->last_dseq + 1)
		w->last_dseq = meta->dseq;
	return true;
}

static int on_message(watch_state *w, natsMsg *m)
{
	slip_nats_meta meta;
	slip_entry *e = NULL;
	int rc = SLIP_OK;
	if (slip__nats_ack_meta(natsMsg_GetReply(m), &meta) != 0)
		return SLIP_OK; /* not a stream message */
	if (redelivered(w, &meta))
		return SLIP_OK;
	if (slip__nats_consumer_changed(&w->cn, &meta)) {
		/* libnats recreated the consumer (missed heartbeats, a gap,
		 * a reconnect) from the last sequence + 1 — on whatever
		 * stream now has the bucket's name, and clamped to its head:
		 * prove it is the same bucket and nothing was skipped. The
		 * new consumer is the one to delete when the watch ends, also
		 * when this check ends it (else it lingers for the inactive
		 * threshold, counting against the stream's consumer limit). */
		slip__nats_consumer_note(&w->cn, &meta);
		rc = floor_check(w, meta.sseq, w->caught_up || w->has_cursor);
		if (rc != SLIP_OK)
			return rc;
	} else if (w->last_dseq != 0 && meta.dseq != w->last_dseq + 1) {
		/* libnats checks the consumer sequence as messages arrive,
		 * before they are queued: a jump here means messages were
		 * dropped from the queue (slow consumer), which an early
		 * caught-up marker would otherwise hide. */
		return slip_set_error(
		        SLIP_EWATCH,
		        "watch \"%s\": the client dropped messages "
		        "(consumer sequence %llu after %llu); resume from "
		        "the last cursor",
		        w->st->name, (unsigned long long)meta.dseq,
		        (unsigned long long)w->last_dseq);
	} else if (w->dense && meta.sseq > w->frontier + 1) {
		rc = floor_check(w, meta.sseq, true);
		if (rc != SLIP_OK)
			return rc;
	}
	slip__nats_consumer_note(&w->cn, &meta);
	if (meta.sseq > w->frontier)
		w->frontier = meta.sseq;
	w->last_seen = meta.sseq;
	w->last_dseq = meta.dseq;
	if (slip__nats_filters_match(&w->f, w->st, natsMsg_GetSubject(m))) {
		rc = slip__nats_msg_entry(w->st, m, &meta, slip__nats_msg_op(m),
		                          false, &e);
		if (rc == SLIP_OK && e != NULL) {
			e->cursor =
			        slip_cursor_seq_make(meta.sseq, w->identity);
			rc = deliver(w, e);
		}
	}
	if (rc != SLIP_OK || w->caught_up)
		return rc;
	if (meta.sseq >= w->target)
		rc = caught_up(w);
	else if (meta.pending == 0 && slip__now_ns() - w->target_checked >
	                                      (int64_t)WATCH_POLL_MS * 1000000)
		rc = recheck_target(w);
	return rc;
}

/* Health of the stream while no message arrives. */
typedef struct dog {
	int64_t down_since; /* connection not connected since (0: it is) */
	int missed_base;    /* reports already judged harmless */
	int64_t last_report;
	int64_t last_check;
	int seen;
} dog;

/* Stream still there and still the same bucket? */
static int stream_alive(watch_state *w)
{
	jsStreamInfo *si = NULL;
	int rc = stream_facts(w, &si);
	if (rc == SLIP_OK && si->Created != w->identity)
		rc = slip_set_error(SLIP_EWATCH,
		                    "watch \"%s\": bucket was deleted and "
		                    "recreated",
		                    w->st->name);
	jsStreamInfo_Destroy(si);
	if (rc != SLIP_EWATCH && rc != SLIP_ENOTCONNECTED)
		rc = SLIP_OK; /* a slow answer is judged again later */
	return rc;
}

static int watchdog(watch_state *w, dog *d)
{
	int64_t now = slip__now_ns();
	const int64_t ms = 1000000;
	if (slip__nats_is_closed(w->st->c))
		return slip_set_error(SLIP_ENOTCONNECTED,
		                      "watch \"%s\": connection closed",
		                      w->st->name);
	if (natsConnection_Status(w->nc) != NATS_CONN_STATUS_CONNECTED) {
		/* Reports while disconnected say nothing about the stream. */
		d->missed_base = d->seen = atomic_load(&w->reg.missed);
		if (d->down_since == 0)
			d->down_since = now;
		if (now - d->down_since > WATCH_DOWN_MAX_MS * ms)
			return slip_set_error(SLIP_EWATCH,
			                      "watch \"%s\": connection down "
			                      "for more than %d ms",
			                      w->st->name, WATCH_DOWN_MAX_MS);
		return SLIP_OK;
	}
	d->down_since = 0;
	int missed = atomic_load(&w->reg.missed);
	if (missed < d->missed_base)
		d->missed_base = missed; /* a message reset the count */
	if (missed > d->seen) {
		d->seen = missed;
		d->last_report = now;
	}
	if (missed == d->missed_base)
		return SLIP_OK;
	/* Reports stopped: libnats recreated the consumer. */
	if (now - d->last_report > 6 * WATCH_HEARTBEAT_MS * ms) {
		d->missed_base = missed;
		return SLIP_OK;
	}
	if (missed - d->missed_base >= WATCH_MISSED_MAX)
		return slip_set_error(SLIP_EWATCH,
		                      "watch \"%s\": consumer lost (%d missed "
		                      "heartbeats, not recreated)",
		                      w->st->name, missed - d->missed_base);
	if (now - d->last_check < WATCH_HEARTBEAT_MS * ms)
		return SLIP_OK;
	d->last_check = now;
	return stream_alive(w);
}

static int run(watch_state *w)
{
	dog d;
	memset(&d, 0, sizeof(d));
	for (;;) {
		if (slip_chan_recv_closed(w->tx))
			return SLIP_OK;
		natsMsg *m = NULL;
		natsStatus s = next_msg(w, &m, WATCH_POLL_MS);
		if (s == NATS_OK) {
			atomic_store(&w->reg.missed, 0);
			d.seen = 0;
			int rc = on_message(w, m);
			natsMsg_Destroy(m);
			if (rc != SLIP_OK)
				return rc;
			continue;
		}
		if (s == NATS_SLOW_CONSUMER)
			return slip_set_error(
			        SLIP_EWATCH,
			        "watch \"%s\": the client dropped "
			        "messages (slow consumer); resume "
			        "from the last cursor",
			        w->st->name);
		if (s == NATS_TIMEOUT || s == NATS_MISSED_HEARTBEAT) {
			int rc = watchdog(w, &d);
			if (rc == SLIP_OK && !w->caught_up &&
			    slip__now_ns() - w->target_checked >
			            (int64_t)WATCH_HEARTBEAT_MS * 1000000)
				rc = recheck_target(w);
			if (rc != SLIP_OK)
				return rc;
			continue;
		}
		if (slip__nats_is_closed(w->st->c))
			return slip_set_error(SLIP_ENOTCONNECTED,
			                      "watch \"%s\": connection closed",
			                      w->st->name);
		return slip_set_error(SLIP_EWATCH, "watch \"%s\": %s",
		                      w->st->name, natsStatus_GetText(s));
	}
}

/* Pre-subscribe facts and checks. */
static int prepare(watch_state *w, const slip_watch_options *opts)
{
	jsStreamInfo *si = NULL;
	w->identity = w->st->identity;
	if (opts->from != NULL && !slip_cursor_is_none(opts->from)) {
		bool has_id = false;
		int64_t id = 0;
		if (slip_cursor_seq_split(opts->from, &w->from_seq, &has_id,
		                          &id) != SLIP_OK)
			return slip_set_error(SLIP_EINVAL,
			                      "watch \"%s\": not a NATS cursor",
			                      w->st->name);
		w->has_cursor = true;
		w->frontier = w->from_seq;
		if (has_id)
			w->identity = id;
	}
	int rc = stream_facts(w, &si);
	if (rc != SLIP_OK)
		return rc;
	if (!w->has_cursor)
		w->identity = si->Created; /* follow the bucket as it is now */
	rc = check_cursor(w, si, "before subscribing");
	w->start_last = si->State.LastSeq;
	jsStreamInfo_Destroy(si);
	return rc;
}

/* Post-subscribe re-check: the server clamps a start sequence silently. */
static int recheck(watch_state *w)
{
	jsStreamInfo *si = NULL;
	int rc = stream_facts(w, &si);
	if (rc == SLIP_OK)
		rc = check_cursor(w, si, "after subscribing");
	jsStreamInfo_Destroy(si);
	return rc;
}

int slip__nats_watch(void *store, const slip_watch_options *opts, slip_chan *tx)
{
	watch_state w;
	memset(&w, 0, sizeof(w));
	w.st = store;
	w.tx = tx;
	w.markers = (opts->flags & SLIP_WATCH_MARKERS) != 0;
	int rc = slip__nats_filters_make(
	        &w.f, w.st, opts->prefix, opts->prefixes, opts->prefix_count,
	        slip__nats_has(w.st->c, SLIP_NATS_FEAT_MULTI_FILTER));
	if (rc != SLIP_OK)
		return rc;
	w.dense_filter = slip__nats_filters_whole(&w.f, w.st);
	rc = slip__nats_use(w.st->c, "watch", &w.nc, &w.js);
	if (rc == SLIP_OK)
		rc = prepare(&w, opts);
	w.dense = w.has_cursor && w.dense_filter;
	if (rc == SLIP_OK)
		rc = subscribe(&w);
	if (rc == SLIP_OK && w.has_cursor)
		rc = recheck(&w);
	if (rc == SLIP_OK)
		rc = first_message(&w);
	if (rc == SLIP_OK)
		rc = run(&w);
	if (rc == SLIP_ECLOSED)
		rc = SLIP_OK; /* the receiver closed: a normal end */
	if (w.sub != NULL) {
		slip__nats_watch_unregister(w.st->c, &w.reg);
		slip__nats_sub_end(w.nc, w.js, w.st->stream, &w.cn, w.sub);
	}
	slip__nats_filters_free(&w.f);
	return rc;
}
