/*
 * tests/conformance/conformance_util.c — helpers of the conformance suite:
 * a case's connection and fresh bucket. Public API only. The watch on a
 * thread and the checks of what it delivers are in tests/support/conf_watch.c.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"

void *conf_ctx;

/* ------------------------------------------------------------ a case */

void conf_bucket_name(char *buf, size_t bufsz)
{
	static atomic_uint counter;

	snprintf(buf, bufsz, "conf_%ld_%u", (long)getpid(),
	         atomic_fetch_add(&counter, 1) + 1);
}

int conf_open(conf_case *c, int64_t max_history)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;

	cfg.max_history = max_history;
	return conf_open_config(c, &cfg);
}

int conf_open_config(conf_case *c, slip_store_config *cfg)
{
	int rc;

	memset(c, 0, sizeof(*c));
	conf_bucket_name(c->bucket, sizeof(c->bucket));
	rc = slip_connect(&c->conn, conf_backend.url(conf_ctx));
	if (rc != SLIP_OK)
		return rc;
	cfg->name = c->bucket;
	rc = slip_store_open_config(&c->store, c->conn, cfg);
	if (rc != SLIP_OK)
		return rc;
	c->r = slip_store_reader(c->store);
	c->w = slip_store_writer(c->store);
	c->wt = slip_store_watcher(c->store);
	if (c->r == NULL || c->w == NULL || c->wt == NULL)
		return SLIP_EUNSUPPORTED; /* the suite needs every role */
	return SLIP_OK;
}

void conf_close(conf_case *c)
{
	/* Every watch, scan and keys call gave its consumer back. */
	if (c->conn != NULL && slip_conn_is_connected(c->conn) &&
	    conf_backend.consumers != NULL) {
		int left = conf_backend.consumers(conf_ctx, c->bucket);
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
