/* commands.c: the command table: names, usage lines and help texts. */
#include <stddef.h>

#include "cutover/commands.h"

const cli_command cli_commands[] = {
	{"check", "check [--offline] PLAN", "preflight: exit 0 only if the cutover can run",
	 "Validates the whole plan file (every problem reported as PLAN:LINE,\n"
	 "all at once), the accounts CSV and the secret files' permissions,\n"
	 "then checks what can be checked live: the DNS primary and the TSIG\n"
	 "key, the served RRsets against the plan, and that every account can\n"
	 "log in on both servers.\n"
	 "  --offline   validate the plan, the CSV and the secret files only;\n"
	 "              contact no server\n"
	 "Exit: 0 ready to run, 1 a live check failed, 2 plan error.\n",
	 cmd_check},
	{"ttl", "ttl lower|status|wait|restore PLAN", "lower, watch or restore the TTLs",
	 "ttl lower PLAN     set the TTL of the MX RRset (and, lucky scenario, the\n"
	 "                   IMAP name's A/AAAA) to [dns] low_ttl, data unchanged;\n"
	 "                   the original RRsets are journaled first\n"
	 "ttl status PLAN    every authoritative address and resolver: serial, data,\n"
	 "                   TTL served; verdict ready / not ready and when\n"
	 "ttl wait PLAN [--timeout DURATION]\n"
	 "                   poll until ready (exit 0) or the timeout (exit 3)\n"
	 "ttl restore PLAN   TTLs back to the journaled originals, data as it is now\n",
	 cmd_ttl},
	{"dns", "dns show|mx|imap|wait PLAN [ARG]", "show or change the watched records",
	 "dns show PLAN                    the watched RRsets and the SOA, from the primary\n"
	 "dns mx PLAN old|new              the MX RRset becomes [mx] old or new\n"
	 "dns imap PLAN old|new|parking    the IMAP name's A/AAAA become those addresses\n"
	 "dns wait PLAN mx old|new | imap old|new|parking [--timeout DURATION]\n"
	 "                                 wait until every authoritative address\n"
	 "                                 serves that data; print until when caches\n"
	 "                                 may hold the previous data (exit 3 on\n"
	 "                                 timeout)\n"
	 "Every update carries the RRset as read just before as a prerequisite, so\n"
	 "a concurrent edit makes it fail instead of being overwritten.\n",
	 cmd_dns},
	{"presync", "presync PLAN [--no-delete2] [--mark-users-on-host2]",
	 "exact sync of every account (before the migration hour)",
	 "Syncs every account of the plan's CSV host1 -> host2 as an exact sync:\n"
	 "messages missing on host2 are copied, host2 messages that host1 lacks\n"
	 "are deleted.  [sync] jobs accounts at a time.  Every run is recorded in\n"
	 "the state database for `cutover estimate`.\n"
	 "  --no-delete2            copy only (once users work on host2)\n"
	 "  --mark-users-on-host2   record that users work on host2 (locks out delete)\n",
	 cmd_presync},
	{"estimate", "estimate PLAN", "predict the last sync's duration from the presyncs",
	 "Predicts how long the last sync will take from the recorded presyncs,\n"
	 "and compares it with [migration] window.\n",
	 cmd_estimate},
	{"run", "run PLAN [--at TIME]", "run the cutover at the migration hour",
	 "Waits for the migration hour, then: cut access, last sync, MX change,\n"
	 "wait until no cache can hold the old MX, postsync (and in the lucky\n"
	 "scenario, move the IMAP name).  Resumes an interrupted run.\n"
	 "  --at TIME   RFC 3339 time overriding [migration] at\n",
	 cmd_run},
	{"postsync", "postsync PLAN", "move mail that still reached host1 (repeatable)",
	 "Copies the INBOX messages that arrived on host1 in the postsync window\n"
	 "to host2 and deletes on host1 those whose copy is confirmed.  Never\n"
	 "deletes anything on host2.  Run it again for stragglers.\n",
	 cmd_postsync},
	{"status", "status PLAN", "where the cutover stands",
	 "Shows the phase, each step's times, the current deadline and the\n"
	 "per-account results of the last sync and postsync.\n",
	 cmd_status},
	{"rollback", "rollback PLAN [--force]", "undo the DNS changes before the MX change",
	 "Before the MX change: puts the MX and the IMAP name back and runs\n"
	 "[hooks] restore_access.  After it: refused (exit 4) unless --force.\n",
	 cmd_rollback},
	{"sync", "sync --host1 H --user1 U --host2 H --user2 U [OPTIONS]",
	 "sync one account (the engine behind presync and postsync)",
	 "Options:\n"
	 "  --host1 HOST[:PORT] --user1 USER [--passfile1 FILE]\n"
	 "  --host2 HOST[:PORT] --user2 USER [--passfile2 FILE]\n"
	 "  --tls1 imaps|starttls|plain  --tls2 ...   (default imaps)\n"
	 "  --ca-file FILE  --tls-name1 NAME  --tls-name2 NAME  --insecure\n"
	 "  --delete2  --delete2-folders  --delete1  --maxage DURATION\n"
	 "  --folder NAME (repeatable)  --justlogin\n"
	 "  --timeout DURATION  give up on a server silent this long (default 2m)\n"
	 "  --state-dir DIR  remember per-folder CONDSTORE state there and skip\n"
	 "                   folders unchanged on both servers (default: none,\n"
	 "                   every folder compared in full); also where the\n"
	 "                   APPENDs in flight are recorded, so that a rerun\n"
	 "                   after a crash does not copy a message twice;\n"
	 "                   created (mode 700) when missing\n"
	 "Passwords come from the pass files (first line) or from the environment\n"
	 "(CUTOVER_PASSWORD1, CUTOVER_PASSWORD2), never from the command line.\n",
	 cmd_sync},
	{NULL, NULL, NULL, NULL, NULL},
};
