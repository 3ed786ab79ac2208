/*
 * src/backends/nats/read.c — the reader: get / entry through one direct
 * (or API) "last message for subject" request, and keys / scan over ONE
 * push consumer delivering the last message per subject (libnats' ordered
 * one, or for several prefixes on nats-server >= 2.10 a multi-filter one
 * from multi.c). The pass ends on the last sequence on the filters read
 * once the consumer existed (never on the server's pending counts, which
 * move under writes) and keeps the newest entry per key, so a large bucket
 * never meets a cumulative timeout and concurrent overwrites neither repeat
 * nor hide a key. Also the helpers the watcher shares: subjects, the last
 * sequence on filters, ack-subject metadata, entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_backend.h"
#include "util/grow.h"
#include "util/map.h"

/* Above the server's flow-control window: see watch.c. */
#define SCAN_PENDING_MSGS  (-1)
#define SCAN_PENDING_BYTES (256 * 1024 * 1024)
/* Silence this long makes the pass re-read the filters' last sequence. */
#define SCAN_IDLE_MS 100
/* Heartbeats of a multi-filter scan consumer (flow control needs them). */
#define SCAN_HEARTBEAT_NS (5LL * 1000000000LL)

/* ----------------------------------------------------------- helpers */

char *slip__nats_subject(const slip_nats_store *st, const char *key, char *buf,
                         size_t bufsz, char **heap)
{
	size_t klen = strlen(key);
	size_t n = st->subj_len + klen + 1;
	char *p = buf;
	*heap = NULL;
	if (n > bufsz) {
		p = malloc(n);
		if (p == NULL)
			return NULL;
		*heap = p;
	}
	memcpy(p, st->subj, st->subj_len);
	memcpy(p + st->subj_len, key, klen + 1);
	return p;
}

/*
 * Limit markers (nats-server >= 2.11) carry no KV-Operation and no body,
 * only Nats-Marker-Reason; they are removals, never values. Reasons map as
 * the official clients and ADR-8 do; a reason this code does not know is
 * still a marker, so it is a Purge. A KV-Operation this code does not know
 * is not a value either: serving its body would be wrong data, so it reads
 * as a Delete (the rule docs/nats-backend.md states).
 */
slip_op slip__nats_msg_op(natsMsg *m)
{
	const char *v = NULL;
	if (natsMsgHeader_Get(m, "Nats-Marker-Reason", &v) == NATS_OK &&
	    v != NULL)
		return strcmp(v, "Remove") == 0 ? SLIP_OP_DELETE
		                                : SLIP_OP_PURGE;
	v = NULL;
	if (natsMsgHeader_Get(m, "KV-Operation", &v) != NATS_OK || v == NULL)
		return SLIP_OP_PUT;
	if (strcmp(v, "PUT") == 0)
		return SLIP_OP_PUT;
	if (strcmp(v, "PURGE") == 0)
		return SLIP_OP_PURGE;
	return SLIP_OP_DELETE; /* "DEL", or an operation unknown here */
}

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1; /* overflow */
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int slip__nats_ack_meta(const char *reply, slip_nats_meta *out)
{
	/* $JS.ACK.<stream>.<consumer>.<dlv>.<sseq>.<cseq>.<ts>.<pending>
	 * or $JS.ACK.<domain>.<hash>.<stream>.<consumer>.<dlv>.<sseq>.<cseq>.
	 * <ts>.<pending>[.<token>] */
	const char *tok[13];
	size_t len[13];
	int n = 0;
	if (reply == NULL || strncmp(reply, "$JS.ACK.", 8) != 0)
		return -1;
	const char *p = reply;
	while (n < 13) {
		const char *dot = strchr(p, '.');
		tok[n] = p;
		len[n] = dot != NULL ? (size_t)(dot - p) : strlen(p);
		n++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	int base;
	if (n == 9)
		base = 2;
	else if (n >= 11 && n <= 12)
		base = 4;
	else
		return -1;
	uint64_t ts = 0;
	if (parse_u64(tok[base + 3], len[base + 3], &out->sseq) != 0 ||
	    parse_u64(tok[base + 4], len[base + 4], &out->dseq) != 0 ||
	    parse_u64(tok[base + 5], len[base + 5], &ts) != 0 ||
	    parse_u64(tok[base + 6], len[base + 6], &out->pending) != 0)
		return -1;
	out->ts = (int64_t)ts;
	out->consumer = tok[base + 1];
	out->consumer_len = len[base + 1];
	return 0;
}

int slip__nats_msg_entry(const slip_nats_store *st, natsMsg *m,
                         const slip_nats_meta *meta, slip_op op, bool keys_only,
                         slip_entry **out)
{
	const char *subj = natsMsg_GetSubject(m);
	*out = NULL;
	if (subj == NULL || strncmp(subj, st->subj, st->subj_len) != 0)
		return SLIP_OK;
	const char *key = subj + st->subj_len;
	size_t vlen = 0;
	const char *data = NULL;
	if (!keys_only && op == SLIP_OP_PUT) {
		vlen = (size_t)natsMsg_GetDataLength(m);
		data = natsMsg_GetData(m);
	}
	uint8_t *v = NULL;
	slip_entry *e = NULL;
	int rc = slip_entry_alloc(&e, key, strlen(key), vlen, &v);
	if (rc != SLIP_OK)
		return rc;
	if (vlen > 0)
		memcpy(v, data, vlen);
	e->version = slip_version_from_u64(meta->sseq);
	e->op = op;
	e->pending = meta->pending;
	e->created_ns = meta->ts;
	*out = e;
	return SLIP_OK;
}

/* -------------------------------------------------------- get / entry */

static int last_msg(slip_nats_store *st, const char *key, natsMsg **msg)
{
	jsCtx *js = NULL;
	char buf[256], *heap = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	int rc = slip__nats_use(st->c, "get", NULL, &js);
	if (rc != SLIP_OK)
		return rc;
	char *subj = slip__nats_subject(st, key, buf, sizeof(buf), &heap);
	if (subj == NULL)
		return SLIP_ENOMEM;
	if (st->direct) {
		jsDirectGetMsgOptions dgo;
		jsDirectGetMsgOptions_Init(&dgo);
		dgo.LastBySubject = subj;
		s = js_DirectGetMsg(msg, js, st->stream, NULL, &dgo);
	} else {
		s = js_GetLastMsg(msg, js, st->stream, subj, NULL, &jerr);
	}
	free(heap);
	if (s == NATS_OK)
		return SLIP_OK;
	*msg = NULL;
	if (s == NATS_NOT_FOUND || jerr == SLIP_NATS_ERR_NO_MESSAGE_FOUND) {
		return SLIP_OK; /* no such key: *msg stays NULL */
	}
	if (jerr == SLIP_NATS_ERR_STREAM_NOT_FOUND ||
	    (st->direct && s == NATS_NO_RESPONDERS))
		return slip_set_error(SLIP_ENOTFOUND,
		                      "get \"%s\": bucket \"%s\" no longer "
		                      "exists",
		                      key, st->name);
	return slip__nats_fail(st->c, s, jerr, "get", key);
}

static int read_one(void *store, const char *key, bool with_tombstones,
                    slip_entry **out)
{
	slip_nats_store *st = store;
	natsMsg *m = NULL;
	*out = NULL;
	int rc = last_msg(st, key, &m);
	if (rc != SLIP_OK || m == NULL)
		return rc;
	slip_op op = slip__nats_msg_op(m);
	if (op == SLIP_OP_PUT || with_tombstones) {
		slip_nats_meta meta = {.sseq = natsMsg_GetSequence(m),
		                       .pending = 0,
		                       .ts = natsMsg_GetTime(m)};
		size_t klen = strlen(key);
		size_t vlen = op == SLIP_OP_PUT
		                      ? (size_t)natsMsg_GetDataLength(m)
		                      : 0;
		uint8_t *v = NULL;
		rc = slip_entry_alloc(out, key, klen, vlen, &v);
		if (rc == SLIP_OK) {
			if (vlen > 0)
				memcpy(v, natsMsg_GetData(m), vlen);
			(*out)->version = slip_version_from_u64(meta.sseq);
			(*out)->op = op;
			(*out)->created_ns = meta.ts;
		}
	}
	natsMsg_Destroy(m);
	return rc;
}

int slip__nats_get(void *store, const char *key, slip_entry **out)
{
	return read_one(store, key, false, out);
}

int slip__nats_entry(void *store, const char *key, slip_entry **out)
{
	return read_one(store, key, true, out);
}

/* --------------------------------------------------------- keys / scan */

/* The consumer's name, for deleting it at the end, when no message
 * brought it (best effort: the inactivity threshold reaps it otherwise). */
static void consumer_name(natsSubscription *sub, slip_nats_consumer *cn)
{
	jsConsumerInfo *ci = NULL;
	if (natsSubscription_GetConsumerInfo(&ci, sub, NULL, NULL) != NATS_OK)
		return;
	if (ci->Name != NULL)
		snprintf(cn->name, sizeof(cn->name), "%s", ci->Name);
	jsConsumerInfo_Destroy(ci);
}

static int subscribe_last(slip_nats_store *st, const char *filter,
                          bool keys_only, natsConnection **nc, jsCtx **jsp,
                          natsSubscription **sub)
{
	jsCtx *js = NULL;
	jsSubOptions so;
	jsErrCode jerr = 0;
	int rc = slip__nats_use(st->c, "scan", nc, &js);
	*jsp = js;
	if (rc != SLIP_OK)
		return rc;
	jsSubOptions_Init(&so);
	so.Stream = st->stream;
	so.Ordered = true;
	so.Config.DeliverPolicy = js_DeliverLastPerSubject;
	so.Config.HeadersOnly = keys_only;
	so.Config.InactiveThreshold = SLIP_NATS_INACTIVE_NS;
	natsStatus s = js_SubscribeSync(sub, js, filter, NULL, &so, &jerr);
	if (s != NATS_OK) {
		*sub = NULL;
		if (jerr == SLIP_NATS_ERR_STREAM_NOT_FOUND ||
		    s == NATS_NOT_FOUND)
			return slip_set_error(SLIP_ENOTFOUND,
			                      "scan \"%s\": bucket no longer "
			                      "exists",
			                      st->name);
		return slip__nats_fail(st->c, s, jerr, "scan", st->name);
	}
	natsSubscription_SetPendingLimits(*sub, SCAN_PENDING_MSGS,
	                                  SCAN_PENDING_BYTES);
	return SLIP_OK;
}

void slip__nats_consumer_note(slip_nats_consumer *cn,
                              const slip_nats_meta *meta)
{
	size_t n = meta->consumer_len;
	if (n == 0 || n >= sizeof(cn->name))
		return;
	if (strncmp(cn->name, meta->consumer, n) == 0 && cn->name[n] == '\0')
		return;
	memcpy(cn->name, meta->consumer, n);
	cn->name[n] = '\0';
}

bool slip__nats_consumer_changed(const slip_nats_consumer *cn,
                                 const slip_nats_meta *meta)
{
	size_t n = meta->consumer_len;
	if (cn->name[0] == '\0' || n == 0)
		return false;
	return strncmp(cn->name, meta->consumer, n) != 0 || cn->name[n] != '\0';
}

void slip__nats_sub_end(natsConnection *nc, jsCtx *js, const char *stream,
                        const slip_nats_consumer *cn, natsSubscription *sub)
{
	if (sub == NULL)
		return;
	/*
	 * libnats 3.4.1 looks a subscription up for an incoming message, drops
	 * its table lock and only then locks the subscription: freeing it in
	 * that window crashed the read loop (seen under ASan when a watch with
	 * a full flow-control window ended). So the server stops pushing first
	 * (consumer deleted), a flush lets the read loop get through what was
	 * already sent, and only then is the subscription freed. While
	 * disconnected nothing arrives, and the delete could only time out.
	 */
	if (cn->name[0] != '\0' &&
	    natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED) {
		js_DeleteConsumer(js, stream, cn->name, NULL, NULL);
		natsConnection_FlushTimeout(nc, 1000);
	}
	/* Destroy unsubscribes without libnats' consumer delete. */
	natsSubscription_Destroy(sub);
}

/* A multi-filter consumer delivering the last message per subject. */
static int subscribe_multi(slip_nats_store *st, const slip_nats_filters *f,
                           bool keys_only, natsConnection **nc, jsCtx **js,
                           slip_nats_mcons *mc)
{
	slip_nats_mopts o = {
	        .op = "scan",
	        .f = f,
	        .start_seq = 0,
	        .headers_only = keys_only,
	        .heartbeat_ns = SCAN_HEARTBEAT_NS,
	};
	int rc = slip__nats_use(st->c, "scan", nc, js);
	if (rc == SLIP_OK)
		rc = slip__nats_mcons_start(st, *nc, *js, &o, mc);
	return rc;
}

static int last_on(slip_nats_store *st, jsCtx *js, const char *filter,
                   const char *op, uint64_t *out)
{
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	if (st->direct) {
		/* The same request (and permission) as a get. */
		jsDirectGetMsgOptions dgo;
		jsDirectGetMsgOptions_Init(&dgo);
		dgo.LastBySubject = filter;
		s = js_DirectGetMsg(&m, js, st->stream, NULL, &dgo);
	} else {
		s = js_GetLastMsg(&m, js, st->stream, filter, NULL, &jerr);
	}
	*out = 0;
	if (s == NATS_OK) {
		*out = natsMsg_GetSequence(m);
		natsMsg_Destroy(m);
		return SLIP_OK;
	}
	if (s == NATS_NOT_FOUND || jerr == SLIP_NATS_ERR_NO_MESSAGE_FOUND)
		return SLIP_OK;
	return slip__nats_fail(st->c, s, jerr, op, st->name);
}

int slip__nats_last_on_filters(slip_nats_store *st, jsCtx *js,
                               char *const *subj, size_t count, const char *op,
                               uint64_t *out)
{
	*out = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t seq = 0;
		int rc = last_on(st, js, subj[i], op, &seq);
		if (rc != SLIP_OK)
			return rc;
		if (seq > *out)
			*out = seq;
	}
	return SLIP_OK;
}

/* One delivered entry of a pass and its stream sequence. */
typedef struct scan_item {
	slip_entry *e;
	uint64_t seq;
} scan_item;

/*
 * One keys / scan pass. The server's pending counts move and it may
 * redeliver while writers overwrite keys, so the pass neither counts nor
 * trusts delivery order: it keeps the newest entry per key (tombstones
 * too, so a key deleted during the pass is left out) and ends on the last
 * sequence on the filter read once the consumer existed.
 */
typedef struct scan_pass {
	slip_nats_store *st;
	const slip_nats_filters *f;
	bool multi;
	slip_nats_mcons mc; /* the consumer when multi */
	bool keys_only;
	uint64_t bound;    /* last sequence on the filter at the start */
	uint64_t max_seen; /* highest stream sequence delivered */
	uint64_t upto;     /* messages delivered up to the bound */
	uint64_t past;     /* messages delivered past it */
	bool done;
	scan_item *items; /* first-seen order */
	size_t count, cap;
	slip__map ix; /* key -> position in items + 1 */
} scan_pass;

static const void *item_key(const void *ctx, uint64_t val, size_t *len)
{
	const scan_pass *p = ctx;
	const char *key = p->items[val - 1].e->key;
	*len = strlen(key);
	return key;
}

/* Keeps @p e as its key's entry unless a newer one is held. Takes @p e. */
static int keep_newest(scan_pass *p, slip_entry *e, uint64_t seq)
{
	uint64_t at = 0;
	int rc =
	        slip__grow(&p->items, &p->cap, p->count + 1, sizeof(*p->items));
	if (rc == SLIP_OK) {
		/* Visible to item_key while the map probes for it. */
		p->items[p->count] = (scan_item){e, seq};
		rc = slip__map_upsert(&p->ix, e->key, strlen(e->key),
		                      p->count + 1, &at);
	}
	if (rc != SLIP_OK) {
		slip_entry_free(e);
		return slip_set_error(rc, "scan \"%s\": out of memory",
		                      p->st->name);
	}
	scan_item *held = &p->items[at - 1];
	if (at == p->count + 1)
		p->count++; /* a new key */
	else if (held->seq >= seq)
		slip_entry_free(e); /* a redelivery or an older revision */
	else {
		slip_entry_free(held->e);
		*held = (scan_item){e, seq};
	}
	return SLIP_OK;
}

/*
 * Past the bound the pass goes on while the server still has messages
 * (pending > 0): a key whose revision at or below the bound was replaced
 * before delivery (history 1) shows up only there. Writers that outpace
 * the pass would keep it going forever, so it stops once it has taken as
 * many messages past the bound as up to it.
 */
static void note_progress(scan_pass *p, uint64_t seq, uint64_t pending)
{
	if (seq > p->max_seen)
		p->max_seen = seq;
	if (p->max_seen < p->bound) {
		p->upto++;
		return;
	}
	p->past++;
	if (pending == 0 || p->past > p->upto)
		p->done = true;
}

static int on_scan_msg(scan_pass *p, natsMsg *m, slip_nats_consumer *cn)
{
	slip_nats_meta meta;
	if (slip__nats_ack_meta(natsMsg_GetReply(m), &meta) != 0)
		return SLIP_OK; /* not a stream message */
	slip__nats_consumer_note(cn, &meta);
	note_progress(p, meta.sseq, meta.pending);
	if (!slip__nats_filters_match(p->f, p->st, natsMsg_GetSubject(m)))
		return SLIP_OK; /* inside the server filter, outside the prefix
		                 */
	slip_entry *e = NULL;
	int rc = slip__nats_msg_entry(p->st, m, &meta, slip__nats_msg_op(m),
	                              p->keys_only, &e);
	if (rc != SLIP_OK || e == NULL)
		return rc;
	return keep_newest(p, e, meta.sseq);
}

/* Nothing arrived for a while: done if everything on the filter now was
 * delivered (what the bound named may have been removed since). */
static int idle_check(scan_pass *p, jsCtx *js)
{
	uint64_t now_last = 0;
	int rc = slip__nats_last_on_filters(p->st, js, p->f->subj, p->f->count,
	                                    "scan", &now_last);
	if (rc == SLIP_OK && now_last <= p->max_seen)
		p->done = true;
	return rc;
}

static int drain(scan_pass *p, natsSubscription *sub, jsCtx *js,
                 slip_nats_consumer *cn)
{
	int64_t idle_since = slip__now_ns();
	int64_t limit = (int64_t)p->st->c->op_timeout_ms * 1000000;
	while (!p->done) {
		natsMsg *m = NULL;
		natsStatus s =
		        p->multi ? slip__nats_mcons_next(&p->mc, &m,
		                                         SCAN_IDLE_MS, NULL)
		                 : natsSubscription_NextMsg(&m, sub,
		                                            SCAN_IDLE_MS);
		if (s == NATS_OK) {
			int rc = on_scan_msg(p, m, cn);
			natsMsg_Destroy(m);
			if (rc != SLIP_OK)
				return rc;
			idle_since = slip__now_ns();
			continue;
		}
		if (s == NATS_SLOW_CONSUMER)
			return slip_set_error(SLIP_EIO,
			                      "scan \"%s\": the client dropped "
			                      "messages (slow consumer)",
			                      p->st->name);
		if (s != NATS_TIMEOUT)
			return slip__nats_fail(p->st->c, s, 0, "scan",
			                       p->st->name);
		if (slip__now_ns() - idle_since > limit)
			return slip_set_error(
			        SLIP_ETIMEOUT,
			        "scan \"%s\": no message for %d ms "
			        "(delivered up to %llu of %llu)",
			        p->st->name, p->st->c->op_timeout_ms,
			        (unsigned long long)p->max_seen,
			        (unsigned long long)p->bound);
		int rc = idle_check(p, js);
		if (rc != SLIP_OK)
			return rc;
	}
	return SLIP_OK;
}

/* Hands the live entries to @p cb (entry->pending: how many follow) and
 * frees the rest. */
static int emit(scan_pass *p, slip_entry_cb cb, void *payload)
{
	uint64_t live = 0;
	int rc = SLIP_OK;
	for (size_t i = 0; i < p->count; i++)
		live += p->items[i].e->op == SLIP_OP_PUT;
	for (size_t i = 0; i < p->count; i++) {
		slip_entry *e = p->items[i].e;
		if (rc != SLIP_OK || e->op != SLIP_OP_PUT) {
			slip_entry_free(e);
			continue;
		}
		e->pending = --live;
		rc = cb(payload, e);
	}
	return rc;
}

static int pass(slip_nats_store *st, const slip_nats_filters *f, bool keys_only,
                slip_entry_cb cb, void *payload)
{
	natsSubscription *sub = NULL;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	slip_nats_consumer cn = {{0}};
	scan_pass p;
	memset(&p, 0, sizeof(p));
	p.st = st;
	p.f = f;
	p.multi = f->count > 1;
	p.keys_only = keys_only;
	slip__map_init(&p.ix, item_key, &p);
	int rc = p.multi ? subscribe_multi(st, f, keys_only, &nc, &js, &p.mc)
	                 : subscribe_last(st, f->subj[0], keys_only, &nc, &js,
	                                  &sub);
	if (rc == SLIP_OK && p.multi) {
		sub = p.mc.sub;
		cn = p.mc.cn;
	}
	/* Read once the consumer exists: its start is at or below it. */
	if (rc == SLIP_OK)
		rc = slip__nats_last_on_filters(st, js, f->subj, f->count,
		                                "scan", &p.bound);
	p.done = p.bound == 0; /* nothing on the filters */
	if (rc == SLIP_OK)
		rc = drain(&p, sub, js, &cn);
	if (rc == SLIP_OK && cn.name[0] == '\0' && sub != NULL && !p.multi)
		consumer_name(sub, &cn);
	slip__nats_sub_end(nc, js, st->stream, &cn, sub);
	if (rc == SLIP_OK)
		rc = emit(&p, cb, payload);
	else
		for (size_t i = 0; i < p.count; i++)
			slip_entry_free(p.items[i].e);
	free(p.items);
	slip__map_free(&p.ix);
	return rc;
}

/* One pass over one prefix (@p count 0) or the union of @p count. */
static int pass_over(slip_nats_store *st, const char *prefix,
                     const char *const *prefixes, size_t count, bool keys_only,
                     slip_entry_cb cb, void *payload)
{
	slip_nats_filters f;
	int rc = slip__nats_filters_make(
	        &f, st, prefix, prefixes, count,
	        slip__nats_has(st->c, SLIP_NATS_FEAT_MULTI_FILTER));
	if (rc != SLIP_OK)
		return rc;
	rc = pass(st, &f, keys_only, cb, payload);
	slip__nats_filters_free(&f);
	return rc;
}

int slip__nats_keys(void *store, const char *prefix, slip_entry_cb cb,
                    void *payload)
{
	return pass_over(store, prefix, NULL, 0, true, cb, payload);
}

int slip__nats_scan(void *store, const char *prefix, slip_entry_cb cb,
                    void *payload)
{
	return pass_over(store, prefix, NULL, 0, false, cb, payload);
}

int slip__nats_scan_prefixes(void *store, const char *const *prefixes,
                             size_t count, bool keys_only, slip_entry_cb cb,
                             void *payload)
{
	return pass_over(store, NULL, prefixes, count, keys_only, cb, payload);
}
