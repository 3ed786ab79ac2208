/*
 * tests/cluster/cf.c — cluster facts, the mirror and the final
 * checks of the cluster fault tests (see cf.h). The stream's leader and
 * replica health are read with libnats behind Slipstream's back, so the
 * tests do not trust the code they test to tell them where the leader is;
 * the final comparison reads every acknowledged revision back from the
 * stream the same way.
 */
#include "cf.h"

#include <errno.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

long long cf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cf_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ------------------------------------------------------- cluster facts */

/* libnats connection to @p url without reconnects; NULL on failure. */
static natsConnection *raw_connect(const char *url)
{
	natsConnection *nc = NULL;
	natsOptions *o = NULL;

	if (natsOptions_Create(&o) != NATS_OK)
		return NULL;
	natsOptions_SetURL(o, url);
	natsOptions_SetTimeout(o, 1500);
	natsOptions_SetAllowReconnect(o, false);
	if (natsConnection_Connect(&nc, o) != NATS_OK)
		nc = NULL;
	natsOptions_Destroy(o);
	return nc;
}

/* Node index of server name "n<i+1>" (the harness names them so). */
static int node_of(const char *name)
{
	if (name == NULL || name[0] != 'n' || name[1] < '1' || name[1] > '9')
		return -1;
	return name[1] - '1';
}

static int ask_node(slip_natsd *n, int *leader, int *current)
{
	natsConnection *nc = raw_connect(slip_natsd_url(n));
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	jsOptions jo;
	int rc = -1;

	if (nc == NULL)
		return -1;
	jsOptions_Init(&jo);
	jo.Wait = 2000;
	if (natsConnection_JetStream(&js, nc, &jo) != NATS_OK ||
	    js_GetStreamInfo(&si, js, CF_STREAM, NULL, &jerr) != NATS_OK)
		goto done;
	*leader = -1;
	*current = 0;
	if (si->Cluster != NULL) {
		*leader = node_of(si->Cluster->Leader);
		for (int i = 0; i < si->Cluster->ReplicasLen; i++)
			*current += si->Cluster->Replicas[i]->Current &&
			            !si->Cluster->Replicas[i]->Offline;
	}
	rc = 0;
done:
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}

int cf_stream_state(slip_natsd_cluster *c, unsigned skip_mask, int *leader,
                    int *current)
{
	for (int i = 0; i < slip_natsd_cluster_size(c); i++) {
		slip_natsd *n = slip_natsd_cluster_node(c, i);
		if ((skip_mask & (1u << i)) || !slip_natsd_running(n))
			continue;
		if (ask_node(n, leader, current) == 0)
			return 0;
	}
	return -1;
}

int cf_wait_stream(slip_natsd_cluster *c, unsigned skip_mask, int want,
                   int timeout_ms)
{
	long long deadline = cf_now_ms() + timeout_ms;
	int leader = -1, current = 0;

	do {
		if (cf_stream_state(c, skip_mask, &leader, &current) == 0 &&
		    leader >= 0 && current >= want)
			return leader;
		cf_sleep_ms(200);
	} while (cf_now_ms() < deadline);
	return -1;
}

/* ------------------------------------------------------------ mirror */

static int m_apply(void *payload, void *const *items, size_t count)
{
	cf_mirror *m = payload;

	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < count; i++) {
		const slip_entry *e = items[i];
		uint64_t rev = 0;
		slip_version_to_u64(&e->version, &rev);
		if (rev <= m->last_rev)
			m->non_increasing++;
		if (m->seen != NULL && rev < CF_MAX_REV)
			m->seen[rev / 8] |= (uint8_t)(1u << (rev % 8));
		m->last_rev = rev;
		m->synthetic += (e->flags & SLIP_ENTRY_SYNTHETIC) != 0;
		m->updates++;
	}
	pthread_mutex_unlock(&m->mu);
	return 0;
}

static void m_applied(void *payload, const slip_cursor *cursor)
{
	cf_mirror *m = payload;
	uint64_t seq = 0;

	slip_cursor_seq(cursor, &seq);
	pthread_mutex_lock(&m->mu);
	m->applied_seq = seq;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

static void m_caught_up(void *payload, const slip_cursor *cursor)
{
	cf_mirror *m = payload;
	uint64_t seq = 0;

	uint64_t last;

	slip_cursor_seq(cursor, &seq);
	pthread_mutex_lock(&m->mu);
	if (m->caught_up++ == 0)
		m->first_seq = seq;
	last = m->last_rev;
	pthread_mutex_unlock(&m->mu);
	fprintf(stderr,
	        "    mirror caught up at seq %llu, last update applied %llu "
	        "(t+%lld ms)\n",
	        (unsigned long long)seq, (unsigned long long)last,
	        cf_now_ms() - m->t0);
}

static void *m_thread(void *arg)
{
	cf_mirror *m = arg;
	slip_applied_options o = SLIP_APPLIED_OPTIONS_INIT;
	int rc;

	o.watcher = slip_store_watcher(m->store);
	o.snapshot = m->snap;
	o.apply = m_apply;
	o.on_applied = m_applied;
	o.on_caught_up = m_caught_up;
	o.payload = m;
	o.shutdown = m->shutdown;
	rc = slip_watch_applied(&o, NULL);
	if (rc != SLIP_OK)
		fprintf(stderr, "mirror: watch_applied: %s (%s)\n",
		        slip_err_name(rc), slip_last_error());
	pthread_mutex_lock(&m->mu);
	m->rc = rc;
	m->done = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

int cf_mirror_start(cf_mirror *m, const char *urls, const char *dir)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	snprintf(m->snap_path, sizeof(m->snap_path), "%s/mirror.snap", dir);
	m->t0 = cf_now_ms();
	m->seen = calloc(CF_MAX_REV / 8, 1);
	m->conn = slip_natsd_connect(urls);
	if (m->conn == NULL ||
	    slip_store_open(&m->store, m->conn, CF_BUCKET) != SLIP_OK ||
	    slip_snapshot_writer_open(&m->snap, m->snap_path, 64 * 1024) !=
	            SLIP_OK ||
	    slip_shutdown_new(&m->shutdown) != SLIP_OK) {
		fprintf(stderr, "mirror: cannot start: %s\n",
		        slip_last_error());
		cf_mirror_stop(m, 0);
		return -1;
	}
	if (pthread_create(&m->thread, NULL, m_thread, m) != 0) {
		cf_mirror_stop(m, 0);
		return -1;
	}
	m->running = true;
	return 0;
}

void cf_mirror_stats(cf_mirror *m, cf_mirror *out)
{
	pthread_mutex_lock(&m->mu);
	out->applied_seq = m->applied_seq;
	out->updates = m->updates;
	out->non_increasing = m->non_increasing;
	out->synthetic = m->synthetic;
	out->caught_up = m->caught_up;
	out->last_rev = m->last_rev;
	out->first_seq = m->first_seq;
	out->done = m->done;
	out->rc = m->rc;
	pthread_mutex_unlock(&m->mu);
}

/* Absolute CLOCK_REALTIME time @p ms from now (condvar default clock). */
static struct timespec abs_in(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

int cf_mirror_wait_seq(cf_mirror *m, uint64_t seq, int timeout_ms)
{
	struct timespec until = abs_in(timeout_ms);
	int rc = 0;

	pthread_mutex_lock(&m->mu);
	while (m->applied_seq < seq && !m->done && rc == 0)
		rc = pthread_cond_timedwait(&m->cv, &m->mu, &until);
	rc = m->applied_seq >= seq ? 0 : -1;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int cf_mirror_stop(cf_mirror *m, int timeout_ms)
{
	struct timespec until = abs_in(timeout_ms);
	int rc = 0;
	bool done;

	if (m->running) {
		slip_shutdown_trigger(m->shutdown);
		pthread_mutex_lock(&m->mu);
		while (!m->done && rc == 0)
			rc = pthread_cond_timedwait(&m->cv, &m->mu, &until);
		done = m->done;
		pthread_mutex_unlock(&m->mu);
		if (!done) {
			fprintf(stderr,
			        "mirror: watch_applied did not return "
			        "within %d ms of shutdown\n",
			        timeout_ms);
			return -1; /* leave everything: the thread still runs */
		}
		pthread_join(m->thread, NULL);
		m->running = false;
	}
	slip_snapshot_writer_free(m->snap);
	m->snap = NULL;
	slip_shutdown_free(m->shutdown);
	m->shutdown = NULL;
	slip_store_free(m->store);
	m->store = NULL;
	slip_conn_free(m->conn);
	m->conn = NULL;
	return m->rc == SLIP_OK ? 0 : -1;
}

/* ------------------------------------------------------------ checks */

typedef struct ack {
	char op;
	int key;
	uint64_t rev;
	char value[48];
} ack;

typedef struct acklog {
	ack *a;
	size_t n, cap;
} acklog;

static int parse_line(const char *line, ack *out)
{
	char key[32];
	unsigned long long rev;
	unsigned k;

	if (sscanf(line, "%c %31s %llu %47s", &out->op, key, &rev,
	           out->value) != 4 ||
	    sscanf(key, "k.%u", &k) != 1 || k >= CF_KEYS)
		return -1;
	out->key = (int)k;
	out->rev = rev;
	return 0;
}

static int load_log(const char *path, acklog *L)
{
	FILE *f = fopen(path, "r");
	char line[256];

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (L->n == L->cap) {
			size_t cap = L->cap ? L->cap * 2 : 1024;
			ack *a = realloc(L->a, cap * sizeof(*a));
			if (a == NULL)
				break;
			L->a = a;
			L->cap = cap;
		}
		if (parse_line(line, &L->a[L->n]) != 0) {
			fprintf(stderr, "bad log line: %s", line);
			fclose(f);
			return -1;
		}
		L->n++;
	}
	fclose(f);
	return 0;
}

/* Prints each node's own view of the stream (its replica's /jsz state). */
static void print_replicas(slip_natsd_cluster *c, cf_report *r)
{
	unsigned long long first_msgs = 0;

	static char body[65536];

	for (int i = 0; i < slip_natsd_cluster_size(c); i++) {
		slip_natsd *n = slip_natsd_cluster_node(c, i);
		unsigned long long msgs = 0, last = 0;
		const char *p = NULL, *q;

		if (slip_natsd_running(n) &&
		    slip_natsd_http_get(n, "/jsz?streams=true", body,
		                        sizeof(body)) == 200)
			p = strstr(body, "\"" CF_STREAM "\"");
		if (p != NULL && (q = strstr(p, "\"messages\":")) != NULL)
			msgs = strtoull(q + 11, NULL, 10);
		if (p != NULL && (q = strstr(p, "\"last_seq\":")) != NULL)
			last = strtoull(q + 11, NULL, 10);
		fprintf(stderr, "  replica n%d: %llu messages, last seq %llu\n",
		        i + 1, msgs, last);
		if (i < 3)
			r->replica_last[i] = last;
		if (i == 0)
			first_msgs = msgs;
		else if (msgs != first_msgs || last != r->replica_last[0])
			r->replicas_agree = false;
	}
}

/*
 * When the replicas disagree, shows what each server logged about the
 * stream (warnings and errors), which is where the server admits it.
 */
static void print_stream_warnings(slip_natsd_cluster *c)
{
	char path[600], line[512];

	for (int i = 0; i < slip_natsd_cluster_size(c); i++) {
		FILE *f;
		int shown = 0;

		snprintf(path, sizeof(path), "%s/server.log",
		         slip_natsd_dir(slip_natsd_cluster_node(c, i)));
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) && shown < 6) {
			if ((strstr(line, "[WRN]") || strstr(line, "[ERR]")) &&
			    strstr(line, CF_STREAM)) {
				fprintf(stderr, "    n%d log: %s", i + 1, line);
				shown++;
			}
		}
		fclose(f);
	}
}

/* Writer values are "w<pid>-<n>": n is unique per operation. */
static long value_no(const char *v, size_t len)
{
	const char *dash = memchr(v, '-', len);
	if (len < 3 || v[0] != 'w' || dash == NULL)
		return -1;
	return strtol(dash + 1, NULL, 10);
}

/*
 * Reads the whole stream, message by message, through one live node (the
 * stream leader answers) and records where each writer value sits:
 * at[n] = sequence of value n (0 = not in the stream), key_at[n] its key.
 */
static int read_stream(slip_natsd_cluster *c, uint64_t last_seq, size_t nvals,
                       uint64_t *at, int *key_at, uint8_t *present)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsOptions jo;
	int rc = -1;

	for (int i = 0; i < slip_natsd_cluster_size(c) && nc == NULL; i++) {
		slip_natsd *n = slip_natsd_cluster_node(c, i);
		if (slip_natsd_running(n))
			nc = raw_connect(slip_natsd_url(n));
	}
	jsOptions_Init(&jo);
	jo.Wait = 3000;
	if (nc == NULL || natsConnection_JetStream(&js, nc, &jo) != NATS_OK)
		goto done;
	for (uint64_t seq = 1; seq <= last_seq; seq++) {
		natsMsg *msg = NULL;
		jsErrCode jerr = 0;
		natsStatus s = NATS_ERR;
		unsigned k;
		long no;

		for (int t = 0; t < 5 && s != NATS_OK && s != NATS_NOT_FOUND;
		     t++)
			s = js_GetMsg(&msg, js, CF_STREAM, seq, NULL, &jerr);
		if (s == NATS_NOT_FOUND)
			continue;
		if (s == NATS_OK && seq < CF_MAX_REV)
			present[seq / 8] |= (uint8_t)(1u << (seq % 8));
		if (s != NATS_OK) {
			fprintf(stderr, "check: get seq %llu: %s\n",
			        (unsigned long long)seq, natsStatus_GetText(s));
			goto done;
		}
		no = value_no(natsMsg_GetData(msg),
		              (size_t)natsMsg_GetDataLength(msg));
		if (no > 0 && (size_t)no < nvals &&
		    sscanf(natsMsg_GetSubject(msg), "$KV." CF_BUCKET ".k.%u",
		           &k) == 1) {
			at[no] = seq;
			key_at[no] = (int)k;
		}
		natsMsg_Destroy(msg);
	}
	rc = 0;
done:
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}

static bool bit(const uint8_t *b, uint64_t i)
{
	return i < CF_MAX_REV && (b[i / 8] & (1u << (i % 8))) != 0;
}

/*
 * Once caught up, the mirror must apply every later record of the stream:
 * each stream sequence after its first catch-up that the stream still
 * holds and the mirror never applied is a skipped update. Printed as
 * ranges.
 */
static void check_skipped(cf_mirror *m, const uint8_t *present,
                          uint64_t last_seq, cf_report *r)
{
	uint64_t from = 0;

	if (m->seen == NULL)
		return;
	for (uint64_t seq = m->first_seq + 1; seq <= last_seq + 1; seq++) {
		bool miss = seq <= last_seq && bit(present, seq) &&
		            !bit(m->seen, seq);
		if (miss) {
			r->mirror_skipped++;
			if (from == 0)
				from = seq;
		} else if (from != 0) {
			fprintf(stderr,
			        "SKIPPED by the mirror: stream seq "
			        "%llu..%llu\n",
			        (unsigned long long)from,
			        (unsigned long long)(seq - 1));
			from = 0;
		}
	}
}

/*
 * Every acknowledged put/create/update must be in the stream under its
 * key, at the revision its acknowledgement gave, unless a later
 * acknowledged write of the same key superseded it and history (64 per
 * key) aged it out. A value present at another revision is counted apart
 * (renumbered): the write survived, the revision handed out did not.
 */
static void check_revs(slip_natsd_cluster *c, const acklog *L, const int *last,
                       uint64_t last_seq, cf_mirror *m, cf_report *r)
{
	size_t nvals = L->n * 2 + 16;
	uint64_t *at = calloc(nvals, sizeof(*at));
	int *key_at = calloc(nvals, sizeof(*key_at));
	uint8_t *present = calloc(CF_MAX_REV / 8, 1);

	int keymsgs[CF_KEYS] = {0};

	r->replicas_agree = true;
	print_replicas(c, r);
	if (!r->replicas_agree)
		print_stream_warnings(c);
	for (int i = 0; i < 3; i++)
		if (r->replica_last[i] > last_seq)
			last_seq = r->replica_last[i];
	if (at == NULL || key_at == NULL || present == NULL ||
	    read_stream(c, last_seq, nvals, at, key_at, present) != 0) {
		fprintf(stderr, "check: cannot read the stream\n");
		r->lost = L->n;
		goto done;
	}
	for (size_t n = 0; n < nvals; n++)
		if (at[n] != 0)
			keymsgs[key_at[n]]++;
	for (size_t i = 0; i < L->n; i++) {
		const ack *a = &L->a[i];
		long no = value_no(a->value, strlen(a->value));

		if (a->op == 'D')
			continue;
		if (no > 0 && (size_t)no < nvals && at[no] != 0 &&
		    key_at[no] == a->key) {
			if (at[no] == a->rev) {
				r->checked_revs++;
				continue;
			}
			if (++r->renumbered <= 5)
				fprintf(stderr,
				        "RENUMBERED: acknowledged %c k.%03d "
				        "\"%s\" at rev %llu; the stream holds "
				        "it at %llu\n",
				        a->op, a->key, a->value,
				        (unsigned long long)a->rev,
				        (unsigned long long)at[no]);
		} else if (last[a->key] != (int)i &&
		           keymsgs[a->key] >= CF_HISTORY) {
			r->superseded++;
		} else if (++r->lost <= 5) {
			fprintf(stderr,
			        "LOST: acknowledged %c k.%03d rev %llu \"%s\" "
			        "is not in the stream\n",
			        a->op, a->key, (unsigned long long)a->rev,
			        a->value);
		}
	}
	check_skipped(m, present, last_seq, r);
done:
	free(at);
	free(key_at);
	free(present);
}

static const slip_entry *find_in(const slip_entry_list *l, const char *key)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->entries[i]->key, key) == 0)
			return l->entries[i];
	return NULL;
}

static unsigned long long rev_of(const slip_entry *e)
{
	uint64_t rev = 0;
	slip_version_to_u64(&e->version, &rev);
	return (unsigned long long)rev;
}

static bool same_entry(const slip_entry *a, const slip_entry *b)
{
	return a != NULL && b != NULL && a->value_len == b->value_len &&
	       memcmp(a->value, b->value, a->value_len) == 0 &&
	       slip_version_eq(&a->version, &b->version);
}

/* The writer's keys: the last acknowledged write decides each one. */
static void check_model(const acklog *L, const int *last,
                        const slip_entry_list *scan, cf_report *r)
{
	char key[16];
	size_t live = 0;

	for (int k = 0; k < CF_KEYS; k++) {
		const ack *a = last[k] >= 0 ? &L->a[last[k]] : NULL;
		const slip_entry *e;
		uint64_t rev = 0;
		bool ok;

		snprintf(key, sizeof(key), "k.%03d", k);
		e = find_in(scan, key);
		if (e != NULL)
			slip_version_to_u64(&e->version, &rev);
		if (a == NULL || a->op == 'D') {
			ok = e == NULL;
		} else {
			live++;
			ok = e != NULL && e->value_len == strlen(a->value) &&
			     memcmp(e->value, a->value, e->value_len) == 0;
			if (ok && rev != a->rev) {
				r->rev_diffs++;
				continue;
			}
		}
		if (!ok && ++r->model_diffs <= 5)
			fprintf(stderr,
			        "DIFF %s: last acknowledged %c rev %llu "
			        "\"%s\", "
			        "cluster %s rev %llu\n",
			        key, a ? a->op : '-',
			        a ? (unsigned long long)a->rev : 0ULL,
			        a ? a->value : "",
			        e ? (const char *)e->value : "(absent)",
			        (unsigned long long)rev);
	}
	(void)live;
}

/* The mirror's snapshot against the independent scan, key by key. */
static void check_mirror(const char *path, const slip_entry_list *scan,
                         cf_report *r)
{
	slip_snapshot *snap = NULL;

	if (slip_snapshot_load(&snap, path) != SLIP_OK || snap == NULL) {
		fprintf(stderr, "check: cannot load %s: %s\n", path,
		        slip_last_error());
		r->mirror_diffs = scan->count + 1;
		return;
	}
	for (size_t i = 0; i < scan->count; i++) {
		const slip_entry *e = scan->entries[i];
		const slip_entry *s = slip_snapshot_find(snap, e->key);
		if (same_entry(e, s))
			continue;
		if (s != NULL && s->value_len == e->value_len &&
		    memcmp(s->value, e->value, e->value_len) == 0) {
			r->mirror_rev_diffs++;
			continue;
		}
		if (++r->mirror_diffs <= 5)
			fprintf(stderr,
			        "MIRROR DIFF %s: cluster \"%s\" rev %llu, "
			        "snapshot %s rev %llu\n",
			        e->key, (const char *)e->value, rev_of(e),
			        s ? (const char *)s->value : "(absent)",
			        s ? rev_of(s) : 0ULL);
	}
	if (snap->count != scan->count) {
		fprintf(stderr,
		        "MIRROR: snapshot holds %zu keys, cluster %zu\n",
		        snap->count, scan->count);
		r->mirror_diffs++;
	}
	slip_snapshot_free(snap);
}

/* Right after a fault the server may answer "temporarily unavailable". */
static int scan_retry(slip_store *st, slip_entry_list *out)
{
	long long deadline = cf_now_ms() + 30000;
	int rc;

	while ((rc = slip_reader_scan(slip_store_reader(st), "", out)) !=
	               SLIP_OK &&
	       cf_now_ms() < deadline)
		cf_sleep_ms(250);
	return rc;
}

static bool same_scan(const slip_entry_list *a, const slip_entry_list *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (strcmp(a->entries[i]->key, b->entries[i]->key) != 0 ||
		    !slip_version_eq(&a->entries[i]->version,
		                     &b->entries[i]->version))
			return false;
	return true;
}

/*
 * An R3 stream's ephemeral consumer may be served by a replica that is
 * still catching up after a pause or restart (stale read; docs/deploying.md),
 * so one scan can miss the newest records. The independent scan is taken
 * once two scans half a second apart agree (at most ~15 s); rescans are
 * printed.
 */
static int scan_settled(slip_store *st, slip_entry_list *out)
{
	slip_entry_list next = {0};
	long long deadline = cf_now_ms() + 15000;
	int rescans = 0, rc = scan_retry(st, out);

	while (rc == SLIP_OK && cf_now_ms() < deadline) {
		cf_sleep_ms(500);
		if ((rc = scan_retry(st, &next)) != SLIP_OK)
			break;
		if (same_scan(out, &next))
			break;
		rescans++;
		slip_entry_list_free(out);
		*out = next;
		memset(&next, 0, sizeof(next));
	}
	slip_entry_list_free(&next);
	if (rescans > 0)
		fprintf(stderr,
		        "  check: the cluster scan changed %d time(s) before "
		        "settling (stale replica read)\n",
		        rescans);
	return rc;
}

static int info_retry(slip_store *st, slip_store_info *out)
{
	long long deadline = cf_now_ms() + 30000;
	int rc;

	while ((rc = slip_store_get_info(st, out)) != SLIP_OK &&
	       cf_now_ms() < deadline)
		cf_sleep_ms(250);
	return rc;
}

int cf_verify(slip_natsd_cluster *c, const char *urls, const cf_writer *w,
              cf_mirror *m, cf_report *out)
{
	acklog L = {0};
	int last[CF_KEYS];
	slip_conn *conn = NULL;
	slip_store *st = NULL;
	slip_store_info info;
	slip_entry_list scan = {0};
	uint64_t prev = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (load_log(w->log, &L) != 0)
		goto done;
	for (int k = 0; k < CF_KEYS; k++)
		last[k] = -1;
	for (size_t i = 0; i < L.n; i++) {
		last[L.a[i].key] = (int)i;
		if (L.a[i].op == 'D') {
			out->acked_deletes++;
			continue;
		}
		out->acked_puts++;
		/* One writer, one op at a time: revisions only grow. */
		if (L.a[i].rev <= prev)
			out->bad_order++;
		prev = L.a[i].rev;
	}
	out->acked = L.n;

	conn = slip_natsd_connect(urls);
	if (conn == NULL || slip_store_open(&st, conn, CF_BUCKET) != SLIP_OK ||
	    info_retry(st, &info) != SLIP_OK) {
		fprintf(stderr, "check: %s\n", slip_last_error());
		goto done;
	}
	out->last_seq = info.last_seq;
	if (cf_mirror_wait_seq(m, info.last_seq, 20000) != 0)
		fprintf(stderr, "check: mirror did not reach seq %llu\n",
		        (unsigned long long)info.last_seq);
	if (cf_mirror_stop(m, 15000) != 0)
		goto done;
	if (scan_settled(st, &scan) != SLIP_OK) {
		fprintf(stderr, "check: scan: %s\n", slip_last_error());
		goto done;
	}
	out->cluster_keys = scan.count;
	check_revs(c, &L, last, info.last_seq, m, out);
	check_model(&L, last, &scan, out);
	check_mirror(m->snap_path, &scan, out);
	fprintf(stderr,
	        "  check: %zu acknowledged writes (%zu put/create/update, %zu "
	        "delete); %zu read back at their acknowledged revision, %zu "
	        "held at another revision, %zu aged out by history, "
	        "lost = %zu; final keys: %zu value diffs, %zu revision-only "
	        "diffs (log vs cluster); mirror vs cluster: %zu value diffs, "
	        "%zu revision-only, %zu records skipped; acks out of order "
	        "%zu; %zu live keys; replicas %s\n",
	        out->acked, out->acked_puts, out->acked_deletes,
	        out->checked_revs, out->renumbered, out->superseded, out->lost,
	        out->model_diffs, out->rev_diffs, out->mirror_diffs,
	        out->mirror_rev_diffs, out->mirror_skipped, out->bad_order,
	        out->cluster_keys, out->replicas_agree ? "agree" : "DIVERGED");
	rc = 0; /* the checks ran; the caller judges *out */
done:
	slip_entry_list_free(&scan);
	slip_store_free(st);
	slip_conn_free(conn);
	free(L.a);
	return rc;
}
