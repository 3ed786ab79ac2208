/*
 * tests/support/run.c — runs a child process with posix_spawn and captures
 * its output (poll over stdin/stdout/stderr pipes, killed at a deadline),
 * and a strict little JSON reader for checking `--json` lines.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* -------------------------------------------------------------------- run */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct buf {
	char *p;
	size_t len, cap;
} buf;

static int buf_add(buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* The environment for the child: ours minus NATS_URL / SLIPSTREAM_*. */
static char **child_env(const char **extra)
{
	size_t n = 0, k = 0, m = 0;
	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	char **env = calloc(n + m + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "NATS_URL=", 9) != 0 &&
		    strncmp(environ[i], "SLIPSTREAM_", 11) != 0)
			env[k++] = environ[i];
	for (size_t i = 0; i < m; i++)
		env[k++] = (char *)extra[i];
	return env;
}

/* Moves data between the pipes and the buffers until both outputs close. */
static int pump(run_result *r, int in_fd, int out_fd, int err_fd,
                const char *in, size_t in_len, pid_t pid, int timeout_ms)
{
	buf out = {0}, err = {0};
	size_t in_off = 0;
	long long deadline = now_ms() + timeout_ms;
	char chunk[65536];

	if (in_fd >= 0 && in_len == 0) {
		close(in_fd);
		in_fd = -1;
	}
	while (out_fd >= 0 || err_fd >= 0) {
		struct pollfd p[3] = {{out_fd, POLLIN, 0},
		                      {err_fd, POLLIN, 0},
		                      {in_fd, POLLOUT, 0}};
		long long left = deadline - now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			r->timed_out = true;
			break;
		}
		if (poll(p, 3, (int)(left > 200 ? 200 : left)) < 0 &&
		    errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			int *fd = i == 0 ? &out_fd : &err_fd;
			if (*fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			ssize_t got = read(*fd, chunk, sizeof(chunk));
			if (got > 0)
				buf_add(i == 0 ? &out : &err, chunk,
				        (size_t)got);
			else if (got == 0 || errno != EINTR) {
				close(*fd);
				*fd = -1;
			}
		}
		if (in_fd >= 0 && (p[2].revents & (POLLOUT | POLLERR))) {
			ssize_t w = write(in_fd, in + in_off, in_len - in_off);
			if (w > 0)
				in_off += (size_t)w;
			if (w < 0 || in_off == in_len) {
				close(in_fd);
				in_fd = -1;
			}
		}
	}
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	buf_add(&out, "", 0);
	buf_add(&err, "", 0);
	r->out = out.p;
	r->out_len = out.len;
	r->err = err.p;
	return 0;
}

int run_argv(run_result *r, const char *in, size_t in_len, const char **env,
             char *const *argv, int timeout_ms)
{
	int pin[2], pout[2], perr[2], st = 0;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	char **cenv = child_env(env);

	memset(r, 0, sizeof(*r));
	r->code = -1;
	if (!cenv || pipe(pin) || pipe(pout) || pipe(perr)) {
		free(cenv);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
	for (int i = 0; i < 2; i++) {
		posix_spawn_file_actions_addclose(&fa, pin[i]);
		posix_spawn_file_actions_addclose(&fa, pout[i]);
		posix_spawn_file_actions_addclose(&fa, perr[i]);
	}
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, cenv);
	posix_spawn_file_actions_destroy(&fa);
	free(cenv);
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	if (rc != 0) {
		close(pin[1]);
		close(pout[0]);
		close(perr[0]);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	pump(r, in ? pin[1] : -1, pout[0], perr[0], in, in ? in_len : 0, pid,
	     timeout_ms);
	if (!in)
		close(pin[1]);
	if (r->timed_out)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

void run_free(run_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------- JSON */

typedef struct jp {
	const char *p, *end;
} jp;

static void ws(jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	                         *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(jp *j, unsigned *out)
{
	unsigned v = 0;
	if (j->end - j->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = *j->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void utf8_put(buf *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 63)), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 63));
		u[2] = (char)(0x80 | (cp & 63)), n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 63));
		u[2] = (char)(0x80 | ((cp >> 6) & 63));
		u[3] = (char)(0x80 | (cp & 63)), n = 4;
	}
	buf_add(b, u, n);
}

static int escape(jp *j, buf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	unsigned cp, lo;
	char c = *j->p++;
	const char *k = strchr(from, c);
	if (c != 'u') {
		if (!k || c == '\0')
			return -1;
		return buf_add(b, &to[k - from], 1);
	}
	if (hex4(j, &cp))
		return -1;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return -1;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
			return -1;
		j->p += 2;
		if (hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return -1;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	utf8_put(b, cp);
	return 0;
}

static int string(jp *j, buf *b)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	buf_add(b, "", 0);
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end || escape(j, b))
				return -1;
		} else {
			buf_add(b, j->p++, 1);
		}
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	return 0;
}

static int number(jp *j, double *out)
{
	const char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return -1;
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return -1;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return -1;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	char tmp[64];
	size_t n = (size_t)(j->p - s);
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*out = strtod(tmp, NULL);
	return 0;
}

static int value(jp *j, jmember *m, int depth);

static int literal(jp *j, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

/* An object or array nested in a member: checked, not kept. */
static int container(jp *j, bool obj, int depth)
{
	char close = obj ? '}' : ']';
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		jmember tmp;
		memset(&tmp, 0, sizeof(tmp));
		if (obj) {
			buf name = {0};
			int rc = string(j, &name);
			free(name.p);
			ws(j);
			if (rc || j->p >= j->end || *j->p++ != ':')
				return -1;
		}
		int rc = value(j, &tmp, depth + 1);
		free(tmp.str);
		if (rc)
			return -1;
		ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == ',') {
			j->p++;
			ws(j);
			continue;
		}
		if (*j->p++ != close)
			return -1;
		return 0;
	}
}

static int value(jp *j, jmember *m, int depth)
{
	ws(j);
	if (j->p >= j->end || depth > 32)
		return -1;
	switch (*j->p) {
	case '"': {
		buf b = {0};
		if (string(j, &b)) {
			free(b.p);
			return -1;
		}
		m->type = J_STR;
		m->str = b.p;
		m->len = b.len;
		return 0;
	}
	case '{':
	case '[':
		m->type = *j->p == '{' ? J_OBJ : J_ARR;
		return container(j, *j->p == '{', depth);
	case 't':
		m->type = J_BOOL, m->boolean = true;
		return literal(j, "true");
	case 'f':
		m->type = J_BOOL, m->boolean = false;
		return literal(j, "false");
	case 'n':
		m->type = J_NULL;
		return literal(j, "null");
	default:
		m->type = J_NUM;
		return number(j, &m->num);
	}
}

static int add_member(jobj *o, jmember *m)
{
	jmember *nm = realloc(o->m, (o->count + 1) * sizeof(*nm));
	if (!nm)
		return -1;
	o->m = nm;
	o->m[o->count++] = *m;
	return 0;
}

int json_parse_line(jobj *out, const char *line, size_t len)
{
	jp j = {line, line + len};
	memset(out, 0, sizeof(*out));
	ws(&j);
	if (j.p >= j.end || *j.p++ != '{')
		return -1;
	ws(&j);
	if (j.p < j.end && *j.p == '}') {
		j.p++;
		goto tail;
	}
	for (;;) {
		jmember m;
		buf name = {0};
		memset(&m, 0, sizeof(m));
		ws(&j);
		if (string(&j, &name))
			goto bad_name;
		ws(&j);
		if (j.p >= j.end || *j.p++ != ':' || value(&j, &m, 1))
			goto bad_name;
		m.name = name.p;
		if (json_get(out, m.name) || add_member(out, &m)) {
			free(m.str);
			free(m.name);
			goto bad;
		}
		ws(&j);
		if (j.p < j.end && *j.p == ',') {
			j.p++;
			continue;
		}
		if (j.p < j.end && *j.p == '}') {
			j.p++;
			break;
		}
		goto bad;
	bad_name:
		free(name.p);
		free(m.str);
		goto bad;
	}
tail:
	ws(&j);
	if (j.p == j.end)
		return 0;
bad:
	json_free(out);
	return -1;
}

void json_free(jobj *o)
{
	for (size_t i = 0; i < o->count; i++) {
		free(o->m[i].name);
		free(o->m[i].str);
	}
	free(o->m);
	memset(o, 0, sizeof(*o));
}

const jmember *json_get(const jobj *o, const char *name)
{
	for (size_t i = 0; i < o->count; i++)
		if (strcmp(o->m[i].name, name) == 0)
			return &o->m[i];
	return NULL;
}

const char *json_str(const jobj *o, const char *name)
{
	const jmember *m = json_get(o, name);
	return m && m->type == J_STR ? m->str : "";
}

double json_num(const jobj *o, const char *name)
{
	const jmember *m = json_get(o, name);
	return m && m->type == J_NUM ? m->num : -1;
}

long b64_decode(unsigned char *out, const char *in)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in);
	long o = 0;
	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		unsigned v = 0;
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			const char *p = in[i + k] == '='
			                        ? NULL
			                        : strchr(tab, in[i + k]);
			if (in[i + k] == '=')
				pad++;
			else if (!p || in[i + k] == '\0' || pad)
				return -1;
			v = (v << 6) | (p ? (unsigned)(p - tab) : 0);
		}
		out[o++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)v;
	}
	return o;
}
