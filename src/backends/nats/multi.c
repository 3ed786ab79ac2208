/*
 * src/backends/nats/multi.c — a push consumer with several filter subjects
 * (nats-server >= 2.10, `filter_subjects`), built by hand because libnats
 * 3.4.1 has no multi-filter API. The consumer is ephemeral, unacknowledged,
 * in memory, with flow control and idle heartbeats, created on
 * $JS.API.CONSUMER.CREATE.<stream> (the subject without a filter token: a
 * filter token with several filters is error 10135). The request holds
 * only fields every server >= 2.10 knows (2.12+ refuses unknown ones), and
 * the server's echo of the filters is checked, so a server that ignored
 * them is caught before a message is taken for the union.
 *
 * Unlike libnats' ordered consumer, this one is not recreated after a gap:
 * the watcher ends with SLIP_EWATCH and its caller resumes from the last
 * cursor (watch_applied and the replica do so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_backend.h"

/* Above the server's flow-control window: see watch.c. */
#define MULTI_PENDING_BYTES (256 * 1024 * 1024)

/* ------------------------------------------------------------- request */

static size_t request_size(const slip_nats_mopts *o)
{
	size_t n = 640;
	for (size_t i = 0; i < o->f->count; i++)
		n += strlen(o->f->subj[i]) + 4;
	return n;
}

static char *request_json(const slip_nats_store *st, const char *inbox,
                          const slip_nats_mopts *o)
{
	size_t cap = request_size(o) + strlen(st->stream) + strlen(inbox);
	char *j = malloc(cap);
	size_t n = 0;

	if (j == NULL)
		return NULL;
	n += (size_t)snprintf(j + n, cap - n,
	                      "{\"stream_name\":\"%s\",\"config\":{"
	                      "\"deliver_subject\":\"%s\",",
	                      st->stream, inbox);
	if (o->start_seq > 0)
		n += (size_t)snprintf(
		        j + n, cap - n,
		        "\"deliver_policy\":\"by_start_sequence\","
		        "\"opt_start_seq\":%llu,",
		        (unsigned long long)o->start_seq);
	else
		n += (size_t)snprintf(
		        j + n, cap - n,
		        "\"deliver_policy\":\"last_per_subject\",");
	n += (size_t)snprintf(j + n, cap - n, "\"filter_subjects\":[");
	for (size_t i = 0; i < o->f->count; i++)
		n += (size_t)snprintf(j + n, cap - n, "%s\"%s\"", i ? "," : "",
		                      o->f->subj[i]);
	snprintf(j + n, cap - n,
	         "],\"ack_policy\":\"none\",\"max_deliver\":1,"
	         "\"replay_policy\":\"instant\",\"flow_control\":true,"
	         "\"idle_heartbeat\":%lld,\"headers_only\":%s,"
	         "\"mem_storage\":true,\"num_replicas\":1,"
	         "\"inactive_threshold\":%lld}}",
	         (long long)o->heartbeat_ns, o->headers_only ? "true" : "false",
	         (long long)SLIP_NATS_INACTIVE_NS);
	return j;
}

/* ------------------------------------------------------------ response */

/* Copies the JSON string starting after the opening quote at @p p into
 * @p out, decoding the escapes Go's encoder writes (\u003e for '>').
 * Returns the position after the closing quote, or NULL. */
static const char *json_string(const char *p, char *out, size_t outsz)
{
	size_t n = 0;

	while (*p != '"' && *p != '\0') {
		char c = *p++;
		if (c == '\\') {
			c = *p++;
			if (c == 'u') {
				unsigned v = 0;
				if (sscanf(p, "%4x", &v) != 1 || v > 0x7f)
					return NULL;
				c = (char)v;
				p += 4;
			} else if (c == '\0') {
				return NULL;
			}
		}
		if (n + 1 >= outsz)
			return NULL;
		out[n++] = c;
	}
	out[n] = '\0';
	return *p == '"' ? p + 1 : NULL;
}

/* The value of the first "key":"…" in @p json, or "" when absent. */
static void json_field(const char *json, const char *key, char *out,
                       size_t outsz)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = strstr(json, pat);
	out[0] = '\0';
	if (p == NULL || json_string(p + strlen(pat), out, outsz) == NULL)
		out[0] = '\0';
}

/* True when the echoed config lists exactly the filters asked for. */
static bool filters_echoed(const char *json, const slip_nats_filters *f)
{
	const char *p = strstr(json, "\"filter_subjects\":[");
	size_t seen = 0;
	char subj[512];

	if (p == NULL)
		return false;
	p += strlen("\"filter_subjects\":[");
	while (*p == '"') {
		p = json_string(p + 1, subj, sizeof(subj));
		if (p == NULL)
			return false;
		bool ours = false;
		for (size_t i = 0; i < f->count && !ours; i++)
			ours = strcmp(subj, f->subj[i]) == 0;
		if (!ours)
			return false;
		seen++;
		if (*p == ',')
			p++;
	}
	return *p == ']' && seen == f->count;
}

/* An API error in @p json as a SLIP_E* code with the server's words. */
static int api_error(const slip_nats_store *st, const char *op,
                     const char *json)
{
	char desc[256];
	const char *code = strstr(json, "\"err_code\":");
	long err = code != NULL ? strtol(code + 11, NULL, 10) : 0;

	json_field(json, "description", desc, sizeof(desc));
	if (err == SLIP_NATS_ERR_STREAM_NOT_FOUND)
		return slip_set_error(SLIP_ENOTFOUND,
		                      "%s \"%s\": bucket no longer exists", op,
		                      st->name);
	return slip_set_error(SLIP_EIO,
	                      "%s \"%s\": the server refused the multi-filter "
	                      "consumer: %s (error %ld)",
	                      op, st->name, desc, err);
}

/* Sends the create request; on SLIP_OK cn->name is the consumer. */
static int create(slip_nats_store *st, natsConnection *nc, const char *inbox,
                  const slip_nats_mopts *o, slip_nats_consumer *cn)
{
	char subj[320];
	natsMsg *reply = NULL;
	char *req = request_json(st, inbox, o);
	if (req == NULL)
		return slip_set_error(SLIP_ENOMEM, "%s \"%s\": out of memory",
		                      o->op, st->name);
	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.CREATE.%s", st->stream);
	natsStatus s = natsConnection_Request(
	        &reply, nc, subj, req, (int)strlen(req), st->c->op_timeout_ms);
	free(req);
	if (s != NATS_OK)
		return slip__nats_fail(st->c, s, 0, o->op, st->name);
	const char *json = natsMsg_GetData(reply);
	int rc = SLIP_OK;
	if (json == NULL || strstr(json, "\"error\":") != NULL) {
		rc = api_error(st, o->op, json != NULL ? json : "");
	} else {
		json_field(json, "name", cn->name, sizeof(cn->name));
		if (cn->name[0] == '\0')
			rc = slip_set_error(
			        SLIP_EIO,
			        "%s \"%s\": the consumer create answer "
			        "names no consumer",
			        o->op, st->name);
		else if (!filters_echoed(json, o->f))
			rc = slip_set_error(
			        SLIP_EIO,
			        "%s \"%s\": nats-server %s did not "
			        "keep the consumer's filter_subjects",
			        o->op, st->name, st->c->version);
	}
	natsMsg_Destroy(reply);
	return rc;
}

int slip__nats_mcons_start(slip_nats_store *st, natsConnection *nc, jsCtx *js,
                           const slip_nats_mopts *o, slip_nats_mcons *m)
{
	natsInbox *inbox = NULL;
	memset(m, 0, sizeof(*m));
	m->nc = nc;
	m->hb_ns = o->heartbeat_ns;
	natsStatus s = natsInbox_Create(&inbox);
	if (s == NATS_OK)
		s = natsConnection_SubscribeSync(&m->sub, nc, inbox);
	if (s != NATS_OK) {
		natsInbox_Destroy(inbox);
		return slip__nats_fail(st->c, s, 0, o->op, st->name);
	}
	natsSubscription_SetPendingLimits(m->sub, -1, MULTI_PENDING_BYTES);
	int rc = create(st, nc, inbox, o, &m->cn);
	natsInbox_Destroy(inbox);
	if (rc != SLIP_OK) {
		/* A consumer may exist if only the echo was wrong. */
		slip__nats_sub_end(nc, js, st->stream, &m->cn, m->sub);
		m->sub = NULL;
		return rc;
	}
	m->last_activity = slip__now_ns();
	return SLIP_OK;
}

/* ------------------------------------------------------------ messages */

/* Answers flow control and stalled heartbeats; true for a control
 * message (status 100), which is never handed to the caller. */
static bool control(slip_nats_mcons *m, natsMsg *msg)
{
	const char *status = NULL, *stalled = NULL;
	if (natsMsg_GetDataLength(msg) != 0 ||
	    natsMsgHeader_Get(msg, "Status", &status) != NATS_OK ||
	    status == NULL || strcmp(status, "100") != 0)
		return false;
	const char *reply = natsMsg_GetReply(msg);
	if (reply != NULL && reply[0] != '\0')
		natsConnection_Publish(m->nc, reply, NULL, 0);
	if (natsMsgHeader_Get(msg, "Nats-Consumer-Stalled", &stalled) ==
	            NATS_OK &&
	    stalled != NULL)
		natsConnection_Publish(m->nc, stalled, NULL, 0);
	return true;
}

natsStatus slip__nats_mcons_next(slip_nats_mcons *m, natsMsg **out,
                                 int timeout_ms, atomic_int *missed)
{
	int64_t deadline = slip__now_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		int64_t now = slip__now_ns();
		int left = (int)((deadline - now) / 1000000);
		natsMsg *msg = NULL;
		natsStatus s = natsSubscription_NextMsg(&msg, m->sub,
		                                        left > 0 ? left : 0);
		now = slip__now_ns();
		if (s == NATS_OK) {
			m->last_activity = now;
			if (missed != NULL)
				atomic_store(missed, 0);
			if (!control(m, msg)) {
				*out = msg;
				return NATS_OK;
			}
			natsMsg_Destroy(msg);
			continue;
		}
		/* Two heartbeat intervals of silence count as one missed
		 * heartbeat, as libnats counts them for its own consumers. */
		if (s == NATS_TIMEOUT && m->hb_ns > 0 &&
		    now - m->last_activity > 2 * m->hb_ns) {
			m->last_activity = now;
			if (missed != NULL)
				atomic_fetch_add(missed, 1);
		}
		return s;
	}
}

void slip__nats_mcons_end(slip_nats_mcons *m, jsCtx *js, const char *stream)
{
	if (m->sub != NULL)
		slip__nats_sub_end(m->nc, js, stream, &m->cn, m->sub);
	m->sub = NULL;
}
