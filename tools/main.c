/*
 * tools/main.c — entry point of the `slipstream` tool: the option table,
 * the argument parser, the command table with each command's help, and the
 * dispatch that turns a command's SLIP_E* result into the exit code.
 *
 * Flags may come before or after the command word. Each command accepts
 * only the flag groups it lists; anything else is a usage error (exit 2)
 * that says which command rejected which flag and where to read more.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Flag groups: a command lists the groups it accepts. */
enum {
	G_CONN = 1u << 0,    /* --url --creds --creds-file --tls-ca --timeout */
	G_BUCKET = 1u << 1,  /* --bucket */
	G_JSON = 1u << 2,    /* --json */
	G_VERSION = 1u << 3, /* --version */
	G_FROM = 1u << 4,    /* --from */
	G_SNAP = 1u << 5,    /* --snapshot */
	G_PREFIX = 1u << 6,  /* --prefix */
	G_UNTIL = 1u << 7,   /* --until-caught-up */
	G_CONFIG = 1u << 8,  /* store configuration */
	G_RAW = 1u << 9,     /* --raw */
	G_PROGRESS = 1u << 10, /* --progress --no-progress */
	G_QUIET = 1u << 11,    /* --quiet */
	G_COUNT = 1u << 12,    /* --count */
	G_COMPACT = 1u << 13,  /* --compact */
	G_HELP = 1u << 14,     /* --help, accepted everywhere */
	G_TTL = 1u << 15       /* --ttl */
};

enum opt_kind { K_STR, K_BOOL, K_PROGRESS_ON, K_PROGRESS_OFF, K_PREFIX };

typedef struct opt_def {
	const char *name;
	char short_name;
	enum opt_kind kind;
	unsigned group;
	size_t offset;
} opt_def;

#define OPT_STR(n, s, g, f)                                                    \
	{                                                                      \
		n, s, K_STR, g, offsetof(cli_opts, f)                          \
	}
#define OPT_BOOL(n, s, g, f)                                                   \
	{                                                                      \
		n, s, K_BOOL, g, offsetof(cli_opts, f)                         \
	}

static const opt_def opt_table[] = {
        OPT_STR("url", 0, G_CONN, url),
        OPT_STR("creds", 0, G_CONN, creds),
        OPT_STR("creds-file", 0, G_CONN, creds_file),
        OPT_STR("tls-ca", 0, G_CONN, tls_ca),
        OPT_STR("timeout", 0, G_CONN, timeout),
        OPT_STR("bucket", 'b', G_BUCKET, bucket),
        OPT_BOOL("json", 0, G_JSON, json),
        OPT_STR("version", 0, G_VERSION, version),
        OPT_STR("from", 0, G_FROM, from),
        OPT_STR("snapshot", 0, G_SNAP, snapshot),
        {"prefix", 0, K_PREFIX, G_PREFIX, 0}, /* repeatable */
        OPT_BOOL("until-caught-up", 0, G_UNTIL, until_caught_up),
        OPT_STR("history", 0, G_CONFIG, history),
        OPT_STR("max-bytes", 0, G_CONFIG, max_bytes),
        OPT_STR("max-age", 0, G_CONFIG, max_age),
        OPT_STR("replicas", 0, G_CONFIG, replicas),
        OPT_STR("storage", 0, G_CONFIG, storage),
        OPT_STR("description", 0, G_CONFIG, description),
        OPT_STR("max-value-size", 0, G_CONFIG, max_value_size),
        OPT_STR("marker-ttl", 0, G_CONFIG, marker_ttl),
        OPT_STR("ttl", 0, G_TTL, ttl),
        OPT_BOOL("raw", 0, G_RAW, raw),
        {"progress", 0, K_PROGRESS_ON, G_PROGRESS, 0},
        {"no-progress", 0, K_PROGRESS_OFF, G_PROGRESS, 0},
        OPT_BOOL("quiet", 'q', G_QUIET, quiet),
        OPT_STR("count", 'n', G_COUNT, count),
        OPT_BOOL("compact", 0, G_COMPACT, compact),
        OPT_BOOL("help", 'h', G_HELP, help),
};

#define NOPTS (sizeof(opt_table) / sizeof(opt_table[0]))

/* ---------------------------------------------------------------- commands */

typedef struct cmd_def {
	const char *name;
	const char *sub; /* second word ("info" of "snapshot info") or NULL */
	unsigned groups;
	int min_pos, max_pos; /* positionals after the command word(s) */
	const char *usage;
	const char *help;
} cmd_def;

#define G_KEY (G_CONN | G_BUCKET | G_JSON | G_HELP)

static const cmd_def cmd_table[] = {
        {"get", NULL, G_KEY | G_RAW, 1, 1, "get KEY [--raw]",
         "Prints the latest live value of KEY followed by a newline (--raw:\n"
         "the bytes exactly). Exit 1 when the key is absent or deleted.\n"},
        {"put", NULL, G_KEY | G_TTL, 1, 2, "put KEY [VALUE] [--ttl DUR]",
         "Writes VALUE (read from stdin when absent) and prints the new\n"
         "revision. --ttl: the key expires after DUR (>= 1s; the bucket\n"
         "needs a marker TTL, nats-server 2.11+).\n"},
        {"create", NULL, G_KEY | G_TTL, 1, 2, "create KEY [VALUE] [--ttl DUR]",
         "Writes only if KEY is absent or deleted; exit 3 if it holds a "
         "value.\n--ttl as for put.\n"},
        {"update", NULL, G_KEY | G_VERSION, 1, 2,
         "update KEY [VALUE] --version V",
         "Writes only if the latest revision of KEY is V; exit 3 otherwise.\n"
         "V is the revision printed by get --json, put or scan --json.\n"},
        {"del", NULL, G_KEY | G_VERSION, 1, 1, "del KEY [--version V]",
         "Writes a tombstone (succeeds when the key never existed). With\n"
         "--version only if the latest revision is V (exit 3 otherwise).\n"},
        {"purge", NULL, G_KEY, 1, 1, "purge KEY",
         "Removes every revision of KEY; watchers see a purge.\n"},
        {"keys", NULL, G_KEY | G_PROGRESS | G_PREFIX, 0, 1,
         "keys [PREFIX] [--prefix P]...",
         "Lists live keys starting with PREFIX (a string prefix), one per\n"
         "line, in one pass over the bucket. --prefix (repeatable) adds\n"
         "prefixes: keys under any of them are listed, each once.\n"},
        {"scan", NULL, G_KEY | G_PROGRESS | G_PREFIX, 0, 1,
         "scan [PREFIX] [--prefix P]...",
         "Prints every live entry under PREFIX: KEY<TAB>VALUE (unprintable\n"
         "bytes escaped) or, with --json, one record per line. --prefix\n"
         "(repeatable) adds prefixes, as for keys.\n"},
        {"load", NULL, G_KEY | G_PROGRESS | G_QUIET, 1, 1, "load FILE",
         "Bulk write: reads lines KEY<TAB>VALUE from FILE (- for stdin) and\n"
         "puts each; prints how many were written and how fast.\n"},
        {"watch", NULL, G_KEY | G_FROM | G_UNTIL | G_COUNT | G_PREFIX, 0, 1,
         "watch [PREFIX] [--prefix P]... [--from CURSOR] [--until-caught-up]"
         " [--count N]",
         "Prints the current state then every update as it happens, until\n"
         "interrupted. --prefix (repeatable) adds prefixes: one stream and\n"
         "one cursor for their union, each update once. --from resumes after a "
         "cursor printed by --json\n"
         "(exit 6 when it expired). --until-caught-up stops once the\n"
         "current state or the delta has been printed; --count N after N\n"
         "updates.\n"},
        {"mirror", NULL,
         G_CONN | G_JSON | G_HELP | G_SNAP | G_PREFIX | G_UNTIL | G_QUIET |
                 G_PROGRESS | G_COMPACT,
         1, 1,
         "mirror BUCKET --snapshot FILE [--prefix P]... [--until-caught-up]",
         "Keeps FILE (a snapshot) equal to BUCKET with watch_applied:\n"
         "resumes from the snapshot's cursor, prints each applied batch\n"
         "(only keys under the --prefix values, repeatable, when given)\n"
         "and the cursor (--quiet: only the summary). A cursor that expired\n"
         "(bucket recreated, history gone) triggers a full resync. With\n"
         "--until-caught-up it exits 0 once the initial replay or the delta\n"
         "has been applied; otherwise it runs until SIGINT/SIGTERM.\n"},
        {"snapshot", "info", G_JSON | G_HELP, 1, 1, "snapshot info FILE",
         "Counts, sizes and cursor of a snapshot file (no server needed).\n"},
        {"snapshot", "dump", G_JSON | G_HELP | G_PREFIX, 1, 1,
         "snapshot dump FILE [--prefix P]...",
         "Prints the committed live entries (sorted by key), then the "
         "cursor.\n"},
        {"snapshot", "verify", G_JSON | G_HELP, 1, 1, "snapshot verify FILE",
         "Checks every record; exit 5 when the file is corrupted or of an\n"
         "unsupported version, 1 when it does not exist.\n"},
        {"bucket", "create", G_CONN | G_JSON | G_HELP | G_CONFIG | G_TTL, 1, 1,
         "bucket create NAME [config flags]",
         "Creates NAME, or binds to it when it exists with the same\n"
         "configuration (exit 3 when it exists with another one).\n"},
        {"bucket", "info", G_CONN | G_JSON | G_HELP, 1, 1, "bucket info NAME",
         "Configuration, counts, sizes and current cursor of NAME.\n"},
        {"bucket", "rm", G_CONN | G_HELP, 1, 1, "bucket rm NAME",
         "Deletes NAME and all its data. Exit 1 when it does not exist.\n"},
        {"server", NULL, G_CONN | G_JSON | G_HELP, 0, 0, "server",
         "Connects and prints the backend, the server's version and\n"
         "JetStream API level, whether it is a cluster, and what it\n"
         "supports: serializable compare-and-set, multi-filter watches\n"
         "(nats-server 2.10+), per-message TTL and batch get (2.11+),\n"
         "atomic batch publish (2.12+).\n"},
};

#define NCMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))

static const char flags_help[] =
        "Connection flags:\n"
        "  --url URL          nats://host:port[,…], tls://…, or mem://NAME\n"
        "                     (default $NATS_URL, else nats://127.0.0.1:4222)\n"
        "  --creds BASE64     base64 of a .creds file (default "
        "$SLIPSTREAM_CREDS)\n"
        "  --creds-file PATH  a .creds file\n"
        "  --tls-ca PATH      CA certificate for tls:// URLs\n"
        "  --timeout DUR      connect and request timeout (e.g. 2s, 500ms)\n"
        "  --bucket NAME      bucket for key commands (default "
        "$SLIPSTREAM_BUCKET)\n"
        "Output flags:\n"
        "  --json             one JSON object per line (see docs/cli.md)\n"
        "  --progress, --no-progress\n"
        "                     force progress on stderr on or off (default: "
        "only\n"
        "                     when stdout and stderr are terminals)\n"
        "Bucket configuration flags (bucket create):\n"
        "  --history N  --max-bytes SIZE  --max-age DUR  --replicas N\n"
        "  --storage file|memory  --description TEXT  --max-value-size SIZE\n"
        "  --ttl DUR (same as --max-age)  --marker-ttl DUR (limit markers\n"
        "  and per-key TTL; nats-server 2.11+)\n";

static const char exit_help[] =
        "Exit codes:\n"
        "  0   ok\n"
        "  1   not found (key, bucket, snapshot file)\n"
        "  2   usage error or invalid argument (bad key, URL, flag value)\n"
        "  3   CAS conflict (key exists, revision mismatch, bucket config "
        "differs)\n"
        "  4   cannot connect or authenticate\n"
        "  5   snapshot corrupted or of an unsupported version\n"
        "  6   cursor expired\n"
        "  10  anything else\n";

static void print_main_help(FILE *f)
{
	fprintf(f, "usage: slipstream [flags] COMMAND [args]\n\n"
	           "Reads, writes and watches configuration in NATS JetStream "
	           "key-value buckets,\nand mirrors a bucket into a local "
	           "snapshot file.\n\nCommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %s\n", cmd_table[i].usage);
	fprintf(f,
	        "\n%s\n%s\n'slipstream COMMAND --help' describes one "
	        "command, 'slipstream --version' prints the version;\n"
	        "the manual is slipstream(1).\n",
	        flags_help, exit_help);
}

static void print_cmd_help(FILE *f, const cmd_def *c)
{
	fprintf(f, "usage: slipstream %s\n\n%s\n", c->usage, c->help);
	if (c->groups & (G_CONN | G_JSON | G_CONFIG))
		fprintf(f, "%s\n", flags_help);
	fprintf(f, "%s", exit_help);
}

/* "slipstream snapshot --help": the usages of every subcommand. */
static void print_group_help(const char *name)
{
	printf("usage:\n");
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmd_table[i].name, name) == 0)
			printf("  slipstream %s\n", cmd_table[i].usage);
	printf("\n'slipstream %s SUBCOMMAND --help' describes one.\n", name);
}

/* ------------------------------------------------------------------ parser */

static const opt_def *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opt_table[i].name) == len &&
		    memcmp(opt_table[i].name, name, len) == 0)
			return &opt_table[i];
	return NULL;
}

static const opt_def *find_short(char c)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (opt_table[i].short_name == c)
			return &opt_table[i];
	return NULL;
}

static int set_opt(cli_opts *o, const opt_def *d, const char *value,
                   const char *spelled)
{
	char *base = (char *)o;
	switch (d->kind) {
	case K_STR:
		*(const char **)(base + d->offset) = value;
		return SLIP_OK;
	case K_BOOL:
		if (value)
			return cli_fail(SLIP_EINVAL, "option %s takes no value",
			                spelled);
		*(bool *)(base + d->offset) = true;
		return SLIP_OK;
	case K_PROGRESS_ON:
		o->progress = 1;
		return SLIP_OK;
	case K_PROGRESS_OFF:
		o->progress = -1;
		return SLIP_OK;
	case K_PREFIX:
		if (o->nprefixes == CLI_MAX_PREFIXES)
			return cli_fail(SLIP_EINVAL, "%s: at most %d prefixes",
			                spelled, CLI_MAX_PREFIXES);
		if (o->nprefixes == 0)
			o->prefix = value;
		o->prefixes[o->nprefixes++] = value;
		return SLIP_OK;
	}
	return SLIP_OK;
}

/*
 * One pass over argv: flags ("--name", "--name=value", "--name value",
 * "-x value") set fields and are remembered in *seen; everything else is a
 * positional word. "--" ends the flags; "-" alone is a positional.
 */
static int parse_args(cli_opts *o, unsigned *seen, const char **words,
                      int *nwords, int argc, char **argv)
{
	bool flags_done = false;
	*nwords = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const opt_def *d = NULL;
		const char *value = NULL;
		if (flags_done || a[0] != '-' || a[1] == '\0') {
			if (*nwords >= CLI_MAX_POS + 2)
				return cli_fail(
				        SLIP_EINVAL,
				        "too many arguments (at \"%s\")", a);
			words[(*nwords)++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			flags_done = true;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len =
			        eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			d = find_long(a + 2, len);
			value = eq ? eq + 1 : NULL;
		} else if (a[2] == '\0') {
			d = find_short(a[1]);
		}
		if (!d)
			return cli_fail(SLIP_EINVAL,
			                "unknown option %s (see slipstream "
			                "--help)",
			                a);
		if ((d->kind == K_STR || d->kind == K_PREFIX) && !value) {
			if (i + 1 >= argc)
				return cli_fail(SLIP_EINVAL,
				                "option %s needs a value", a);
			value = argv[++i];
		}
		*seen |= d->group;
		if (set_opt(o, d, value, a) != SLIP_OK)
			return SLIP_EINVAL;
	}
	return SLIP_OK;
}

static const cmd_def *find_cmd(const char *name, const char *sub,
                               bool *name_known)
{
	*name_known = false;
	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(cmd_table[i].name, name) != 0)
			continue;
		*name_known = true;
		if (!cmd_table[i].sub ||
		    (sub && strcmp(cmd_table[i].sub, sub) == 0))
			return &cmd_table[i];
	}
	return NULL;
}

/* Names the first flag of @p bad groups, for the error message. */
static const char *first_flag_in(unsigned bad)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (opt_table[i].group & bad)
			return opt_table[i].name;
	return "?";
}

static int run(const cmd_def *c, cli_opts *o)
{
	const char *n = c->name;
	if (strcmp(n, "get") == 0)
		return cmd_get(o);
	if (strcmp(n, "put") == 0 || strcmp(n, "create") == 0 ||
	    strcmp(n, "update") == 0)
		return cmd_put(o, n);
	if (strcmp(n, "del") == 0)
		return cmd_del(o);
	if (strcmp(n, "purge") == 0)
		return cmd_purge(o);
	if (strcmp(n, "keys") == 0)
		return cmd_keys(o);
	if (strcmp(n, "scan") == 0)
		return cmd_scan(o);
	if (strcmp(n, "load") == 0)
		return cmd_load(o);
	o->follow = strcmp(n, "watch") == 0 || strcmp(n, "mirror") == 0;
	if (strcmp(n, "watch") == 0)
		return cmd_watch(o);
	if (strcmp(n, "mirror") == 0)
		return cmd_mirror(o);
	if (strcmp(n, "snapshot") == 0)
		return cmd_snapshot(o, c->sub);
	if (strcmp(n, "server") == 0)
		return cmd_server(o);
	return cmd_bucket(o, c->sub);
}

/* Resolves the command and checks its flags and argument count. */
static int resolve(const cmd_def **out, cli_opts *o, unsigned seen,
                   const char **words, int nwords)
{
	bool known;
	const char *sub = nwords > 1 ? words[1] : NULL;
	const cmd_def *c = find_cmd(words[0], sub, &known);
	if (!known)
		return cli_fail(
		        SLIP_EINVAL,
		        "unknown command \"%s\" (see slipstream --help)",
		        words[0]);
	if (!c && o->help) {
		*out = NULL;
		print_group_help(words[0]);
		return SLIP_OK;
	}
	if (!c)
		return cli_fail(SLIP_EINVAL,
		                "%s needs a subcommand%s%s (see slipstream %s "
		                "--help)",
		                words[0], sub ? ", not " : "", sub ? sub : "",
		                words[0]);
	*out = c;
	if (o->help)
		return SLIP_OK;
	if (seen & ~c->groups)
		return cli_fail(SLIP_EINVAL,
		                "%s%s%s does not take --%s (see slipstream %s "
		                "--help)",
		                c->name, c->sub ? " " : "",
		                c->sub ? c->sub : "",
		                first_flag_in(seen & ~c->groups), c->name);
	int skip = c->sub ? 2 : 1;
	int npos = nwords - skip;
	if (npos < c->min_pos || npos > c->max_pos)
		return cli_fail(SLIP_EINVAL, "usage: slipstream %s", c->usage);
	for (int i = 0; i < npos; i++)
		o->pos[i] = words[skip + i];
	o->npos = npos;
	return SLIP_OK;
}

int main(int argc, char **argv)
{
	cli_opts o;
	unsigned seen = 0;
	const char *words[CLI_MAX_POS + 2];
	int nwords = 0;
	const cmd_def *c = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	/* "--version V" is the CAS flag; alone it asks for the version. */
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("slipstream %s\n", slip_version_string());
		return CLI_EXIT_OK;
	}
	rc = parse_args(&o, &seen, words, &nwords, argc, argv);
	if (rc == SLIP_OK && nwords > 0 && strcmp(words[0], "help") == 0) {
		o.help = true;
		memmove(words, words + 1, sizeof(words[0]) * (size_t)--nwords);
	}
	if (rc == SLIP_OK && nwords == 0) {
		print_main_help(o.help ? stdout : stderr);
		return o.help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	if (rc == SLIP_OK)
		rc = resolve(&c, &o, seen, words, nwords);
	if (rc == SLIP_OK && o.help) {
		if (c)
			print_cmd_help(stdout, c);
		return CLI_EXIT_OK;
	}
	if (rc == SLIP_OK) {
		cli_signals_install();
		rc = run(c, &o);
	}
	if (rc != SLIP_OK) {
		fflush(stdout);
		fprintf(stderr, "slipstream: %s\n", cli_message());
	}
	if (fflush(stdout) != 0 && rc == SLIP_OK) {
		fprintf(stderr, "slipstream: writing output failed\n");
		return CLI_EXIT_OTHER;
	}
	return cli_exit_code(rc);
}
