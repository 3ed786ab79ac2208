/*
 * src/backends/nats/store.c — buckets: bind to KV_<name> by name, or bind-
 * or-create from a configuration. An existing bucket's configuration is
 * compared field by field and never changed (libnats' js_CreateKeyValue
 * would update it); creating uses the stream configuration libnats uses
 * for a KV bucket. Also delete and info (identity = stream Created, ns).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_backend.h"

#define KV_MAX_HISTORY 64
#define DUP_WINDOW_NS  (120LL * 1000000000LL)
#define CONFIG_MSG_MAX 900

static char *fmt_dup(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
	char *p = malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s%s%s", a, b, c);
	return p;
}

static bool not_found(natsStatus s, jsErrCode jerr)
{
	return s == NATS_NOT_FOUND || jerr == SLIP_NATS_ERR_STREAM_NOT_FOUND;
}

/* The values a slip_store_config asks for, defaults filled in. */
typedef struct wanted {
	int64_t max_bytes, history, max_age_ns, replicas;
	int64_t marker_ttl_ns; /* 0: no limit markers, no per-key TTL */
	int32_t max_msg_size;
	jsStorageType storage;
	const char *description;
	char *desc_json; /* description escaped for a JSON string, malloc'd */
} wanted;

/* Length of the UTF-8 sequence at @p p (1..4), 0 when invalid. U+2028 and
 * U+2029 count as invalid here: nats-server writes them back as \u2028,
 * which libnats 3.4.1 decodes into one wrong byte. */
static size_t utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
	if (n == 0 || p[0] > 0xF4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	if (n == 3 && p[0] == 0xE0 && p[1] < 0xA0)
		return 0; /* overlong */
	if (n == 3 && p[0] == 0xED && p[1] >= 0xA0)
		return 0; /* surrogate */
	if (n == 4 &&
	    ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)))
		return 0; /* overlong / past U+10FFFF */
	if (n == 3 && p[0] == 0xE2 && p[1] == 0x80 &&
	    (p[2] == 0xA8 || p[2] == 0xA9))
		return 0;
	return n;
}

/*
 * libnats 3.4.1 pastes the description into its stream-create JSON
 * unescaped, so a '"' or '\' made the request invalid (server error 10025).
 * Escaped here, the server stores the text as given and libnats unescapes
 * it when reading stream info back, so the bind-time comparison sees the
 * original. Text libnats cannot read back unchanged is refused.
 */
static int escape_description(const char *name, const char *in, char **out)
{
	const unsigned char *p = (const unsigned char *)in;
	*out = NULL;
	for (size_t i = 0; p[i] != '\0';) {
		size_t n = utf8_len(p + i);
		if (n == 0)
			return slip_set_error(
			        SLIP_EINVAL,
			        "open \"%s\": description is not valid "
			        "UTF-8 (or holds U+2028/U+2029) at byte %zu",
			        name, i);
		i += n;
	}
	*out = slip__nats_json_escape(in);
	return *out != NULL ? SLIP_OK : SLIP_ENOMEM;
}

static int want_from(wanted *w, const char *name, const slip_store_config *cfg)
{
	w->max_bytes = cfg->max_bytes > 0 ? cfg->max_bytes : -1;
	w->history = cfg->max_history > 0 ? cfg->max_history : 1;
	w->max_age_ns = cfg->max_age_ms * 1000000;
	w->replicas = cfg->num_replicas > 0 ? cfg->num_replicas : 1;
	w->max_msg_size = cfg->max_value_size > 0 ? cfg->max_value_size : -1;
	w->storage = cfg->storage == SLIP_STORAGE_MEMORY ? js_MemoryStorage
	                                                 : js_FileStorage;
	w->description = cfg->description != NULL ? cfg->description : "";
	w->desc_json = NULL;
	w->marker_ttl_ns = cfg->marker_ttl_ms * 1000000;
	if (cfg->max_history > KV_MAX_HISTORY || cfg->max_history < 0)
		return slip_set_error(SLIP_EINVAL,
		                      "open \"%s\": max_history must be 1..%d",
		                      name, KV_MAX_HISTORY);
	if (cfg->max_age_ms < 0 || cfg->max_age_ms > INT64_MAX / 1000000)
		return slip_set_error(SLIP_EINVAL,
		                      "open \"%s\": bad max_age_ms", name);
	if (cfg->num_replicas < 0 || cfg->num_replicas > 5)
		return slip_set_error(SLIP_EINVAL,
		                      "open \"%s\": num_replicas must be 1..5",
		                      name);
	return escape_description(name, w->description, &w->desc_json);
}

static void add_diff(char *msg, size_t *len, const char *field, long long have,
                     long long want)
{
	if (have == want || *len >= CONFIG_MSG_MAX)
		return;
	int n = snprintf(msg + *len, CONFIG_MSG_MAX - *len,
	                 "; %s: bucket has %lld, requested %lld", field, have,
	                 want);
	if (n > 0)
		*len += (size_t)n;
	if (*len > CONFIG_MSG_MAX)
		*len = CONFIG_MSG_MAX;
}

/* SLIP_ECONFIG naming every differing field, or SLIP_OK. */
static int compare(const char *name, const jsStreamConfig *sc, const wanted *w,
                   int64_t marker_ttl_ns)
{
	char msg[CONFIG_MSG_MAX + 1] = "";
	size_t len = 0;
	int64_t mb = sc->MaxBytes > 0 ? sc->MaxBytes : -1;
	int32_t ms = sc->MaxMsgSize > 0 ? sc->MaxMsgSize : -1;
	int64_t rep = sc->Replicas > 0 ? sc->Replicas : 1;
	add_diff(msg, &len, "max_bytes", mb, w->max_bytes);
	add_diff(msg, &len, "max_history", sc->MaxMsgsPerSubject, w->history);
	add_diff(msg, &len, "max_age_ms", sc->MaxAge / 1000000,
	         w->max_age_ns / 1000000);
	add_diff(msg, &len, "num_replicas", rep, w->replicas);
	add_diff(msg, &len, "max_value_size", ms, w->max_msg_size);
	add_diff(msg, &len, "marker_ttl_ms", marker_ttl_ns / 1000000,
	         w->marker_ttl_ns / 1000000);
	if (sc->Storage != w->storage && len < CONFIG_MSG_MAX) {
		int n = snprintf(
		        msg + len, CONFIG_MSG_MAX - len,
		        "; storage: bucket has %s, requested %s",
		        sc->Storage == js_MemoryStorage ? "memory" : "file",
		        w->storage == js_MemoryStorage ? "memory" : "file");
		len = n > 0 ? len + (size_t)n : len;
	}
	const char *d = sc->Description != NULL ? sc->Description : "";
	if (strcmp(d, w->description) != 0 && len < CONFIG_MSG_MAX)
		snprintf(msg + len, CONFIG_MSG_MAX - len,
		         "; description: bucket has \"%.60s\", requested "
		         "\"%.60s\"",
		         d, w->description);
	if (msg[0] == '\0')
		return SLIP_OK;
	return slip_set_error(SLIP_ECONFIG,
	                      "open \"%s\": bucket exists with another "
	                      "configuration (left unchanged)%s",
	                      name, msg);
}

bool slip__nats_server_at_least(const slip_nats_conn *c, int ma, int mi)
{
	return c->version_known && (c->ver_major > ma ||
	                            (c->ver_major == ma && c->ver_minor >= mi));
}

/* ----------------------------------------- per-message TTL and markers */

/*
 * libnats 3.4.1's stream configuration has neither allow_msg_ttl nor
 * subject_delete_marker_ttl (nats-server 2.11, ADR-43), so a bucket with
 * limit markers is created, and its TTL facts read, through the raw
 * JetStream API. The JSON is exact: nats-server 2.12+ refuses unknown
 * fields.
 */

/* The number after "field": in @p doc, or false. */
static bool json_i64(const char *doc, const char *field, long long *out)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", field);
	const char *p = strstr(doc, pat);
	return p != NULL && sscanf(p + strlen(pat), "%lld", out) == 1;
}

/* One raw JetStream API request; *reply is the answer (caller frees). */
static int api_request(slip_nats_conn *c, const char *op, const char *name,
                       const char *subj, const char *body, natsMsg **reply)
{
	natsConnection *nc = NULL;
	int rc = slip__nats_use(c, op, &nc, NULL);
	if (rc != SLIP_OK)
		return rc;
	natsStatus s = natsConnection_RequestString(reply, nc, subj, body,
	                                            c->op_timeout_ms);
	if (s != NATS_OK)
		return slip__nats_fail(c, s, 0, op, name);
	return SLIP_OK;
}

static int create_ttl_stream(slip_nats_conn *c, const char *name,
                             const char *stream, const wanted *w)
{
	if (!slip__nats_has(c, SLIP_NATS_FEAT_MSG_TTL))
		return slip_set_error(
		        SLIP_EUNSUPPORTED,
		        "open \"%s\": limit markers and per-key "
		        "TTL need nats-server 2.11 or newer (this "
		        "one is %s); nothing was created",
		        name, c->version_known ? c->version : "unknown");
	int64_t dup = (w->max_age_ns > 0 && w->max_age_ns < DUP_WINDOW_NS)
	                      ? w->max_age_ns
	                      : DUP_WINDOW_NS;
	size_t n = strlen(w->desc_json) + 2 * strlen(name) + 640;
	char *body = malloc(n), subj[SLIP_NAME_MAX + 64];
	natsMsg *reply = NULL;
	if (body == NULL)
		return SLIP_ENOMEM;
	snprintf(body, n,
	         "{\"name\":\"%s\",\"subjects\":[\"$KV.%s.>\"],"
	         "\"description\":\"%s\",\"retention\":\"limits\","
	         "\"max_consumers\":-1,\"max_msgs\":-1,\"max_bytes\":%lld,"
	         "\"max_age\":%lld,\"max_msgs_per_subject\":%lld,"
	         "\"max_msg_size\":%d,\"discard\":\"new\","
	         "\"storage\":\"%s\",\"num_replicas\":%lld,"
	         "\"duplicate_window\":%lld,\"allow_rollup_hdrs\":true,"
	         "\"deny_delete\":true,\"allow_direct\":true,"
	         "\"allow_msg_ttl\":true,\"subject_delete_marker_ttl\":%lld}",
	         stream, name, w->desc_json, (long long)w->max_bytes,
	         (long long)w->max_age_ns, (long long)w->history,
	         (int)w->max_msg_size,
	         w->storage == js_MemoryStorage ? "memory" : "file",
	         (long long)w->replicas, (long long)dup,
	         (long long)w->marker_ttl_ns);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.CREATE.%s", stream);
	int rc = api_request(c, "open", name, subj, body, &reply);
	free(body);
	if (rc != SLIP_OK)
		return rc;
	const char *d = natsMsg_GetData(reply);
	long long code = 0;
	if (d != NULL && strstr(d, "\"error\"") != NULL) {
		json_i64(d, "err_code", &code);
		if (code == SLIP_NATS_ERR_STREAM_NAME_IN_USE)
			rc = SLIP_EEXISTS;
		else
			rc = slip_set_error(
			        SLIP_ECONFIG,
			        "open \"%s\": the server refused the "
			        "bucket with limit markers: %.200s",
			        name, d);
	}
	natsMsg_Destroy(reply);
	return rc;
}

/* Whether the stream allows per-message TTL, and its marker TTL. */
static int ttl_facts(slip_nats_conn *c, const char *stream, const char *name,
                     bool *msg_ttl, int64_t *marker_ns)
{
	char subj[SLIP_NAME_MAX + 64];
	natsMsg *reply = NULL;
	long long v = 0;
	*msg_ttl = false;
	*marker_ns = 0;
	if (!slip__nats_has(c, SLIP_NATS_FEAT_MSG_TTL))
		return SLIP_OK; /* the fields do not exist before 2.11 */
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", stream);
	int rc = api_request(c, "open", name, subj, "", &reply);
	if (rc != SLIP_OK)
		return rc;
	const char *d = natsMsg_GetData(reply);
	if (d != NULL) {
		*msg_ttl = strstr(d, "\"allow_msg_ttl\":true") != NULL;
		if (json_i64(d, "subject_delete_marker_ttl", &v) && v > 0)
			*marker_ns = v;
	}
	natsMsg_Destroy(reply);
	return SLIP_OK;
}

/*
 * js_AddStream, retried while a cluster answers "no suitable peers for
 * placement" (10005) for at most the operation timeout: a cluster that
 * is starting (or has just lost a node) places the stream a moment later,
 * and a request that can never be placed (more replicas than servers)
 * fails with the same error after that one timeout.
 */
static natsStatus add_stream(slip_nats_conn *c, jsCtx *js, jsStreamConfig *sc,
                             jsStreamInfo **si, jsErrCode *jerr)
{
	int64_t deadline = slip__now_ns() + (int64_t)c->op_timeout_ms * 1000000;
	for (;;) {
		*jerr = 0;
		natsStatus s = js_AddStream(si, js, sc, NULL, jerr);
		if (s == NATS_OK || *jerr != SLIP_NATS_ERR_NO_SUITABLE_PEERS ||
		    slip__now_ns() >= deadline)
			return s;
		nats_Sleep(250);
	}
}

static int create_stream(slip_nats_conn *c, jsCtx *js, const char *name,
                         const char *stream, const wanted *w, jsStreamInfo **si)
{
	jsStreamConfig sc;
	jsErrCode jerr = 0;
	if (w->marker_ttl_ns > 0) {
		int rc = create_ttl_stream(c, name, stream, w);
		if (rc != SLIP_OK)
			return rc;
		return js_GetStreamInfo(si, js, stream, NULL, &jerr) == NATS_OK
		               ? SLIP_OK
		               : SLIP_ENOTFOUND;
	}
	char *subject = fmt_dup("$KV.", name, ".>");
	if (subject == NULL)
		return SLIP_ENOMEM;
	jsStreamConfig_Init(&sc);
	sc.Name = stream;
	sc.Description = w->desc_json[0] != '\0' ? w->desc_json : NULL;
	sc.Subjects = (const char *[1]){subject};
	sc.SubjectsLen = 1;
	sc.MaxMsgsPerSubject = w->history;
	sc.MaxBytes = w->max_bytes;
	sc.MaxAge = w->max_age_ns;
	sc.MaxMsgSize = w->max_msg_size;
	sc.Storage = w->storage;
	sc.Replicas = w->replicas;
	sc.AllowRollup = true;
	sc.DenyDelete = true;
	sc.AllowDirect = slip__nats_server_at_least(c, 2, 9);
	sc.Discard = js_DiscardNew;
	sc.Duplicates = (w->max_age_ns > 0 && w->max_age_ns < DUP_WINDOW_NS)
	                        ? w->max_age_ns
	                        : DUP_WINDOW_NS;
	natsStatus s = add_stream(c, js, &sc, si, &jerr);
	free(subject);
	if (s == NATS_OK)
		return SLIP_OK;
	if (jerr == SLIP_NATS_ERR_STREAM_NAME_IN_USE)
		return SLIP_EEXISTS; /* raced with another creator */
	if (jerr == SLIP_NATS_ERR_MAX_BYTES_REQUIRED)
		return slip_set_error(
		        SLIP_ECONFIG,
		        "open \"%s\": this account requires a "
		        "size limit on every bucket (server error "
		        "10113, e.g. Synadia Cloud): set max_bytes "
		        "in the store configuration",
		        name);
	return slip__nats_fail(c, s, jerr, "open", name);
}

/* Fetches stream info; SLIP_ENOTFOUND (no message) when absent. */
static int stream_info(slip_nats_conn *c, jsCtx *js, const char *stream,
                       const char *name, jsStreamInfo **si)
{
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(si, js, stream, NULL, &jerr);
	if (s == NATS_OK)
		return SLIP_OK;
	if (not_found(s, jerr)) {
		return SLIP_ENOTFOUND;
	}
	return slip__nats_fail(c, s, jerr, "open", name);
}

static int bind_store(slip_nats_conn *c, const char *name,
                      const jsStreamInfo *si, slip_nats_store **out)
{
	slip_nats_store *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return SLIP_ENOMEM;
	atomic_init(&st->watch_dropped, 0);
	st->c = c;
	st->name = fmt_dup(name, "", "");
	st->stream = fmt_dup("KV_", name, "");
	st->subj = fmt_dup("$KV.", name, ".");
	if (st->name == NULL || st->stream == NULL || st->subj == NULL) {
		slip__nats_store_free(st);
		return SLIP_ENOMEM;
	}
	st->subj_len = strlen(st->subj);
	st->direct = si->Config != NULL && si->Config->AllowDirect;
	st->identity = si->Created;
	*out = st;
	return SLIP_OK;
}

static int check_kv(const char *name, const jsStreamInfo *si)
{
	const jsStreamConfig *sc = si->Config;
	char want[SLIP_NAME_MAX + 8];
	snprintf(want, sizeof(want), "$KV.%s.>", name);
	if (sc != NULL && sc->SubjectsLen == 1 && sc->Subjects != NULL &&
	    strcmp(sc->Subjects[0], want) == 0)
		return SLIP_OK;
	return slip_set_error(SLIP_ECONFIG,
	                      "open \"%s\": stream KV_%s is not a key-value "
	                      "bucket (its subjects are not %s)",
	                      name, name, want);
}

int slip__nats_store_open(void *conn, const char *name,
                          const slip_store_config *cfg, void **out,
                          unsigned *out_roles)
{
	slip_nats_conn *c = conn;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	slip_nats_store *st = NULL;
	char *stream = NULL;
	wanted w;
	memset(&w, 0, sizeof(w));
	int rc = slip__nats_use(c, "open", NULL, &js);
	if (rc != SLIP_OK)
		return rc;
	if (cfg != NULL && (rc = want_from(&w, name, cfg)) != SLIP_OK)
		goto done;
	stream = fmt_dup("KV_", name, "");
	if (stream == NULL) {
		rc = SLIP_ENOMEM;
		goto done;
	}
	rc = stream_info(c, js, stream, name, &si);
	if (rc == SLIP_ENOTFOUND && cfg == NULL) {
		rc = slip_set_error(SLIP_ENOTFOUND,
		                    "open \"%s\": no such bucket", name);
		goto done;
	}
	if (rc == SLIP_ENOTFOUND) {
		rc = create_stream(c, js, name, stream, &w, &si);
		if (rc == SLIP_EEXISTS)
			rc = stream_info(c, js, stream, name, &si);
		if (rc == SLIP_ENOTFOUND)
			rc = slip_set_error(
			        SLIP_EIO,
			        "open \"%s\": bucket vanished while "
			        "being created",
			        name);
	}
	if (rc != SLIP_OK)
		goto done;
	rc = check_kv(name, si);
	bool msg_ttl = false;
	int64_t marker_ns = 0;
	if (rc == SLIP_OK)
		rc = ttl_facts(c, stream, name, &msg_ttl, &marker_ns);
	if (rc == SLIP_OK && cfg != NULL)
		rc = compare(name, si->Config, &w, marker_ns);
	if (rc == SLIP_OK)
		rc = bind_store(c, name, si, &st);
	if (rc == SLIP_OK) {
		st->msg_ttl = msg_ttl;
		st->marker_ttl_ns = marker_ns;
	}
	if (rc == SLIP_OK) {
		*out = st;
		*out_roles = SLIP_ROLE_WRITE | SLIP_ROLE_WATCH;
	}
done:
	jsStreamInfo_Destroy(si);
	free(stream);
	free(w.desc_json);
	return rc;
}

void slip__nats_store_free(void *store)
{
	slip_nats_store *st = store;
	if (st == NULL)
		return;
	free(st->name);
	free(st->stream);
	free(st->subj);
	free(st);
}

int slip__nats_store_delete(void *conn, const char *name)
{
	slip_nats_conn *c = conn;
	jsCtx *js = NULL;
	jsErrCode jerr = 0;
	int rc = slip__nats_use(c, "delete bucket", NULL, &js);
	if (rc != SLIP_OK)
		return rc;
	char *stream = fmt_dup("KV_", name, "");
	if (stream == NULL)
		return SLIP_ENOMEM;
	natsStatus s = js_DeleteStream(js, stream, NULL, &jerr);
	free(stream);
	if (s == NATS_OK)
		return SLIP_OK;
	if (not_found(s, jerr)) {
		return slip_set_error(SLIP_ENOTFOUND,
		                      "delete bucket \"%s\": no such bucket",
		                      name);
	}
	return slip__nats_fail(c, s, jerr, "delete bucket", name);
}

int slip__nats_store_info(void *store, slip_store_info *out)
{
	slip_nats_store *st = store;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	int rc = slip__nats_use(st->c, "info", NULL, &js);
	if (rc != SLIP_OK)
		return rc;
	rc = stream_info(st->c, js, st->stream, st->name, &si);
	if (rc == SLIP_ENOTFOUND)
		return slip_set_error(SLIP_ENOTFOUND,
		                      "info \"%s\": bucket no longer exists",
		                      st->name);
	if (rc != SLIP_OK)
		return rc;
	const jsStreamConfig *sc = si->Config;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", st->name);
	snprintf(out->description, sizeof(out->description), "%s",
	         sc->Description != NULL ? sc->Description : "");
	out->storage = sc->Storage == js_MemoryStorage ? SLIP_STORAGE_MEMORY
	                                               : SLIP_STORAGE_FILE;
	out->max_bytes = sc->MaxBytes > 0 ? sc->MaxBytes : -1;
	out->max_history = sc->MaxMsgsPerSubject;
	out->max_age_ms = sc->MaxAge / 1000000;
	out->num_replicas = sc->Replicas > 0 ? (int)sc->Replicas : 1;
	out->max_value_size = sc->MaxMsgSize > 0 ? sc->MaxMsgSize : -1;
	out->messages = si->State.Msgs;
	out->bytes = si->State.Bytes;
	out->first_seq = si->State.FirstSeq;
	out->last_seq = si->State.LastSeq;
	out->created_ns = si->Created;
	out->watch_dropped = atomic_load(&st->watch_dropped);
	jsStreamInfo_Destroy(si);
	return SLIP_OK;
}
