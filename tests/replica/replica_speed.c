/*
 * tests/replica/replica_speed.c — a small measurement, not a test: starts
 * its own nats-server, fills a bucket, and prints the cost of one get from
 * a slip_replica (local map) against slip_reader_get (a request to the
 * server). Usage: replica_speed [keys] [gets].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "natsd.h"
#include "test.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Time until reads are served: a replica opened over a snapshot (warm)
 * against one that replays the bucket (cold, until caught up). */
static int warm_vs_cold(slip_store *store, int keys)
{
	slip_replica_options o = SLIP_REPLICA_OPTIONS_INIT;
	slip_replica *rep = NULL;
	char dir[] = "/tmp/replica-speed-XXXXXX", path[64];
	double t0, cold_ms, warm_ms, delta_ms;
	int rc;

	if (mkdtemp(dir) == NULL)
		return SLIP_EIO;
	snprintf(path, sizeof(path), "%s/r.snap", dir);
	o.store = store;
	o.snapshot_path = path;
	t0 = now_ns();
	rc = slip_replica_open(&rep, &o);
	if (rc == SLIP_OK)
		rc = slip_replica_wait_caught_up(rep, 60000);
	cold_ms = (now_ns() - t0) / 1e6;
	slip_replica_free(rep);
	rep = NULL;
	t0 = now_ns();
	if (rc == SLIP_OK)
		rc = slip_replica_open(&rep, &o);
	warm_ms = (now_ns() - t0) / 1e6;
	if (rc == SLIP_OK)
		rc = slip_replica_wait_caught_up(rep, 60000);
	delta_ms = (now_ns() - t0) / 1e6;
	if (rc == SLIP_OK)
		printf("keys %d: cold open until caught up %.1f ms; warm open "
		       "(snapshot loaded, reads served) %.1f ms, caught up "
		       "%.1f ms; %zu keys\n",
		       keys, cold_ms, warm_ms, delta_ms,
		       slip_replica_count(rep));
	slip_replica_free(rep);
	remove(path);
	rmdir(dir);
	return rc;
}

int main(int argc, char **argv)
{
	int keys = argc > 1 ? atoi(argv[1]) : 1000;
	int gets = argc > 2 ? atoi(argv[2]) : 20000;
	slip_natsd *srv = NULL;
	slip_conn *conn = NULL;
	slip_store *store = NULL;
	slip_replica *rep = NULL;
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_replica_options o = SLIP_REPLICA_OPTIONS_INIT;
	slip_version v;
	char key[32];
	double t0, rep_ns, srv_ns;
	int rc, misses = 0;

	if (keys < 1 || gets < 1)
		return 2;
	if (slip_natsd_start(&srv, NULL) != 0)
		return 1;
	cfg.name = "replica_speed";
	rc = slip_connect(&conn, slip_natsd_url(srv));
	if (rc == SLIP_OK)
		rc = slip_store_open_config(&store, conn, &cfg);
	for (int i = 0; i < keys && rc == SLIP_OK; i++) {
		snprintf(key, sizeof(key), "cfg.key%06d", i);
		rc = slip_writer_put(slip_store_writer(store), key,
		                     "0123456789", 10, &v);
	}
	o.store = store;
	if (rc == SLIP_OK)
		rc = slip_replica_open(&rep, &o);
	if (rc == SLIP_OK)
		rc = slip_replica_wait(rep, &v, 30000);
	if (rc != SLIP_OK) {
		fprintf(stderr, "setup: %s (%s)\n", slip_err_name(rc),
		        slip_last_error());
		goto done;
	}
	t0 = now_ns();
	for (int i = 0; i < gets; i++) {
		slip_entry *e = NULL;
		snprintf(key, sizeof(key), "cfg.key%06d", i % keys);
		slip_replica_get(rep, key, &e);
		misses += e == NULL;
		slip_entry_free(e);
	}
	rep_ns = (now_ns() - t0) / gets;
	int srv_gets = gets / 10 > 0 ? gets / 10 : 1;
	t0 = now_ns();
	for (int i = 0; i < srv_gets; i++) {
		slip_entry *e = NULL;
		snprintf(key, sizeof(key), "cfg.key%06d", i % keys);
		slip_reader_get(slip_store_reader(store), key, &e);
		misses += e == NULL;
		slip_entry_free(e);
	}
	srv_ns = (now_ns() - t0) / srv_gets;
	printf("keys %d: replica get %.0f ns/op (%d gets), reader get over "
	       "NATS %.0f ns/op (%d gets), ratio %.0fx, misses %d\n",
	       keys, rep_ns, gets, srv_ns, srv_gets, srv_ns / rep_ns, misses);
	rc = warm_vs_cold(store, keys);
done:
	slip_replica_free(rep);
	slip_store_free(store);
	slip_conn_free(conn);
	slip_natsd_free(srv);
	return rc == SLIP_OK && misses == 0 ? 0 : 1;
}
