/*
 * tests/support/jsutil.c — runs the node scripts of tests/js for the auth and
 * interop tests (posix_spawn with pipes, reads bounded by deadlines so a
 * stuck script fails the test instead of hanging it), and the small JSON,
 * base64 and hex helpers those tests need.
 */
/* memmem, pipe2 and nftw are GNU / X/Open interfaces. */
#define _GNU_SOURCE

#include "jsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SLIP_JS_DIR
#error "SLIP_JS_DIR must name tests/js"
#endif

extern char **environ;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ju_check_node(void)
{
	struct stat st;
	int rc;

	rc = system("node --version > /dev/null 2>&1");
	if (rc != 0) {
		fprintf(stderr, "jsutil: node is not on PATH (apt-get install "
		                "nodejs npm)\n");
		return -1;
	}
	if (stat(SLIP_JS_DIR "/node_modules/@nats-io/transport-node", &st) !=
	    0) {
		fprintf(stderr,
		        "jsutil: %s/node_modules is missing: run "
		        "`npm ci --prefix tests/js`\n",
		        SLIP_JS_DIR);
		return -1;
	}
	return 0;
}

int ju_spawn(ju_proc *p, const char *script, const char *const *args)
{
	posix_spawn_file_actions_t fa;
	char path[1024];
	const char *argv[32];
	int out[2] = {-1, -1}, in[2] = {-1, -1}, n = 0, rc = -1;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->out_fd = p->in_fd = -1;
	snprintf(path, sizeof(path), "%s/%s", SLIP_JS_DIR, script);
	argv[n++] = "node";
	argv[n++] = path;
	for (int i = 0; args && args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0)
		goto done;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	rc = posix_spawnp(&p->pid, "node", &fa, NULL, (char *const *)argv,
	                  environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "jsutil: cannot run node %s\n", path);
		p->pid = -1;
		rc = -1;
		goto done;
	}
	p->out_fd = out[0];
	p->in_fd = in[1];
	out[0] = in[1] = -1;
	signal(SIGPIPE, SIG_IGN);
done:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (in[i] >= 0)
			close(in[i]);
	}
	return rc;
}

int ju_readline(ju_proc *p, char *line, size_t cap, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		if (nl) {
			size_t n = (size_t)(nl - p->buf);
			snprintf(line, cap, "%.*s", (int)n, p->buf);
			memmove(p->buf, nl + 1, p->len - n - 1);
			p->len -= n + 1;
			return 1;
		}
		if (p->out_fd < 0 || p->len == sizeof(p->buf))
			return -1;
		long long left = deadline - now_ms();
		struct pollfd pf = {p->out_fd, POLLIN, 0};
		if (left <= 0)
			return 0;
		int r = poll(&pf, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return 0;
		ssize_t got = read(p->out_fd, p->buf + p->len,
		                   sizeof(p->buf) - p->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			close(p->out_fd);
			p->out_fd = -1;
			if (p->len == 0)
				return -1;
			/* A last line without a newline. */
			p->buf[p->len == sizeof(p->buf) ? p->len - 1 : p->len] =
			        '\n';
			p->len += p->len < sizeof(p->buf);
		} else {
			p->len += (size_t)got;
		}
	}
}

int ju_writeline(ju_proc *p, const char *line)
{
	size_t len = strlen(line);

	if (p->in_fd < 0)
		return -1;
	if (write(p->in_fd, line, len) != (ssize_t)len ||
	    write(p->in_fd, "\n", 1) != 1)
		return -1;
	return 0;
}

int ju_finish(ju_proc *p, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int st = 0;

	if (p->in_fd >= 0) {
		close(p->in_fd);
		p->in_fd = -1;
	}
	if (p->pid > 0) {
		while (waitpid(p->pid, &st, WNOHANG) == 0) {
			if (now_ms() >= deadline) {
				fprintf(stderr,
				        "jsutil: node %d did not exit; "
				        "killing it\n",
				        (int)p->pid);
				kill(p->pid, SIGKILL);
				waitpid(p->pid, &st, 0);
				st = -1;
				break;
			}
			usleep(10000);
		}
	}
	p->pid = -1;
	if (p->out_fd >= 0) {
		close(p->out_fd);
		p->out_fd = -1;
	}
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int ju_run(char **out, const char *script, const char *const *args,
           int timeout_ms)
{
	ju_proc *p = calloc(1, sizeof(*p));
	long long deadline = now_ms() + timeout_ms;
	char *acc = NULL, *line = malloc(1 << 16);
	size_t len = 0;
	int rc = -1;

	*out = NULL;
	if (!p || !line || ju_spawn(p, script, args) != 0)
		goto done;
	close(p->in_fd);
	p->in_fd = -1;
	for (;;) {
		long long left = deadline - now_ms();
		int r = ju_readline(p, line, 1 << 16, left > 0 ? (int)left : 0);
		if (r <= 0) {
			if (r == 0)
				fprintf(stderr, "jsutil: %s timed out\n",
				        script);
			break;
		}
		size_t n = strlen(line);
		char *grown = realloc(acc, len + n + 2);
		if (!grown)
			break;
		acc = grown;
		memcpy(acc + len, line, n);
		acc[len + n] = '\n';
		len += n + 1;
		acc[len] = '\0';
	}
	rc = ju_finish(p, deadline > now_ms() ? (int)(deadline - now_ms()) : 1);
	if (!acc)
		acc = calloc(1, 1);
	*out = acc;
	acc = NULL;
	if (rc != 0)
		fprintf(stderr, "jsutil: node %s exited with %d\n", script, rc);
done:
	free(acc);
	free(line);
	free(p);
	return rc == 0 ? 0 : -1;
}

bool ju_json_str(const char *line, const char *field, char *buf, size_t cap)
{
	char pat[128];
	const char *s;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":\"", field);
	s = strstr(line, pat);
	if (!s || cap == 0)
		return false;
	s += strlen(pat);
	while (*s && *s != '"' && n + 1 < cap) {
		char c = *s++;
		if (c == '\\') {
			c = *s++;
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c == 'u') {
				unsigned v = 0;
				if (sscanf(s, "%4x", &v) != 1)
					return false;
				c = (char)v;
				s += 4;
			} else if (c == '\0')
				return false;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	return *s == '"';
}

bool ju_json_u64(const char *line, const char *field, uint64_t *out)
{
	char pat[128];
	const char *s;
	char *end;

	snprintf(pat, sizeof(pat), "\"%s\":", field);
	s = strstr(line, pat);
	if (!s)
		return false;
	s += strlen(pat);
	errno = 0;
	*out = strtoull(s, &end, 10);
	return end != s && errno == 0;
}

char *ju_base64(const void *data, size_t len)
{
	static const char tbl[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	        "vwxyz0123456789+/";
	const uint8_t *in = data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = tbl[(v >> 18) & 63];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? tbl[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

void ju_hex(char *out, const void *data, size_t len)
{
	const uint8_t *in = data;
	for (size_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
	out[2 * len] = '\0';
}

long ju_unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (long)(n / 2);
}

char *ju_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1))) {
		size_t n = fread(buf, 1, (size_t)size, f);
		buf[n] = '\0';
		if (len)
			*len = n;
	}
	fclose(f);
	return buf;
}
