/*
 * src/backends/memory/bucket.c — one memory bucket: the ordered log, the
 * key map, and the write semantics NATS KV has (bucket-wide revisions,
 * per-key history limit, tombstones, CAS preconditions, purge as a rollup
 * that leaves one marker, retention by age or by slip_mem_drop_before).
 *
 * Divisions: configuration, bucket lifetime, key map, log, record removal
 * and retention, writes, entries. Callers hold the bucket's lock for every
 * function that takes a bucket, except lifetime (ref/unref/new/delete).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "util/grow.h"

/* NATS caps per-key history at 64; so do we. */
#define MEM_HISTORY_MAX 64
/* Compact the log once it holds this many holes and more holes than
 * records, so lookups stay O(log n) over a log at most twice the size of
 * what is held. */
#define MEM_COMPACT_MIN 64

/* --------------------------------------------------------- configuration */

int slip__mem_config_from(mem_config *out, const slip_store_config *cfg,
                          const char *name)
{
	memset(out, 0, sizeof(*out));
	if (cfg->storage != SLIP_STORAGE_FILE &&
	    cfg->storage != SLIP_STORAGE_MEMORY)
		return slip_set_error(SLIP_EINVAL,
		                      "store_open \"%s\": unknown storage %d",
		                      name, (int)cfg->storage);
	if (cfg->max_history < 0 || cfg->max_history > MEM_HISTORY_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "store_open \"%s\": max_history %lld is "
		                      "outside 0..%d",
		                      name, (long long)cfg->max_history,
		                      MEM_HISTORY_MAX);
	if (cfg->max_age_ms < 0)
		return slip_set_error(SLIP_EINVAL,
		                      "store_open \"%s\": negative max_age_ms",
		                      name);
	if (cfg->num_replicas < 0 || cfg->num_replicas > 5)
		return slip_set_error(SLIP_EINVAL,
		                      "store_open \"%s\": num_replicas %d is "
		                      "outside 0..5",
		                      name, cfg->num_replicas);
	out->storage = cfg->storage;
	out->max_bytes = cfg->max_bytes > 0 ? cfg->max_bytes : -1;
	out->max_history = cfg->max_history > 0 ? cfg->max_history : 1;
	out->max_age_ms = cfg->max_age_ms;
	out->num_replicas = cfg->num_replicas > 0 ? cfg->num_replicas : 1;
	out->max_value_size =
	        cfg->max_value_size > 0 ? cfg->max_value_size : -1;
	out->marker_ttl_ms = cfg->marker_ttl_ms > 0 ? cfg->marker_ttl_ms : 0;
	if (cfg->description != NULL)
		snprintf(out->description, sizeof(out->description), "%s",
		         cfg->description);
	return SLIP_OK;
}

static void diff_add(char *buf, size_t bufsz, const char *field, long long has,
                     long long asked)
{
	size_t n = strlen(buf);

	if (n < bufsz)
		snprintf(buf + n, bufsz - n, "%s%s (has %lld, asked %lld)",
		         n > 0 ? ", " : "", field, has, asked);
}

void slip__mem_config_diff(const mem_config *a, const mem_config *b, char *buf,
                           size_t bufsz)
{
	buf[0] = '\0';
	if (a->storage != b->storage)
		diff_add(buf, bufsz, "storage", a->storage, b->storage);
	if (a->max_bytes != b->max_bytes)
		diff_add(buf, bufsz, "max_bytes", a->max_bytes, b->max_bytes);
	if (a->max_history != b->max_history)
		diff_add(buf, bufsz, "max_history", a->max_history,
		         b->max_history);
	if (a->max_age_ms != b->max_age_ms)
		diff_add(buf, bufsz, "max_age_ms", a->max_age_ms,
		         b->max_age_ms);
	if (a->num_replicas != b->num_replicas)
		diff_add(buf, bufsz, "num_replicas", a->num_replicas,
		         b->num_replicas);
	if (a->max_value_size != b->max_value_size)
		diff_add(buf, bufsz, "max_value_size", a->max_value_size,
		         b->max_value_size);
	if (a->marker_ttl_ms != b->marker_ttl_ms)
		diff_add(buf, bufsz, "marker_ttl_ms", a->marker_ttl_ms,
		         b->marker_ttl_ms);
	if (strcmp(a->description, b->description) != 0) {
		size_t n = strlen(buf);
		if (n < bufsz)
			snprintf(buf + n, bufsz - n, "%sdescription",
			         n > 0 ? ", " : "");
	}
}

/* ------------------------------------------------------ bucket lifetime */

/* The map's values are mem_key pointers; their names are the keys. */
static const void *key_name(const void *ctx, uint64_t val, size_t *len)
{
	const mem_key *k = (const mem_key *)(uintptr_t)val;

	(void)ctx;
	*len = k->len;
	return k->name;
}

int slip__mem_bucket_new(mem_bucket **out, const char *name,
                         const mem_config *cfg, int64_t identity)
{
	size_t len = strlen(name);
	pthread_condattr_t ca;
	mem_bucket *b;

	*out = NULL;
	b = calloc(1, sizeof(*b) + len + 1);
	if (b == NULL)
		return slip_set_error(SLIP_ENOMEM,
		                      "store_open \"%s\": out of memory", name);
	memcpy(b->name, name, len + 1);
	atomic_init(&b->refs, 1);
	atomic_init(&b->deleted, false);
	b->identity = identity;
	b->cfg = *cfg;
	b->floor = 1;
	slip__map_init(&b->map, key_name, NULL);
	pthread_mutex_init(&b->lock, NULL);
	/* Watches wait with a timeout: measure it on the monotonic clock so
	 * a wall-clock jump neither stalls nor spins them. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = b;
	return SLIP_OK;
}

void slip__mem_bucket_ref(mem_bucket *b)
{
	atomic_fetch_add(&b->refs, 1);
}

/* Frees every record and key; the bucket is left empty. */
static void free_data(mem_bucket *b)
{
	for (size_t i = 0; i < b->log_len; i++)
		free(b->log[i].rec);
	for (size_t i = 0; i < b->map.cap; i++)
		free(slip__mem_key_at(b, i));
	free(b->log);
	slip__map_free(&b->map);
	b->log = NULL;
	b->log_len = b->log_cap = b->log_head = b->log_holes = 0;
	b->messages = b->bytes = 0;
}

void slip__mem_bucket_unref(mem_bucket *b)
{
	if (b == NULL || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	free_data(b);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

void slip__mem_bucket_delete(mem_bucket *b)
{
	pthread_mutex_lock(&b->lock);
	atomic_store(&b->deleted, true);
	free_data(b);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* --------------------------------------------------------------- key map */

mem_key *slip__mem_key_find(const mem_bucket *b, const char *key)
{
	return (mem_key *)(uintptr_t)slip__map_get(&b->map, key, strlen(key));
}

mem_key *slip__mem_key_at(const mem_bucket *b, size_t i)
{
	return (mem_key *)(uintptr_t)slip__map_at(&b->map, i);
}

/* Finds @p key or inserts it (without records). NULL when out of memory. */
static mem_key *map_get_or_add(mem_bucket *b, const char *key)
{
	size_t len = strlen(key);
	mem_key *k = slip__mem_key_find(b, key);

	if (k != NULL)
		return k;
	k = calloc(1, sizeof(*k) + len + 1);
	if (k == NULL)
		return NULL;
	k->len = len;
	memcpy(k->name, key, len + 1);
	if (slip__map_put(&b->map, k->name, len, (uintptr_t)k, NULL) !=
	    SLIP_OK) {
		free(k);
		return NULL;
	}
	return k;
}

/* Removes and frees a key that holds no record. */
static void map_remove(mem_bucket *b, mem_key *k)
{
	(void)slip__map_del(&b->map, k->name, k->len);
	free(k);
}

/* ------------------------------------------------------------------- log */

size_t slip__mem_log_after(const mem_bucket *b, uint64_t seq)
{
	size_t lo = b->log_head, hi = b->log_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->log[mid].seq <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t slip__mem_first_seq(const mem_bucket *b)
{
	if (b->log_head < b->log_len)
		return b->log[b->log_head].seq;
	return b->last_seq + 1;
}

static int log_append(mem_bucket *b, mem_rec *r)
{
	if (slip__grow(&b->log, &b->log_cap, b->log_len + 1, sizeof(*b->log)) !=
	    SLIP_OK)
		return SLIP_ENOMEM;
	b->log[b->log_len].seq = r->seq;
	b->log[b->log_len].rec = r;
	b->log_len++;
	return SLIP_OK;
}

/* Squeezes the holes out; slot indices change, sequences do not. */
static void log_compact(mem_bucket *b)
{
	size_t j = 0;

	for (size_t i = b->log_head; i < b->log_len; i++)
		if (b->log[i].rec != NULL)
			b->log[j++] = b->log[i];
	b->log_len = j;
	b->log_head = 0;
	b->log_holes = 0;
}

/* ------------------------------------------ record removal and retention */

static uint64_t rec_size(const mem_rec *r)
{
	return (uint64_t)r->key->len + r->value_len;
}

/* Unlinks @p r from its key and the log and frees it. */
static void rec_remove(mem_bucket *b, mem_rec *r)
{
	mem_key *k = r->key;
	size_t i = slip__mem_log_after(b, r->seq - 1);

	b->log[i].rec = NULL;
	if (i == b->log_head) {
		while (b->log_head < b->log_len &&
		       b->log[b->log_head].rec == NULL)
			b->log_head++;
	} else {
		b->log_holes++;
	}
	b->messages--;
	b->bytes -= rec_size(r);
	if (r->expires_ns != 0)
		b->ttl_recs--;
	if (r->kprev != NULL)
		r->kprev->knext = r->knext;
	else
		k->oldest = r->knext;
	if (r->knext != NULL)
		r->knext->kprev = r->kprev;
	else
		k->latest = r->kprev;
	k->count--;
	free(r);
	if (k->count == 0)
		map_remove(b, k);
}

static void log_maybe_compact(mem_bucket *b)
{
	size_t dead = b->log_holes + b->log_head;

	if (dead >= MEM_COMPACT_MIN && dead * 2 > b->log_len)
		log_compact(b);
}

void slip__mem_drop_before(mem_bucket *b, uint64_t seq)
{
	if (seq > b->last_seq + 1)
		seq = b->last_seq + 1;
	while (b->log_head < b->log_len && b->log[b->log_head].seq < seq)
		rec_remove(b, b->log[b->log_head].rec);
	if (seq > b->floor)
		b->floor = seq;
	log_maybe_compact(b);
}

int64_t slip__mem_now(const mem_bucket *b)
{
	return slip__realtime_ns() + b->clock_offset_ns;
}

static void key_link(mem_bucket *b, mem_key *k, mem_rec *r);

/*
 * The limit marker nats-server (2.11+, subject_delete_marker_ttl) writes
 * when the last record of a key ages out: no value, read as a Purge, gone
 * itself after the marker TTL. Best effort: without memory the key simply
 * vanishes, as it does on a bucket without markers.
 */
static void append_marker(mem_bucket *b, const char *name, int64_t now)
{
	mem_rec *r = calloc(1, sizeof(*r) + 1);
	mem_key *k = r != NULL ? map_get_or_add(b, name) : NULL;

	if (r != NULL) {
		r->seq = b->last_seq + 1;
		r->created_ns = now;
		r->op = SLIP_OP_PURGE;
		r->limit_marker = true;
		r->expires_ns = now + b->cfg.marker_ttl_ms * 1000000;
	}
	if (k == NULL || log_append(b, r) != SLIP_OK) {
		if (k != NULL && k->count == 0)
			map_remove(b, k);
		free(r);
		return;
	}
	b->ttl_recs++;
	b->last_seq = r->seq;
	key_link(b, k, r);
	pthread_cond_broadcast(&b->cond);
}

/* Removes @p r; a marker follows when it was its key's latest record. */
static void expire_rec(mem_bucket *b, mem_rec *r, int64_t now)
{
	char name[SLIP_KEY_MAX + 1];
	bool mark = b->cfg.marker_ttl_ms > 0 && !r->limit_marker &&
	            r->key->latest == r && r->key->len <= SLIP_KEY_MAX;

	if (mark)
		memcpy(name, r->key->name, r->key->len + 1);
	rec_remove(b, r);
	if (mark)
		append_marker(b, name, now);
}

/* Records whose TTL passed, wherever they are in the log. */
static void expire_ttl(mem_bucket *b, int64_t now)
{
	size_t end = b->log_len;

	for (size_t i = b->log_head; i < end && b->ttl_recs > 0; i++) {
		mem_rec *r = b->log[i].rec;
		if (r != NULL && r->expires_ns != 0 && r->expires_ns <= now)
			expire_rec(b, r, now);
	}
}

void slip__mem_expire(mem_bucket *b)
{
	int64_t now = slip__mem_now(b);

	if (b->cfg.max_age_ms > 0) {
		int64_t limit = now - b->cfg.max_age_ms * 1000000;
		while (b->log_head < b->log_len &&
		       b->log[b->log_head].rec->created_ns < limit) {
			b->floor = b->log[b->log_head].seq + 1;
			expire_rec(b, b->log[b->log_head].rec, now);
		}
	}
	if (b->ttl_recs > 0)
		expire_ttl(b, now);
	log_maybe_compact(b);
}

/* ---------------------------------------------------------------- writes */

/* Latest revision of @p k (0 when it holds nothing). */
static uint64_t key_revision(const mem_key *k)
{
	return k != NULL && k->latest != NULL ? k->latest->seq : 0;
}

static int check_precondition(mem_bucket *b, mem_write_kind kind,
                              const char *opname, const char *key,
                              const slip_version *expected)
{
	mem_key *k = slip__mem_key_find(b, key);
	uint64_t want, has = key_revision(k);

	if (kind == MEM_CREATE) {
		if (k != NULL && k->latest->op == SLIP_OP_PUT)
			return slip_set_error(SLIP_EEXISTS,
			                      "%s \"%s\": key already exists "
			                      "(revision %llu)",
			                      opname, key,
			                      (unsigned long long)has);
		return SLIP_OK;
	}
	if (kind != MEM_UPDATE && kind != MEM_DELETE_VERSION)
		return SLIP_OK;
	if (slip_version_to_u64(expected, &want) != SLIP_OK)
		return slip_set_error(SLIP_EINVAL,
		                      "%s \"%s\": version of %u bytes is not a "
		                      "memory revision (8 bytes)",
		                      opname, key, (unsigned)expected->len);
	if (want == has)
		return SLIP_OK;
	if (k == NULL)
		return slip_set_error(SLIP_EREVISION,
		                      "%s \"%s\": revision mismatch: expected "
		                      "%llu, key does not exist",
		                      opname, key, (unsigned long long)want);
	return slip_set_error(SLIP_EREVISION,
	                      "%s \"%s\": revision mismatch: expected %llu, "
	                      "store has %llu",
	                      opname, key, (unsigned long long)want,
	                      (unsigned long long)has);
}

/* Bytes the write of @p kind on @p k frees through the history limit. */
static uint64_t bytes_freed(const mem_bucket *b, const mem_key *k,
                            mem_write_kind kind)
{
	uint64_t n = 0;

	if (k == NULL)
		return 0;
	if (kind == MEM_PURGE) {
		for (const mem_rec *r = k->oldest; r != NULL; r = r->knext)
			n += rec_size(r);
		return n;
	}
	if ((int64_t)k->count + 1 > b->cfg.max_history)
		return rec_size(k->oldest);
	return 0;
}

static int check_limits(mem_bucket *b, const char *opname, const char *key,
                        size_t len, mem_write_kind kind)
{
	uint64_t need = strlen(key) + len, freed;

	if (b->cfg.max_value_size > 0 && len > (size_t)b->cfg.max_value_size)
		return slip_set_error(SLIP_ETOOBIG,
		                      "%s \"%s\": value of %zu bytes exceeds "
		                      "max_value_size %d",
		                      opname, key, len,
		                      (int)b->cfg.max_value_size);
	if (b->cfg.max_bytes <= 0)
		return SLIP_OK;
	freed = bytes_freed(b, slip__mem_key_find(b, key), kind);
	if (b->bytes - freed + need > (uint64_t)b->cfg.max_bytes)
		return slip_set_error(SLIP_ETOOBIG,
		                      "%s \"%s\": bucket \"%s\" is full "
		                      "(max_bytes %lld)",
		                      opname, key, b->name,
		                      (long long)b->cfg.max_bytes);
	return SLIP_OK;
}

static slip_op kind_op(mem_write_kind kind)
{
	switch (kind) {
	case MEM_DELETE:
	case MEM_DELETE_VERSION:
		return SLIP_OP_DELETE;
	case MEM_PURGE:
		return SLIP_OP_PURGE;
	default:
		return SLIP_OP_PUT;
	}
}

/* Links @p r as the newest record of @p k and trims the key's history: a
 * purge drops everything older (NATS rollup), anything else keeps at most
 * max_history records. */
static void key_link(mem_bucket *b, mem_key *k, mem_rec *r)
{
	r->key = k;
	r->kprev = k->latest;
	if (k->latest != NULL)
		k->latest->knext = r;
	else
		k->oldest = r;
	k->latest = r;
	k->count++;
	b->messages++;
	b->bytes += rec_size(r);
	while (k->oldest != r && (r->op == SLIP_OP_PURGE ||
	                          (int64_t)k->count > b->cfg.max_history))
		rec_remove(b, k->oldest);
}

int slip__mem_write_ttl(mem_bucket *b, mem_write_kind kind, const char *opname,
                        const char *key, const void *value, size_t len,
                        int64_t ttl_ms, slip_version *out_version)
{
	slip_version v;
	int rc;

	if (b->cfg.marker_ttl_ms <= 0)
		return slip_set_error(
		        SLIP_EUNSUPPORTED,
		        "%s \"%s\": bucket \"%s\" does not allow "
		        "per-key TTL (create it with a marker TTL); "
		        "nothing was written",
		        opname, key, b->name);
	/* As nats-server 2.15: a TTL below the marker TTL is raised to it. */
	if (ttl_ms < b->cfg.marker_ttl_ms)
		ttl_ms = b->cfg.marker_ttl_ms;
	rc = slip__mem_write(b, kind, opname, key, value, len, NULL, &v);
	if (rc != SLIP_OK)
		return rc;
	mem_key *k = slip__mem_key_find(b, key);
	k->latest->expires_ns = k->latest->created_ns + ttl_ms * 1000000;
	b->ttl_recs++;
	if (out_version != NULL)
		*out_version = v;
	return SLIP_OK;
}

int slip__mem_write(mem_bucket *b, mem_write_kind kind, const char *opname,
                    const char *key, const void *value, size_t len,
                    const slip_version *expected, slip_version *out_version)
{
	slip_op op = kind_op(kind);
	mem_key *k;
	mem_rec *r;
	int rc;

	if (op != SLIP_OP_PUT)
		len = 0;
	rc = check_precondition(b, kind, opname, key, expected);
	if (rc == SLIP_OK)
		rc = check_limits(b, opname, key, len, kind);
	if (rc != SLIP_OK)
		return rc;
	r = calloc(1, sizeof(*r) + len + 1);
	if (r == NULL)
		return slip_set_error(SLIP_ENOMEM, "%s \"%s\": out of memory",
		                      opname, key);
	r->seq = b->last_seq + 1;
	r->created_ns = slip__mem_now(b);
	r->op = op;
	r->value_len = len;
	if (len > 0)
		memcpy(r->value, value, len);
	k = map_get_or_add(b, key);
	if (k == NULL || log_append(b, r) != SLIP_OK) {
		/* A key added just now holds nothing: take it out again. */
		if (k != NULL && k->count == 0)
			map_remove(b, k);
		free(r);
		return slip_set_error(SLIP_ENOMEM, "%s \"%s\": out of memory",
		                      opname, key);
	}
	b->last_seq = r->seq;
	key_link(b, k, r);
	log_maybe_compact(b);
	if (out_version != NULL)
		*out_version = slip_version_from_u64(r->seq);
	pthread_cond_broadcast(&b->cond);
	return SLIP_OK;
}

/* --------------------------------------------------------------- entries */

int slip__mem_rec_entry(slip_entry **out, const mem_rec *r, bool with_value)
{
	size_t vlen = with_value ? r->value_len : 0;
	uint8_t *v;
	slip_entry *e;
	int rc = slip_entry_alloc(&e, r->key->name, r->key->len, vlen, &v);

	if (rc != SLIP_OK)
		return rc;
	if (vlen > 0)
		memcpy(v, r->value, vlen);
	e->version = slip_version_from_u64(r->seq);
	e->op = r->op;
	e->created_ns = r->created_ns;
	*out = e;
	return SLIP_OK;
}
