/*
 * tests/nats/nats_util.c — helpers for the NATS backend's own tests (see
 * nats_util.h): shared server, raw libnats access, watch thread, RSS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nats_util.h"

static slip_natsd *server;
static pthread_mutex_t server_mu = PTHREAD_MUTEX_INITIALIZER;

static void stop_server(void)
{
	slip_natsd_free(server);
	server = NULL;
	nats_Close();
}

slip_natsd *nu_server(void)
{
	pthread_mutex_lock(&server_mu);
	if (server == NULL) {
		if (slip_natsd_start(&server, NULL) == 0)
			atexit(stop_server);
		else
			server = NULL;
	}
	pthread_mutex_unlock(&server_mu);
	return server;
}

const char *nu_url(void)
{
	slip_natsd *s = nu_server();
	return s != NULL ? slip_natsd_url(s) : NULL;
}

void nu_bucket(char *buf, size_t bufsz)
{
	static atomic_uint n;
	snprintf(buf, bufsz, "nt_%ld_%u", (long)getpid(),
	         atomic_fetch_add(&n, 1) + 1);
}

int nu_connect(slip_conn **out, const char *url)
{
	if (url == NULL)
		return SLIP_EIO;
	return slip_connect(out, url);
}

int nu_open(nu_case *c, int64_t history)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	memset(c, 0, sizeof(*c));
	nu_bucket(c->bucket, sizeof(c->bucket));
	int rc = nu_connect(&c->conn, nu_url());
	if (rc != SLIP_OK)
		return rc;
	cfg.name = c->bucket;
	cfg.max_history = history;
	rc = slip_store_open_config(&c->store, c->conn, &cfg);
	if (rc != SLIP_OK)
		return rc;
	c->r = slip_store_reader(c->store);
	c->w = slip_store_writer(c->store);
	c->wt = slip_store_watcher(c->store);
	return SLIP_OK;
}

void nu_close(nu_case *c)
{
	/* Every watch, scan and keys call gave its consumer back. */
	if (c->conn != NULL && slip_conn_is_connected(c->conn)) {
		char stream[300];
		snprintf(stream, sizeof(stream), "KV_%s", c->bucket);
		int left =
		        slip_natsd_wait_no_consumers(nu_server(), stream, 3000);
		if (left != 0)
			slip_test_fail(__FILE__, __LINE__,
			               "bucket %s: %d consumers left on the "
			               "server at close (want 0)",
			               c->bucket, left);
	}
	if (c->conn != NULL && slip_conn_is_connected(c->conn))
		slip_store_delete(c->conn, c->bucket);
	slip_store_free(c->store);
	slip_conn_free(c->conn);
	memset(c, 0, sizeof(*c));
}

int nu_raw_open(nu_raw *r, const char *url)
{
	memset(r, 0, sizeof(*r));
	if (url == NULL)
		return -1;
	natsStatus s = natsConnection_ConnectTo(&r->nc, url);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&r->js, r->nc, NULL);
	if (s != NATS_OK) {
		nu_raw_close(r);
		return -1;
	}
	return 0;
}

void nu_raw_close(nu_raw *r)
{
	jsCtx_Destroy(r->js);
	natsConnection_Destroy(r->nc);
	memset(r, 0, sizeof(*r));
}

static void *watch_main(void *arg)
{
	nu_watch *nw = arg;
	atomic_store(&nw->rc, slip_watch(nw->w, &nw->opts, nw->ch));
	atomic_store(&nw->done, true);
	return NULL;
}

int nu_watch_start(nu_watch *nw, slip_watcher *w, const char *prefix,
                   const slip_cursor *from, unsigned flags, size_t cap)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;
	memset(nw, 0, sizeof(*nw));
	nw->w = w;
	if (prefix != NULL) {
		snprintf(nw->prefix, sizeof(nw->prefix), "%s", prefix);
		o.prefix = nw->prefix;
	}
	if (from != NULL) {
		nw->from = *from;
		o.from = &nw->from;
	}
	o.flags = flags;
	nw->opts = o;
	int rc = slip_chan_new(&nw->ch, cap);
	if (rc != SLIP_OK)
		return rc;
	if (pthread_create(&nw->thread, NULL, watch_main, nw) != 0)
		return SLIP_ENOMEM;
	return SLIP_OK;
}

bool nu_watch_wait(nu_watch *nw, int ms)
{
	int64_t end = nu_now_ms() + ms;
	while (!atomic_load(&nw->done) && nu_now_ms() < end)
		usleep(10000);
	return atomic_load(&nw->done);
}

int nu_watch_stop(nu_watch *nw)
{
	slip_chan_close_recv(nw->ch);
	if (!nu_watch_wait(nw, 10000)) {
		slip_test_fail(__FILE__, __LINE__,
		               "watch did not end within 10 s of cancel");
	}
	pthread_join(nw->thread, NULL);
	slip_chan_free(nw->ch);
	nw->ch = NULL;
	return atomic_load(&nw->rc);
}

long nu_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int64_t nu_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *overwrite_loop(void *arg)
{
	nu_overwriter *o = arg;
	char key[96], val[32];
	for (long n = 0; !atomic_load(&o->stop); n++) {
		snprintf(key, sizeof(key), "%sk%03ld", o->prefix, n % o->nkeys);
		int len = snprintf(val, sizeof(val), "v%ld", n);
		int rc = slip_writer_put(o->w, key, val, (size_t)len, NULL);
		if (rc != SLIP_OK) {
			atomic_store(&o->rc, rc);
			break;
		}
		atomic_fetch_add(&o->writes, 1);
	}
	return NULL;
}

int nu_overwriter_start(nu_overwriter *o, slip_writer *w, const char *prefix,
                        int nkeys)
{
	char key[96];
	memset(o, 0, sizeof(*o));
	o->w = w;
	o->nkeys = nkeys;
	snprintf(o->prefix, sizeof(o->prefix), "%s", prefix);
	atomic_init(&o->stop, false);
	atomic_init(&o->writes, 0);
	atomic_init(&o->rc, SLIP_OK);
	for (int i = 0; i < nkeys; i++) {
		snprintf(key, sizeof(key), "%sk%03d", prefix, i);
		int rc = slip_writer_put(w, key, "v", 1, NULL);
		if (rc != SLIP_OK)
			return rc;
	}
	if (pthread_create(&o->thread, NULL, overwrite_loop, o) != 0)
		return SLIP_EIO;
	while (atomic_load(&o->writes) < nkeys && atomic_load(&o->rc) == 0)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	return SLIP_OK;
}

int nu_overwriter_stop(nu_overwriter *o)
{
	atomic_store(&o->stop, true);
	pthread_join(o->thread, NULL);
	return atomic_load(&o->rc);
}
