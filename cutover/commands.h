/*
 * commands.h: entry points of the commands, one cmd_*.c file each.
 * Each returns an exit code (see cli.h).
 */
#ifndef CUTOVER_CUTOVER_COMMANDS_H
#define CUTOVER_CUTOVER_COMMANDS_H

#include "cutover/cli.h"

int cmd_check(const cli_globals *g, int argc, char **argv);
int cmd_ttl(const cli_globals *g, int argc, char **argv);
int cmd_dns(const cli_globals *g, int argc, char **argv);
int cmd_presync(const cli_globals *g, int argc, char **argv);
int cmd_estimate(const cli_globals *g, int argc, char **argv);
int cmd_run(const cli_globals *g, int argc, char **argv);
int cmd_postsync(const cli_globals *g, int argc, char **argv);
int cmd_status(const cli_globals *g, int argc, char **argv);
int cmd_rollback(const cli_globals *g, int argc, char **argv);
int cmd_sync(const cli_globals *g, int argc, char **argv);

/* `ttl status` and `ttl wait` (cmd_ttl_watch.c), called by cmd_ttl. */
int cmd_ttl_status(const cli_globals *g, int argc, char **argv);
int cmd_ttl_wait(const cli_globals *g, int argc, char **argv);

#endif
