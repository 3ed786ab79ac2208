/*
 * src/backends.h — the built-in backend tables the core registers
 * (src/registry.c). Core only: a backend declares its own table in its own
 * header and reaches behind a public handle through sys/backend.h
 * (slip_store_impl(), slip_store_check_connected()).
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

#endif
