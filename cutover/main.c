/*
 * main.c: the `cutover` executable: global options, command dispatch,
 * --help and --version.  Each command lives in its own cmd_*.c file and is
 * listed in commands.c.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cancel.h"
#include "common/log.h"
#include "cutover/cli.h"

#ifndef CUTOVER_VERSION
#define CUTOVER_VERSION "0.1.0"
#endif

static void print_main_help(FILE *out)
{
	fputs("usage: cutover [GLOBAL OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Runs the cutover of an email migration from an old IMAP server "
	      "(host1)\nto a new one (host2), and the DNS changes around it.\n"
	      "\nCommands:\n",
	      out);
	for (const cli_command *c = cli_commands; c->name != NULL; c++)
		if (strlen(c->usage) <= 34)
			fprintf(out, "  %-34s %s\n", c->usage, c->summary);
		else
			fprintf(out, "  %s\n  %-34s %s\n", c->usage, "", c->summary);
	fputs("\nGlobal options:\n"
	      "  --json       machine-readable output (one JSON document on stdout)\n"
	      "  --dry-run    compute and show what would be done; change nothing\n"
	      "  -v, -vv      more detail (-vv includes protocol traces, passwords masked)\n"
	      "  -q           only warnings and errors\n"
	      "  -h, --help   help (cutover COMMAND --help for a command)\n"
	      "  --version    print the version\n"
	      "\nExit status: 0 done, 1 failed, 2 usage or plan error, "
	      "3 not ready / timed out,\n4 refused for safety.\n"
	      "\nSee docs/guide.md for the migration plan step by step.\n",
	      out);
}

static void print_command_help(const cli_command *c, FILE *out)
{
	fprintf(out, "usage: cutover %s\n\n%s", c->usage, c->help);
	if (c->help[0] != '\0' && c->help[strlen(c->help) - 1] != '\n')
		fputc('\n', out);
	fputs("\nGlobal options: --json --dry-run -v -q --help\n", out);
}

const cli_command *cli_find_command(const char *name)
{
	for (const cli_command *c = cli_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("cutover: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd != NULL)
		fprintf(stderr, "usage: cutover %s\n(see cutover %s --help)\n",
			cmd->usage, cmd->name);
	else
		fputs("(see cutover --help)\n", stderr);
	return CUT_EXIT_USAGE;
}

int cli_not_built(const cli_globals *g, int argc, char **argv)
{
	(void)g;
	(void)argc;
	fprintf(stderr, "cutover: the `%s` command is not built yet in this "
		"version\n", argv[0]);
	return CUT_EXIT_FAILED;
}

int main(int argc, char **argv)
{
	cli_globals g = {0};
	const cli_command *cmd = NULL;
	char **args;
	int nargs = 0, want_help = 0, after_dashes = 0;

	signal(SIGPIPE, SIG_IGN);
	cut_cancel_install();
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (args == NULL)
		return CUT_EXIT_FAILED;

	/* Global options may stand anywhere before "--". */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!after_dashes && strcmp(a, "--") == 0) {
			after_dashes = 1;
			args[nargs++] = argv[i];
		} else if (!after_dashes && strcmp(a, "--json") == 0) {
			g.json = 1;
		} else if (!after_dashes && strcmp(a, "--dry-run") == 0) {
			g.dry_run = 1;
		} else if (!after_dashes && strcmp(a, "-v") == 0) {
			g.verbose++;
		} else if (!after_dashes && strcmp(a, "-vv") == 0) {
			g.verbose += 2;
		} else if (!after_dashes && strcmp(a, "-q") == 0) {
			g.quiet = 1;
		} else if (!after_dashes &&
			   (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			want_help = 1;
		} else if (!after_dashes && strcmp(a, "--version") == 0) {
			printf("cutover %s\n", CUTOVER_VERSION);
			free(args);
			return CUT_EXIT_OK;
		} else {
			args[nargs++] = argv[i];
		}
	}

	if (g.quiet)
		cut_log_set_level(CUT_LOG_WARN);
	else if (g.verbose >= 2)
		cut_log_set_level(CUT_LOG_TRACE);
	else if (g.verbose == 1)
		cut_log_set_level(CUT_LOG_DEBUG);

	if (nargs == 0) {
		print_main_help(want_help ? stdout : stderr);
		free(args);
		return want_help ? CUT_EXIT_OK : CUT_EXIT_USAGE;
	}
	if (strcmp(args[0], "help") == 0) {
		if (nargs > 1 && (cmd = cli_find_command(args[1])) != NULL)
			print_command_help(cmd, stdout);
		else
			print_main_help(stdout);
		free(args);
		return CUT_EXIT_OK;
	}
	cmd = cli_find_command(args[0]);
	if (cmd == NULL) {
		int rc = cli_usage_error(NULL, "unknown command `%s`", args[0]);
		free(args);
		return rc;
	}
	if (want_help) {
		print_command_help(cmd, stdout);
		free(args);
		return CUT_EXIT_OK;
	}
	{
		int rc = cmd->run(&g, nargs, args);
		free(args);
		return rc;
	}
}
