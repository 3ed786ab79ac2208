/*
 * tests/support/natsd_main.c — slip-natsd, the nats-server harness as a
 * command for shell scripts and manual runs:
 *
 *   slip-natsd [--cluster N] [--conf FILE] [--no-stdin]
 *
 * Starts one JetStream server (or an N-node cluster) on free loopback ports,
 * prints the URL (comma-separated URLs for a cluster) as the first line on
 * stdout, then "dir=<temp dir>" and "pid=<pid>" lines per node, and "ready".
 * It runs until stdin reaches end-of-file (unless --no-stdin) or it gets
 * SIGTERM/SIGINT/SIGHUP, then stops the server(s) and removes the temp
 * dirs. Exit status 0, or 1 when a server could not start.
 */
#include "natsd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(void)
{
	fputs("usage: slip-natsd [--cluster N] [--conf FILE] [--no-stdin]\n"
	      "  Prints the server URL(s) on the first line of stdout; stops\n"
	      "  the server(s) when stdin closes or on SIGTERM/SIGINT.\n",
	      stderr);
}

/* Reads FILE whole (extra config for the server); NULL on failure. */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (buf) {
			size_t n = fread(buf, 1, (size_t)size, f);
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* Blocks until stdin ends (when watched) or a stop signal arrives. */
static void wait_for_end(int watch_stdin)
{
	char buf[256];

	while (!g_stop) {
		struct pollfd p = {0, POLLIN, 0};
		int n = poll(&p, watch_stdin ? 1 : 0, 200);
		if (n < 0 && errno != EINTR)
			return;
		if (n > 0) {
			ssize_t r = read(0, buf, sizeof(buf));
			if (r <= 0)
				return;
		}
	}
}

static void print_node(const slip_natsd *s)
{
	printf("dir=%s\npid=%d\n", slip_natsd_dir(s), (int)slip_natsd_pid(s));
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL;
	char *extra = NULL;
	int cluster = 0, watch_stdin = 1, rc = 1;
	slip_natsd *s = NULL;
	slip_natsd_cluster *c = NULL;
	struct sigaction sa;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cluster") && i + 1 < argc) {
			cluster = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--conf") && i + 1 < argc) {
			conf_path = argv[++i];
		} else if (!strcmp(argv[i], "--no-stdin")) {
			watch_stdin = 0;
		} else {
			usage();
			return 2;
		}
	}
	if (conf_path && cluster) {
		fputs("slip-natsd: --conf is for a single server only\n",
		      stderr);
		return 2;
	}
	/* Installed before the harness starts, so it keeps ours. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (conf_path && !(extra = read_all(conf_path))) {
		fprintf(stderr, "slip-natsd: cannot read %s\n", conf_path);
		goto done;
	}
	if (cluster > 0) {
		if (slip_natsd_cluster_start(&c, cluster) != 0)
			goto done;
		printf("%s\n", slip_natsd_cluster_urls(c));
		for (int i = 0; i < cluster; i++)
			print_node(slip_natsd_cluster_node(c, i));
	} else {
		if (slip_natsd_start(&s, extra) != 0)
			goto done;
		printf("%s\n", slip_natsd_url(s));
		print_node(s);
	}
	printf("ready\n");
	fflush(stdout);
	wait_for_end(watch_stdin);
	rc = 0;
done:
	slip_natsd_cluster_free(c);
	slip_natsd_free(s);
	free(extra);
	return rc;
}
