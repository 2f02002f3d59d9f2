/* cmd_dns.c: `cutover dns show|mx|imap PLAN [ARG]` (through dnsops). */
#include <string.h>

#include "cutover/cli.h"
#include "cutover/commands.h"
#include "cutover/dnsops.h"

int cmd_dns(const cli_globals *g, int argc, char **argv)
{
	const cli_command *cmd = cli_find_command("dns");

	if (argc < 3)
		return cli_usage_error(cmd, "expected show, mx or imap and a PLAN");
	if (strcmp(argv[1], "show") == 0) {
		if (argc != 3)
			return cli_usage_error(cmd, "dns show takes one PLAN argument");
		return dnsops_cli_run(g, "dns show", argv[2], NULL, NULL, 0);
	}
	if (strcmp(argv[1], "mx") == 0) {
		if (argc != 4 ||
		    (strcmp(argv[3], "old") != 0 && strcmp(argv[3], "new") != 0))
			return cli_usage_error(cmd, "usage: dns mx PLAN old|new");
		return dnsops_cli_run(g, "dns mx", argv[2], argv[3],
				      dnsops_set_mx, 0);
	}
	if (strcmp(argv[1], "imap") == 0) {
		if (argc != 4 || (strcmp(argv[3], "old") != 0 &&
				  strcmp(argv[3], "new") != 0 &&
				  strcmp(argv[3], "parking") != 0))
			return cli_usage_error(cmd,
					       "usage: dns imap PLAN old|new|parking");
		return dnsops_cli_run(g, "dns imap", argv[2], argv[3],
				      dnsops_set_imap, 0);
	}
	return cli_usage_error(cmd, "unknown dns subcommand \"%s\"", argv[1]);
}
