/*
 * tests/support/selftest/test_natsd.c — ctest harness-natsd: the nats-server
 * harness itself. Start/stop/kill/restart/pause of one server (data written
 * through libnats survives a SIGKILL + restart on the same port), temp dirs
 * removed by free, and a 3-node cluster that has a meta leader, takes an R3
 * bucket, and recovers after a node is killed and restarted.
 *
 * It talks to the servers with libnats directly so it does not depend on
 * Slipstream's own NATS backend.
 */
#include "natsd.h"
#include "test.h"

#include <arpa/inet.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool dir_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Connects with a short timeout and no reconnects; NULL on failure.
 * libnats 3.4.1's natsOptions_SetURL takes the whole string as one URL, so
 * a comma-separated list goes through natsOptions_SetServers.
 */
static natsConnection *connect_to(const char *urls, int timeout_ms)
{
	natsConnection *nc = NULL;
	natsOptions *o = NULL;
	char buf[1024], *save = NULL, *tok;
	const char *list[16];
	int n = 0;

	if (natsOptions_Create(&o) != NATS_OK)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", urls);
	for (tok = strtok_r(buf, ",", &save); tok && n < 16;
	     tok = strtok_r(NULL, ",", &save))
		list[n++] = tok;
	natsOptions_SetServers(o, list, n);
	natsOptions_SetTimeout(o, timeout_ms);
	natsOptions_SetMaxReconnect(o, 0);
	natsOptions_SetAllowReconnect(o, false);
	if (natsConnection_Connect(&nc, o) != NATS_OK)
		nc = NULL;
	natsOptions_Destroy(o);
	return nc;
}

/* Creates (or binds) bucket @p bucket with @p replicas and puts key=val. */
static int kv_put(const char *urls, const char *bucket, int replicas,
                  const char *key, const char *val)
{
	natsConnection *nc = connect_to(urls, 3000);
	jsCtx *js = NULL;
	kvStore *kv = NULL;
	kvConfig cfg;
	uint64_t rev = 0;
	int rc = -1;

	if (!nc)
		return -1;
	if (natsConnection_JetStream(&js, nc, NULL) != NATS_OK)
		goto done;
	kvConfig_Init(&cfg);
	cfg.Bucket = bucket;
	cfg.Replicas = replicas;
	if (js_KeyValue(&kv, js, bucket) != NATS_OK &&
	    js_CreateKeyValue(&kv, js, &cfg) != NATS_OK)
		goto done;
	if (kvStore_PutString(&rev, kv, key, val) == NATS_OK && rev > 0)
		rc = 0;
done:
	kvStore_Destroy(kv);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}

/* Reads key from bucket into @p out (cap bytes); 0 when found. */
static int kv_get(const char *urls, const char *bucket, const char *key,
                  char *out, size_t cap)
{
	natsConnection *nc = connect_to(urls, 3000);
	jsCtx *js = NULL;
	kvStore *kv = NULL;
	kvEntry *e = NULL;
	int rc = -1;

	if (!nc)
		return -1;
	if (natsConnection_JetStream(&js, nc, NULL) != NATS_OK ||
	    js_KeyValue(&kv, js, bucket) != NATS_OK ||
	    kvStore_Get(&e, kv, key) != NATS_OK)
		goto done;
	snprintf(out, cap, "%s", kvEntry_ValueString(e));
	rc = 0;
done:
	kvEntry_Destroy(e);
	kvStore_Destroy(kv);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}

static void t_start_stop_restart(void)
{
	slip_natsd *s = NULL;
	char dir[512], url[64], val[64];
	int port;

	REQUIRE(slip_natsd_start(&s, NULL) == 0);
	CHECK(slip_natsd_running(s));
	CHECK(slip_natsd_pid(s) > 0);
	port = slip_natsd_port(s);
	CHECK(port > 0);
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", port);
	CHECK(strcmp(slip_natsd_url(s), url) == 0);
	CHECK(slip_natsd_http_port(s) > 0 && slip_natsd_http_port(s) != port);
	snprintf(dir, sizeof(dir), "%s", slip_natsd_dir(s));
	CHECK(dir_exists(dir));

	CHECK(kv_put(url, "harness", 1, "k", "v1") == 0);

	/* A crash loses nothing acknowledged; restart keeps port and store. */
	CHECK(slip_natsd_kill(s) == 0);
	CHECK(!slip_natsd_running(s));
	CHECK(connect_to(url, 500) == NULL);
	CHECK(slip_natsd_restart(s) == 0);
	CHECK(slip_natsd_running(s));
	CHECK(slip_natsd_port(s) == port);
	CHECK(kv_get(url, "harness", "k", val, sizeof(val)) == 0 &&
	      strcmp(val, "v1") == 0);

	/* Graceful stop, then back again. */
	CHECK(slip_natsd_stop(s) == 0);
	CHECK(!slip_natsd_running(s));
	CHECK(slip_natsd_stop(s) == 0); /* idempotent */
	CHECK(slip_natsd_restart(s) == 0);
	CHECK(kv_put(url, "harness", 1, "k", "v2") == 0);
	CHECK(kv_get(url, "harness", "k", val, sizeof(val)) == 0 &&
	      strcmp(val, "v2") == 0);

	slip_natsd_free(s);
	CHECK(!dir_exists(dir));
	slip_natsd_free(NULL);
}

/*
 * 1 when the server on @p port sends its INFO line within @p ms, 0 when it
 * stays silent, -1 when the TCP connect fails.
 */
static int info_within(int port, int ms)
{
	struct sockaddr_in a;
	struct pollfd p;
	char buf[8] = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc = -1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		goto done;
	p.fd = fd;
	p.events = POLLIN;
	rc = 0;
	if (poll(&p, 1, ms) == 1 && recv(fd, buf, 4, 0) == 4 &&
	    memcmp(buf, "INFO", 4) == 0)
		rc = 1;
done:
	close(fd);
	return rc;
}

static void t_pause_resume(void)
{
	slip_natsd *s = NULL;

	REQUIRE(slip_natsd_start(&s, NULL) == 0);
	CHECK(slip_natsd_pause(s) == 0);
	CHECK(slip_natsd_running(s)); /* stopped, not gone */
	/*
	 * A frozen server accepts TCP (the kernel does) but never sends its
	 * INFO line. Checked with a raw socket: libnats 3.4.1's connect spins
	 * forever against a frozen server, whatever its timeout.
	 */
	CHECK(info_within(slip_natsd_port(s), 700) == 0);
	CHECK(slip_natsd_resume(s) == 0);
	CHECK(info_within(slip_natsd_port(s), 2000) == 1);
	CHECK(kv_put(slip_natsd_url(s), "paused", 1, "k", "v") == 0);
	/* stop works on a paused server too (it is continued first). */
	CHECK(slip_natsd_pause(s) == 0);
	CHECK(slip_natsd_stop(s) == 0);
	CHECK(!slip_natsd_running(s));
	CHECK(slip_natsd_pause(s) == -1);
	slip_natsd_free(s);
}

static void t_extra_conf_and_bad_conf(void)
{
	slip_natsd *s = NULL;

	/* extra_conf reaches the server: a tiny max_payload is enforced. */
	REQUIRE(slip_natsd_start(&s, "max_payload: 2048\n") == 0);
	CHECK(kv_put(slip_natsd_url(s), "small", 1, "k", "v") == 0);
	slip_natsd_free(s);

	/* A config the server rejects fails start, promptly, with no leak. */
	s = (slip_natsd *)1;
	CHECK(slip_natsd_start(&s, "this is { not valid") == -1);
	CHECK(s == NULL);
}

static int retry_put(const char *urls, const char *bucket, const char *key,
                     const char *val)
{
	for (int i = 0; i < 40; i++) {
		if (kv_put(urls, bucket, 3, key, val) == 0)
			return 0;
		usleep(250 * 1000);
	}
	return -1;
}

static int retry_get_is(const char *urls, const char *bucket, const char *key,
                        const char *want)
{
	char val[64];

	for (int i = 0; i < 40; i++) {
		if (kv_get(urls, bucket, key, val, sizeof(val)) == 0 &&
		    strcmp(val, want) == 0)
			return 0;
		usleep(250 * 1000);
	}
	return -1;
}

static void t_cluster_of_three(void)
{
	slip_natsd_cluster *c = NULL;
	slip_natsd *n1;
	char urls[512], dir0[512];

	REQUIRE(slip_natsd_cluster_start(&c, 3) == 0);
	CHECK(slip_natsd_cluster_size(c) == 3);
	snprintf(urls, sizeof(urls), "%s", slip_natsd_cluster_urls(c));
	CHECK(strchr(urls, ',') && strchr(strchr(urls, ',') + 1, ','));
	snprintf(dir0, sizeof(dir0), "%s",
	         slip_natsd_dir(slip_natsd_cluster_node(c, 0)));
	CHECK(slip_natsd_cluster_node(c, 3) == NULL);
	CHECK(kv_put(urls, "r3", 3, "k", "v1") == 0);

	/* One node down: the other two keep a quorum. */
	n1 = slip_natsd_cluster_node(c, 1);
	CHECK(slip_natsd_kill(n1) == 0);
	CHECK(slip_natsd_cluster_wait_ready(c, 20000) == 0);
	/* The bucket's stream may be electing a new leader: retry a while. */
	CHECK(retry_put(urls, "r3", "k", "v2") == 0);
	CHECK(slip_natsd_restart(n1) == 0);
	CHECK(slip_natsd_cluster_wait_ready(c, 20000) == 0);
	/* The restarted node catches up shortly after it is healthy. */
	CHECK(retry_get_is(slip_natsd_url(n1), "r3", "k", "v2") == 0);

	slip_natsd_cluster_free(c);
	CHECK(!dir_exists(dir0));
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_start_stop_restart),
        SLIP_TEST(t_pause_resume),
        SLIP_TEST(t_extra_conf_and_bad_conf),
        SLIP_TEST(t_cluster_of_three),
        {0},
};

int main(int argc, char **argv)
{
	int rc = slip_test_main(argc, argv, cases);
	nats_Close();
	return rc;
}
