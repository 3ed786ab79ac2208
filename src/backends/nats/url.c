/*
 * src/backends/nats/url.c — input parsing for the NATS backend, done before
 * any I/O: the comma-separated server URL list (scheme, user:pass@, host,
 * port), the JWT and seed inside .creds text, and the one piece of I/O that
 * libnats 3.4.1 cannot do for us: reading the server's INFO line to learn
 * its version and whether it is clustered.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include "nats_backend.h"

#define URL_MAX 1024

static char *dup_range(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static bool host_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
}

/* Validates "host[:port]" (host may be [v6]); fills host/port slices. */
static int parse_hostport(const char *s, size_t n, const char **host,
                          size_t *hlen, long *port)
{
	size_t i = 0;
	*port = 4222;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL || close == s + 1)
			return -1;
		for (const char *p = s + 1; p < close; p++)
			if (!(host_char_ok(*p) || *p == ':'))
				return -1;
		*host = s;
		*hlen = (size_t)(close - s) + 1;
		i = *hlen;
	} else {
		while (i < n && s[i] != ':') {
			if (!host_char_ok(s[i]))
				return -1;
			i++;
		}
		if (i == 0)
			return -1;
		*host = s;
		*hlen = i;
	}
	if (i == n)
		return 0;
	if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
		return -1;
	long v = 0;
	for (size_t j = i + 1; j < n; j++) {
		if (s[j] < '0' || s[j] > '9')
			return -1;
		v = v * 10 + (s[j] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* Parses one URL; appends its clean form to c->urls. */
static int parse_one(slip_nats_conn *c, const char *u, size_t n, int index)
{
	const char *rest;
	bool tls;
	if (n > 7 && strncmp(u, "nats://", 7) == 0) {
		rest = u + 7;
		tls = false;
	} else if (n > 6 && strncmp(u, "tls://", 6) == 0) {
		rest = u + 6;
		tls = true;
	} else {
		return slip_set_error(
		        SLIP_EINVAL,
		        "connect: URL #%d: scheme must be nats:// "
		        "or tls://",
		        index);
	}
	size_t rn = n - (size_t)(rest - u);
	/* A trailing "/" is tolerated; any other path is not. */
	if (rn > 0 && rest[rn - 1] == '/')
		rn--;
	if (memchr(rest, '/', rn) != NULL || memchr(rest, '?', rn) != NULL)
		return slip_set_error(
		        SLIP_EINVAL, "connect: URL #%d: a NATS URL has no path",
		        index);
	const char *at = memchr(rest, '@', rn);
	if (at != NULL) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon == NULL || colon == rest)
			return slip_set_error(
			        SLIP_EINVAL,
			        "connect: URL #%d: credentials must "
			        "be user:password@",
			        index);
		if (c->user == NULL) {
			c->user = dup_range(rest, (size_t)(colon - rest));
			c->pass =
			        dup_range(colon + 1, (size_t)(at - colon - 1));
			if (c->user == NULL || c->pass == NULL)
				return SLIP_ENOMEM;
		}
		rn -= (size_t)(at + 1 - rest);
		rest = at + 1;
	}
	const char *host;
	size_t hlen;
	long port;
	if (parse_hostport(rest, rn, &host, &hlen, &port) != 0)
		return slip_set_error(SLIP_EINVAL,
		                      "connect: URL #%d: expected host[:port] "
		                      "with a port in 1..65535",
		                      index);
	if (index > 1 && tls != c->tls)
		return slip_set_error(
		        SLIP_EINVAL,
		        "connect: URL #%d: do not mix nats:// and "
		        "tls:// in one list",
		        index);
	c->tls = tls;
	char buf[URL_MAX];
	int len = snprintf(buf, sizeof(buf), "%s://%.*s:%ld",
	                   tls ? "tls" : "nats", (int)hlen, host, port);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return slip_set_error(SLIP_EINVAL, "connect: URL #%d: too long",
		                      index);
	char **grown =
	        realloc(c->urls, sizeof(char *) * (size_t)(c->nurls + 1));
	if (grown == NULL)
		return SLIP_ENOMEM;
	c->urls = grown;
	c->urls[c->nurls] = dup_range(buf, (size_t)len);
	if (c->urls[c->nurls] == NULL)
		return SLIP_ENOMEM;
	c->nurls++;
	return SLIP_OK;
}

int slip__nats_parse_urls(slip_nats_conn *c, const char *list)
{
	const char *p = list;
	int index = 1;
	if (list == NULL || *list == '\0')
		return slip_set_error(SLIP_EINVAL, "connect: empty URL");
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		/* Spaces around list items are allowed ("a, b"). */
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0)
			return slip_set_error(SLIP_EINVAL,
			                      "connect: URL #%d is empty",
			                      index);
		if (n >= URL_MAX)
			return slip_set_error(SLIP_EINVAL,
			                      "connect: URL #%d: too long",
			                      index);
		int rc = parse_one(c, p, n, index);
		if (rc != SLIP_OK)
			return rc;
		if (comma == NULL)
			break;
		p = comma + 1;
		index++;
	}
	return SLIP_OK;
}

/* ------------------------------------------------------------- creds */

/* Body of the block after the line holding @p marker, trimmed. */
static char *creds_block(const char *text, size_t len, const char *marker)
{
	const char *end = text + len;
	size_t mlen = strlen(marker);
	const char *p = text;
	while (p + mlen <= end) {
		if (memcmp(p, marker, mlen) == 0)
			break;
		p++;
	}
	if (p + mlen > end)
		return NULL;
	p = memchr(p, '\n', (size_t)(end - p));
	if (p == NULL)
		return NULL;
	while (p < end && (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t'))
		p++;
	const char *q = p;
	/* A JWT is base64url, so '-' belongs to it: the block ends with
	 * its line. */
	while (q < end && *q != '\n' && *q != '\r' && *q != ' ' && *q != '\t')
		q++;
	if (q == p)
		return NULL;
	return dup_range(p, (size_t)(q - p));
}

int slip__nats_parse_creds(const char *text, size_t len, char **jwt,
                           char **seed)
{
	*jwt = creds_block(text, len, "BEGIN NATS USER JWT");
	*seed = creds_block(text, len, "BEGIN USER NKEY SEED");
	if (*jwt != NULL && *seed != NULL && (*seed)[0] == 'S' &&
	    (*seed)[1] == 'U')
		return SLIP_OK;
	free(*jwt);
	if (*seed != NULL) {
		slip__wipe(*seed, strlen(*seed));
		free(*seed);
	}
	*jwt = NULL;
	*seed = NULL;
	return slip_set_error(
	        SLIP_EINVAL, "connect: creds: not a .creds file (needs a "
	                     "NATS USER JWT block and a USER NKEY SEED block)");
}

/* -------------------------------------------------------------- INFO */

static int dial(const char *host, const char *port, int timeout_ms)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
		return -1;
	int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	if (fd < 0)
		goto done;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, res->ai_addr, res->ai_addrlen) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		fd = -1;
		goto done;
	}
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	if (poll(&pfd, 1, timeout_ms) != 1) {
		close(fd);
		fd = -1;
	}
done:
	freeaddrinfo(res);
	return fd;
}

/* Reads until the first CRLF (the INFO line) or timeout. */
static size_t read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t n = 0;
	int64_t deadline = slip__now_ns() + (int64_t)timeout_ms * 1000000;
	while (n + 1 < cap) {
		int64_t left = (deadline - slip__now_ns()) / 1000000;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
			break;
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n") != NULL)
			break;
	}
	buf[n] = '\0';
	return n;
}

void slip__nats_probe_info(slip_nats_conn *c, const char *url, int timeout_ms)
{
	char host[256], port[8];
	const char *hp = strstr(url, "://");
	hp = hp != NULL ? hp + 3 : url;
	const char *at = strchr(hp, '@');
	if (at != NULL)
		hp = at + 1;
	const char *colon = strrchr(hp, ':');
	if (colon == NULL || (size_t)(colon - hp) >= sizeof(host))
		return;
	size_t hlen = (size_t)(colon - hp);
	if (hp[0] == '[' && hlen >= 2) {
		hp++;
		hlen -= 2;
	}
	memcpy(host, hp, hlen);
	host[hlen] = '\0';
	snprintf(port, sizeof(port), "%.5s", colon + 1);

	int fd = dial(host, port, timeout_ms);
	if (fd < 0)
		return;
	char line[8192];
	read_line(fd, line, sizeof(line), timeout_ms);
	close(fd);
	if (strncmp(line, "INFO ", 5) != 0)
		return;
	const char *v = strstr(line, "\"version\":\"");
	if (v != NULL) {
		v += 11;
		size_t i = 0;
		while (v[i] != '"' && v[i] != '\0' &&
		       i + 1 < sizeof(c->version))
			i++;
		memcpy(c->version, v, i);
		c->version[i] = '\0';
		if (sscanf(c->version, "%d.%d.%d", &c->ver_major, &c->ver_minor,
		           &c->ver_patch) == 3)
			c->version_known = true;
	}
	/* "cluster" appears only when the server has routes configured. */
	c->clustered = strstr(line, "\"cluster\":") != NULL;
}
