/*
 * src/backends/nats/pipe.c — pipelined writes: js_PublishMsgAsync on a
 * JetStream context of the pipe's own, whose ack handler turns each
 * acknowledgement (or error, or libnats' MaxWait timeout) into the core's
 * done callback.
 *
 * libnats hands the ack handler the original natsMsg and no per-message
 * closure, so the pipe keeps, per tag in flight, the message pointer and
 * the write it carried; the handler finds its entry by pointer, scanning
 * from the oldest tag (acks come nearly in order). A pointer is unique
 * while its message is in flight: libnats frees it only after the
 * handler, or gives it back through js_PublishAsyncGetPendingList.
 *
 * A dropped or closed connection: poll takes every message still pending
 * back from libnats (whose late acks are then discarded) and fails it —
 * nothing unacknowledged is ever reported as stored. libnats itself never
 * fails pending publishes on a disconnect, and on a closed connection
 * not even its MaxWait timeout reaches the handler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_backend.h"

typedef struct pipe_entry {
	natsMsg *msg; /* NULL: free */
	slip_nats_write w;
	char op[16];
} pipe_entry;

typedef struct nats_pipe {
	slip_nats_store *st;
	natsConnection *nc;
	jsCtx *js; /* the pipe's own: its ack handler is ours */
	slip_pipe_done done;
	void *ctx;
	pthread_mutex_t mu; /* guards the entries, lo and hi */
	pipe_entry *ent;
	size_t cap;
	uint64_t lo, hi; /* tags in [lo, hi) may be in flight */
} nats_pipe;

static const char *op_name(slip_write_kind k)
{
	switch (k) {
	case SLIP_WRITE_CREATE:
		return "create";
	case SLIP_WRITE_UPDATE:
		return "update";
	case SLIP_WRITE_DELETE:
	case SLIP_WRITE_DELETE_VERSION:
		return "delete";
	default:
		return "put";
	}
}

/* Removes the entry holding @p msg; false when none does. Locked. */
static bool take_entry(nats_pipe *p, natsMsg *msg, uint64_t *tag,
                       slip_nats_write *w, char *op)
{
	for (uint64_t t = p->lo; t < p->hi; t++) {
		pipe_entry *e = &p->ent[t % p->cap];
		if (e->msg != msg)
			continue;
		*tag = t;
		*w = e->w;
		memcpy(op, e->op, sizeof(e->op));
		w->op = op;
		e->msg = NULL;
		while (p->lo < p->hi && p->ent[p->lo % p->cap].msg == NULL)
			p->lo++;
		return true;
	}
	return false;
}

/* Why a pipelined write failed; it may have been stored unless the
 * server said otherwise. */
static int async_error(nats_pipe *p, const slip_nats_write *w, natsStatus s,
                       jsErrCode jerr, const char *txt)
{
	static const char unknown[] = "the write may or may not have been "
	                              "stored";

	if (s == NATS_TIMEOUT)
		return slip_set_error(SLIP_ETIMEOUT,
		                      "%s \"%s\": no acknowledgement within %d "
		                      "ms; %s",
		                      w->op, w->key, p->st->c->op_timeout_ms,
		                      unknown);
	if (s == NATS_CONNECTION_CLOSED)
		return slip_set_error(SLIP_ENOTCONNECTED,
		                      "%s \"%s\": connection closed before the "
		                      "server acknowledged; %s",
		                      w->op, w->key, unknown);
	if (s == NATS_CONNECTION_DISCONNECTED)
		return slip_set_error(SLIP_EIO,
		                      "%s \"%s\": connection lost before the "
		                      "server acknowledged; %s",
		                      w->op, w->key, unknown);
	if (jerr == SLIP_NATS_ERR_WRONG_LAST_SEQ ||
	    jerr == SLIP_NATS_ERR_WRONG_LAST_SEQ_CONST ||
	    jerr == SLIP_NATS_ERR_MSG_TOO_BIG || s == NATS_NO_RESPONDERS)
		return slip__nats_write_error(p->st, w, s, jerr, txt);
	return slip_set_error(jerr != 0 ? SLIP_EBACKEND : SLIP_EIO,
	                      "%s \"%s\": %s", w->op, w->key,
	                      txt != NULL ? txt : natsStatus_GetText(s));
}

/* The outcome of one acknowledgement, or of its absence. */
static void finish(nats_pipe *p, natsMsg *msg, uint64_t seq, natsStatus s,
                   jsErrCode jerr, const char *txt)
{
	slip_nats_write w;
	slip_version v;
	uint64_t tag;
	char op[16];
	int rc;

	pthread_mutex_lock(&p->mu);
	bool ours = take_entry(p, msg, &tag, &w, op);
	pthread_mutex_unlock(&p->mu);
	natsMsg_Destroy(msg);
	if (!ours)
		return;
	if (s == NATS_OK) {
		v = slip_version_from_u64(seq);
		p->done(p->ctx, tag, SLIP_OK, &v, "");
		return;
	}
	rc = async_error(p, &w, s, jerr, txt);
	/* Last: the core may free this pipe once every done has run. */
	p->done(p->ctx, tag, rc, NULL, slip_last_error());
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
                   void *closure)
{
	(void)js;
	if (pa != NULL)
		finish(closure, msg, pa->Sequence, NATS_OK, 0, NULL);
	else
		finish(closure, msg, 0, pae != NULL ? pae->Err : NATS_ERR,
		       pae != NULL ? pae->ErrCode : 0,
		       pae != NULL ? pae->ErrText : NULL);
}

int slip__nats_pipe_open(void *store, size_t max_ops, slip_pipe_done done,
                         void *ctx, void **out)
{
	slip_nats_store *st = store;
	natsConnection *nc = NULL;
	jsOptions jo;
	nats_pipe *p;
	int rc = slip__nats_use(st->c, "pipeline", &nc, NULL);

	if (rc != SLIP_OK)
		return rc;
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->ent = calloc(max_ops, sizeof(*p->ent))) == NULL) {
		free(p);
		return slip_set_error(SLIP_ENOMEM, "pipeline: out of memory");
	}
	p->st = st;
	p->nc = nc;
	p->cap = max_ops;
	p->done = done;
	p->ctx = ctx;
	pthread_mutex_init(&p->mu, NULL);
	jsOptions_Init(&jo);
	jo.Wait = st->c->op_timeout_ms;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = p;
	natsStatus s = natsConnection_JetStream(&p->js, nc, &jo);
	if (s != NATS_OK) {
		slip__nats_pipe_free(p);
		return slip__nats_fail(st->c, s, 0, "pipeline", st->name);
	}
	*out = p;
	return SLIP_OK;
}

/* The write @p op stands for, as write.c would send it. */
static void describe(const slip_pipe_op *op, slip_nats_write *w)
{
	memset(w, 0, sizeof(*w));
	w->op = op_name(op->kind);
	w->key = op->key;
	w->value = op->value;
	w->len = op->len;
	w->marker = op->kind == SLIP_WRITE_DELETE ||
	                            op->kind == SLIP_WRITE_DELETE_VERSION
	                    ? SLIP_OP_DELETE
	                    : SLIP_OP_PUT;
	if (op->kind == SLIP_WRITE_CREATE)
		w->cond = SLIP_NATS_COND_NO_MESSAGE;
	if (op->kind == SLIP_WRITE_UPDATE ||
	    op->kind == SLIP_WRITE_DELETE_VERSION) {
		w->cond = SLIP_NATS_COND_LAST_SEQ;
		if (slip_version_to_u64(&op->expected, &w->seq) != SLIP_OK)
			w->seq = UINT64_MAX;
		else if (w->seq == 0)
			w->cond = SLIP_NATS_COND_NO_MESSAGE;
	}
}

/* Refuses to start a write the connection cannot carry now. */
static int usable(nats_pipe *p, const slip_nats_write *w)
{
	int rc = slip__nats_use(p->st->c, w->op, NULL, NULL);

	if (rc == SLIP_OK && w->seq == UINT64_MAX)
		rc = slip_set_error(SLIP_EINVAL,
		                    "%s \"%s\": not a NATS version token",
		                    w->op, w->key);
	if (rc == SLIP_OK &&
	    natsConnection_Status(p->nc) != NATS_CONN_STATUS_CONNECTED)
		rc = slip_set_error(SLIP_EIO,
		                    "%s \"%s\": connection to the server lost "
		                    "(reconnecting); nothing was sent",
		                    w->op, w->key);
	return rc;
}

int slip__nats_pipe_send(void *pipe, const slip_pipe_op *op, uint64_t tag)
{
	nats_pipe *p = pipe;
	slip_nats_write w;
	natsMsg *m = NULL;
	jsPubOptions po;

	describe(op, &w);
	int rc = usable(p, &w);
	if (rc == SLIP_OK)
		rc = slip__nats_write_msg(p->st, &w, &m, &po);
	if (rc != SLIP_OK)
		return rc;
	po.MaxWait = p->st->c->op_timeout_ms;
	/* Registered before sending: the ack may beat the return. */
	pthread_mutex_lock(&p->mu);
	pipe_entry *e = &p->ent[tag % p->cap];
	e->msg = m;
	e->w = w;
	snprintf(e->op, sizeof(e->op), "%s", w.op);
	if (p->lo == p->hi)
		p->lo = tag;
	p->hi = tag + 1;
	pthread_mutex_unlock(&p->mu);
	natsMsg *owned = m;
	natsStatus s = js_PublishMsgAsync(p->js, &owned, &po);
	if (s == NATS_OK)
		return SLIP_OK;
	/* Not sent (libnats gave the message back): forget it. */
	pthread_mutex_lock(&p->mu);
	e->msg = NULL;
	while (p->lo < p->hi && p->ent[p->lo % p->cap].msg == NULL)
		p->lo++;
	pthread_mutex_unlock(&p->mu);
	natsMsg_Destroy(owned);
	return slip__nats_fail(p->st->c, s, 0, w.op, w.key);
}

/* Takes every pending message back from libnats and fails it. */
static void fail_pending(nats_pipe *p, natsStatus why)
{
	natsMsgList list = {NULL, 0};

	if (js_PublishAsyncGetPendingList(&list, p->js) != NATS_OK)
		return;
	for (int i = 0; i < list.Count; i++) {
		natsMsg *m = list.Msgs[i];
		list.Msgs[i] = NULL;
		finish(p, m, 0, why, 0, NULL);
	}
	natsMsgList_Destroy(&list);
}

void slip__nats_pipe_poll(void *pipe)
{
	nats_pipe *p = pipe;
	natsConnStatus cs = natsConnection_Status(p->nc);

	if (slip__nats_is_closed(p->st->c) || cs == NATS_CONN_STATUS_CLOSED)
		fail_pending(p, NATS_CONNECTION_CLOSED);
	else if (cs != NATS_CONN_STATUS_CONNECTED)
		fail_pending(p, NATS_CONNECTION_DISCONNECTED);
}

void slip__nats_pipe_free(void *pipe)
{
	nats_pipe *p = pipe;

	if (p == NULL)
		return;
	jsCtx_Destroy(p->js);
	pthread_mutex_destroy(&p->mu);
	free(p->ent);
	free(p);
}
