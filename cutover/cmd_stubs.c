/*
 * cmd_stubs.c: commands whose implementation has not landed yet.  Each
 * says so and exits 1.  A command moves out of this file into its own
 * cmd_NAME.c when it is built.
 */
#include "cutover/commands.h"

int cmd_run(const cli_globals *g, int argc, char **argv)
{
	return cli_not_built(g, argc, argv);
}

int cmd_postsync(const cli_globals *g, int argc, char **argv)
{
	return cli_not_built(g, argc, argv);
}

int cmd_status(const cli_globals *g, int argc, char **argv)
{
	return cli_not_built(g, argc, argv);
}

int cmd_rollback(const cli_globals *g, int argc, char **argv)
{
	return cli_not_built(g, argc, argv);
}

int cmd_sync(const cli_globals *g, int argc, char **argv)
{
	return cli_not_built(g, argc, argv);
}
