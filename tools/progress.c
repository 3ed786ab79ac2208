/*
 * tools/progress.c — the progress line for long work (scan of a large
 * bucket, mirror's initial replay, load): "what: done of total (rate/s)",
 * redrawn in place on stderr at most ten times a second.
 *
 * It is drawn only when both stdout and stderr are terminals, so output
 * piped or redirected to a file stays clean; --progress forces it on,
 * --no-progress off.
 */
#include <inttypes.h>
#include <unistd.h>

#include "cli.h"

#define REDRAW_NS 100000000LL

void progress_init(cli_progress *p, const cli_opts *o, const char *what)
{
	p->on = o->progress > 0 || (o->progress == 0 && isatty(STDOUT_FILENO) &&
	                            isatty(STDERR_FILENO));
	p->what = what;
	p->start_ns = cli_now_ns();
	p->last_draw_ns = 0;
	p->done = 0;
	p->total = 0;
	p->drawn = false;
}

static void draw(cli_progress *p, int64_t now)
{
	double secs = (double)(now - p->start_ns) / 1e9;
	double rate = secs > 0 ? (double)p->done / secs : 0;
	fflush(stdout);
	if (p->total > 0)
		fprintf(stderr,
		        "\r\033[K%s: %" PRIu64 " of %" PRIu64 " (%.0f/s)",
		        p->what, p->done, p->total, rate);
	else
		fprintf(stderr, "\r\033[K%s: %" PRIu64 " (%.0f/s)", p->what,
		        p->done, rate);
	fflush(stderr);
	p->drawn = true;
	p->last_draw_ns = now;
}

void progress_step(cli_progress *p, uint64_t pending)
{
	p->done++;
	/* The total is what is done plus what the backend says is left;
	 * without any such count (load) only the done count is shown. */
	if (pending > 0 || (p->total > 0 && p->total < p->done))
		p->total = p->done + pending;
	if (!p->on)
		return;
	int64_t now = cli_now_ns();
	/* Redraw right after output erased the line, else ten times a second.
	 */
	if (!p->drawn || now - p->last_draw_ns >= REDRAW_NS)
		draw(p, now);
}

void progress_clear(cli_progress *p)
{
	if (p->on && p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = false;
	}
}

void progress_done(cli_progress *p)
{
	progress_clear(p);
}
