/*
 * src/backends.h — the built-in backend tables the core registers, and the
 * few core calls a built-in backend needs to reach behind a public handle
 * (for backend-specific extras such as slip_mem_drop_before()).
 */
#ifndef SLIP_BACKENDS_H
#define SLIP_BACKENDS_H

#include "internal.h"

/** In-process memory backend ("mem"), src/backends/memory/. */
extern const slip_backend slip__backend_memory;

#ifdef SLIP_HAVE_NATS
/** NATS JetStream backend ("nats", "tls"), src/backends/nats/. */
extern const slip_backend slip__backend_nats;
#endif

/**
 * The backend's own store object behind @p store, or NULL when @p store is
 * NULL or belongs to a backend other than @p backend (no message is set).
 */
void *slip__store_impl(slip_store *store, const slip_backend *backend);

/**
 * SLIP_OK while @p store's connection is connected, else
 * SLIP_ENOTCONNECTED with a message naming @p op and the store.
 */
int slip__store_check_connected(slip_store *store, const char *op);

#endif
