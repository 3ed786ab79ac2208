/*
 * tests/cluster/cf_writer.c — the writer process of the cluster
 * fault tests and its control from the test.
 *
 * The writer is the only writer of keys k.000 … k.199. It loops over
 * random operations (put, create, delete, CAS update with retry on
 * conflict) and does not move on until each one is acknowledged: a failed
 * attempt (timeout, no leader, connection lost) may still have landed, so
 * it is retried, and a create or update that then meets its own value
 * already there counts as acknowledged at that value's revision. Because
 * each value is unique and nothing else writes these keys, the last logged
 * operation per key is exactly what the cluster must hold.
 *
 * Log line per acknowledged write: "<op> <key> <rev> <value>\n", op one of
 * P C U D (D has rev 0 and value "-"). Written with write(2) on an
 * O_APPEND file, so the test can count lines while the writer runs.
 */
#include "cf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ACK_DEADLINE_MS 60000

typedef struct wstate {
	slip_store *st;
	slip_writer *w;
	slip_reader *r;
	int log_fd;
	int ctl_fd;
	bool live[CF_KEYS];
	unsigned long seq;
	unsigned long retries;   /* attempts that failed and were retried */
	unsigned long conflicts; /* CAS conflicts (EREVISION) retried */
	unsigned long landed;    /* failed attempts found landed on retry */
	unsigned long acked;
	unsigned rng;
	bool no_cas; /* puts and deletes only (no conditional writes) */
} wstate;

static unsigned next_rand(wstate *s)
{
	s->rng = s->rng * 1103515245u + 12345u;
	return (s->rng >> 8) & 0xffffffu;
}

static int log_ack(wstate *s, char op, const char *key, uint64_t rev,
                   const char *value)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%c %s %llu %s\n", op, key,
	                 (unsigned long long)rev, value);
	if (n <= 0 || (size_t)n >= sizeof(line) ||
	    write(s->log_fd, line, (size_t)n) != n)
		return -1;
	s->acked++;
	return 0;
}

/* True when the test closed its end of the control pipe. */
static bool stop_asked(const wstate *s)
{
	struct pollfd p = {s->ctl_fd, POLLIN, 0};
	return poll(&p, 1, 0) > 0;
}

/* Latest entry of @p key with tombstones, retried past transient errors. */
static int read_entry(wstate *s, const char *key, slip_entry **e,
                      long long deadline)
{
	int rc;
	for (;;) {
		rc = slip_reader_entry(s->r, key, e);
		if (rc == SLIP_OK || cf_now_ms() >= deadline)
			return rc;
		s->retries++;
		cf_sleep_ms(50);
	}
}

static bool holds(const slip_entry *e, const char *value)
{
	return e != NULL && e->op == SLIP_OP_PUT &&
	       e->value_len == strlen(value) &&
	       memcmp(e->value, value, e->value_len) == 0;
}

static int do_put(wstate *s, const char *key, const char *val, uint64_t *rev,
                  long long deadline)
{
	slip_version v;
	int rc;
	while ((rc = slip_writer_put(s->w, key, val, strlen(val), &v)) !=
	       SLIP_OK) {
		if (rc == SLIP_EINVAL || cf_now_ms() >= deadline)
			return rc;
		s->retries++;
		cf_sleep_ms(50);
	}
	return slip_version_to_u64(&v, rev);
}

static int do_delete(wstate *s, const char *key, long long deadline)
{
	int rc;
	while ((rc = slip_writer_delete(s->w, key)) != SLIP_OK) {
		if (rc == SLIP_EINVAL || cf_now_ms() >= deadline)
			return rc;
		s->retries++;
		cf_sleep_ms(50);
	}
	return SLIP_OK;
}

/*
 * Create on a key the writer knows is absent. EEXISTS can only mean an
 * earlier attempt of this very create landed (or a stale read follows):
 * read until the key shows our value.
 */
static int do_create(wstate *s, const char *key, const char *val, uint64_t *rev,
                     long long deadline)
{
	slip_version v;
	slip_entry *e = NULL;
	bool failed_before = false;
	int rc;

	for (;;) {
		rc = slip_writer_create(s->w, key, val, strlen(val), &v);
		if (rc == SLIP_OK)
			return slip_version_to_u64(&v, rev);
		if (rc == SLIP_EEXISTS) {
			rc = read_entry(s, key, &e, deadline);
			if (rc == SLIP_OK && holds(e, val)) {
				rc = slip_version_to_u64(&e->version, rev);
				slip_entry_free(e);
				s->landed += failed_before;
				return rc;
			}
			slip_entry_free(e);
			e = NULL;
		} else {
			failed_before = true;
		}
		if (rc == SLIP_EINVAL || cf_now_ms() >= deadline)
			return rc == SLIP_OK ? SLIP_ETIMEOUT : rc;
		s->retries++;
		cf_sleep_ms(50);
	}
}

/*
 * CAS update: read the entry, update against its revision; on conflict
 * read again and retry. A conflict whose current value is ours means an
 * earlier attempt landed.
 */
static int do_update(wstate *s, const char *key, const char *val, uint64_t *rev,
                     long long deadline)
{
	slip_version v;
	slip_entry *e = NULL;
	int rc;

	for (;;) {
		rc = read_entry(s, key, &e, deadline);
		if (rc != SLIP_OK)
			return rc;
		if (holds(e, val)) {
			rc = slip_version_to_u64(&e->version, rev);
			slip_entry_free(e);
			s->landed++;
			return rc;
		}
		if (e == NULL) {
			/*
			 * The key is live (we wrote it): a replica that has
			 * not caught up answered the read. Read again.
			 */
			if (cf_now_ms() >= deadline)
				return SLIP_ETIMEOUT;
			s->retries++;
			cf_sleep_ms(20);
			continue;
		}
		rc = slip_writer_update(s->w, key, val, strlen(val),
		                        &e->version, &v);
		slip_entry_free(e);
		e = NULL;
		if (rc == SLIP_OK)
			return slip_version_to_u64(&v, rev);
		if (rc == SLIP_EREVISION)
			s->conflicts++;
		else
			s->retries++;
		if (rc == SLIP_EINVAL || cf_now_ms() >= deadline)
			return rc;
		cf_sleep_ms(rc == SLIP_EREVISION ? 5 : 50);
	}
}

/* One random operation, retried until acknowledged, then logged. */
static int one_op(wstate *s)
{
	char key[16], val[64];
	unsigned k = next_rand(s) % CF_KEYS, pick = next_rand(s) % 100;
	long long deadline = cf_now_ms() + ACK_DEADLINE_MS;
	uint64_t rev = 0;
	char op;
	int rc;

	snprintf(key, sizeof(key), "k.%03u", k);
	snprintf(val, sizeof(val), "w%ld-%lu", (long)getpid(), ++s->seq);
	if (s->no_cas && pick >= 15)
		pick = 100; /* plain put */
	if (pick < 15 && s->live[k]) {
		op = 'D';
		rc = do_delete(s, key, deadline);
	} else if (!s->live[k] && pick < 50) {
		op = 'C';
		rc = do_create(s, key, val, &rev, deadline);
	} else if (s->live[k] && pick < 65) {
		op = 'U';
		rc = do_update(s, key, val, &rev, deadline);
	} else {
		op = 'P';
		rc = do_put(s, key, val, &rev, deadline);
	}
	if (rc != SLIP_OK) {
		fprintf(stderr,
		        "writer: %c %s not acknowledged in %d ms: %s (%s)\n",
		        op, key, ACK_DEADLINE_MS, slip_err_name(rc),
		        slip_last_error());
		return -1;
	}
	s->live[k] = op != 'D';
	return log_ack(s, op, key, rev, op == 'D' ? "-" : val);
}

int cf_writer_main(int argc, char **argv)
{
	wstate s;
	slip_conn *c = NULL;
	int rc = 2;

	if (argc < 5)
		return 2;
	memset(&s, 0, sizeof(s));
	s.rng = (unsigned)getpid();
	s.ctl_fd = atoi(argv[4]);
	s.no_cas = getenv("CF_NO_CAS") != NULL;
	s.log_fd =
	        open(argv[3], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	c = slip_natsd_connect(argv[2]);
	if (s.log_fd < 0 || c == NULL ||
	    slip_store_open(&s.st, c, CF_BUCKET) != SLIP_OK) {
		fprintf(stderr, "writer: cannot start: %s\n",
		        slip_last_error());
		goto done;
	}
	s.w = slip_store_writer(s.st);
	s.r = slip_store_reader(s.st);
	while (!stop_asked(&s)) {
		if (one_op(&s) != 0)
			goto done;
		/* A steady, modest rate: history stays within 64 per key. */
		cf_sleep_ms(2);
	}
	rc = 0;
done:
	fprintf(stderr,
	        "  writer: %lu acknowledged, %lu failed attempts retried, "
	        "%lu found landed, %lu CAS conflicts retried\n",
	        s.acked, s.retries, s.landed, s.conflicts);
	slip_store_free(s.st);
	slip_conn_free(c);
	if (s.log_fd >= 0)
		close(s.log_fd);
	return rc;
}

/* ------------------------------------------------------- test's side */

int cf_writer_start(cf_writer *w, const char *self, const char *urls,
                    const char *dir)
{
	int p[2];
	char fdtxt[16];
	char *args[6];

	memset(w, 0, sizeof(*w));
	w->pid = -1;
	w->ctl = -1;
	snprintf(w->log, sizeof(w->log), "%s/acked.log", dir);
	if (pipe(p) != 0)
		return -1;
	/* Only the writer may hold the read end, only we the write end. */
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	snprintf(fdtxt, sizeof(fdtxt), "%d", p[0]);
	args[0] = (char *)self;
	args[1] = (char *)"--writer";
	args[2] = (char *)urls;
	args[3] = w->log;
	args[4] = fdtxt;
	args[5] = NULL;
	w->pid = fork();
	if (w->pid == 0) {
		execv(self, args);
		_exit(127);
	}
	close(p[0]);
	if (w->pid < 0) {
		close(p[1]);
		return -1;
	}
	w->ctl = p[1];
	return 0;
}

size_t cf_writer_acked(const cf_writer *w)
{
	char buf[65536];
	size_t lines = 0;
	ssize_t n;
	int fd = open(w->log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

int cf_writer_wait_acked(const cf_writer *w, size_t n, int timeout_ms)
{
	long long deadline = cf_now_ms() + timeout_ms;

	while (cf_writer_acked(w) < n) {
		if (cf_now_ms() >= deadline || kill(w->pid, 0) != 0 ||
		    waitpid(w->pid, NULL, WNOHANG) == w->pid)
			return -1;
		cf_sleep_ms(50);
	}
	return 0;
}

int cf_writer_stop(cf_writer *w, int timeout_ms)
{
	long long deadline = cf_now_ms() + timeout_ms;
	int status = 0;
	pid_t r;

	if (w->pid <= 0)
		return -1;
	if (w->ctl >= 0) {
		close(w->ctl);
		w->ctl = -1;
	}
	while ((r = waitpid(w->pid, &status, WNOHANG)) == 0 &&
	       cf_now_ms() < deadline)
		cf_sleep_ms(50);
	if (r == 0) {
		fprintf(stderr, "writer %d did not stop in %d ms: killed\n",
		        (int)w->pid, timeout_ms);
		kill(w->pid, SIGKILL);
		waitpid(w->pid, &status, 0);
		w->pid = -1;
		return -1;
	}
	w->pid = -1;
	if (r < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
