/*
 * tools/cmd_server.c — `server`: connects and prints what the server
 * reached is and can do (backend, server version, JetStream API level,
 * cluster, compare-and-set, and the features newer nats-server releases
 * bring), from slip_conn_capabilities().
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static void print_json(const char *backend, const slip_capabilities *c)
{
	fputs("{\"backend\":", stdout);
	json_string(stdout, backend, strlen(backend));
	fputs(",\"server_version\":", stdout);
	json_string(stdout, c->server_version, strlen(c->server_version));
	printf(",\"api_level\":%d,\"cluster\":%s,\"cas\":%s,"
	       "\"streaming_watch\":%s,\"prefix_watch\":%s,"
	       "\"global_ordering\":%s,\"multi_filter\":%s,\"msg_ttl\":%s,"
	       "\"batch_get\":%s,\"atomic_batch\":%s,\"note\":",
	       c->api_level, c->cluster ? "true" : "false",
	       c->cas ? "true" : "false", c->streaming_watch ? "true" : "false",
	       c->prefix_watch ? "true" : "false",
	       c->global_ordering ? "true" : "false",
	       c->multi_filter ? "true" : "false",
	       c->msg_ttl ? "true" : "false", c->batch_get ? "true" : "false",
	       c->atomic_batch ? "true" : "false");
	json_string(stdout, c->note, strlen(c->note));
	fputs("}\n", stdout);
}

static void line(const char *label, const char *value)
{
	printf("%-20s %s\n", label, value);
}

static void print_text(const char *backend, const slip_capabilities *c)
{
	char level[16] = "unknown";
	if (c->api_level >= 0)
		snprintf(level, sizeof(level), "%d", c->api_level);
	line("backend:", backend);
	line("server version:",
	     c->server_version[0] ? c->server_version : "(none)");
	line("JetStream API level:", level);
	line("cluster:", yes_no(c->cluster));
	line("serializable CAS:", yes_no(c->cas));
	line("multi-filter watch:", yes_no(c->multi_filter));
	line("per-message TTL:", yes_no(c->msg_ttl));
	line("batch get:", yes_no(c->batch_get));
	line("atomic batch:", yes_no(c->atomic_batch));
	if (c->note[0] != '\0')
		line("note:", c->note);
}

int cmd_server(const cli_opts *o)
{
	slip_capabilities caps = SLIP_CAPABILITIES_INIT;
	slip_conn *conn = NULL;
	int rc = cli_connect(&conn, o);
	if (rc == SLIP_OK) {
		rc = slip_conn_capabilities(conn, &caps);
		if (rc != SLIP_OK)
			cli_lib_fail(rc, "server", "capabilities");
	}
	if (rc == SLIP_OK) {
		const char *backend = slip_conn_backend_name(conn);
		if (o->json)
			print_json(backend, &caps);
		else
			print_text(backend, &caps);
	}
	slip_conn_free(conn);
	return rc;
}
