/*
 * src/backends/nats/caps.c — what the connected nats-server can do: its
 * JetStream API level (read once at connect from $JS.API.INFO), the
 * public capabilities derived from its version, API level and cluster
 * shape, and the check other files of this backend make before using a
 * feature that not every server has (slip__nats_require).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_backend.h"

/* A feature, the release that brought it and, for features ADR-44 ties to
 * an API level, that level (0: gate on the version alone). */
typedef struct feature_row {
	const char *name;
	int major, minor;
	int api_level;
} feature_row;

static const feature_row features[] = {
        [SLIP_NATS_FEAT_MULTI_FILTER] = {"multi-filter consumers", 2, 10, 0},
        [SLIP_NATS_FEAT_MSG_TTL] = {"per-message TTL and limit markers", 2, 11,
                                    1},
        [SLIP_NATS_FEAT_BATCH_GET] = {"batch direct get", 2, 11, 1},
        [SLIP_NATS_FEAT_ATOMIC_BATCH] = {"atomic batch publish", 2, 12, 2},
};

static bool version_at_least(const slip_nats_conn *c, int major, int minor,
                             int patch)
{
	if (!c->version_known)
		return false;
	if (c->ver_major != major)
		return c->ver_major > major;
	if (c->ver_minor != minor)
		return c->ver_minor > minor;
	return c->ver_patch >= patch;
}

bool slip__nats_has(const slip_nats_conn *c, slip_nats_feature f)
{
	const feature_row *r = &features[f];
	/* The API level is the server's own statement of what it speaks
	 * (ADR-44): level 1 is 2.11, so any level covers the features of
	 * earlier releases (row level 0). The version covers servers that
	 * report no level. */
	if (c->api_level >= 1 && c->api_level >= r->api_level)
		return true;
	return version_at_least(c, r->major, r->minor, 0);
}

int slip__nats_require(const slip_nats_conn *c, slip_nats_feature f,
                       const char *op)
{
	const feature_row *r = &features[f];
	if (slip__nats_has(c, f))
		return SLIP_OK;
	return slip_set_error(SLIP_EUNSUPPORTED,
	                      "%s: needs %s (nats-server %d.%d or newer); "
	                      "the connected nats-server is %s",
	                      op, r->name, r->major, r->minor,
	                      c->version_known ? c->version
	                                       : "of unknown version");
}

int slip__nats_parse_api_level(const char *body)
{
	const char *api = strstr(body, "\"api\":{");
	if (api == NULL)
		return -1;
	const char *end = strchr(api, '}');
	const char *lvl = strstr(api, "\"level\":");
	if (lvl == NULL || (end != NULL && lvl > end))
		return 0;
	int level = -1;
	if (sscanf(lvl + 8, "%d", &level) != 1 || level < 0)
		return -1;
	return level;
}

void slip__nats_probe_api_level(slip_nats_conn *c, natsConnection *nc)
{
	natsMsg *reply = NULL;
	c->api_level = -1;
	/* Best effort: an account without JetStream answers no-responders
	 * or an error object, and the level stays unknown. A user not
	 * allowed to ask gets no answer at all, so the wait is short. */
	int wait_ms = c->op_timeout_ms < 1000 ? c->op_timeout_ms : 1000;
	natsStatus s = natsConnection_RequestString(&reply, nc, "$JS.API.INFO",
	                                            "", wait_ms);
	if (s != NATS_OK)
		return;
	int len = natsMsg_GetDataLength(reply);
	char *body = malloc((size_t)len + 1);
	if (body != NULL) {
		memcpy(body, natsMsg_GetData(reply), (size_t)len);
		body[len] = '\0';
		if (strstr(body, "\"error\":") == NULL)
			c->api_level = slip__nats_parse_api_level(body);
		free(body);
	}
	natsMsg_Destroy(reply);
}

void slip__nats_capabilities(void *conn, slip_capabilities *out)
{
	slip_nats_conn *c = conn;
	out->version = SLIP_CAPABILITIES_VERSION;
	snprintf(out->server_version, sizeof(out->server_version), "%s",
	         c->version_known ? c->version : "");
	out->api_level = c->api_level;
	out->cluster = c->clustered;
	out->streaming_watch = true;
	out->prefix_watch = true;
	out->global_ordering = true;
	out->multi_filter = slip__nats_has(c, SLIP_NATS_FEAT_MULTI_FILTER);
	out->msg_ttl = slip__nats_has(c, SLIP_NATS_FEAT_MSG_TTL);
	out->batch_get = slip__nats_has(c, SLIP_NATS_FEAT_BATCH_GET);
	out->atomic_batch = slip__nats_has(c, SLIP_NATS_FEAT_ATOMIC_BATCH);
	/* A clustered server before 2.9.21 checks the expected revision
	 * against proposals in flight, so two writers can both win. */
	out->cas = !c->clustered || version_at_least(c, 2, 9, 21);
	if (!out->cas)
		snprintf(out->note, sizeof(out->note),
		         "clustered nats-server %s: compare-and-set is not "
		         "serializable before 2.9.21",
		         c->version_known ? c->version : "(unknown version)");
}
