/*
 * src/backends/memory/memory.c — the in-process memory backend ("mem://").
 *
 * Placeholder table so the core's registry links; the real backend
 * (namespaces, buckets, log, CAS, watch) replaces these stubs.
 */
#include "internal.h"

static int mem_conn_new(void **out, const slip_conn_options *opts)
{
	(void)opts;
	*out = NULL;
	return slip_set_error(SLIP_EUNSUPPORTED, "mem: not implemented yet");
}

static int mem_connect(void *conn)
{
	(void)conn;
	return SLIP_EUNSUPPORTED;
}

static void mem_close(void *conn)
{
	(void)conn;
}

static void mem_conn_free(void *conn)
{
	(void)conn;
}

static void mem_capabilities(void *conn, slip_capabilities *out)
{
	(void)conn;
	(void)out;
}

static int mem_store_open(void *conn, const char *name,
                          const slip_store_config *cfg, void **out,
                          unsigned *out_roles)
{
	(void)conn;
	(void)name;
	(void)cfg;
	(void)out;
	(void)out_roles;
	return SLIP_EUNSUPPORTED;
}

static void mem_store_free(void *store)
{
	(void)store;
}

static int mem_get(void *store, const char *key, slip_entry **out)
{
	(void)store;
	(void)key;
	*out = NULL;
	return SLIP_EUNSUPPORTED;
}

static int mem_keys(void *store, const char *prefix, slip_entry_cb cb,
                    void *payload)
{
	(void)store;
	(void)prefix;
	(void)cb;
	(void)payload;
	return SLIP_EUNSUPPORTED;
}

const slip_backend slip__backend_memory = {
        .version = SLIP_BACKEND_VERSION,
        .name = "mem",
        .schemes = "mem",
        .conn_new = mem_conn_new,
        .connect = mem_connect,
        .close = mem_close,
        .conn_free = mem_conn_free,
        .capabilities = mem_capabilities,
        .store_open = mem_store_open,
        .store_free = mem_store_free,
        .get = mem_get,
        .entry = mem_get,
        .keys = mem_keys,
        .scan = mem_keys,
};
