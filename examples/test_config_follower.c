/*
 * examples/test_config_follower.c — exercises the config-follower example
 * against a real nats-server: a first run replays the bucket into its
 * cache and snapshot; after a few changes a second run applies only those
 * (resuming from the snapshot) and its cache equals the bucket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "natsd.h"
#include "run.h"
#include "test.h"

static slip_natsd *server;
static char dir[] = "/tmp/slip-follower-XXXXXX";

static void run_follower(run_result *r, const char *snap)
{
	char *argv[] = {(char *)FOLLOWER_PATH,
	                (char *)slip_natsd_url(server),
	                "cfg",
	                (char *)snap,
	                "--once",
	                NULL};
	if (run_argv(r, NULL, 0, NULL, argv, 60000) != 0 || r->timed_out)
		slip_test_fail(__FILE__, __LINE__, "follower failed to run");
	if (r->code != 0)
		slip_test_fail(__FILE__, __LINE__, "exit %d: %s", r->code,
		               r->err);
}

static void t_follow_then_delta(void)
{
	slip_conn *c = NULL;
	slip_store *st = NULL;
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	run_result r;
	char snap[128];

	REQUIRE(slip_natsd_start(&server, NULL) == 0);
	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(snap, sizeof(snap), "%s/follower.snap", dir);
	REQUIRE_OK(slip_connect(&c, slip_natsd_url(server)));
	cfg.name = "cfg";
	REQUIRE_OK(slip_store_open_config(&st, c, &cfg));
	slip_writer *w = slip_store_writer(st);
	CHECK_OK(slip_writer_put(w, "svc.api.replicas", "3", 1, NULL));
	CHECK_OK(slip_writer_put(w, "svc.web.replicas", "5", 1, NULL));
	CHECK_OK(slip_writer_put(w, "feature.dark_mode", "on", 2, NULL));

	run_follower(&r, snap);
	CHECK(strstr(r.out, "caught up: 3 keys cached, 3 updates applied"));
	CHECK(strstr(r.out, "svc.api.replicas=3\n"));
	CHECK(strstr(r.out, "feature.dark_mode=on\n"));
	run_free(&r);

	CHECK_OK(slip_writer_put(w, "svc.api.replicas", "4", 1, NULL));
	CHECK_OK(slip_writer_delete(w, "feature.dark_mode"));
	run_follower(&r, snap);
	CHECK(strstr(r.out, "caught up: 2 keys cached, 2 updates applied"));
	CHECK(strstr(r.out, "svc.api.replicas=4\n"));
	CHECK(strstr(r.out, "svc.web.replicas=5\n"));
	CHECK(!strstr(r.out, "feature.dark_mode"));
	run_free(&r);

	slip_store_free(st);
	slip_conn_free(c);
	unlink(snap);
	rmdir(dir);
	slip_natsd_free(server);
}

static const slip_test_case cases[] = {SLIP_TEST(t_follow_then_delta), {0}};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
