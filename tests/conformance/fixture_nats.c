/*
 * tests/conformance/fixture_nats.c — runs the conformance suite against a
 * real nats-server (JetStream on, free loopback port, temp dir) started
 * through tests/support/natsd.h. drop_before purges the bucket's stream up
 * to a sequence with libnats directly — what retention does on a server;
 * consumers counts what a case left on the bucket's stream (/jsz).
 */
#include <stdio.h>

#include <nats/nats.h>

#include "conformance.h"
#include "natsd.h"

static int nats_setup(void **ctx)
{
	slip_natsd *s = NULL;
	if (slip_natsd_start(&s, NULL) != 0) {
		fprintf(stderr, "conformance-nats: cannot start nats-server\n");
		return -1;
	}
	*ctx = s;
	return 0;
}

static void nats_teardown(void *ctx)
{
	slip_natsd_free(ctx);
	nats_Close();
}

static const char *nats_url(void *ctx)
{
	return slip_natsd_url(ctx);
}

static int nats_drop_before(void *ctx, slip_store *store, uint64_t revision)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsOptions o;
	jsErrCode jerr = 0;
	char stream[300];
	natsStatus s = natsConnection_ConnectTo(&nc, slip_natsd_url(ctx));
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, NULL);
	if (s == NATS_OK) {
		snprintf(stream, sizeof(stream), "KV_%s",
		         slip_store_name(store));
		jsOptions_Init(&o);
		/* Removes every message with a sequence below `revision`. */
		o.Stream.Purge.Sequence = revision;
		s = js_PurgeStream(js, stream, &o, &jerr);
	}
	if (s != NATS_OK)
		fprintf(stderr, "drop_before: %s (%d)\n", natsStatus_GetText(s),
		        (int)jerr);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return s == NATS_OK ? 0 : -1;
}

static int nats_consumers(void *ctx, const char *bucket)
{
	char stream[300];
	snprintf(stream, sizeof(stream), "KV_%s", bucket);
	return slip_natsd_wait_no_consumers(ctx, stream, 3000);
}

const conf_fixture conf_backend = {
        .name = "nats",
        .setup = nats_setup,
        .teardown = nats_teardown,
        .url = nats_url,
        .drop_before = nats_drop_before,
        .consumers = nats_consumers,
};
