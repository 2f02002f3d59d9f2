/*
 * cmd_ttl.c: `cutover ttl lower|restore PLAN` (here, through dnsops) and
 * the dispatch of `ttl status|wait` to cmd_ttl_watch.c.
 */
#include <string.h>

#include "cutover/cli.h"
#include "cutover/commands.h"
#include "cutover/dnsops.h"

static int ttl_lower(const plan *p, journal *j, const char *which,
		     const dnsops_opts *o, dnsops_result *res_r, cut_status *st)
{
	(void)which;
	return dnsops_ttl_lower(p, j, o, res_r, st);
}

static int ttl_restore(const plan *p, journal *j, const char *which,
		       const dnsops_opts *o, dnsops_result *res_r,
		       cut_status *st)
{
	(void)which;
	return dnsops_ttl_restore(p, j, o, res_r, st);
}

int cmd_ttl(const cli_globals *g, int argc, char **argv)
{
	const cli_command *cmd = cli_find_command("ttl");

	if (argc < 2)
		return cli_usage_error(cmd, "expected lower, status, wait or restore");
	if (strcmp(argv[1], "status") == 0)
		return cmd_ttl_status(g, argc - 1, argv + 1);
	if (strcmp(argv[1], "wait") == 0)
		return cmd_ttl_wait(g, argc - 1, argv + 1);
	if (strcmp(argv[1], "lower") == 0 || strcmp(argv[1], "restore") == 0) {
		int lower = strcmp(argv[1], "lower") == 0;

		if (argc != 3 || argv[2][0] == '-')
			return cli_usage_error(cmd, "ttl %s takes one PLAN argument",
					       argv[1]);
		return dnsops_cli_run(g, lower ? "ttl lower" : "ttl restore",
				      argv[2], NULL,
				      lower ? ttl_lower : ttl_restore, !lower);
	}
	return cli_usage_error(cmd, "unknown ttl subcommand \"%s\"", argv[1]);
}
