/*
 * cmd_sync.c: `cutover sync`: one account through the sync engine
 * (imapsync/sync.h), with text or JSON output (docs/sync.md documents the
 * JSON document).  Exit codes: 0 every selected message in sync; 1 some
 * failed (listed); 2 usage error; 4 refused for safety (--delete1 with
 * --delete2).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cancel.h"
#include "common/hostport.h"
#include "common/log.h"
#include "common/secret.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "cutover/cli.h"
#include "cutover/commands.h"
#include "imapsync/sync.h"

typedef struct sync_side_args {
	const char *host, *user, *passfile, *tls, *tls_name;
} sync_side_args;

static int cmd_sync_tls(const char *s, imap_tls *tls_r)
{
	if (s == NULL || strcmp(s, "imaps") == 0)
		*tls_r = IMAP_TLS_IMPLICIT;
	else if (strcmp(s, "starttls") == 0)
		*tls_r = IMAP_TLS_STARTTLS;
	else if (strcmp(s, "plain") == 0)
		*tls_r = IMAP_TLS_NONE;
	else
		return -1;
	return 0;
}

/* Fills the endpoint from the arguments; the password from the pass file
 * or the environment.  @return an exit code, CUT_EXIT_OK when fine. */
static int cmd_sync_endpoint(const cli_command *cmd, int n,
			     const sync_side_args *a, cut_hostport *hp,
			     char **password_r, sync_endpoint *e)
{
	const char *why = NULL;
	const char *env = n == 1 ? "CUTOVER_PASSWORD1" : "CUTOVER_PASSWORD2";
	cut_status st;

	if (a->host == NULL || a->user == NULL)
		return cli_usage_error(cmd, "--host%d and --user%d are required", n, n);
	if (cmd_sync_tls(a->tls, &e->tls) < 0)
		return cli_usage_error(cmd, "--tls%d %s: expected imaps, starttls or plain",
				       n, a->tls);
	if (cut_hostport_parse(a->host, e->tls == IMAP_TLS_IMPLICIT ? 993 : 143, hp,
			       &why) < 0)
		return cli_usage_error(cmd, "--host%d %s: %s", n, a->host, why);
	e->host = hp->host;
	e->port = hp->port;
	e->tls_name = a->tls_name;
	e->user = a->user;
	if (a->passfile != NULL) {
		if (cut_secret_read_first_line(a->passfile, password_r, &st) < 0) {
			fprintf(stderr, "cutover: %s\n", st.msg);
			return CUT_EXIT_USAGE;
		}
	} else if (getenv(env) != NULL) {
		*password_r = strdup(getenv(env));
		if (*password_r == NULL)
			return CUT_EXIT_FAILED;
	} else {
		return cli_usage_error(cmd,
				       "no password for host%d: give --passfile%d FILE "
				       "or set %s",
				       n, n, env);
	}
	e->password = *password_r;
	return CUT_EXIT_OK;
}

static int cmd_sync_cancelled(void *ctx)
{
	(void)ctx;
	return cut_cancelled();
}

static void cmd_sync_progress(void *ctx, const sync_progress *p)
{
	char line[256];

	(void)ctx;
	snprintf(line, sizeof(line),
		 "folder %zu/%zu %s: copied %llu (%llu bytes), flags %llu, "
		 "deleted %llu/%llu",
		 p->folder_index + 1, p->n_folders, p->folder,
		 (unsigned long long)p->total.copied,
		 (unsigned long long)p->total.copied_bytes,
		 (unsigned long long)p->total.flags_updated,
		 (unsigned long long)p->total.deleted1,
		 (unsigned long long)p->total.deleted2);
	cut_log_progress(line);
}

static void cmd_sync_counts_json(json_t *o, const sync_counts *c)
{
	json_object_set_new(o, "copied", json_integer((json_int_t)c->copied));
	json_object_set_new(o, "copied_bytes",
			    json_integer((json_int_t)c->copied_bytes));
	json_object_set_new(o, "flags_updated",
			    json_integer((json_int_t)c->flags_updated));
	json_object_set_new(o, "deleted1", json_integer((json_int_t)c->deleted1));
	json_object_set_new(o, "deleted2", json_integer((json_int_t)c->deleted2));
	json_object_set_new(o, "in_sync", json_integer((json_int_t)c->in_sync));
	json_object_set_new(o, "failed", json_integer((json_int_t)c->failed));
}

static json_t *cmd_sync_json(const sync_result *r, const sync_opts *o,
			     const char *user1, const char *user2, int ok,
			     const cut_status *st)
{
	json_t *doc = json_object(), *total = json_object(), *folders = json_array();
	char t[64];

	json_object_set_new(doc, "command", json_string("sync"));
	json_object_set_new(doc, "mode", json_string(o->delete1 ? "postsync"
							       : o->justlogin ? "justlogin"
							       : "sync"));
	json_object_set_new(doc, "dry_run", json_boolean(o->dry_run));
	json_object_set_new(doc, "delete2", json_boolean(o->delete2));
	json_object_set_new(doc, "ok", json_boolean(ok));
	json_object_set_new(doc, "host1", json_pack("{s:s?,s:s}", "server",
						    r != NULL ? r->host1_desc : NULL,
						    "user", user1));
	json_object_set_new(doc, "host2", json_pack("{s:s?,s:s}", "server",
						    r != NULL ? r->host2_desc : NULL,
						    "user", user2));
	if (r != NULL) {
		cut_time_format_rfc3339(r->start, t, sizeof(t));
		json_object_set_new(doc, "start", json_string(t));
		cut_time_format_rfc3339(r->end, t, sizeof(t));
		json_object_set_new(doc, "end", json_string(t));
		json_object_set_new(doc, "seconds", json_real(r->end - r->start));
		json_object_set_new(doc, "login_ok", json_boolean(r->login_ok));
		cmd_sync_counts_json(total, &r->total);
		for (size_t i = 0; i < r->n_folders; i++) {
			const sync_folder_result *fr = &r->folders[i];
			json_t *f = json_object();

			json_object_set_new(f, "name", json_string(fr->display1 ? fr->display1 : ""));
			json_object_set_new(f, "host1", fr->name1 ? json_string(fr->name1) : json_null());
			json_object_set_new(f, "host2", json_string(fr->name2 ? fr->name2 : ""));
			json_object_set_new(f, "created", json_boolean(fr->created));
			json_object_set_new(f, "subscribed", json_boolean(fr->subscribed));
			json_object_set_new(f, "folder_deleted", json_boolean(fr->deleted));
			cmd_sync_counts_json(f, &fr->c);
			json_object_set_new(f, "error", fr->error ? json_string(fr->error) : json_null());
			if (o->record_actions) {
				json_t *acts = json_array();

				for (size_t k = 0; k < fr->n_acts; k++) {
					const sync_action_rec *a = &fr->acts[k];

					json_array_append_new(
						acts,
						json_pack("{s:s,s:I,s:I,s:I,s:s?}", "action",
							  sync_plan_action_name(a->kind),
							  "uid1", (json_int_t)a->uid1, "uid2",
							  (json_int_t)a->uid2, "size",
							  (json_int_t)a->size, "flags", a->flags));
				}
				json_object_set_new(f, "actions", acts);
			}
			json_array_append_new(folders, f);
		}
	}
	json_object_set_new(doc, "total", total);
	json_object_set_new(doc, "folders", folders);
	if (ok || st == NULL)
		json_object_set_new(doc, "error", json_null());
	else
		json_object_set_new(doc, "error",
				    json_pack("{s:s,s:s,s:s}", "kind", cut_kind_name(st->kind),
					      "scope", cut_scope_name(st->scope),
					      "message", st->msg));
	return doc;
}

static void cmd_sync_text(const sync_result *r, const sync_opts *o)
{
	const char *verb = o->dry_run ? "would " : "";

	if (r->host1_desc != NULL)
		printf("host1: %s\nhost2: %s\n", r->host1_desc,
		       r->host2_desc != NULL ? r->host2_desc : "-");
	if (o->justlogin) {
		if (r->login_ok)
			printf("login ok on both servers\n");
		return;
	}
	for (size_t i = 0; i < r->n_folders; i++) {
		const sync_folder_result *fr = &r->folders[i];

		if (fr->name1 == NULL) {
			printf("host2 folder \"%s\": %sdeleted (not on host1)\n",
			       fr->display1, verb);
			continue;
		}
		printf("\"%s\" -> \"%s\":%s%s copied %llu (%llu bytes), flags %llu, "
		       "deleted on host1 %llu, deleted on host2 %llu, in sync %llu, "
		       "failed %llu\n",
		       fr->display1, fr->name2, fr->created ? " (created)" : "",
		       o->dry_run ? " [dry run: would be]" : "",
		       (unsigned long long)fr->c.copied,
		       (unsigned long long)fr->c.copied_bytes,
		       (unsigned long long)fr->c.flags_updated,
		       (unsigned long long)fr->c.deleted1,
		       (unsigned long long)fr->c.deleted2,
		       (unsigned long long)fr->c.in_sync,
		       (unsigned long long)fr->c.failed);
		for (size_t k = 0; k < fr->n_acts; k++) {
			const sync_action_rec *a = &fr->acts[k];

			printf("  %s", sync_plan_action_name(a->kind));
			if (a->uid1)
				printf(" host1 uid %u", a->uid1);
			if (a->uid2)
				printf(" host2 uid %u", a->uid2);
			printf(" (%llu bytes)", (unsigned long long)a->size);
			if (a->flags != NULL && a->kind != SYNC_ACT_DELETE1)
				printf(" flags (%s)", a->flags);
			putchar('\n');
		}
		if (fr->error != NULL)
			printf("  error: %s\n", fr->error);
	}
	printf("total: copied %llu (%llu bytes), flags %llu, deleted on host1 %llu, "
	       "deleted on host2 %llu, in sync %llu, failed %llu%s\n",
	       (unsigned long long)r->total.copied,
	       (unsigned long long)r->total.copied_bytes,
	       (unsigned long long)r->total.flags_updated,
	       (unsigned long long)r->total.deleted1,
	       (unsigned long long)r->total.deleted2,
	       (unsigned long long)r->total.in_sync,
	       (unsigned long long)r->total.failed,
	       o->dry_run ? " (dry run: nothing changed)" : "");
}

int cmd_sync(const cli_globals *g, int argc, char **argv)
{
	enum {
		O_HOST1 = 256, O_USER1, O_PASS1, O_HOST2, O_USER2, O_PASS2, O_TLS1,
		O_TLS2, O_CA, O_NAME1, O_NAME2, O_INSECURE, O_DEL2, O_DEL2F, O_DEL1,
		O_MAXAGE, O_FOLDER, O_JUSTLOGIN, O_TIMEOUT, O_HELP, O_STATEDIR,
	};
	static const struct option longopts[] = {
		{"host1", required_argument, NULL, O_HOST1},
		{"user1", required_argument, NULL, O_USER1},
		{"passfile1", required_argument, NULL, O_PASS1},
		{"host2", required_argument, NULL, O_HOST2},
		{"user2", required_argument, NULL, O_USER2},
		{"passfile2", required_argument, NULL, O_PASS2},
		{"tls1", required_argument, NULL, O_TLS1},
		{"tls2", required_argument, NULL, O_TLS2},
		{"ca-file", required_argument, NULL, O_CA},
		{"tls-name1", required_argument, NULL, O_NAME1},
		{"tls-name2", required_argument, NULL, O_NAME2},
		{"insecure", no_argument, NULL, O_INSECURE},
		{"delete2", no_argument, NULL, O_DEL2},
		{"delete2-folders", no_argument, NULL, O_DEL2F},
		{"delete1", no_argument, NULL, O_DEL1},
		{"maxage", required_argument, NULL, O_MAXAGE},
		{"folder", required_argument, NULL, O_FOLDER},
		{"justlogin", no_argument, NULL, O_JUSTLOGIN},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"state-dir", required_argument, NULL, O_STATEDIR},
		{NULL, 0, NULL, 0},
	};
	const cli_command *cmd = cli_find_command("sync");
	sync_side_args a1 = {0}, a2 = {0};
	sync_endpoint e1, e2;
	cut_hostport hp1, hp2;
	sync_opts o;
	sync_result *res = NULL;
	const char **folders = NULL;
	char *pw1 = NULL, *pw2 = NULL;
	const char *ca_file = NULL;
	int insecure = 0, opt, rc = CUT_EXIT_FAILED;
	cut_status st;

	memset(&o, 0, sizeof(o));
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	cut_status_clear(&st);
	folders = calloc((size_t)argc + 1, sizeof(*folders));
	if (folders == NULL)
		goto done;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case O_HOST1: a1.host = optarg; break;
		case O_USER1: a1.user = optarg; break;
		case O_PASS1: a1.passfile = optarg; break;
		case O_HOST2: a2.host = optarg; break;
		case O_USER2: a2.user = optarg; break;
		case O_PASS2: a2.passfile = optarg; break;
		case O_TLS1: a1.tls = optarg; break;
		case O_TLS2: a2.tls = optarg; break;
		case O_CA: ca_file = optarg; break;
		case O_NAME1: a1.tls_name = optarg; break;
		case O_NAME2: a2.tls_name = optarg; break;
		case O_INSECURE: insecure = 1; break;
		case O_DEL2: o.delete2 = 1; break;
		case O_DEL2F: o.delete2_folders = 1; break;
		case O_DEL1: o.delete1 = 1; break;
		case O_MAXAGE:
			if (cut_duration_parse(optarg, &o.maxage) < 0 || o.maxage <= 0) {
				rc = cli_usage_error(cmd, "--maxage %s: expected a duration "
							  "such as 90m, 1d or 1.5d",
						     optarg);
				goto done;
			}
			break;
		case O_FOLDER: folders[o.n_folders++] = optarg; break;
		case O_JUSTLOGIN: o.justlogin = 1; break;
		case O_STATEDIR:
			o.state_dir = optarg;
			o.inflight_dir = optarg;
			break;
		case O_TIMEOUT:
			/* A server silent this long is given up on (default 120 s). */
			if (cut_duration_parse(optarg, &o.io_timeout) < 0 ||
			    o.io_timeout <= 0) {
				rc = cli_usage_error(cmd, "--timeout %s: expected a "
							  "duration such as 30s or 2m",
						     optarg);
				goto done;
			}
			break;
		default:
			/* Not the value after '=': it may be a password typed
			 * where none is accepted (--password1=...). */
			rc = cli_usage_error(cmd, "unknown or incomplete option %.*s",
					     (int)strcspn(argv[optind - 1], "="),
					     argv[optind - 1]);
			goto done;
		}
	}
	if (optind < argc) {
		rc = cli_usage_error(cmd, "unexpected argument %s", argv[optind]);
		goto done;
	}
	if (o.delete1 && o.delete2) {
		fprintf(stderr, "cutover: --delete1 with --delete2 is refused: the "
				"postsync never deletes on host2, where users already "
				"work\n");
		rc = CUT_EXIT_REFUSED;
		goto done;
	}
	if (o.delete1 && o.maxage <= 0 && o.n_folders == 0) {
		rc = cli_usage_error(cmd, "--delete1 needs --maxage and/or --folder");
		goto done;
	}
	if (o.delete2_folders && !o.delete2) {
		rc = cli_usage_error(cmd, "--delete2-folders goes with --delete2");
		goto done;
	}
	rc = cmd_sync_endpoint(cmd, 1, &a1, &hp1, &pw1, &e1);
	if (rc != CUT_EXIT_OK)
		goto done;
	rc = cmd_sync_endpoint(cmd, 2, &a2, &hp2, &pw2, &e2);
	if (rc != CUT_EXIT_OK)
		goto done;
	e1.ca_file = e2.ca_file = ca_file;
	e1.insecure = e2.insecure = insecure;
	o.folders = folders;
	o.dry_run = g->dry_run;
	o.record_actions = g->dry_run;
	o.cancelled = cmd_sync_cancelled;
	if (!g->json && !g->quiet)
		o.progress = cmd_sync_progress;

	rc = sync_account(&e1, &e2, &o, &res, &st) == 0 ? CUT_EXIT_OK
							 : CUT_EXIT_FAILED;
	cut_log_progress(NULL);
	if (g->json) {
		json_t *doc = cmd_sync_json(res, &o, e1.user, e2.user,
					    rc == CUT_EXIT_OK, &st);

		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(doc);
	} else if (res != NULL) {
		cmd_sync_text(res, &o);
	}
	if (rc != CUT_EXIT_OK)
		cut_error("sync %s -> %s: %s", e1.user, e2.user, st.msg);
done:
	sync_result_free(&res);
	cut_secret_free(&pw1);
	cut_secret_free(&pw2);
	free(folders);
	return rc;
}
