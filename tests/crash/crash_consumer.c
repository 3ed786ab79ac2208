/*
 * tests/crash/crash_consumer.c — the process the crash loop kills.
 *
 *   crash_consumer URL BUCKET SNAPSHOT [--until-caught-up] [--slow MS]
 *                  [--batch N]
 *
 * Runs watch_applied with a snapshot, applying into a local map seeded from
 * the snapshot's committed state (a service that trusts its snapshot). It
 * reports progress on stdout, one letter a line, written unbuffered so a
 * SIGKILL loses nothing already reported: B a batch applied, S a synthetic
 * delete, A a cursor reported by on_applied, C caught up.
 *
 * With --until-caught-up it stops at the first caught-up marker and then
 * checks its map and the snapshot file against an independent scan of the
 * bucket: exit 0 when both equal the server, 1 when not, 2 on errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fx.h"

typedef struct state {
	fx_map map;
	int slow_ms;
	bool until_caught_up;
	slip_shutdown *sd;
} state;

static void say(const char *s)
{
	ssize_t n = write(STDOUT_FILENO, s, strlen(s));
	(void)n;
}

static int on_apply(void *payload, void *const *items, size_t count)
{
	state *st = payload;
	for (size_t i = 0; i < count; i++) {
		const slip_entry *e = items[i];
		if (fx_map_apply(&st->map, e) != 0)
			return SLIP_ENOMEM;
		if (e->flags & SLIP_ENTRY_SYNTHETIC)
			say("S\n");
	}
	say("B\n");
	if (st->slow_ms > 0)
		fx_sleep_ms(st->slow_ms);
	return 0;
}

static void on_applied(void *payload, const slip_cursor *cursor)
{
	(void)payload;
	(void)cursor;
	say("A\n");
}

static void on_caught_up(void *payload, const slip_cursor *cursor)
{
	state *st = payload;
	(void)cursor;
	say("C\n");
	if (st->until_caught_up)
		slip_shutdown_trigger(st->sd);
}

static int verify(state *st, fx *f, const char *snap_path)
{
	fx_map snapmap = {0};
	int d1, d2;

	d1 = fx_map_diff_server(&st->map, f, "");
	if (fx_map_from_snapshot(&snapmap, snap_path, NULL) != SLIP_OK) {
		fprintf(stderr, "crash_consumer: cannot reload snapshot: %s\n",
		        slip_last_error());
		return 2;
	}
	d2 = fx_map_diff_server(&snapmap, f, "");
	fprintf(stderr,
	        "crash_consumer: %zu local keys, %d map diffs, %d snapshot "
	        "diffs\n",
	        st->map.count, d1, d2);
	fx_map_clear(&snapmap);
	return d1 == 0 && d2 == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	slip_applied_options o = SLIP_APPLIED_OPTIONS_INIT;
	slip_snapshot_writer *snap = NULL;
	slip_cursor final;
	state st;
	fx f;
	int rc, ret = 2;

	memset(&st, 0, sizeof(st));
	if (argc < 4) {
		fprintf(stderr,
		        "usage: %s URL BUCKET SNAPSHOT "
		        "[--until-caught-up] [--slow MS] [--batch N]\n",
		        argv[0]);
		return 2;
	}
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--until-caught-up") == 0)
			st.until_caught_up = true;
		else if (strcmp(argv[i], "--slow") == 0 && i + 1 < argc)
			st.slow_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			o.batch_max = (size_t)atoi(argv[++i]);
	}
	rc = fx_open(&f, argv[1], argv[2]);
	if (rc == SLIP_OK)
		rc = fx_map_from_snapshot(&st.map, argv[3], NULL);
	if (rc == SLIP_OK)
		rc = slip_snapshot_writer_open(&snap, argv[3], 64 * 1024);
	if (rc == SLIP_OK)
		rc = slip_shutdown_new(&st.sd);
	if (rc != SLIP_OK) {
		fprintf(stderr, "crash_consumer: setup: %s (%s)\n",
		        slip_err_name(rc), slip_last_error());
		goto done;
	}
	o.watcher = f.watcher;
	o.snapshot = snap;
	o.apply = on_apply;
	o.on_applied = on_applied;
	o.on_caught_up = on_caught_up;
	o.payload = &st;
	o.shutdown = st.sd;
	rc = slip_watch_applied(&o, &final);
	if (rc != SLIP_OK) {
		fprintf(stderr, "crash_consumer: watch_applied: %s (%s)\n",
		        slip_err_name(rc), slip_last_error());
		goto done;
	}
	ret = st.until_caught_up ? verify(&st, &f, argv[3]) : 0;
done:
	slip_snapshot_writer_free(snap);
	slip_shutdown_free(st.sd);
	fx_map_clear(&st.map);
	fx_close(&f);
	return ret;
}
