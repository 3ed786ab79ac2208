/*
 * tests/cluster/test_cluster_caps.c — ctest cluster-capabilities
 * (issue 7, point 6): what Slipstream reports about compare-and-set on the
 * server it reached. nats-server before 2.9.21 in cluster mode does not
 * serialize CAS (expected-revision checks race with proposals in flight),
 * so a connection to such a cluster must report cas = false with a note
 * saying why; a single server reports cas = true. The expected answer is
 * derived from the server's own version (/varz, slip_natsd_version), so
 * the test checks the right answer on every server of the matrix.
 */
#include "natsd.h"
#include "test.h"

#include <nats/nats.h>
#include <stdio.h>
#include <string.h>

static int caps_of(const char *url, slip_capabilities *out)
{
	slip_conn *c = NULL;
	int rc = slip_connect(&c, url);

	if (rc == SLIP_OK)
		rc = slip_conn_capabilities(c, out);
	slip_conn_free(c);
	return rc;
}

static void print_caps(const char *what, const slip_capabilities *c)
{
	fprintf(stderr,
	        "  %s: server %s cluster=%s cas=%s streaming_watch=%s "
	        "prefix_watch=%s global_ordering=%s note=\"%s\"\n",
	        what, c->server_version, c->cluster ? "true" : "false",
	        c->cas ? "true" : "false",
	        c->streaming_watch ? "true" : "false",
	        c->prefix_watch ? "true" : "false",
	        c->global_ordering ? "true" : "false", c->note);
}

static void t_cluster_cas_capability(void)
{
	slip_natsd_cluster *cl = NULL;
	slip_capabilities caps = SLIP_CAPABILITIES_INIT;
	int maj = 0, min = 0, pat = 0;
	bool fixed;

	REQUIRE(slip_natsd_cluster_start(&cl, 3) == 0);
	CHECK(slip_natsd_version(slip_natsd_cluster_node(cl, 0), &maj, &min,
	                         &pat) == 0);
	fixed = maj > 2 || (maj == 2 && (min > 9 || (min == 9 && pat >= 21)));
	fprintf(stderr, "  nats-server %d.%d.%d, 3-node cluster (CAS %s)\n",
	        maj, min, pat,
	        fixed ? "serializable" : "NOT serializable before 2.9.21");

	/* All three URLs, and each node alone: the same answer. */
	caps = (slip_capabilities)SLIP_CAPABILITIES_INIT;
	CHECK_OK(caps_of(slip_natsd_cluster_urls(cl), &caps));
	print_caps("cluster (all URLs)", &caps);
	CHECK(caps.cas == fixed);
	CHECK(caps.cluster);
	if (!fixed) {
		CHECK(strstr(caps.note, "2.9.21") != NULL);
		CHECK(strstr(caps.note, "serializable") != NULL);
	}
	CHECK(caps.streaming_watch && caps.prefix_watch &&
	      caps.global_ordering);
	for (int i = 0; i < 3; i++) {
		slip_natsd *n = slip_natsd_cluster_node(cl, i);
		caps = (slip_capabilities)SLIP_CAPABILITIES_INIT;
		CHECK_OK(caps_of(slip_natsd_url(n), &caps));
		CHECK(caps.cas == fixed);
	}
	slip_natsd_cluster_free(cl);
}

static void t_single_server_cas_capability(void)
{
	slip_natsd *s = NULL;
	slip_capabilities caps = SLIP_CAPABILITIES_INIT;

	REQUIRE(slip_natsd_start(&s, NULL) == 0);
	caps = (slip_capabilities)SLIP_CAPABILITIES_INIT;
	CHECK_OK(caps_of(slip_natsd_url(s), &caps));
	print_caps("single server", &caps);
	CHECK(caps.cas);
	CHECK(!caps.cluster);
	CHECK(caps.note[0] == '\0');
	CHECK(caps.streaming_watch && caps.prefix_watch &&
	      caps.global_ordering);
	slip_natsd_free(s);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_cluster_cas_capability),
        SLIP_TEST(t_single_server_cas_capability),
        {0},
};

int main(int argc, char **argv)
{
	int rc = slip_test_main(argc, argv, cases);
	nats_Close();
	return rc;
}
