/*
 * src/backends/nats/write.c — the writer. Every write is one JetStream
 * publish on $KV.<bucket>.<key>; conditions travel as headers the server
 * checks (Nats-Expected-Last-Subject-Sequence), tombstones as KV-Operation
 * DEL / PURGE (+ Nats-Rollup: sub) markers. Conflicts are reported, never
 * "fixed" by writing unconditionally. Oversized values are refused before
 * anything is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_backend.h"

/* Room kept for the headers of a conditional write or a marker. */
#define HEADER_RESERVE 128

typedef slip_nats_write write_req;

static int revision_error(const write_req *w, const char *txt)
{
	const char *have =
	        txt != NULL ? strstr(txt, "wrong last sequence: ") : NULL;
	if (w->cond == SLIP_NATS_COND_NO_MESSAGE)
		return slip_set_error(
		        SLIP_EREVISION,
		        "%s \"%s\": revision mismatch: expected no "
		        "entry, server has %s",
		        w->op, w->key, have != NULL ? have + 21 : "one");
	return slip_set_error(SLIP_EREVISION,
	                      "%s \"%s\": revision mismatch: expected %llu, "
	                      "server has %s",
	                      w->op, w->key, (unsigned long long)w->seq,
	                      have != NULL ? have + 21 : "another");
}

static natsStatus set_headers(natsMsg *m, const write_req *w)
{
	natsStatus s = NATS_OK;
	if (w->marker == SLIP_OP_DELETE)
		s = natsMsgHeader_Set(m, "KV-Operation", "DEL");
	else if (w->marker == SLIP_OP_PURGE) {
		s = natsMsgHeader_Set(m, "KV-Operation", "PURGE");
		if (s == NATS_OK)
			s = natsMsgHeader_Set(m, "Nats-Rollup", "sub");
	}
	if (s == NATS_OK && w->ttl_ms > 0) {
		/* A Go duration; whole seconds as "Ns" (ADR-43). */
		char ttl[32];
		if (w->ttl_ms % 1000 == 0)
			snprintf(ttl, sizeof(ttl), "%llds",
			         (long long)(w->ttl_ms / 1000));
		else
			snprintf(ttl, sizeof(ttl), "%lldms",
			         (long long)w->ttl_ms);
		s = natsMsgHeader_Set(m, "Nats-TTL", ttl);
	}
	return s;
}

int slip__nats_write_msg(slip_nats_store *st, const slip_nats_write *w,
                         natsMsg **out, jsPubOptions *po)
{
	natsMsg *m = NULL;
	char buf[256], *heap = NULL;
	int64_t maxp = st->c->max_payload;
	size_t reserve = (w->cond != SLIP_NATS_COND_NONE ||
	                  w->marker != SLIP_OP_PUT || w->ttl_ms > 0)
	                         ? HEADER_RESERVE
	                         : 0;
	if (maxp > 0 && w->len + reserve > (uint64_t)maxp)
		return slip_set_error(
		        SLIP_ETOOBIG,
		        "%s \"%s\": value of %zu bytes exceeds the "
		        "server's max payload of %lld bytes",
		        w->op, w->key, w->len, (long long)maxp);
	char *subj = slip__nats_subject(st, w->key, buf, sizeof(buf), &heap);
	if (subj == NULL)
		return SLIP_ENOMEM;
	natsStatus s = natsMsg_Create(&m, subj, NULL, (const char *)w->value,
	                              (int)w->len);
	free(heap);
	if (s == NATS_OK)
		s = set_headers(m, w);
	if (s != NATS_OK) {
		natsMsg_Destroy(m);
		return slip__nats_fail(st->c, s, 0, w->op, w->key);
	}
	jsPubOptions_Init(po);
	po->ExpectNoMessage = w->cond == SLIP_NATS_COND_NO_MESSAGE;
	if (w->cond == SLIP_NATS_COND_LAST_SEQ)
		po->ExpectLastSubjectSeq = w->seq;
	*out = m;
	return SLIP_OK;
}

int slip__nats_write_error(slip_nats_store *st, const slip_nats_write *w,
                           natsStatus s, jsErrCode jerr, const char *txt)
{
	if (jerr == SLIP_NATS_ERR_WRONG_LAST_SEQ ||
	    jerr == SLIP_NATS_ERR_WRONG_LAST_SEQ_CONST)
		return revision_error(w, txt);
	if (jerr == SLIP_NATS_ERR_MSG_TOO_BIG)
		return slip_set_error(SLIP_ETOOBIG, "%s \"%s\": %s", w->op,
		                      w->key, txt != NULL ? txt : "too big");
	if (s == NATS_NO_RESPONDERS)
		return slip_set_error(
		        SLIP_ENOTFOUND,
		        "%s \"%s\": bucket \"%s\" no longer exists", w->op,
		        w->key, st->name);
	return slip__nats_fail(st->c, s, jerr, w->op, w->key);
}

/* One publish; *seq gets the stored sequence. */
static int publish(slip_nats_store *st, const write_req *w, uint64_t *seq)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	natsMsg *m = NULL;
	jsPubAck *pa = NULL;
	jsPubOptions po;
	jsErrCode jerr = 0;
	int rc = slip__nats_use(st->c, w->op, &nc, &js);

	if (rc == SLIP_OK)
		rc = slip__nats_write_msg(st, w, &m, &po);
	if (rc != SLIP_OK)
		return rc;
	natsStatus s = js_PublishMsg(&pa, js, m, &po, &jerr);
	natsMsg_Destroy(m);
	if (s == NATS_OK) {
		*seq = pa->Sequence;
		jsPubAck_Destroy(pa);
		return SLIP_OK;
	}
	return slip__nats_write_error(st, w, s, jerr, slip__nats_text(s));
}

static void set_version(slip_version *out, uint64_t seq)
{
	if (out != NULL)
		*out = slip_version_from_u64(seq);
}

/*
 * SLIP_EUNSUPPORTED, before anything is sent, when a TTL is asked of a
 * server or bucket without per-message TTL (the server would answer
 * 10166 only after the connection round trip, or ignore the header).
 */
static int ttl_allowed(const slip_nats_store *st, const write_req *w)
{
	if (w->ttl_ms <= 0 || st->msg_ttl)
		return SLIP_OK;
	if (!slip__nats_has(st->c, SLIP_NATS_FEAT_MSG_TTL))
		return slip_set_error(
		        SLIP_EUNSUPPORTED,
		        "%s \"%s\": per-key TTL needs nats-server "
		        "2.11 or newer (this one is %s); nothing "
		        "was sent",
		        w->op, w->key,
		        st->c->version_known ? st->c->version : "unknown");
	return slip_set_error(SLIP_EUNSUPPORTED,
	                      "%s \"%s\": bucket \"%s\" does not allow "
	                      "per-key TTL (create it with a marker TTL); "
	                      "nothing was sent",
	                      w->op, w->key, st->name);
}

static int do_put(void *store, const char *key, const void *value, size_t len,
                  int64_t ttl_ms, slip_version *out_version)
{
	write_req w = {"put", key,         value,
	               len,   SLIP_OP_PUT, SLIP_NATS_COND_NONE,
	               0,     ttl_ms};
	uint64_t seq = 0;
	int rc = ttl_allowed(store, &w);
	if (rc != SLIP_OK)
		return rc;
	rc = publish(store, &w, &seq);
	if (rc == SLIP_OK)
		set_version(out_version, seq);
	return rc;
}

int slip__nats_put(void *store, const char *key, const void *value, size_t len,
                   slip_version *out_version)
{
	return do_put(store, key, value, len, 0, out_version);
}

int slip__nats_put_ttl(void *store, const char *key, const void *value,
                       size_t len, int64_t ttl_ms, slip_version *out_version)
{
	return do_put(store, key, value, len, ttl_ms, out_version);
}

static int do_create(void *store, const char *key, const void *value,
                     size_t len, int64_t ttl_ms, slip_version *out_version)
{
	write_req w = {"create", key,         value,
	               len,      SLIP_OP_PUT, SLIP_NATS_COND_NO_MESSAGE,
	               0,        ttl_ms};
	uint64_t seq = 0;
	slip_entry *e = NULL;
	int rc = ttl_allowed(store, &w);
	if (rc != SLIP_OK)
		return rc;
	rc = publish(store, &w, &seq);
	if (rc != SLIP_EREVISION)
		goto done;
	/* The key has history: allowed only over a tombstone, and only if
	 * that tombstone is still the latest entry when we write. */
	rc = slip__nats_entry(store, key, &e);
	if (rc != SLIP_OK)
		goto done;
	if (e != NULL && e->op != SLIP_OP_PUT) {
		w.cond = SLIP_NATS_COND_LAST_SEQ;
		slip_version_to_u64(&e->version, &w.seq);
		rc = publish(store, &w, &seq);
		if (rc != SLIP_EREVISION)
			goto done;
	} else if (e == NULL) {
		rc = publish(store, &w, &seq); /* history purged meanwhile */
		if (rc != SLIP_EREVISION)
			goto done;
	}
	rc = slip_set_error(SLIP_EEXISTS, "create \"%s\": key already exists",
	                    key);
done:
	slip_entry_free(e);
	if (rc == SLIP_OK)
		set_version(out_version, seq);
	return rc;
}

int slip__nats_create(void *store, const char *key, const void *value,
                      size_t len, slip_version *out_version)
{
	return do_create(store, key, value, len, 0, out_version);
}

int slip__nats_create_ttl(void *store, const char *key, const void *value,
                          size_t len, int64_t ttl_ms, slip_version *out_version)
{
	return do_create(store, key, value, len, ttl_ms, out_version);
}

int slip__nats_update(void *store, const char *key, const void *value,
                      size_t len, const slip_version *expected,
                      slip_version *out_version)
{
	write_req w = {
	        "update", key, value, len, SLIP_OP_PUT, SLIP_NATS_COND_LAST_SEQ,
	        0,        0};
	uint64_t seq = 0;
	if (slip_version_to_u64(expected, &w.seq) != SLIP_OK)
		return slip_set_error(SLIP_EINVAL,
		                      "update \"%s\": not a NATS version token",
		                      key);
	if (w.seq == 0)
		w.cond = SLIP_NATS_COND_NO_MESSAGE;
	int rc = publish(store, &w, &seq);
	if (rc == SLIP_OK)
		set_version(out_version, seq);
	return rc;
}

int slip__nats_del(void *store, const char *key)
{
	write_req w = {
	        "delete", key, NULL, 0, SLIP_OP_DELETE, SLIP_NATS_COND_NONE,
	        0,        0};
	uint64_t seq = 0;
	return publish(store, &w, &seq);
}

int slip__nats_delete_version(void *store, const char *key,
                              const slip_version *expected)
{
	write_req w = {
	        "delete", key, NULL, 0, SLIP_OP_DELETE, SLIP_NATS_COND_LAST_SEQ,
	        0,        0};
	uint64_t seq = 0;
	if (slip_version_to_u64(expected, &w.seq) != SLIP_OK)
		return slip_set_error(SLIP_EINVAL,
		                      "delete \"%s\": not a NATS version token",
		                      key);
	if (w.seq == 0)
		w.cond = SLIP_NATS_COND_NO_MESSAGE;
	return publish(store, &w, &seq);
}

int slip__nats_purge(void *store, const char *key)
{
	return slip__nats_purge_ttl(store, key, 0);
}

int slip__nats_purge_ttl(void *store, const char *key, int64_t ttl_ms)
{
	write_req w = {"purge", key,           NULL,
	               0,       SLIP_OP_PURGE, SLIP_NATS_COND_NONE,
	               0,       ttl_ms};
	uint64_t seq = 0;
	int rc = ttl_allowed(store, &w);
	return rc != SLIP_OK ? rc : publish(store, &w, &seq);
}
