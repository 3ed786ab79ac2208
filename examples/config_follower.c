/*
 * examples/config_follower.c — a config-follower service: keeps an
 * in-memory hash map equal to a bucket with slip_watch_applied, and keeps a
 * snapshot file so that a restart applies only what changed meanwhile.
 *
 *   config_follower URL BUCKET SNAPSHOT [--once]
 *
 * It runs until SIGINT/SIGTERM; with --once it stops once caught up and
 * prints the cache as KEY=VALUE lines. Build: cc config_follower.c
 * $(pkg-config --cflags --libs slipstream) -lpthread
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slipstream.h>

#define NBUCKETS 4096

typedef struct node {
	struct node *next;
	char *key, *value;
} node;

static node *table[NBUCKETS]; /* the cache: key → value, chained */
static size_t cached, applied;
static slip_shutdown *stop;
static int once;

static node **slot(const char *key)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	node **n = &table[h % NBUCKETS];
	while (*n && strcmp((*n)->key, key) != 0)
		n = &(*n)->next;
	return n;
}

static void cache_set(const char *key, const uint8_t *v, size_t len)
{
	node **n = slot(key);
	if (!*n) {
		*n = calloc(1, sizeof(node));
		(*n)->key = strdup(key);
		cached++;
	}
	free((*n)->value);
	(*n)->value = strndup((const char *)v, len);
}

static void cache_del(const char *key)
{
	node **n = slot(key), *dead = *n;
	if (!dead)
		return;
	*n = dead->next;
	free(dead->key), free(dead->value), free(dead);
	cached--;
}

/* Seeds the cache from the snapshot's committed state at startup. */
static int seed(void *payload, const slip_entry *e)
{
	cache_set(e->key, e->value, e->value_len);
	return 0;
}

/* Called per batch; the cursor advances only after this returns 0. */
static int apply(void *payload, void *const *items, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const slip_entry *e = items[i];
		if (e->op == SLIP_OP_PUT)
			cache_set(e->key, e->value, e->value_len);
		else
			cache_del(e->key);
	}
	applied += count;
	return 0;
}

static void caught_up(void *payload, const slip_cursor *cursor)
{
	char c[SLIP_CURSOR_STRLEN];
	slip_cursor_to_string(cursor, c, sizeof(c));
	printf("caught up: %zu keys cached, %zu updates applied, cursor %s\n",
	       cached, applied, c);
	fflush(stdout);
	if (once)
		slip_shutdown_trigger(stop);
}

/* SIGINT/SIGTERM wait here, so the trigger runs outside a handler. */
static void *on_signals(void *set)
{
	int sig;
	sigwait(set, &sig);
	slip_shutdown_trigger(stop);
	return NULL;
}

int main(int argc, char **argv)
{
	slip_conn *conn = NULL;
	slip_store *store = NULL;
	slip_snapshot_writer *snap = NULL;
	slip_applied_options o = SLIP_APPLIED_OPTIONS_INIT;
	sigset_t set;
	pthread_t sigs;
	bool sigs_started = false;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: %s URL BUCKET SNAPSHOT [--once]\n",
		        argv[0]);
		return 2;
	}
	once = argc > 4 && strcmp(argv[4], "--once") == 0;
	sigemptyset(&set); /* blocked before any thread starts */
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((rc = slip_shutdown_new(&stop)) != SLIP_OK ||
	    (rc = slip_snapshot_writer_open(&snap, argv[3], 16u << 20)) ||
	    (rc = slip_connect(&conn, argv[1])) != SLIP_OK ||
	    (rc = slip_store_open(&store, conn, argv[2])) != SLIP_OK)
		goto done;
	slip_snapshot_writer_foreach(snap, seed, NULL);
	sigs_started = pthread_create(&sigs, NULL, on_signals, &set) == 0;

	o.watcher = slip_store_watcher(store);
	o.snapshot = snap; /* resume from its cursor, checkpoint every batch */
	o.apply = apply;
	o.on_caught_up = caught_up;
	o.shutdown = stop;
	rc = slip_watch_applied(&o, NULL);
	for (size_t i = 0; once && rc == SLIP_OK && i < NBUCKETS; i++)
		for (node *n = table[i]; n; n = n->next)
			printf("%s=%s\n", n->key, n->value);
done:
	if (rc != SLIP_OK)
		fprintf(stderr, "config_follower: %s\n", slip_last_error());
	if (sigs_started) { /* wake its sigwait, then join: no cancel */
		pthread_kill(sigs, SIGTERM);
		pthread_join(sigs, NULL);
	}
	slip_store_free(store);
	slip_conn_free(conn);
	slip_snapshot_writer_free(snap);
	slip_shutdown_free(stop);
	return rc == SLIP_OK ? 0 : 1;
}
