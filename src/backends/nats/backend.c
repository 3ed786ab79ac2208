/*
 * src/backends/nats/backend.c — the NATS JetStream backend's function
 * table (slip__backend_nats), registered by the core for the "nats" and
 * "tls" URL schemes. The members live in the other files of this folder,
 * one concern per file.
 */
#include "internal.h"

static int stub_conn_new(void **out, const slip_conn_options *opts)
{
	(void)out;
	(void)opts;
	return slip_set_error(SLIP_EUNSUPPORTED, "nats backend: not built yet");
}

static int stub_connect(void *conn)
{
	return SLIP_EUNSUPPORTED;
}

static void stub_close(void *conn)
{
}

static void stub_conn_free(void *conn)
{
}

static void stub_capabilities(void *conn, slip_capabilities *out)
{
}

static int stub_store_open(void *conn, const char *name,
                           const slip_store_config *cfg, void **out,
                           unsigned *out_roles)
{
	return SLIP_EUNSUPPORTED;
}

static void stub_store_free(void *store)
{
}

static int stub_get(void *store, const char *key, slip_entry **out)
{
	return SLIP_EUNSUPPORTED;
}

static int stub_keys(void *store, const char *prefix, slip_entry_cb cb,
                     void *payload)
{
	return SLIP_EUNSUPPORTED;
}

const slip_backend slip__backend_nats = {
        .version = SLIP_BACKEND_VERSION,
        .name = "nats",
        .schemes = "nats,tls",
        .conn_new = stub_conn_new,
        .connect = stub_connect,
        .close = stub_close,
        .conn_free = stub_conn_free,
        .capabilities = stub_capabilities,
        .store_open = stub_store_open,
        .store_free = stub_store_free,
        .get = stub_get,
        .entry = stub_get,
        .keys = stub_keys,
        .scan = stub_keys,
};
