/*
 * cli.h: the command-line contract shared by every `cutover` command.
 *
 * Exit codes are a contract that scripts rely on; keep them:
 *   0 done, 1 failed, 2 usage or plan error, 3 not ready / timed out,
 *   4 refused for safety.
 */
#ifndef CUTOVER_CUTOVER_CLI_H
#define CUTOVER_CUTOVER_CLI_H

enum {
	CUT_EXIT_OK = 0,
	CUT_EXIT_FAILED = 1,
	CUT_EXIT_USAGE = 2,
	CUT_EXIT_NOT_READY = 3,
	CUT_EXIT_REFUSED = 4,
};

/** Options accepted by every command (before or after the command word). */
typedef struct cli_globals {
	int json;    /* --json: one JSON document on stdout */
	int dry_run; /* --dry-run: compute and print, change nothing */
	int verbose; /* -v (1) or -vv (2) */
	int quiet;   /* -q */
} cli_globals;

/**
 * One command.  run() gets argv with argv[0] = the command name (for
 * "ttl lower", argv[0] = "ttl") and the global options removed; it returns
 * an exit code from the enum above.
 */
typedef struct cli_command {
	const char *name;
	const char *usage;   /* one line: "check PLAN" */
	const char *summary; /* one line for `cutover --help` */
	const char *help;    /* the full text for `cutover CMD --help` */
	int (*run)(const cli_globals *g, int argc, char **argv);
} cli_command;

/** The command table (cutover/commands.c), terminated by a NULL name. */
extern const cli_command cli_commands[];

/** Prints "cutover: MESSAGE" and the usage line of cmd, returns 2. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Looks a command up by name; NULL if unknown. */
const cli_command *cli_find_command(const char *name);

/** For commands not built yet: says so and returns 1. */
int cli_not_built(const cli_globals *g, int argc, char **argv);

#endif
