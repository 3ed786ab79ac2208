/*
 * tests/applied/fx.c — the applied tests' fixture (see fx.h): open a store
 * on mem:// or NATS, expire history, recreate the bucket, a local map, and
 * comparison of that map with an independent scan.
 */
#include "fx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slipstream/memory.h>
#ifdef SLIP_TEST_HAVE_NATS
#include <nats/nats.h>
#endif

/* Opens (creating it when absent) f->bucket with history 1, and its roles. */
static int open_bucket(fx *f)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	int rc;

	cfg.name = f->bucket;
	cfg.max_history = 1;
	rc = slip_store_open_config(&f->store, f->conn, &cfg);
	if (rc != SLIP_OK)
		return rc;
	f->r = slip_store_reader(f->store);
	f->w = slip_store_writer(f->store);
	f->watcher = slip_store_watcher(f->store);
	return SLIP_OK;
}

int fx_open(fx *f, const char *url, const char *bucket)
{
	slip_conn_options copts = SLIP_CONN_OPTIONS_INIT;
	int rc;

	memset(f, 0, sizeof(*f));
	f->nats = strncmp(url, "mem://", 6) != 0;
	snprintf(f->url, sizeof(f->url), "%s", url);
	snprintf(f->bucket, sizeof(f->bucket), "%s", bucket);
	/* Short request timeouts: a write during a server outage fails fast
	 * instead of stalling the writer for seconds after the restart. */
	copts.url = url;
	copts.op_timeout_ms = 1000;
	copts.max_reconnect = -1;
	rc = slip_conn_new(&f->conn, &copts);
	if (rc == SLIP_OK)
		rc = slip_conn_connect(f->conn);
	if (rc != SLIP_OK)
		return rc;
	rc = open_bucket(f);
	if (rc != SLIP_OK)
		return rc;
	return f->w && f->watcher ? SLIP_OK : SLIP_EUNSUPPORTED;
}

void fx_close(fx *f)
{
	slip_store_free(f->store);
	slip_conn_free(f->conn);
	f->store = NULL;
	f->conn = NULL;
}

bool fx_open_fresh(fx *f, const char *url, const char *tag, const char *what)
{
	static int buckets; /* cases run one after another: no lock needed */
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "%s_%s_%d", tag, what, ++buckets);
	rc = fx_open(f, url, name);
	if (rc != SLIP_OK) {
		slip_test_fail(__FILE__, __LINE__, "fx_open %s: %s (%s)", url,
		               slip_err_name(rc), slip_last_error());
		return false;
	}
	return true;
}

#ifdef SLIP_TEST_HAVE_NATS
static int nats_purge_below(fx *f, uint64_t rev)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsOptions o;
	jsErrCode jerr = 0;
	char stream[96];
	natsStatus s;

	snprintf(stream, sizeof(stream), "KV_%s", f->bucket);
	s = natsConnection_ConnectTo(&nc, f->url);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, NULL);
	if (s == NATS_OK)
		s = jsOptions_Init(&o);
	if (s == NATS_OK) {
		o.Stream.Purge.Sequence = rev;
		s = js_PurgeStream(js, stream, &o, &jerr);
	}
	if (s != NATS_OK)
		fprintf(stderr, "purge %s below %llu: %s (%d)\n", stream,
		        (unsigned long long)rev, natsStatus_GetText(s),
		        (int)jerr);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return s == NATS_OK ? 0 : SLIP_EBACKEND;
}
#else
static int nats_purge_below(fx *f, uint64_t rev)
{
	(void)f;
	(void)rev;
	return SLIP_EUNSUPPORTED;
}
#endif

int fx_expire(fx *f, uint64_t rev)
{
	if (!f->nats)
		return slip_mem_drop_before(f->store, rev);
	return nats_purge_below(f, rev);
}

int fx_recreate(fx *f)
{
	int rc;

	slip_store_free(f->store);
	f->store = NULL;
	rc = slip_store_delete(f->conn, f->bucket);
	if (rc != SLIP_OK)
		return rc;
	/* Identities are creation times; make sure the new one differs. */
	fx_sleep_ms(5);
	return open_bucket(f);
}

uint64_t fx_last_seq(fx *f)
{
	slip_store_info info;
	if (slip_store_get_info(f->store, &info) != SLIP_OK)
		return 0;
	return info.last_seq;
}

/* ---------------------------------------------------------- local state */

static fx_kv *map_find(const fx_map *m, const char *key)
{
	for (size_t i = 0; i < m->count; i++) {
		if (strcmp(m->kv[i].key, key) == 0)
			return &m->kv[i];
	}
	return NULL;
}

const fx_kv *fx_map_get(const fx_map *m, const char *key)
{
	return map_find(m, key);
}

static char *dup_str(const char *s, size_t len)
{
	char *p = malloc(len + 1);
	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static void map_remove(fx_map *m, fx_kv *kv)
{
	free(kv->key);
	free(kv->value);
	*kv = m->kv[--m->count];
}

int fx_map_apply(fx_map *m, const slip_entry *e)
{
	fx_kv *kv = map_find(m, e->key);
	uint64_t rev = 0;
	char *value;

	if (e->op != SLIP_OP_PUT) {
		if (kv != NULL)
			map_remove(m, kv);
		return 0;
	}
	slip_version_to_u64(&e->version, &rev);
	value = dup_str((const char *)e->value, e->value_len);
	if (value == NULL)
		return SLIP_ENOMEM;
	if (kv == NULL) {
		if (m->count == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 64;
			fx_kv *n = realloc(m->kv, cap * sizeof(*n));
			if (n == NULL) {
				free(value);
				return SLIP_ENOMEM;
			}
			m->kv = n;
			m->cap = cap;
		}
		kv = &m->kv[m->count++];
		kv->key = dup_str(e->key, strlen(e->key));
		kv->value = NULL;
	}
	free(kv->value);
	kv->value = value;
	kv->rev = rev;
	return 0;
}

void fx_map_clear(fx_map *m)
{
	for (size_t i = 0; i < m->count; i++) {
		free(m->kv[i].key);
		free(m->kv[i].value);
	}
	free(m->kv);
	memset(m, 0, sizeof(*m));
}

int fx_map_from_snapshot(fx_map *m, const char *path, slip_cursor *cursor)
{
	slip_snapshot *snap = NULL;
	int rc;

	fx_map_clear(m);
	rc = slip_snapshot_load(&snap, path);
	if (rc != SLIP_OK)
		return rc;
	if (cursor != NULL)
		*cursor = snap ? snap->cursor : slip_cursor_none();
	for (size_t i = 0; snap != NULL && i < snap->count; i++)
		fx_map_apply(m, snap->entries[i]);
	slip_snapshot_free(snap);
	return 0;
}

int fx_map_diff_server(const fx_map *m, fx *f, const char *prefix)
{
	slip_entry_list list = {0, NULL};
	int diffs = 0;
	size_t matched = 0;

	if (slip_reader_scan(f->r, prefix ? prefix : "", &list) != SLIP_OK) {
		fprintf(stderr, "scan failed: %s\n", slip_last_error());
		return -1;
	}
	for (size_t i = 0; i < list.count; i++) {
		const slip_entry *e = list.entries[i];
		const fx_kv *kv = map_find(m, e->key);
		uint64_t rev = 0;
		slip_version_to_u64(&e->version, &rev);
		if (kv == NULL) {
			if (diffs++ < 5)
				fprintf(stderr,
				        "  local lacks \"%s\" (rev %llu)\n",
				        e->key, (unsigned long long)rev);
			continue;
		}
		matched++;
		if (strlen(kv->value) != e->value_len ||
		    memcmp(kv->value, e->value, e->value_len) != 0 ||
		    (kv->rev != 0 && kv->rev != rev)) {
			if (diffs++ < 5)
				fprintf(stderr,
				        "  \"%s\": local %s@%llu, server "
				        "%s@%llu\n",
				        e->key, kv->value,
				        (unsigned long long)kv->rev,
				        (const char *)e->value,
				        (unsigned long long)rev);
		}
	}
	if (matched != m->count) {
		for (size_t i = 0; i < m->count; i++) {
			bool found = false;
			for (size_t j = 0; j < list.count && !found; j++)
				found = strcmp(list.entries[j]->key,
				               m->kv[i].key) == 0;
			if (!found && diffs++ < 10)
				fprintf(stderr,
				        "  local has \"%s\" the server lacks\n",
				        m->kv[i].key);
		}
	}
	slip_entry_list_free(&list);
	return diffs;
}

/* ------------------------------------------------------------- helpers */

int64_t fx_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fx_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

uint64_t fx_cursor_seq(const slip_cursor *c)
{
	uint64_t seq = 0;
	if (slip_cursor_is_none(c) || slip_cursor_seq(c, &seq) != SLIP_OK)
		return 0;
	return seq;
}

/* ---------------------------------------------------------------- main */

static bool listed(void (*fn)(void), void (*const *list)(void))
{
	for (; list != NULL && *list != NULL; list++) {
		if (*list == fn)
			return true;
	}
	return false;
}

int fx_main(const char **url, slip_natsd **natsd, int argc, char **argv,
            const slip_test_case *cases, const char *mem_url,
            void (*const *nats_only)(void))
{
	slip_test_case *mem_cases = NULL;
	size_t n = 0, total = 0;
	int rc;

	*natsd = NULL;
	if (argc < 2 ||
	    (strcmp(argv[1], "mem") != 0 && strcmp(argv[1], "nats") != 0)) {
		fprintf(stderr, "usage: %s mem|nats [case-filter...]\n",
		        argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "nats") == 0) {
		if (slip_natsd_start(natsd, NULL) != 0) {
			fprintf(stderr, "cannot start nats-server\n");
			printf("0 passed, 1 failed\n");
			return 1;
		}
		*url = slip_natsd_url(*natsd);
	} else {
		*url = mem_url;
	}
	argv[1] = argv[0];
	if (*natsd != NULL) {
		rc = slip_test_main(argc - 1, argv + 1, cases);
		slip_natsd_free(*natsd);
		*natsd = NULL;
		return rc;
	}
	while (cases[total].name != NULL)
		total++;
	mem_cases = calloc(total + 1, sizeof(*mem_cases));
	if (mem_cases == NULL) {
		fprintf(stderr, "out of memory\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	for (size_t i = 0; i < total; i++) {
		if (!listed(cases[i].fn, nats_only))
			mem_cases[n++] = cases[i];
	}
	rc = slip_test_main(argc - 1, argv + 1, mem_cases);
	free(mem_cases);
	return rc;
}
