/*
 * tests/nats/test_nats_markers.c — stress test of the NATS watch's
 * caught-up marker (SLIP_WATCH_MARKERS), whose cursor watch_applied commits:
 * an early marker loses data silently. A bucket of 10,000 keys (history 5)
 * is filled by async publish; watches over the whole bucket, token-aligned
 * and unaligned prefixes, and from a cursor a few hundred updates back run
 * repeatedly, some with a writer racing the initial phase.
 *
 * The test keeps the bucket's full write log (revision -> key) and asserts,
 * for every subscription, with M the marker's cursor sequence, C the
 * cursor watched from (0: none) and S the bucket's last revision acked
 * before the watch was started:
 *   1. exactly one marker;
 *   2. M >= S, and M >= every cursor delivered before it;
 *   3. the state at C plus the entries before the marker equals the
 *      bucket's state at M restricted to the prefix (key -> last revision,
 *      tombstones included): nothing matching at or below M is missing;
 *   4. M is not past the last delivered revision L unless no matching
 *      write lies in (L, M];
 *   5. entries after the marker are above M, and the final state equals
 *      the bucket's final state restricted to the prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "nats_util.h"

#define NKEYS    10000
#define LOG_MAX  200000
#define RACE_N   150
#define ROUNDS   6
#define QUIET_MS 100

/* Revision -> key id (-1: none yet); written by the filler/racer before
 * the checks read it (joined threads). */
static int32_t g_log[LOG_MAX];
static atomic_ullong g_last; /* highest revision acked so far */

static void key_name(char *buf, size_t sz, int id)
{
	snprintf(buf, sz, "g%d.k%05d", id % 10, id);
}

static int key_id(const char *key)
{
	int g = 0, id = 0;
	if (sscanf(key, "g%d.k%d", &g, &id) != 2 || id < 0 || id >= NKEYS)
		return -1;
	return id;
}

static bool key_matches(int id, const char *prefix)
{
	char k[32];
	key_name(k, sizeof(k), id);
	return strncmp(k, prefix, strlen(prefix)) == 0;
}

static void note_write(uint64_t rev, int id)
{
	if (rev < LOG_MAX)
		g_log[rev] = id;
	unsigned long long cur = atomic_load(&g_last);
	while (rev > cur && !atomic_compare_exchange_weak(&g_last, &cur, rev))
		;
}

/* One synchronous raw write (put or KV delete); its revision or 0. */
static uint64_t raw_write(nu_raw *raw, const char *bucket, int id, bool del)
{
	char subj[128], k[32];
	natsMsg *m = NULL;
	jsPubAck *pa = NULL;
	uint64_t rev = 0;
	key_name(k, sizeof(k), id);
	snprintf(subj, sizeof(subj), "$KV.%s.%s", bucket, k);
	if (natsMsg_Create(&m, subj, NULL, del ? NULL : "v", del ? 0 : 1) !=
	    NATS_OK)
		return 0;
	if (del)
		natsMsgHeader_Set(m, "KV-Operation", "DEL");
	if (js_PublishMsg(&pa, raw->js, m, NULL, NULL) == NATS_OK) {
		rev = pa->Sequence;
		note_write(rev, id);
	}
	jsPubAck_Destroy(pa);
	natsMsg_Destroy(m);
	return rev;
}

/* Fills every key once and then @p updates random keys, by async publish
 * (one connection: revisions follow publish order). */
static int fill(nu_raw *raw, const char *bucket, int updates)
{
	char subj[128], k[32];
	uint64_t rev = atomic_load(&g_last);
	for (int i = 0; i < NKEYS + updates; i++) {
		int id = i < NKEYS ? i : rand() % NKEYS;
		key_name(k, sizeof(k), id);
		snprintf(subj, sizeof(subj), "$KV.%s.%s", bucket, k);
		if (js_PublishAsync(raw->js, subj, "v", 1, NULL) != NATS_OK)
			return -1;
		g_log[++rev] = id;
	}
	if (js_PublishAsyncComplete(raw->js, NULL) != NATS_OK)
		return -1;
	jsStreamInfo *si = NULL;
	char stream[128];
	snprintf(stream, sizeof(stream), "KV_%s", bucket);
	if (js_GetStreamInfo(&si, raw->js, stream, NULL, NULL) != NATS_OK)
		return -1;
	bool ok = si->State.LastSeq == rev && si->State.Msgs > 0;
	jsStreamInfo_Destroy(si);
	atomic_store(&g_last, rev);
	return ok ? 0 : -1;
}

typedef struct racer {
	nu_raw *raw;
	const char *bucket;
	int n;
	pthread_t thread;
} racer;

/* Asks for the info of every consumer on the bucket, as a monitoring tool
 * would: nats-server 2.9 recounts a consumer's pending messages then. */
static void poke_consumers(racer *r)
{
	char stream[128];
	jsConsumerNamesList *l = NULL;
	snprintf(stream, sizeof(stream), "KV_%s", r->bucket);
	if (js_ConsumerNames(&l, r->raw->js, stream, NULL, NULL) != NATS_OK)
		return;
	for (int i = 0; i < l->Count; i++) {
		jsConsumerInfo *ci = NULL;
		if (js_GetConsumerInfo(&ci, r->raw->js, stream, l->List[i],
		                       NULL, NULL) == NATS_OK)
			jsConsumerInfo_Destroy(ci);
	}
	jsConsumerNamesList_Destroy(l);
}

static void *race_main(void *arg)
{
	racer *r = arg;
	for (int i = 0; i < r->n; i++) {
		raw_write(r->raw, r->bucket, rand() % NKEYS, rand() % 10 == 0);
		if (i % 30 == 0)
			poke_consumers(r);
	}
	return NULL;
}

/* Key -> last revision at or below @p upto, for keys matching @p prefix. */
static void state_at(int64_t *st, uint64_t upto, const char *prefix)
{
	for (int i = 0; i < NKEYS; i++)
		st[i] = 0;
	for (uint64_t r = 1; r <= upto && r < LOG_MAX; r++)
		if (g_log[r] >= 0 && key_matches(g_log[r], prefix))
			st[g_log[r]] = (int64_t)r;
}

static uint64_t cursor_seq(const slip_cursor *c)
{
	uint64_t s = 0;
	if (slip_cursor_seq(c, &s) != SLIP_OK)
		return UINT64_MAX;
	return s;
}

/* Keys whose delivered revision differs from the bucket's last one. */
static int final_diff(const int64_t *got, int64_t *want, const char *prefix)
{
	int diff = 0;
	state_at(want, atomic_load(&g_last), prefix);
	for (int i = 0; i < NKEYS; i++)
		diff += got[i] != want[i];
	return diff;
}

typedef struct seen_rev {
	uint64_t rev;
	int id;
} seen_rev;

typedef struct round_spec {
	const char *prefix;
	bool from_cursor;
	bool race;
	size_t cap;
} round_spec;

/* Checks 3 and 4 at the marker. */
static void check_at_marker(const int64_t *got, uint64_t m, uint64_t last,
                            const char *prefix, int64_t *want)
{
	int missing = 0, wrong = 0;
	state_at(want, m, prefix);
	for (int i = 0; i < NKEYS; i++) {
		if (got[i] == want[i])
			continue;
		if (got[i] < want[i])
			missing++;
		else
			wrong++;
	}
	if (missing != 0 || wrong != 0)
		slip_test_fail(__FILE__, __LINE__,
		               "prefix \"%s\": marker at %llu with %d keys "
		               "missing/stale and %d wrong before it",
		               prefix, (unsigned long long)m, missing, wrong);
	for (uint64_t r = last + 1; r <= m && r < LOG_MAX; r++)
		if (g_log[r] >= 0 && key_matches(g_log[r], prefix)) {
			slip_test_fail(__FILE__, __LINE__,
			               "prefix \"%s\": marker %llu past "
			               "undelivered matching revision %llu",
			               prefix, (unsigned long long)m,
			               (unsigned long long)r);
			break;
		}
}

static void run_round(nu_case *c, nu_raw *raw, const round_spec *rs)
{
	int64_t *got = calloc(NKEYS, sizeof(int64_t));
	int64_t *want = calloc(NKEYS, sizeof(int64_t));
	nu_watch nw;
	racer rc = {raw, c->bucket, RACE_N, 0};
	slip_cursor from = slip_cursor_none();
	uint64_t cseq = 0;
	seen_rev *seen = malloc(LOG_MAX * sizeof(seen_rev));
	size_t nseen = 0;
	REQUIRE(got != NULL && want != NULL && seen != NULL);
	if (rs->from_cursor) {
		uint64_t last = atomic_load(&g_last);
		cseq = last > 300 ? last - 300 - (uint64_t)(rand() % 50) : 0;
		slip_store_info info;
		REQUIRE_OK(slip_store_get_info(c->store, &info));
		from = slip_cursor_seq_make(cseq, info.created_ns);
		state_at(got, cseq, rs->prefix);
	}
	if (rs->race)
		REQUIRE(pthread_create(&rc.thread, NULL, race_main, &rc) == 0);
	uint64_t s = atomic_load(&g_last);
	REQUIRE_OK(nu_watch_start(&nw, c->wt, rs->prefix,
	                          rs->from_cursor ? &from : NULL,
	                          SLIP_WATCH_MARKERS, rs->cap));
	int markers = 0;
	uint64_t m = 0, last = cseq;
	int64_t quiet_since = 0;
	bool raced = !rs->race;
	for (;;) {
		slip_entry *e = NULL;
		int r = slip_chan_recv(nw.ch, &e, 25);
		if (!raced && markers > 0) {
			pthread_join(rc.thread, NULL);
			raced = true;
		}
		if (r == SLIP_ETIMEOUT) {
			if (quiet_since == 0)
				quiet_since = nu_now_ms();
			if (markers == 0 && nu_now_ms() - quiet_since > 20000) {
				slip_test_fail(
				        __FILE__, __LINE__,
				        "prefix \"%s\": no marker in 20 s",
				        rs->prefix);
				break;
			}
			/* Done once quiet and complete; a loss shows as a
			 * difference still there after 5 s of quiet. */
			if (markers > 0 && raced &&
			    nu_now_ms() - quiet_since > QUIET_MS &&
			    (final_diff(got, want, rs->prefix) == 0 ||
			     nu_now_ms() - quiet_since > 5000))
				break;
			continue;
		}
		quiet_since = 0;
		if (r != SLIP_OK) {
			slip_test_fail(__FILE__, __LINE__,
			               "recv: %d (watch %d)", r,
			               atomic_load(&nw.rc));
			break;
		}
		uint64_t seq = cursor_seq(&e->cursor);
		if (e->op == SLIP_OP_CAUGHT_UP) {
			markers++;
			if (!raced) {
				/* The log up to M must be complete. */
				pthread_join(rc.thread, NULL);
				raced = true;
			}
			if (markers == 1) {
				m = seq;
				CHECK(m >= s);
				CHECK(m >= last);
				check_at_marker(got, m, last, rs->prefix, want);
			}
		} else {
			int id = key_id(e->key);
			CHECK(id >= 0 && key_matches(id, rs->prefix));
			uint64_t v = 0;
			CHECK(slip_version_to_u64(&e->version, &v) == SLIP_OK &&
			      v == seq);
			/* Checked against the log once the racer is done. */
			if (nseen < LOG_MAX && id >= 0)
				seen[nseen++] = (seen_rev){seq, id};
			if (markers > 0)
				CHECK(seq > m);
			if (id >= 0)
				got[id] = (int64_t)seq;
			if (seq > last)
				last = seq;
		}
		slip_entry_free(e);
	}
	if (!raced)
		pthread_join(rc.thread, NULL);
	int bad = 0;
	for (size_t i = 0; i < nseen; i++)
		bad += seen[i].rev >= LOG_MAX ||
		       g_log[seen[i].rev] != seen[i].id;
	if (bad != 0)
		slip_test_fail(__FILE__, __LINE__,
		               "prefix \"%s\": %d entries not matching the "
		               "write log",
		               rs->prefix, bad);
	free(seen);
	CHECK(markers == 1);
	CHECK_OK(nu_watch_stop(&nw));
	/* Final state: every write up to the end, nothing lost after M. */
	int diff = final_diff(got, want, rs->prefix);
	if (diff != 0)
		slip_test_fail(__FILE__, __LINE__,
		               "prefix \"%s\": %d keys differ at the end",
		               rs->prefix, diff);
	free(got);
	free(want);
}

static void t_markers(void)
{
	nu_case c;
	nu_raw raw;
	static const round_spec specs[] = {
	        {"", false, false, 256},      {"", false, true, 64},
	        {"g3.", false, false, 256},   {"g3.", false, true, 16},
	        {"g3.k01", false, true, 256}, {"g3", false, false, 64},
	        {"", true, false, 256},       {"", true, true, 256},
	        {"g7.", true, true, 64},      {"g7.k0", true, false, 256},
	        {"zz.", false, true, 16},     {"g", true, true, 256},
	};
	size_t nspecs = sizeof(specs) / sizeof(specs[0]);
	memset(g_log, 0xff, sizeof(g_log));
	atomic_store(&g_last, 0);
	REQUIRE_OK(nu_open(&c, 5));
	REQUIRE(nu_raw_open(&raw, nu_url()) == 0);
	REQUIRE(fill(&raw, c.bucket, 1000) == 0);
	int64_t t0 = nu_now_ms();
	for (int round = 0; round < ROUNDS; round++) {
		for (size_t i = 0; i < nspecs; i++) {
			int64_t r0 = nu_now_ms();
			run_round(&c, &raw, &specs[i]);
			if (getenv("NU_VERBOSE") != NULL)
				fprintf(stderr, "round %d spec %zu: %lld ms\n",
				        round, i,
				        (long long)(nu_now_ms() - r0));
			if (slip_test_case_failures() > 0) {
				fprintf(stderr, "round %d spec %zu failed\n",
				        round, i);
				goto done;
			}
		}
	}
	fprintf(stderr, "%d rounds x %zu watches in %lld ms\n", ROUNDS, nspecs,
	        (long long)(nu_now_ms() - t0));
done:
	nu_raw_close(&raw);
	nu_close(&c);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_markers),
        {0},
};

int main(int argc, char **argv)
{
	srand(12345);
	return slip_test_main(argc, argv, cases);
}
