/*
 * src/backends/nats/read.c — the reader: get / entry through one direct
 * (or API) "last message for subject" request, and keys / scan over ONE
 * push consumer delivering the last message per subject (libnats' ordered
 * one, or for several prefixes on nats-server >= 2.10 a multi-filter one
 * from multi.c). The pass
 * ends once the pending count captured from the first message is drained,
 * so a large bucket never meets a cumulative timeout. Also the helpers the
 * watcher shares: subjects, ack-subject metadata, entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_backend.h"

/* Above the server's flow-control window: see watch.c. */
#define SCAN_PENDING_MSGS  (-1)
#define SCAN_PENDING_BYTES (256 * 1024 * 1024)
/* A first message this quick needs no consumer-info round trip. */
#define SCAN_FIRST_WAIT_MS 20
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

/* True when the consumer has nothing to deliver (empty bucket / filter). */
static int consumer_empty(slip_nats_store *st, jsCtx *js, natsSubscription *sub,
                          slip_nats_consumer *cn, bool multi, bool *empty)
{
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr = 0;
	natsStatus s =
	        multi ? js_GetConsumerInfo(&ci, js, st->stream, cn->name, NULL,
	                                   &jerr)
	              : natsSubscription_GetConsumerInfo(&ci, sub, NULL, &jerr);
	if (s != NATS_OK)
		return slip__nats_fail(st->c, s, jerr, "scan", st->name);
	*empty = ci->NumPending == 0 && ci->Delivered.Consumer == 0;
	if (ci->Name != NULL && cn->name[0] == '\0')
		snprintf(cn->name, sizeof(cn->name), "%s", ci->Name);
	jsConsumerInfo_Destroy(ci);
	return SLIP_OK;
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

static int pass(slip_nats_store *st, const slip_nats_filters *f, bool keys_only,
                slip_entry_cb cb, void *payload)
{
	natsSubscription *sub = NULL;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	slip_nats_consumer cn = {{0}};
	slip_nats_mcons mc;
	uint64_t total = 0, seen = 0;
	bool first = true, have_total = false, multi = f->count > 1;
	int rc = multi ? subscribe_multi(st, f, keys_only, &nc, &js, &mc)
	               : subscribe_last(st, f->subj[0], keys_only, &nc, &js,
	                                &sub);
	if (rc == SLIP_OK && multi) {
		sub = mc.sub;
		cn = mc.cn;
	}
	while (rc == SLIP_OK) {
		natsMsg *m = NULL;
		int wait = first ? SCAN_FIRST_WAIT_MS : st->c->op_timeout_ms;
		natsStatus s =
		        multi ? slip__nats_mcons_next(&mc, &m, wait, NULL)
		              : natsSubscription_NextMsg(&m, sub, wait);
		if (s == NATS_TIMEOUT && first && wait == SCAN_FIRST_WAIT_MS) {
			bool empty = false;
			rc = consumer_empty(st, js, sub, &cn, multi, &empty);
			if (rc != SLIP_OK || empty)
				break;
			first = false; /* messages are on their way */
			continue;
		}
		if (s == NATS_SLOW_CONSUMER) {
			rc = slip_set_error(SLIP_EIO,
			                    "scan \"%s\": the client dropped "
			                    "messages (slow consumer)",
			                    st->name);
			break;
		}
		if (s != NATS_OK) {
			rc = slip__nats_fail(st->c, s, 0, "scan", st->name);
			break;
		}
		slip_nats_meta meta;
		if (slip__nats_ack_meta(natsMsg_GetReply(m), &meta) != 0) {
			natsMsg_Destroy(m);
			continue; /* not a stream message */
		}
		slip__nats_consumer_note(&cn, &meta);
		if (!have_total)
			total = meta.pending + 1;
		have_total = true;
		first = false;
		seen++;
		slip_op op = slip__nats_msg_op(m);
		slip_entry *e = NULL;
		if (op == SLIP_OP_PUT &&
		    slip__nats_filters_match(f, st, natsMsg_GetSubject(m)))
			rc = slip__nats_msg_entry(st, m, &meta, op, keys_only,
			                          &e);
		natsMsg_Destroy(m);
		if (e != NULL) {
			e->pending = total - seen;
			rc = cb(payload, e);
		}
		if (rc != SLIP_OK || seen >= total || meta.pending == 0)
			break;
	}
	slip__nats_sub_end(nc, js, st->stream, &cn, sub);
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
