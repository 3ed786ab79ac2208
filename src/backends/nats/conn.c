/*
 * src/backends/nats/conn.c — the NATS connection: options and credentials
 * (in-memory .creds through libnats' JWT/signature callbacks, a .creds
 * file, user:pass@ from the URL), TLS, connect with error mapping (auth
 * failures are reported at once with the server's reason), close, free,
 * and libnats status -> SLIP_E* mapping for the other files (what the
 * server can do is in caps.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nats_backend.h"

#define DEFAULT_TIMEOUT_MS   5000
#define DEFAULT_RECONNECT_MS 250
#define DEFAULT_MAX_RECONN   60

/*
 * libnats runs the error callback on its own thread, and may still do so
 * after the connection was closed and freed (its ordered-consumer
 * recreation runs on a detached thread and reports failures late). So the
 * callback's closure is only trusted while it is in this list of live
 * connections; one backend-wide mutex guards the list and the watch lists.
 */
static pthread_mutex_t cb_mu = PTHREAD_MUTEX_INITIALIZER;
static slip_nats_conn *live;

static bool is_live(const slip_nats_conn *c)
{
	for (const slip_nats_conn *p = live; p != NULL; p = p->next_live)
		if (p == c)
			return true;
	return false;
}

static void set_live(slip_nats_conn *c, bool on)
{
	pthread_mutex_lock(&cb_mu);
	if (on) {
		c->next_live = live;
		live = c;
	} else {
		for (slip_nats_conn **p = &live; *p != NULL;
		     p = &(*p)->next_live) {
			if (*p == c) {
				*p = c->next_live;
				break;
			}
		}
	}
	pthread_mutex_unlock(&cb_mu);
}

static char *dup_str(const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

/* ---------------------------------------------------------- creds */

static natsStatus jwt_cb(char **user_jwt, char **err_txt, void *closure)
{
	slip_nats_conn *c = closure;
	*user_jwt = dup_str(c->creds_jwt);
	return *user_jwt != NULL ? NATS_OK : NATS_NO_MEMORY;
}

static natsStatus sig_cb(char **err_txt, unsigned char **sig, int *sig_len,
                         const char *nonce, void *closure)
{
	slip_nats_conn *c = closure;
	return nats_Sign(c->creds_seed, nonce, sig, sig_len);
}

static int load_inline_creds(slip_nats_conn *c, const char *b64)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	int rc = slip__base64_decode(b64, &raw, &len);
	if (rc != SLIP_OK)
		return slip_set_error(SLIP_EINVAL,
		                      "connect: creds: not valid base64");
	rc = slip__nats_parse_creds((const char *)raw, len, &c->creds_jwt,
	                            &c->creds_seed);
	if (rc == SLIP_OK)
		c->creds_seed_len = strlen(c->creds_seed);
	slip__wipe(raw, len);
	free(raw);
	return rc;
}

/* ------------------------------------------------------ lifecycle */

static void conn_destroy(slip_nats_conn *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->nurls; i++)
		free(c->urls[i]);
	free(c->urls);
	if (c->pass != NULL)
		slip__wipe(c->pass, strlen(c->pass));
	free(c->user);
	free(c->pass);
	free(c->creds_jwt);
	if (c->creds_seed != NULL)
		slip__wipe(c->creds_seed, c->creds_seed_len);
	free(c->creds_seed);
	free(c->creds_file);
	free(c->tls_ca);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int slip__nats_conn_new(void **out, const slip_conn_options *opts)
{
	int rc = SLIP_ENOMEM;
	slip_nats_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SLIP_ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	c->api_level = -1;
	rc = slip__nats_parse_urls(c, opts->url);
	if (rc != SLIP_OK)
		goto done;
	if (opts->creds != NULL && opts->creds[0] != '\0') {
		rc = load_inline_creds(c, opts->creds);
		if (rc != SLIP_OK)
			goto done;
	} else if (opts->creds_file != NULL && opts->creds_file[0] != '\0') {
		rc = SLIP_ENOMEM;
		c->creds_file = dup_str(opts->creds_file);
		if (c->creds_file == NULL)
			goto done;
	}
	rc = SLIP_ENOMEM;
	if (opts->tls_ca != NULL && opts->tls_ca[0] != '\0') {
		c->tls_ca = dup_str(opts->tls_ca);
		if (c->tls_ca == NULL)
			goto done;
	}
	c->connect_timeout_ms = opts->connect_timeout_ms > 0
	                                ? opts->connect_timeout_ms
	                                : DEFAULT_TIMEOUT_MS;
	c->op_timeout_ms = opts->op_timeout_ms > 0 ? opts->op_timeout_ms
	                                           : DEFAULT_TIMEOUT_MS;
	c->reconnect_wait_ms = opts->reconnect_wait_ms > 0
	                               ? opts->reconnect_wait_ms
	                               : DEFAULT_RECONNECT_MS;
	c->max_reconnect = opts->max_reconnect == 0 ? DEFAULT_MAX_RECONN
	                                            : opts->max_reconnect;
	rc = SLIP_OK;
done:
	if (rc != SLIP_OK) {
		conn_destroy(c);
		return rc;
	}
	set_live(c, true);
	*out = c;
	return SLIP_OK;
}

/* Heartbeat / consumer-reset reports for running watches. */
static void err_cb(natsConnection *nc, natsSubscription *sub, natsStatus err,
                   void *closure)
{
	slip_nats_conn *c = closure;
	if (sub == NULL)
		return;
	pthread_mutex_lock(&cb_mu);
	for (slip_nats_watch_reg *r = is_live(c) ? c->watches : NULL; r != NULL;
	     r = r->next)
		if (r->sub == sub && err != NATS_SLOW_CONSUMER)
			atomic_fetch_add(&r->missed, 1);
	pthread_mutex_unlock(&cb_mu);
}

static int file_readable(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	fclose(f);
	return 1;
}

static int build_options(slip_nats_conn *c, natsOptions **out)
{
	natsOptions *o = NULL;
	natsStatus s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetServers(o, (const char **)c->urls, c->nurls);
	if (s == NATS_OK)
		s = natsOptions_SetName(o, "slipstream");
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, c->connect_timeout_ms);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(o, true);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, c->max_reconnect);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(o, c->reconnect_wait_ms);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectBufSize(o, 8 * 1024 * 1024);
	/* Never loop on a failed first connect: auth errors must surface. */
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(o, false, NULL, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(o, err_cb, c);
	if (s == NATS_OK && c->tls)
		s = natsOptions_SetSecure(o, true);
	if (s != NATS_OK)
		goto fail;
	if (c->tls_ca != NULL) {
		if (!file_readable(c->tls_ca) ||
		    natsOptions_LoadCATrustedCertificates(o, c->tls_ca) !=
		            NATS_OK) {
			natsOptions_Destroy(o);
			return slip_set_error(
			        SLIP_EINVAL,
			        "connect: cannot load tls_ca \"%s\"",
			        c->tls_ca);
		}
	}
	if (c->creds_jwt != NULL) {
		s = natsOptions_SetUserCredentialsCallbacks(o, jwt_cb, c,
		                                            sig_cb, c);
	} else if (c->creds_file != NULL) {
		if (!file_readable(c->creds_file)) {
			natsOptions_Destroy(o);
			return slip_set_error(SLIP_EINVAL,
			                      "connect: cannot read creds_file "
			                      "\"%s\"",
			                      c->creds_file);
		}
		s = natsOptions_SetUserCredentialsFromFiles(o, c->creds_file,
		                                            NULL);
	} else if (c->user != NULL) {
		/* Escaped: libnats puts them into CONNECT's JSON as is. */
		char *u = slip__nats_json_escape(c->user);
		char *p = c->pass != NULL ? slip__nats_json_escape(c->pass)
		                          : NULL;
		if (u == NULL || (c->pass != NULL && p == NULL))
			s = NATS_NO_MEMORY;
		else
			s = natsOptions_SetUserInfo(o, u, p);
		free(u);
		if (p != NULL) {
			memset(p, 0, strlen(p));
			free(p);
		}
	}
	if (s != NATS_OK)
		goto fail;
	*out = o;
	return SLIP_OK;
fail:
	natsOptions_Destroy(o);
	return slip__nats_fail(c, s, 0, "connect", c->urls[0]);
}

char *slip__nats_json_escape(const char *in)
{
	size_t len = strlen(in), k = 0;
	char *o = malloc(len * 6 + 1);
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch == '"' || ch == '\\') {
			o[k++] = '\\';
			o[k++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7F) {
			snprintf(o + k, 7, "\\u%04x", ch);
			k += 6;
		} else {
			o[k++] = (char)ch;
		}
	}
	o[k] = '\0';
	return o;
}

static bool is_auth_text(const char *t)
{
	return t != NULL && (strstr(t, "uthorization") != NULL ||
	                     strstr(t, "uthentication") != NULL ||
	                     strstr(t, "User Authentication Expired") != NULL ||
	                     strstr(t, "Permissions Violation") != NULL);
}

static int connect_error(slip_nats_conn *c, natsStatus s)
{
	const char *txt = slip__nats_text(s);
	const char *u = c->urls[0];
	if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED ||
	    is_auth_text(txt))
		return slip_set_error(SLIP_EAUTH, "connect \"%s\": %s", u, txt);
	if (s == NATS_TIMEOUT)
		return slip_set_error(
		        SLIP_ETIMEOUT,
		        "connect \"%s\": timed out after %d ms: %s", u,
		        c->connect_timeout_ms, txt);
	if (s == NATS_NO_MEMORY)
		return SLIP_ENOMEM;
	if (s == NATS_ERR && txt != NULL && strstr(txt, "creds") != NULL)
		return slip_set_error(SLIP_EINVAL, "connect \"%s\": %s", u,
		                      txt);
	return slip_set_error(SLIP_EIO, "connect \"%s\": %s", u, txt);
}

/* Without the INFO probe: servers the connected one told us about mean a
 * cluster (its INFO carried connect_urls). */
static bool has_peers(natsConnection *nc)
{
	char **servers = NULL;
	int count = 0;
	if (natsConnection_GetDiscoveredServers(nc, &servers, &count) !=
	    NATS_OK)
		return false;
	for (int i = 0; i < count; i++)
		free(servers[i]);
	free(servers);
	return count > 0;
}

int slip__nats_connect(void *conn)
{
	slip_nats_conn *c = conn;
	natsOptions *o = NULL;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsOptions jo;

	pthread_mutex_lock(&c->mu);
	slip_nats_state st = c->state;
	pthread_mutex_unlock(&c->mu);
	if (st == SLIP_NATS_CONNECTED)
		return SLIP_OK;
	if (st == SLIP_NATS_CLOSED)
		return slip_set_error(SLIP_ENOTCONNECTED,
		                      "connect: connection was closed");

	int rc = build_options(c, &o);
	if (rc != SLIP_OK)
		return rc;
	natsStatus s = natsConnection_Connect(&nc, o);
	natsOptions_Destroy(o);
	if (s != NATS_OK) {
		rc = connect_error(c, s);
		natsConnection_Destroy(nc);
		return rc;
	}
	jsOptions_Init(&jo);
	jo.Wait = c->op_timeout_ms;
	s = natsConnection_JetStream(&js, nc, &jo);
	if (s != NATS_OK) {
		rc = slip__nats_fail(c, s, 0, "connect", c->urls[0]);
		natsConnection_Destroy(nc);
		return rc;
	}
	char url[512] = "";
	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	slip__nats_probe_info(c, url, c->connect_timeout_ms);
	if (!c->version_known)
		c->clustered = has_peers(nc);
	slip__nats_probe_api_level(c, nc);
	c->max_payload = natsConnection_GetMaxPayload(nc);

	pthread_mutex_lock(&c->mu);
	if (c->state == SLIP_NATS_NEW) {
		c->nc = nc;
		c->js = js;
		c->state = SLIP_NATS_CONNECTED;
		nc = NULL;
		js = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	if (nc != NULL) {
		/* Lost a race with another connect() or close(). */
		jsCtx_Destroy(js);
		natsConnection_Destroy(nc);
	}
	return SLIP_OK;
}

void slip__nats_close(void *conn)
{
	slip_nats_conn *c = conn;
	pthread_mutex_lock(&c->mu);
	natsConnection *nc = c->state == SLIP_NATS_CONNECTED ? c->nc : NULL;
	c->state = SLIP_NATS_CLOSED;
	pthread_mutex_unlock(&c->mu);
	/* Close (not destroy): watches still hold subscriptions on it. */
	if (nc != NULL)
		natsConnection_Close(nc);
}

void slip__nats_conn_free(void *conn)
{
	slip_nats_conn *c = conn;
	if (c == NULL)
		return;
	slip__nats_close(c);
	set_live(c, false);
	jsCtx_Destroy(c->js);
	natsConnection_Destroy(c->nc);
	conn_destroy(c);
}

/* ------------------------------------------------------- helpers */

const char *slip__nats_text(natsStatus s)
{
	const char *t = nats_GetLastError(NULL);
	if (t == NULL || t[0] == '\0')
		return natsStatus_GetText(s);
	/* libnats prefixes "(conn.c:1905): "; users need only the reason. */
	if (t[0] == '(') {
		const char *end = strstr(t, "): ");
		if (end != NULL && end - t < 40)
			t = end + 3;
	}
	return t;
}

int slip__nats_use(slip_nats_conn *c, const char *op, natsConnection **nc,
                   jsCtx **js)
{
	pthread_mutex_lock(&c->mu);
	slip_nats_state st = c->state;
	if (nc != NULL)
		*nc = c->nc;
	if (js != NULL)
		*js = c->js;
	pthread_mutex_unlock(&c->mu);
	if (st == SLIP_NATS_CONNECTED)
		return SLIP_OK;
	return slip_set_error(SLIP_ENOTCONNECTED, "%s: %s", op,
	                      st == SLIP_NATS_NEW ? "not connected yet"
	                                          : "connection closed");
}

bool slip__nats_is_closed(slip_nats_conn *c)
{
	pthread_mutex_lock(&c->mu);
	bool closed = c->state == SLIP_NATS_CLOSED;
	pthread_mutex_unlock(&c->mu);
	return closed;
}

int slip__nats_fail(slip_nats_conn *c, natsStatus s, jsErrCode jerr,
                    const char *op, const char *what)
{
	const char *txt = slip__nats_text(s);
	if (s == NATS_NO_MEMORY)
		return SLIP_ENOMEM;
	if (s == NATS_CONNECTION_CLOSED || slip__nats_is_closed(c))
		return slip_set_error(SLIP_ENOTCONNECTED,
		                      "%s \"%s\": connection closed", op, what);
	if (s == NATS_TIMEOUT)
		return slip_set_error(SLIP_ETIMEOUT,
		                      "%s \"%s\": no answer within %d ms", op,
		                      what, c->op_timeout_ms);
	if (s == NATS_NO_RESPONDERS)
		return slip_set_error(SLIP_EIO,
		                      "%s \"%s\": no JetStream responder (is "
		                      "JetStream enabled?)",
		                      op, what);
	if (s == NATS_NOT_PERMITTED || is_auth_text(txt))
		return slip_set_error(SLIP_EAUTH, "%s \"%s\": %s", op, what,
		                      txt);
	if (jerr != 0)
		return slip_set_error(SLIP_EBACKEND, "%s \"%s\": %s (error %d)",
		                      op, what, txt, (int)jerr);
	return slip_set_error(SLIP_EIO, "%s \"%s\": %s", op, what, txt);
}

void slip__nats_watch_register(slip_nats_conn *c, slip_nats_watch_reg *r)
{
	pthread_mutex_lock(&cb_mu);
	r->next = c->watches;
	c->watches = r;
	pthread_mutex_unlock(&cb_mu);
}

void slip__nats_watch_unregister(slip_nats_conn *c, slip_nats_watch_reg *r)
{
	pthread_mutex_lock(&cb_mu);
	for (slip_nats_watch_reg **p = &c->watches; *p != NULL;
	     p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&cb_mu);
}
