/*
 * tests/cluster/test_cluster_failover.c — faults on a 3-node
 * JetStream cluster while a writer process writes and a mirror runs
 * watch_applied into a snapshot (issue 7, points 3–5):
 *
 *   cluster-failover         the bucket's stream leader is SIGKILLed, then
 *                            restarted, for several rounds;
 *   cluster-pause            the leader, then a follower, is SIGSTOPped for
 *                            seconds and continued, for several rounds;
 *   cluster-rolling-restart  the three nodes restart one at a time; the
 *                            mirror follows without a full replay.
 *
 * Each ends with the same checks (cf_verify): every acknowledged write is
 * in the cluster, the cluster's final state is the one the writer's log
 * implies, and the mirror's snapshot equals an independent scan.
 * Strict on nats-server 2.10 and later (nothing lost, nothing skipped,
 * revisions consistent); on 2.9.x its known cluster defects are reported,
 * not failed (strict_mode, docs/deploying.md).
 * The binary runs itself as the writer process ("--writer …").
 */
#include "cf.h"
#include "test.h"

#include <nats/nats.h>
#include <stdlib.h>
#include <string.h>

#define BASE_KEYS 1000 /* pre-filled keys in the rolling-restart bucket */

static const char *g_self;

typedef struct rig {
	slip_natsd_cluster *cl;
	const char *urls;
	char dir[256];
	cf_writer w;
	cf_mirror m;
	bool writer_on, mirror_on;
	cf_mirror at_catch_up; /* mirror counters once caught up */
} rig;

static int fill_base(const char *urls, int n)
{
	slip_conn *c = slip_natsd_connect(urls);
	slip_store *st = NULL;
	char key[32], val[32];
	int rc = -1;

	if (c == NULL || slip_store_open(&st, c, CF_BUCKET) != SLIP_OK)
		goto done;
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "base.%04d", i);
		snprintf(val, sizeof(val), "b%d", i);
		if (slip_writer_put(slip_store_writer(st), key, val,
		                    strlen(val), NULL) != SLIP_OK) {
			fprintf(stderr, "fill %s: %s\n", key,
			        slip_last_error());
			goto done;
		}
	}
	rc = 0;
done:
	slip_store_free(st);
	slip_conn_free(c);
	return rc;
}

/* Creates the R3 bucket (history 64) and waits for its replicas. */
static int make_bucket(rig *g)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_conn *c = slip_natsd_connect(g->urls);
	slip_store *st = NULL;
	int rc = -1;

	cfg.name = CF_BUCKET;
	cfg.num_replicas = 3;
	cfg.max_history = CF_HISTORY;
	if (c != NULL && slip_store_open_config(&st, c, &cfg) == SLIP_OK)
		rc = cf_wait_stream(g->cl, 0, 2, 30000) >= 0 ? 0 : -1;
	else
		fprintf(stderr, "create bucket: %s\n", slip_last_error());
	slip_store_free(st);
	slip_conn_free(c);
	return rc;
}

/* Cluster, bucket, mirror caught up, writer writing. */
static int rig_up(rig *g, int base_keys)
{
	memset(g, 0, sizeof(*g));
	if (slip_natsd_cluster_start(&g->cl, 3) != 0 ||
	    slip_test_tmpdir(g->dir, sizeof(g->dir), "cf") != 0)
		return -1;
	g->urls = slip_natsd_cluster_urls(g->cl);
	if (make_bucket(g) != 0 ||
	    (base_keys > 0 && fill_base(g->urls, base_keys) != 0))
		return -1;
	if (cf_mirror_start(&g->m, g->urls, g->dir) != 0)
		return -1;
	g->mirror_on = true;
	if (cf_mirror_wait_seq(&g->m, (uint64_t)base_keys, 60000) != 0) {
		fprintf(stderr, "mirror did not catch up\n");
		return -1;
	}
	cf_mirror_stats(&g->m, &g->at_catch_up);
	if (cf_writer_start(&g->w, g_self, g->urls, g->dir) != 0)
		return -1;
	g->writer_on = true;
	if (cf_writer_wait_acked(&g->w, 100, 30000) != 0) {
		fprintf(stderr, "writer did not get going\n");
		return -1;
	}
	return 0;
}

/*
 * Strict unless the server is older than 2.10: nats-server 2.9.10's
 * cluster defects (lost acks after a paused leader, renumbered replicas;
 * docs/deploying.md) are reported there, while 2.10 and later must keep
 * every acknowledged write under one numbering. @p env ("1" / "0")
 * overrides the default either way.
 */
static bool strict_mode(rig *g, const char *env)
{
	const char *v = getenv(env);
	if (v != NULL && v[0] != '\0')
		return strcmp(v, "0") != 0;
	return slip_natsd_at_least(slip_natsd_cluster_node(g->cl, 0), 2, 10, 0);
}

/*
 * Stops the writer and runs the final checks. @p leader_paused: a stream
 * leader was SIGSTOPped during the run. nats-server 2.9.10 then sometimes
 * loses writes it acknowledged (the resumed old leader's acks are not in the
 * stream the new leader serves; seen in about half the runs here, and
 * reported for later servers too — docs/deploying.md). Slipstream cannot
 * bring such a write back, so in that case a loss is reported as a server
 * defect on 2.9.x and fails when strict (2.10 and later, or
 * SLIP_CLUSTER_STRICT=1). Losses after a leader
 * kill or a restart always fail, and so does any difference between the
 * mirror and the cluster while the server kept one consistent history.
 */
static void rig_verify(rig *g, const char *what, int rounds, bool leader_paused)
{
	cf_report rep;
	bool strict, strict_revisions, server_sound;
	int wrc = cf_writer_stop(&g->w, 90000);

	g->writer_on = false;
	if (wrc != 0)
		slip_test_fail(__FILE__, __LINE__, "writer exited with %d",
		               wrc);
	CHECK(cf_wait_stream(g->cl, 0, 2, 45000) >= 0);
	CHECK(cf_verify(g->cl, g->urls, &g->w, &g->m, &rep) == 0);
	g->mirror_on = g->m.running;
	strict = strict_mode(g, "SLIP_CLUSTER_STRICT");
	strict_revisions = strict_mode(g, "SLIP_CLUSTER_STRICT_REVISIONS");
	fprintf(stderr, "  checks: %s, revisions %s\n",
	        strict ? "strict" : "report-only for server defects",
	        strict_revisions ? "strict" : "report-only");
	/* The server kept one history: same records under the same numbers. */
	server_sound =
	        rep.replicas_agree && rep.renumbered == 0 && rep.lost == 0;
	if (!leader_paused || strict) {
		CHECK(rep.lost == 0);
		CHECK(rep.model_diffs == 0);
	} else if (rep.lost != 0) {
		/* A lost write may have been its key's last: model diffs. */
		fprintf(stderr,
		        "  SERVER DEFECT: nats-server lost %zu acknowledged "
		        "writes after a paused stream leader resumed (%zu "
		        "final keys differ from the write log as a result)\n",
		        rep.lost, rep.model_diffs);
	} else {
		CHECK(rep.model_diffs == 0);
	}
	/*
	 * A cursor names a stream sequence. When the server hands the same
	 * sequence to another record (replicas diverged, writes renumbered or
	 * lost), a mirror resuming from its cursor cannot see the difference;
	 * then the mirror's differences are reported, and fail only when
	 * strict. On a sound history they always fail.
	 */
	if (server_sound || strict) {
		CHECK(rep.mirror_diffs == 0);
		CHECK(rep.mirror_skipped == 0);
	} else if (rep.mirror_diffs != 0 || rep.mirror_skipped != 0) {
		fprintf(stderr,
		        "  SERVER DEFECT: the mirror differs from the cluster "
		        "in %zu keys (%zu records skipped) after the server "
		        "renumbered or lost records\n",
		        rep.mirror_diffs, rep.mirror_skipped);
	}
	CHECK(rep.acked > 0);
	fprintf(stderr,
	        "  RESULT %s: rounds %d, acknowledged writes %zu, lost = %zu; "
	        "mirror: %zu keys wrong, %zu records skipped\n",
	        what, rounds, rep.acked, rep.lost, rep.mirror_diffs,
	        rep.mirror_skipped);
	/*
	 * Revisions: nats-server 2.9.10 lets the replicas of an R3 stream
	 * drift apart in numbering after a leader is killed (nats-server
	 * issues 3848, 4174; docs/deploying.md). The values survive, the
	 * revisions handed out do not. Reported always; a failure when
	 * strict (2.10 and later, or SLIP_CLUSTER_STRICT_REVISIONS=1).
	 */
	size_t drift = rep.renumbered + rep.rev_diffs + rep.mirror_rev_diffs +
	               rep.bad_order + (rep.replicas_agree ? 0 : 1);
	if (drift != 0)
		fprintf(stderr,
		        "  SERVER DEFECT: stream sequences diverged (replica "
		        "last seq %llu/%llu/%llu): %zu acknowledged writes "
		        "held "
		        "at another revision, %zu final keys and %zu mirror "
		        "keys with the right value at another revision, %zu "
		        "acks out of order\n",
		        (unsigned long long)rep.replica_last[0],
		        (unsigned long long)rep.replica_last[1],
		        (unsigned long long)rep.replica_last[2], rep.renumbered,
		        rep.rev_diffs, rep.mirror_rev_diffs, rep.bad_order);
	if (strict_revisions)
		CHECK(drift == 0);
}

static void rig_down(rig *g)
{
	if (g->writer_on)
		cf_writer_stop(&g->w, 30000);
	if (g->mirror_on && cf_mirror_stop(&g->m, 15000) != 0) {
		/* A hung watch: fail loudly; exit kills the servers. */
		slip_test_fail(__FILE__, __LINE__, "mirror hung on shutdown");
		exit(1);
	}
	free(g->m.seen);
	g->m.seen = NULL;
	slip_natsd_cluster_free(g->cl);
	if (g->dir[0])
		slip_test_rmdir(g->dir);
}

/* Waits until @p more writes past @p from are acknowledged; ms taken. */
static long long resumed_after(rig *g, size_t from, size_t more, int timeout_ms)
{
	long long t0 = cf_now_ms();
	if (cf_writer_wait_acked(&g->w, from + more, timeout_ms) != 0)
		return -1;
	return cf_now_ms() - t0;
}

/* ------------------------------------------------------------ failover */

#define KILL_ROUNDS 3

static void t_failover_leader_killed(void)
{
	rig g;
	int rounds = 0;

	if (rig_up(&g, 0) != 0) {
		slip_test_fail(__FILE__, __LINE__, "setup failed");
		goto done;
	}
	for (int r = 1; r <= KILL_ROUNDS; r++) {
		int leader = cf_wait_stream(g.cl, 0, 2, 45000), next;
		size_t before = cf_writer_acked(&g.w);
		long long t0, resumed;
		slip_natsd *node;

		if (leader < 0) {
			slip_test_fail(__FILE__, __LINE__, "no stream leader");
			break;
		}
		node = slip_natsd_cluster_node(g.cl, leader);
		t0 = cf_now_ms();
		CHECK(slip_natsd_kill(node) == 0);
		next = cf_wait_stream(g.cl, 0, 1, 45000);
		CHECK(next >= 0 && next != leader);
		resumed = resumed_after(&g, before, 50, 60000);
		CHECK(resumed >= 0);
		fprintf(stderr,
		        "  round %d: killed leader n%d (%zu acked before); new "
		        "leader n%d after %lld ms; 50 more writes acked %lld "
		        "ms "
		        "after the kill\n",
		        r, leader + 1, before, next + 1, cf_now_ms() - t0,
		        resumed < 0 ? -1 : cf_now_ms() - t0);
		CHECK(slip_natsd_restart(node) == 0);
		CHECK(cf_wait_stream(g.cl, 0, 2, 60000) >= 0);
		CHECK(resumed_after(&g, cf_writer_acked(&g.w), 50, 30000) >= 0);
		if (slip_test_case_failures())
			break;
		rounds++;
	}
	rig_verify(&g, "cluster-failover (leader SIGKILL)", rounds, false);
	CHECK(rounds == KILL_ROUNDS);
done:
	rig_down(&g);
}

/* --------------------------------------------------------------- pause */

#define PAUSE_ROUNDS 4 /* leader, follower, leader, follower */
#define PAUSE_MS     5000

static void t_pause_leader_then_follower(void)
{
	rig g;
	int rounds = 0;

	if (rig_up(&g, 0) != 0) {
		slip_test_fail(__FILE__, __LINE__, "setup failed");
		goto done;
	}
	for (int r = 1; r <= PAUSE_ROUNDS; r++) {
		int leader = cf_wait_stream(g.cl, 0, 2, 45000), victim, during;
		int cur = 0;
		size_t before;
		long long resumed;
		slip_natsd *node;

		if (leader < 0) {
			slip_test_fail(__FILE__, __LINE__, "no stream leader");
			break;
		}
		victim = r % 2 ? leader : (leader + 1) % 3;
		node = slip_natsd_cluster_node(g.cl, victim);
		before = cf_writer_acked(&g.w);
		CHECK(slip_natsd_pause(node) == 0);
		cf_sleep_ms(PAUSE_MS);
		/* Who leads while it sleeps, asked of the other two. */
		during = -1;
		cf_stream_state(g.cl, 1u << victim, &during, &cur);
		size_t while_paused = cf_writer_acked(&g.w) - before;
		CHECK(slip_natsd_resume(node) == 0);
		resumed = resumed_after(&g, cf_writer_acked(&g.w), 50, 60000);
		CHECK(resumed >= 0);
		fprintf(stderr,
		        "  round %d: paused %s n%d for %d ms (%zu writes acked "
		        "meanwhile, leader then %s%c); 50 more acked %lld ms "
		        "after SIGCONT\n",
		        r, victim == leader ? "leader" : "follower", victim + 1,
		        PAUSE_MS, while_paused, during < 0 ? "none" : "n",
		        during < 0 ? ' ' : (char)('1' + during), resumed);
		CHECK(cf_wait_stream(g.cl, 0, 2, 60000) >= 0);
		if (slip_test_case_failures())
			break;
		rounds++;
	}
	rig_verify(&g, "cluster-pause (SIGSTOP leader/follower)", rounds, true);
	CHECK(rounds == PAUSE_ROUNDS);
done:
	rig_down(&g);
}

/* ----------------------------------------------------- rolling restart */

static void t_rolling_restart(void)
{
	rig g;
	cf_mirror end;
	int restarted = 0;
	uint64_t after, window;

	if (rig_up(&g, BASE_KEYS) != 0) {
		slip_test_fail(__FILE__, __LINE__, "setup failed");
		goto done;
	}
	for (int i = 0; i < 3; i++) {
		slip_natsd *node = slip_natsd_cluster_node(g.cl, i);
		size_t before;

		if (cf_wait_stream(g.cl, 0, 2, 45000) < 0) {
			slip_test_fail(__FILE__, __LINE__, "stream not R3");
			break;
		}
		CHECK(slip_natsd_stop(node) == 0);
		before = cf_writer_acked(&g.w);
		/* Two nodes are a quorum: writing goes on. */
		CHECK(resumed_after(&g, before, 30, 45000) >= 0);
		CHECK(slip_natsd_restart(node) == 0);
		CHECK(slip_natsd_cluster_wait_ready(g.cl, 30000) == 0);
		fprintf(stderr, "  restarted n%d (%zu acked so far)\n", i + 1,
		        cf_writer_acked(&g.w));
		if (slip_test_case_failures())
			break;
		restarted++;
	}
	rig_verify(&g, "cluster-rolling-restart", restarted, false);
	CHECK(restarted == 3);

	/*
	 * No full replay: after the initial catch-up the mirror applied each
	 * later revision at most once, in increasing order, and never
	 * resynced (no synthetic deletes). A replay would re-apply the
	 * BASE_KEYS pre-filled keys at their old revisions.
	 */
	cf_mirror_stats(&g.m, &end);
	after = end.updates - g.at_catch_up.updates;
	window = end.applied_seq - g.at_catch_up.applied_seq;
	fprintf(stderr,
	        "  mirror: %llu updates at catch-up (bucket %d base keys); "
	        "%llu applied after it for %llu new revisions; %llu "
	        "resubscriptions caught up; synthetic deletes %llu; "
	        "out-of-order %llu\n",
	        (unsigned long long)g.at_catch_up.updates, BASE_KEYS,
	        (unsigned long long)after, (unsigned long long)window,
	        (unsigned long long)(end.caught_up - g.at_catch_up.caught_up),
	        (unsigned long long)end.synthetic,
	        (unsigned long long)end.non_increasing);
	CHECK(after <= window);
	CHECK(end.synthetic == 0);
	CHECK(end.non_increasing == 0);
done:
	rig_down(&g);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_failover_leader_killed),
        SLIP_TEST(t_pause_leader_then_follower),
        SLIP_TEST(t_rolling_restart),
        {0},
};

int main(int argc, char **argv)
{
	int rc;

	if (argc >= 2 && strcmp(argv[1], "--writer") == 0) {
		rc = cf_writer_main(argc, argv);
		nats_Close();
		return rc;
	}
	g_self = argv[0];
	rc = slip_test_main(argc, argv, cases);
	nats_Close();
	return rc;
}
