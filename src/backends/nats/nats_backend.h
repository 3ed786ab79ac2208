/*
 * src/backends/nats/nats_backend.h — types and calls shared by the files of
 * the NATS JetStream backend (conn.c, caps.c, store.c, read.c, filters.c,
 * multi.c, write.c, watch.c, url.c). Nothing here leaves the backend: the
 * core only sees the slip__backend_nats table in backend.c.
 *
 * A bucket NAME is the JetStream stream KV_NAME whose subjects are
 * $KV.NAME.>; a key K is stored on subject $KV.NAME.K, its revision is the
 * stream sequence, and tombstones carry a KV-Operation header (DEL/PURGE).
 */
#ifndef SLIP_NATS_BACKEND_H
#define SLIP_NATS_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>

#include <nats/nats.h>

#include <slipstream.h>
#include <slipstream/sys/backend.h>

#include "util/util.h"

/** This backend's table (backend.c), registered by the core as "nats,tls". */
extern const slip_backend slip__backend_nats;

/* JetStream API error codes this backend reacts to. */
#define SLIP_NATS_ERR_STREAM_NOT_FOUND     10059
#define SLIP_NATS_ERR_STREAM_NAME_IN_USE   10058
#define SLIP_NATS_ERR_WRONG_LAST_SEQ       10071
#define SLIP_NATS_ERR_WRONG_LAST_SEQ_CONST 10164
#define SLIP_NATS_ERR_MAX_BYTES_REQUIRED   10113
#define SLIP_NATS_ERR_MSG_TOO_BIG          10054
#define SLIP_NATS_ERR_NO_MESSAGE_FOUND     10037
#define SLIP_NATS_ERR_NO_SUITABLE_PEERS    10005

/* Ephemeral consumers vanish this long after losing interest: a backstop
 * for the explicit delete, which cannot always be sent. */
#define SLIP_NATS_INACTIVE_NS (60LL * 1000000000LL)

/** One running watch, known to the connection's async error handler. */
typedef struct slip_nats_watch_reg {
	natsSubscription *sub;
	atomic_int missed; /* missed heartbeats / failed consumer resets */
	struct slip_nats_watch_reg *next;
} slip_nats_watch_reg;

typedef enum {
	SLIP_NATS_NEW = 0,
	SLIP_NATS_CONNECTED = 1,
	SLIP_NATS_CLOSED = 2
} slip_nats_state;

/** The backend's connection object. */
typedef struct slip_nats_conn {
	pthread_mutex_t mu; /* guards state, nc and js */
	slip_nats_state state;
	natsConnection *nc; /* destroyed only by conn_free */
	jsCtx *js;

	char **urls; /* credential-free server URLs */
	int nurls;
	bool tls;
	char *user; /* from the first URL carrying user:pass@ */
	char *pass;
	char *creds_jwt; /* from base64 creds, memory only */
	char *creds_seed;
	size_t creds_seed_len;
	char *creds_file;
	char *tls_ca;
	int connect_timeout_ms;
	int op_timeout_ms;
	int reconnect_wait_ms;
	int max_reconnect;

	/* Learnt from the server at connect. */
	int64_t max_payload;
	bool version_known;
	int ver_major, ver_minor, ver_patch;
	char version[32];
	bool clustered;
	int api_level; /* $JS.API.INFO "api.level"; 0 none, -1 unknown */

	/* Guarded by the backend-wide callback mutex (conn.c): libnats calls
	 * back on its own thread, possibly after the connection was freed. */
	slip_nats_watch_reg *watches;
	struct slip_nats_conn *next_live;
} slip_nats_conn;

/** The backend's store object (one bound bucket). */
typedef struct slip_nats_store {
	slip_nats_conn *c;
	char *name;
	char *stream; /* "KV_<name>" */
	char *subj;   /* "$KV.<name>." */
	size_t subj_len;
	bool direct;      /* stream allows direct get */
	int64_t identity; /* stream Created, ns */
	bool msg_ttl;     /* stream allows per-message TTL (allow_msg_ttl) */
	int64_t marker_ttl_ns; /* subject_delete_marker_ttl, 0 = no markers */
	/* Messages watches dropped as not above the last delivered sequence
	 * (server redeliveries): slip_store_info.watch_dropped. */
	atomic_uint_fast64_t watch_dropped;
} slip_nats_store;

/* ------------------------------------------------------------ conn.c */

int slip__nats_conn_new(void **out, const slip_conn_options *opts);
int slip__nats_connect(void *conn);
void slip__nats_close(void *conn);
void slip__nats_conn_free(void *conn);

/**
 * The live libnats handles of @p c, or SLIP_ENOTCONNECTED (message names
 * @p op) before connect and after close.
 */
int slip__nats_use(slip_nats_conn *c, const char *op, natsConnection **nc,
                   jsCtx **js);

/** libnats' thread-local error text without its "(file:line): " prefix. */
const char *slip__nats_text(natsStatus s);

/**
 * @p in escaped for the inside of a JSON string ('"', '\\', control
 * characters), malloc'd; NULL on out of memory. libnats 3.4.1 pastes
 * descriptions, user names and passwords into its JSON unescaped.
 */
char *slip__nats_json_escape(const char *in);

/** True once close() has run. */
bool slip__nats_is_closed(slip_nats_conn *c);

/**
 * Maps a failed libnats call to a SLIP_E* code and sets the message
 * "<op> "<what>": <reason>" from libnats' thread-local error text.
 */
int slip__nats_fail(slip_nats_conn *c, natsStatus s, jsErrCode jerr,
                    const char *op, const char *what);

/** Registers / unregisters a watch subscription for heartbeat reports. */
void slip__nats_watch_register(slip_nats_conn *c, slip_nats_watch_reg *r);
void slip__nats_watch_unregister(slip_nats_conn *c, slip_nats_watch_reg *r);

/* ------------------------------------------------------------ caps.c */

/** Features not every supported nats-server has. */
typedef enum slip_nats_feature {
	SLIP_NATS_FEAT_MULTI_FILTER, /* filter_subjects consumers, 2.10 */
	SLIP_NATS_FEAT_MSG_TTL,      /* Nats-TTL, limit markers, 2.11 */
	SLIP_NATS_FEAT_BATCH_GET,    /* batch / multi_last direct get, 2.11 */
	SLIP_NATS_FEAT_ATOMIC_BATCH  /* Nats-Batch-* atomic publish, 2.12 */
} slip_nats_feature;

/** True when the connected server has @p f (by API level or version). */
bool slip__nats_has(const slip_nats_conn *c, slip_nats_feature f);

/**
 * SLIP_OK when the connected server has @p f, else SLIP_EUNSUPPORTED with
 * "<op>: needs <feature> (nats-server X.Y or newer); the connected
 * nats-server is <version>". Call it before sending anything.
 */
int slip__nats_require(const slip_nats_conn *c, slip_nats_feature f,
                       const char *op);

/**
 * The "level" inside the "api" object of a $JS.API.INFO reply; 0 when the
 * object has none (servers before 2.11), -1 when there is no such object.
 */
int slip__nats_parse_api_level(const char *body);

/** Reads the JetStream API level from $JS.API.INFO into c->api_level. */
void slip__nats_probe_api_level(slip_nats_conn *c, natsConnection *nc);

void slip__nats_capabilities(void *conn, slip_capabilities *out);

/* ----------------------------------------------------------- url.c */

/**
 * Parses a comma-separated list of nats:// or tls:// URLs. On SLIP_OK the
 * connection gets credential-free URLs, the TLS flag and any user:pass@.
 */
int slip__nats_parse_urls(slip_nats_conn *c, const char *list);

/**
 * Parses the JWT and seed out of .creds text. On SLIP_OK both are
 * malloc'd; the caller wipes the seed before freeing it.
 */
int slip__nats_parse_creds(const char *text, size_t len, char **jwt,
                           char **seed);

/**
 * Reads the server's INFO line from host:port of @p url (plain TCP, before
 * any TLS) and fills version and cluster facts. Best effort.
 */
void slip__nats_probe_info(slip_nats_conn *c, const char *url, int timeout_ms);

/* ----------------------------------------------------------- store.c */

int slip__nats_store_open(void *conn, const char *name,
                          const slip_store_config *cfg, void **out,
                          unsigned *out_roles);
void slip__nats_store_free(void *store);
int slip__nats_store_delete(void *conn, const char *name);
int slip__nats_store_info(void *store, slip_store_info *out);

/** True when the connected server is known to be at least @p ma.@p mi. */
bool slip__nats_server_at_least(const slip_nats_conn *c, int ma, int mi);

/* ------------------------------------------------------------ read.c */

int slip__nats_get(void *store, const char *key, slip_entry **out);
int slip__nats_entry(void *store, const char *key, slip_entry **out);
int slip__nats_keys(void *store, const char *prefix, slip_entry_cb cb,
                    void *payload);
int slip__nats_scan(void *store, const char *prefix, slip_entry_cb cb,
                    void *payload);
int slip__nats_scan_prefixes(void *store, const char *const *prefixes,
                             size_t count, bool keys_only, slip_entry_cb cb,
                             void *payload);

/**
 * Builds the subject for @p key ("$KV.<name>.<key>") into @p buf of
 * @p bufsz bytes, or a malloc'd string when it does not fit (*heap set;
 * free it). NULL on out of memory.
 */
char *slip__nats_subject(const slip_nats_store *st, const char *key, char *buf,
                         size_t bufsz, char **heap);

/**
 * The highest stream sequence of the last messages on the server filter
 * subjects @p subj[0..count), 0 when there is none (nats-server 2.9 takes a
 * wildcard subject for "last by subject", direct or not). @p op names the
 * operation in errors.
 */
int slip__nats_last_on_filters(slip_nats_store *st, jsCtx *js,
                               char *const *subj, size_t count, const char *op,
                               uint64_t *out);

/**
 * Operation of a stored KV message: the ONE place the backend classifies a
 * message (get, entry, keys, scan and watch all call it). A limit marker
 * (Nats-Marker-Reason) is MaxAge/Purge -> Purge, Remove -> Delete, any
 * other reason -> Purge; else KV-Operation: none or PUT -> Put, PURGE ->
 * Purge, DEL or anything else -> Delete. Only Put carries a value.
 */
slip_op slip__nats_msg_op(natsMsg *m);

/** Stream sequence, pending count and timestamp from a JS ack subject. */
typedef struct slip_nats_meta {
	uint64_t sseq;
	uint64_t dseq; /* consumer sequence: contiguous per consumer */
	uint64_t pending;
	int64_t ts;
	const char *consumer; /* inside the reply subject, not terminated */
	size_t consumer_len;
} slip_nats_meta;

/** Parses a "$JS.ACK...." reply subject (v1 and v2 forms). */
int slip__nats_ack_meta(const char *reply, slip_nats_meta *out);

/**
 * The server-side consumer behind an ordered subscription, tracked from
 * delivered messages so it can be deleted without libnats' unsubscribe
 * path, which races with its own consumer recreation in 3.4.1.
 */
typedef struct slip_nats_consumer {
	char name[128];
} slip_nats_consumer;

/** True when @p meta names another consumer than the one recorded. */
bool slip__nats_consumer_changed(const slip_nats_consumer *cn,
                                 const slip_nats_meta *meta);

/** Records the consumer named in @p meta (if it changed). */
void slip__nats_consumer_note(slip_nats_consumer *cn,
                              const slip_nats_meta *meta);

/**
 * Ends an ordered subscription: drops interest and, when connected,
 * deletes the last consumer seen (best effort; the server's inactivity
 * threshold reaps any other).
 */
void slip__nats_sub_end(natsConnection *nc, jsCtx *js, const char *stream,
                        const slip_nats_consumer *cn, natsSubscription *sub);

/**
 * Turns a delivered KV message into an entry (value copied unless
 * @p keys_only), or *out NULL when the subject is not a key of @p st.
 */
int slip__nats_msg_entry(const slip_nats_store *st, natsMsg *m,
                         const slip_nats_meta *meta, slip_op op, bool keys_only,
                         slip_entry **out);

/* ---------------------------------------------------------- filters.c */

/** Server filters and client-side prefixes of one watch or scan. */
typedef struct slip_nats_filters {
	char **subj;  /* server filter subjects, non-overlapping, malloc'd */
	size_t count; /* 1, or >= 2 for a multi-filter consumer */
	const char *const *prefixes; /* client-side match (normalised) */
	size_t prefix_count;
	const char *single; /* the one prefix of a single-prefix call */
} slip_nats_filters;

/**
 * Filters for @p prefix (@p count 0) or for @p count normalised
 * @p prefixes (borrowed: they must outlive @p f); several server filters
 * only when @p multi. SLIP_OK or SLIP_ENOMEM.
 */
int slip__nats_filters_make(slip_nats_filters *f, const slip_nats_store *st,
                            const char *prefix, const char *const *prefixes,
                            size_t count, bool multi);

/** True when @p subj is a key of @p st under one of the prefixes. */
bool slip__nats_filters_match(const slip_nats_filters *f,
                              const slip_nats_store *st, const char *subj);

/** True when the one server filter is the whole bucket ("$KV.b.>"). */
bool slip__nats_filters_whole(const slip_nats_filters *f,
                              const slip_nats_store *st);

void slip__nats_filters_free(slip_nats_filters *f);

/* ------------------------------------------------------------ multi.c */

/** What a multi-filter consumer delivers. */
typedef struct slip_nats_mopts {
	const char *op;             /* for messages: "watch", "scan" */
	const slip_nats_filters *f; /* f->count >= 2 */
	uint64_t start_seq; /* 0: last per subject, else from this sequence */
	bool headers_only;
	int64_t heartbeat_ns;
} slip_nats_mopts;

/** A running multi-filter push consumer and its inbox subscription. */
typedef struct slip_nats_mcons {
	natsConnection *nc;
	natsSubscription *sub;
	slip_nats_consumer cn;
	int64_t hb_ns;
	int64_t last_activity; /* last message or heartbeat, ns */
} slip_nats_mcons;

/**
 * Subscribes an inbox and creates the consumer on it (nats-server >= 2.10);
 * checks the echoed filters. SLIP_OK, or an error with nothing left
 * behind.
 */
int slip__nats_mcons_start(slip_nats_store *st, natsConnection *nc, jsCtx *js,
                           const slip_nats_mopts *o, slip_nats_mcons *m);

/**
 * Next stream message, answering flow control and heartbeats on the way.
 * NATS_TIMEOUT when none came; each two heartbeat intervals of silence
 * add one to @p missed (may be NULL), any message resets it.
 */
natsStatus slip__nats_mcons_next(slip_nats_mcons *m, natsMsg **out,
                                 int timeout_ms, atomic_int *missed);

/** Deletes the consumer (when connected) and frees the subscription. */
void slip__nats_mcons_end(slip_nats_mcons *m, jsCtx *js, const char *stream);

/* ----------------------------------------------------------- write.c */

int slip__nats_put(void *store, const char *key, const void *value, size_t len,
                   slip_version *out_version);
int slip__nats_create(void *store, const char *key, const void *value,
                      size_t len, slip_version *out_version);
int slip__nats_update(void *store, const char *key, const void *value,
                      size_t len, const slip_version *expected,
                      slip_version *out_version);
int slip__nats_del(void *store, const char *key);
int slip__nats_delete_version(void *store, const char *key,
                              const slip_version *expected);
int slip__nats_purge(void *store, const char *key);
int slip__nats_put_ttl(void *store, const char *key, const void *value,
                       size_t len, int64_t ttl_ms, slip_version *out_version);
int slip__nats_create_ttl(void *store, const char *key, const void *value,
                          size_t len, int64_t ttl_ms,
                          slip_version *out_version);
int slip__nats_purge_ttl(void *store, const char *key, int64_t ttl_ms);

typedef enum {
	SLIP_NATS_COND_NONE = 0,
	SLIP_NATS_COND_NO_MESSAGE, /* the subject must hold no message */
	SLIP_NATS_COND_LAST_SEQ    /* its last sequence must be `seq` */
} slip_nats_cond;

/** One write as write.c and pipe.c send it. */
typedef struct slip_nats_write {
	const char *op; /* for messages: "put", "create", ... */
	const char *key;
	const void *value;
	size_t len;
	slip_op marker; /* SLIP_OP_PUT, or DELETE / PURGE markers */
	slip_nats_cond cond;
	uint64_t seq;
	int64_t ttl_ms; /* > 0: Nats-TTL (per-message TTL, nats-server 2.11+) */
} slip_nats_write;

/**
 * Builds the message and publish options of @p w (subject, value, marker
 * headers, condition); SLIP_ETOOBIG before anything is sent when it
 * cannot fit the server's max payload. On SLIP_OK the caller owns *out.
 */
int slip__nats_write_msg(slip_nats_store *st, const slip_nats_write *w,
                         natsMsg **out, jsPubOptions *po);

/**
 * Maps a failed publish of @p w (status, JetStream error code, the
 * server's or libnats' text) to a SLIP_E* code and message.
 */
int slip__nats_write_error(slip_nats_store *st, const slip_nats_write *w,
                           natsStatus s, jsErrCode jerr, const char *txt);

/* ------------------------------------------------------------ pipe.c */

int slip__nats_pipe_open(void *store, size_t max_ops, slip_pipe_done done,
                         void *ctx, void **out);
int slip__nats_pipe_send(void *pipe, const slip_pipe_op *op, uint64_t tag);
void slip__nats_pipe_poll(void *pipe);
void slip__nats_pipe_free(void *pipe);

/* ----------------------------------------------------------- watch.c */

int slip__nats_watch(void *store, const slip_watch_options *opts,
                     slip_chan *tx);

#endif
