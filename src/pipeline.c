/*
 * src/pipeline.c — pipelined writes (slipstream/pipeline.h).
 *
 * A ring of max_ops slots indexed by submission number: submit fills the
 * slot and hands the operation to the backend's pipe (or, without one, runs
 * the plain writer call at once); the backend's done callback marks the
 * slot finished from whatever thread acknowledges it; the submitting thread
 * reports finished slots from the head of the ring, so results come out in
 * submission order and on_result never runs on another thread.
 *
 * Divisions: slots; the done callback; reporting (including the second
 * round trip of a create over a tombstone); waiting; the public calls.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn_internal.h"
#include "quote.h"

#define DEFAULT_MAX_OPS   1024
#define DEFAULT_MAX_BYTES (8u << 20)
#define MAX_OPS_LIMIT     (1u << 20)
#define POLL_MS           20
/* In-flight creates counted per key hash, so most submits skip the scan. */
#define CREATE_BUCKETS 1024

enum slot_state { SLOT_FREE = 0, SLOT_SENT, SLOT_DONE };

typedef struct slot {
	enum slot_state state;
	slip_write_kind kind;
	char *key; /* key and value in one allocation */
	void *value;
	size_t len;
	int rc;
	char *message; /* malloc'd on failure */
	slip_version version;
} slot;

struct slip_pipeline {
	slip_store *store;
	const slip_backend *be;
	void *pipe; /* the backend's, or NULL: plain calls */
	slip_write_result_cb cb;
	void *payload;
	size_t max_ops, max_bytes;

	pthread_mutex_t mu; /* guards slots' state/rc/message/version */
	pthread_cond_t cv;
	slot *ring;
	uint64_t head; /* oldest unreported submission */
	uint64_t next; /* next submission number */
	size_t bytes;  /* key + value bytes of unreported submissions */
	unsigned short creates[CREATE_BUCKETS];

	/* Failures since the last flush. */
	size_t failed;
	int first_rc;
	char *first_message;
};

static const char *kind_name(slip_write_kind k)
{
	switch (k) {
	case SLIP_WRITE_PUT:
		return "put";
	case SLIP_WRITE_CREATE:
		return "create";
	case SLIP_WRITE_UPDATE:
		return "update";
	case SLIP_WRITE_DELETE:
		return "delete";
	case SLIP_WRITE_DELETE_VERSION:
		return "delete_version";
	}
	return "write";
}

static unsigned key_bucket(const char *key)
{
	unsigned h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % CREATE_BUCKETS;
}

static slot *slot_of(slip_pipeline *p, uint64_t n)
{
	return &p->ring[n % p->max_ops];
}

/* ------------------------------------------------------- done callback */

/* Records an outcome; the backend calls it from any thread. */
static void on_done(void *ctx, uint64_t tag, int rc,
                    const slip_version *version, const char *message)
{
	slip_pipeline *p = ctx;
	char *copy = NULL;

	if (rc != SLIP_OK)
		copy = strdup(message != NULL && *message != '\0'
		                      ? message
		                      : slip_strerror(rc));
	pthread_mutex_lock(&p->mu);
	slot *s = slot_of(p, tag);
	if (s->state == SLOT_SENT) {
		s->rc = rc;
		s->message = copy;
		copy = NULL;
		if (version != NULL)
			s->version = *version;
		s->state = SLOT_DONE;
		if (tag == p->head)
			pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	free(copy);
}

/* ---------------------------------------------------------- reporting */

/* Runs one operation with the plain writer calls; *version on success. */
static int run_plain(slip_pipeline *p, const slot *s, const slip_version *exp,
                     slip_version *version)
{
	const slip_backend *be = p->be;
	void *st = p->store->impl;

	switch (s->kind) {
	case SLIP_WRITE_PUT:
		return be->put(st, s->key, s->value, s->len, version);
	case SLIP_WRITE_CREATE:
		return be->create(st, s->key, s->value, s->len, version);
	case SLIP_WRITE_UPDATE:
		return be->update(st, s->key, s->value, s->len, exp, version);
	case SLIP_WRITE_DELETE:
		return be->del(st, s->key);
	case SLIP_WRITE_DELETE_VERSION:
		return be->delete_version(st, s->key, exp);
	}
	return slip_set_error(SLIP_EINVAL, "pipeline: unknown operation");
}

/* A create the pipe found history for: the plain create decides. */
static void finish_create(slip_pipeline *p, slot *s)
{
	slip_version v = {0};
	int rc = run_plain(p, s, NULL, &v);

	free(s->message);
	s->message = rc == SLIP_OK ? NULL : strdup(slip_last_error());
	s->rc = rc;
	s->version = rc == SLIP_OK ? v : (slip_version){0};
}

static void note_failure(slip_pipeline *p, const slot *s)
{
	if (p->failed++ > 0)
		return;
	p->first_rc = s->rc;
	free(p->first_message);
	p->first_message = s->message != NULL ? strdup(s->message) : NULL;
}

/* Reports the finished slot at the head (mu not held) and frees it. */
static void report_head(slip_pipeline *p, slot *s)
{
	slip_write_result r;

	if (s->kind == SLIP_WRITE_CREATE && p->pipe != NULL) {
		if (s->rc == SLIP_EREVISION)
			finish_create(p, s);
		p->creates[key_bucket(s->key)]--;
	}
	if (s->rc != SLIP_OK)
		note_failure(p, s);
	if (p->cb != NULL) {
		r.index = p->head;
		r.kind = s->kind;
		r.key = s->key;
		r.rc = s->rc;
		r.message = s->message != NULL ? s->message : "";
		r.version = s->rc == SLIP_OK ? s->version : (slip_version){0};
		p->cb(p->payload, &r);
	}
	p->bytes -= strlen(s->key) + s->len;
	free(s->key);
	free(s->message);
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&p->mu);
	p->head++;
	pthread_mutex_unlock(&p->mu);
}

/* Reports every finished slot at the head; returns how many. */
static size_t report_ready(slip_pipeline *p)
{
	size_t n = 0;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		slot *s = p->head < p->next ? slot_of(p, p->head) : NULL;
		bool ready = s != NULL && s->state == SLOT_DONE;
		pthread_mutex_unlock(&p->mu);
		if (!ready)
			return n;
		report_head(p, s);
		n++;
	}
}

/* ------------------------------------------------------------ waiting */

/* Waits (briefly) for the head slot to finish; polls the backend. */
static void wait_head(slip_pipeline *p)
{
	struct timespec ts;
	bool timed_out = false;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += POLL_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	if (p->head < p->next && slot_of(p, p->head)->state != SLOT_DONE)
		timed_out = pthread_cond_timedwait(&p->cv, &p->mu, &ts) != 0;
	pthread_mutex_unlock(&p->mu);
	if (timed_out && p->be->pipe_poll != NULL)
		p->be->pipe_poll(p->pipe);
}

/* Reports results until at most @p ops are unreported and @p room more
 * bytes fit (one operation always fits an empty window). */
static void wait_room(slip_pipeline *p, size_t ops, size_t room)
{
	for (;;) {
		report_ready(p);
		if (p->next - p->head <= ops &&
		    (p->head == p->next || p->bytes + room <= p->max_bytes))
			return;
		wait_head(p);
	}
}

/* Reports results up to and including submission @p n. */
static void wait_past(slip_pipeline *p, uint64_t n)
{
	while (p->head <= n) {
		if (report_ready(p) == 0)
			wait_head(p);
	}
}

/* A later operation on a key with a create in flight waits for it. */
static void wait_for_create(slip_pipeline *p, const char *key)
{
	uint64_t n, last = 0;
	bool found = false;

	if (p->pipe == NULL || p->creates[key_bucket(key)] == 0)
		return;
	for (n = p->head; n < p->next; n++) {
		slot *s = slot_of(p, n);
		if (s->kind == SLIP_WRITE_CREATE && strcmp(s->key, key) == 0) {
			last = n;
			found = true;
		}
	}
	if (found)
		wait_past(p, last);
}

/* ------------------------------------------------------------- submit */

static int check_op(slip_pipeline *p, const slip_pipe_op *op)
{
	const char *name = kind_name(op->kind);
	char q[SLIP_QUOTE_BUF];

	if (p == NULL)
		return slip_set_error(SLIP_EINVAL, "pipeline %s: NULL pipeline",
		                      name);
	if (slip_key_validate(op->key) != SLIP_OK)
		return slip__with_op(SLIP_EINVAL, name);
	if (op->value == NULL && op->len > 0)
		return slip_set_error(SLIP_EINVAL,
		                      "%s \"%s\": NULL value with length %zu",
		                      name, slip__quote(q, op->key), op->len);
	if ((op->kind == SLIP_WRITE_UPDATE ||
	     op->kind == SLIP_WRITE_DELETE_VERSION) &&
	    (op->expected.len < 1 || op->expected.len > SLIP_VERSION_MAX))
		return slip_set_error(SLIP_EINVAL,
		                      "%s \"%s\": expected version of %u bytes",
		                      name, slip__quote(q, op->key),
		                      (unsigned)op->expected.len);
	return slip__conn_check(p->store->conn, name, op->key);
}

/* Copies the key and value into slot @p s. */
static int fill_slot(slot *s, const slip_pipe_op *op)
{
	size_t klen = strlen(op->key) + 1;
	char *mem = malloc(klen + op->len + 1);

	if (mem == NULL)
		return slip_set_error(SLIP_ENOMEM, "pipeline: out of memory");
	memcpy(mem, op->key, klen);
	if (op->len > 0)
		memcpy(mem + klen, op->value, op->len);
	memset(s, 0, sizeof(*s));
	s->kind = op->kind;
	s->key = mem;
	s->value = mem + klen;
	s->len = op->len;
	return SLIP_OK;
}

/* Sends (or runs) a filled slot as submission p->next. */
static int dispatch(slip_pipeline *p, slot *s, const slip_pipe_op *op)
{
	slip_pipe_op sent = *op;
	slip_version v = {0};
	int rc;

	if (p->pipe == NULL) {
		rc = run_plain(p, s, &op->expected, &v);
		s->state = SLOT_SENT;
		on_done(p, p->next, rc, &v,
		        rc == SLIP_OK ? "" : slip_last_error());
		return SLIP_OK;
	}
	sent.key = s->key;
	sent.value = s->value;
	pthread_mutex_lock(&p->mu);
	s->state = SLOT_SENT;
	pthread_mutex_unlock(&p->mu);
	rc = p->be->pipe_send(p->pipe, &sent, p->next);
	if (rc != SLIP_OK) {
		pthread_mutex_lock(&p->mu);
		s->state = SLOT_FREE;
		pthread_mutex_unlock(&p->mu);
	}
	return rc;
}

static int submit(slip_pipeline *p, const slip_pipe_op *op)
{
	int rc = check_op(p, op);
	size_t bytes;
	slot *s;

	if (rc != SLIP_OK)
		return rc;
	bytes = strlen(op->key) + op->len;
	wait_for_create(p, op->key);
	wait_room(p, p->max_ops - 1, bytes);
	s = slot_of(p, p->next);
	rc = fill_slot(s, op);
	if (rc == SLIP_OK)
		rc = dispatch(p, s, op);
	if (rc != SLIP_OK) {
		free(s->key);
		memset(s, 0, sizeof(*s));
		return rc;
	}
	if (op->kind == SLIP_WRITE_CREATE && p->pipe != NULL)
		p->creates[key_bucket(op->key)]++;
	p->bytes += bytes;
	pthread_mutex_lock(&p->mu);
	p->next++;
	pthread_mutex_unlock(&p->mu);
	report_ready(p);
	return SLIP_OK;
}

/* ------------------------------------------------------- public calls */

static int check_options(const slip_pipeline_options *o)
{
	if (o->version != SLIP_PIPELINE_OPTIONS_VERSION)
		return slip_set_error(SLIP_EINVAL,
		                      "pipeline: options version %u, expected "
		                      "%u",
		                      o->version,
		                      SLIP_PIPELINE_OPTIONS_VERSION);
	if (o->max_ops > MAX_OPS_LIMIT)
		return slip_set_error(SLIP_EINVAL,
		                      "pipeline: max_ops %zu is above %u",
		                      o->max_ops, MAX_OPS_LIMIT);
	return SLIP_OK;
}

static void pipeline_free_mem(slip_pipeline *p)
{
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->ring);
	free(p->first_message);
	free(p);
}

SLIP_EXTERN int slip_pipeline_new(slip_pipeline **out, slip_writer *w,
                                  const slip_pipeline_options *opts)
{
	const slip_pipeline_options defaults = SLIP_PIPELINE_OPTIONS_INIT;
	const slip_pipeline_options *o = opts != NULL ? opts : &defaults;
	slip_pipeline *p;
	int rc;

	if (out == NULL || w == NULL)
		return slip_set_error(SLIP_EINVAL, "pipeline: NULL %s",
		                      out == NULL ? "out" : "writer");
	*out = NULL;
	rc = check_options(o);
	if (rc == SLIP_OK)
		rc = slip__conn_check(w->store->conn, "pipeline", NULL);
	if (rc != SLIP_OK)
		return rc;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return slip_set_error(SLIP_ENOMEM, "pipeline: out of memory");
	p->store = w->store;
	p->be = w->store->conn->be;
	p->cb = o->on_result;
	p->payload = o->payload;
	p->max_ops = o->max_ops ? o->max_ops : DEFAULT_MAX_OPS;
	p->max_bytes = o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->ring = calloc(p->max_ops, sizeof(*p->ring));
	rc = p->ring == NULL
	             ? slip_set_error(SLIP_ENOMEM, "pipeline: out of memory")
	             : SLIP_OK;
	if (rc == SLIP_OK && p->be->pipe_open != NULL)
		rc = p->be->pipe_open(p->store->impl, p->max_ops, on_done, p,
		                      &p->pipe);
	if (rc != SLIP_OK) {
		pipeline_free_mem(p);
		return rc;
	}
	*out = p;
	return SLIP_OK;
}

SLIP_EXTERN int slip_pipeline_put(slip_pipeline *p, const char *key,
                                  const void *value, size_t len)
{
	slip_pipe_op op = {SLIP_WRITE_PUT, key, value, len, {0}};

	return submit(p, &op);
}

SLIP_EXTERN int slip_pipeline_create(slip_pipeline *p, const char *key,
                                     const void *value, size_t len)
{
	slip_pipe_op op = {SLIP_WRITE_CREATE, key, value, len, {0}};

	return submit(p, &op);
}

SLIP_EXTERN int slip_pipeline_update(slip_pipeline *p, const char *key,
                                     const void *value, size_t len,
                                     const slip_version *expected)
{
	slip_pipe_op op = {SLIP_WRITE_UPDATE, key, value, len, {0}};

	if (expected == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "update: NULL expected version");
	op.expected = *expected;
	return submit(p, &op);
}

SLIP_EXTERN int slip_pipeline_delete(slip_pipeline *p, const char *key)
{
	slip_pipe_op op = {SLIP_WRITE_DELETE, key, NULL, 0, {0}};

	return submit(p, &op);
}

SLIP_EXTERN int slip_pipeline_delete_version(slip_pipeline *p, const char *key,
                                             const slip_version *expected)
{
	slip_pipe_op op = {SLIP_WRITE_DELETE_VERSION, key, NULL, 0, {0}};

	if (expected == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "delete_version: NULL expected version");
	op.expected = *expected;
	return submit(p, &op);
}

SLIP_EXTERN int slip_pipeline_flush(slip_pipeline *p, size_t *failed)
{
	int rc;

	if (failed != NULL)
		*failed = 0;
	if (p == NULL)
		return slip_set_error(SLIP_EINVAL, "pipeline flush: NULL "
		                                   "pipeline");
	if (p->next > 0)
		wait_past(p, p->next - 1);
	if (failed != NULL)
		*failed = p->failed;
	rc = p->failed == 0 ? SLIP_OK
	                    : slip_set_error(p->first_rc, "%s",
	                                     p->first_message != NULL
	                                             ? p->first_message
	                                             : "write failed");
	p->failed = 0;
	return rc;
}

SLIP_EXTERN size_t slip_pipeline_in_flight(slip_pipeline *p)
{
	size_t n;

	if (p == NULL)
		return 0;
	pthread_mutex_lock(&p->mu);
	n = (size_t)(p->next - p->head);
	pthread_mutex_unlock(&p->mu);
	return n;
}

SLIP_EXTERN void slip_pipeline_free(slip_pipeline *p)
{
	if (p == NULL)
		return;
	(void)slip_pipeline_flush(p, NULL);
	if (p->pipe != NULL)
		p->be->pipe_free(p->pipe);
	pipeline_free_mem(p);
}
