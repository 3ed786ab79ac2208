/*
 * src/backends/nats/backend.c — the NATS JetStream backend's function
 * table (slip__backend_nats), registered by the core for the "nats" and
 * "tls" URL schemes. The members live in the other files of this folder,
 * one concern per file: conn.c + url.c (connection), store.c (buckets),
 * read.c, write.c, watch.c, pipe.c (pipelined writes).
 */
#include "nats_backend.h"

const slip_backend slip__backend_nats = {
        SLIP_BACKEND_INIT,
        .name = "nats",
        .schemes = "nats,tls",
        .conn_new = slip__nats_conn_new,
        .connect = slip__nats_connect,
        .close = slip__nats_close,
        .conn_free = slip__nats_conn_free,
        .capabilities = slip__nats_capabilities,
        .store_open = slip__nats_store_open,
        .store_free = slip__nats_store_free,
        .store_delete = slip__nats_store_delete,
        .store_info = slip__nats_store_info,
        .get = slip__nats_get,
        .entry = slip__nats_entry,
        .keys = slip__nats_keys,
        .scan = slip__nats_scan,
        .put = slip__nats_put,
        .create = slip__nats_create,
        .update = slip__nats_update,
        .del = slip__nats_del,
        .delete_version = slip__nats_delete_version,
        .purge = slip__nats_purge,
        .watch = slip__nats_watch,
        .cursor_cmp = slip_cursor_seq_cmp,
        .watch_prefixes = slip__nats_watch,
        .scan_prefixes = slip__nats_scan_prefixes,
        .put_ttl = slip__nats_put_ttl,
        .create_ttl = slip__nats_create_ttl,
        .purge_ttl = slip__nats_purge_ttl,
        .pipe_open = slip__nats_pipe_open,
        .pipe_send = slip__nats_pipe_send,
        .pipe_poll = slip__nats_pipe_poll,
        .pipe_free = slip__nats_pipe_free,
};
