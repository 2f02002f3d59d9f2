/*
 * journal.c: the state database (see journal.h).
 *
 * Schema (version 1):
 *   entries(id, time, step, phase, detail)   the step journal, append-only
 *   facts(key PRIMARY KEY, value, time)      named JSON values
 *   runs(id, kind, start, end, status)       sync history
 *   run_accounts(run_id, csv_line, user1, user2, start, end, copied,
 *                copied_bytes, in_sync, flags_updated, deleted1,
 *                deleted2, failed, status, error)
 * WAL journal mode with synchronous=FULL: a write is on disk when the call
 * returns, so "intent before acting" holds across a power cut.
 */
#include "cutover/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/str.h"
#include "common/timeutil.h"

struct journal {
	sqlite3 *db;
	char *dir;
	int lock_fd;
	pthread_mutex_t mu;
};

static const char journal_schema[] =
	"CREATE TABLE IF NOT EXISTS entries ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL,"
	" step TEXT NOT NULL, phase TEXT NOT NULL, detail TEXT);"
	"CREATE INDEX IF NOT EXISTS entries_step ON entries(step, id);"
	"CREATE TABLE IF NOT EXISTS facts ("
	" key TEXT PRIMARY KEY, value TEXT NOT NULL, time REAL NOT NULL);"
	"CREATE TABLE IF NOT EXISTS runs ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
	" start REAL NOT NULL, end REAL, status TEXT);"
	"CREATE TABLE IF NOT EXISTS run_accounts ("
	" run_id INTEGER NOT NULL REFERENCES runs(id), csv_line INTEGER,"
	" user1 TEXT, user2 TEXT, start REAL, end REAL,"
	" copied INTEGER, copied_bytes INTEGER, in_sync INTEGER,"
	" flags_updated INTEGER, deleted1 INTEGER, deleted2 INTEGER,"
	" failed INTEGER, status TEXT, error TEXT);"
	"PRAGMA user_version = 1;";

#ifdef CUTOVER_DEBUG_HOOKS
/* Crash-at-every-step tests: exit right after the Nth durable write. */
static long crash_after = -1;
static long writes_done;
static pthread_mutex_t crash_mu = PTHREAD_MUTEX_INITIALIZER;

static void journal_count_write(void)
{
	static int loaded;
	long n;

	pthread_mutex_lock(&crash_mu);
	if (!loaded) {
		const char *e = getenv("CUTOVER_CRASH_AFTER_WRITES");
		if (e != NULL && *e != '\0')
			crash_after = strtol(e, NULL, 10);
		loaded = 1;
	}
	n = ++writes_done;
	pthread_mutex_unlock(&crash_mu);
	if (crash_after > 0 && n >= crash_after) {
		fprintf(stderr, "cutover: test hook: exiting after journal "
			"write %ld\n", n);
		_exit(99);
	}
}
#else
static void journal_count_write(void)
{
}
#endif

static int journal_db_error(journal *j, cut_status *st, const char *what)
{
	int code = sqlite3_errcode(j->db);
	cut_kind kind = CUT_FINAL;
	const char *hint = "";

	if (code == SQLITE_FULL)
		hint = ": the disk is full; free space and run again";
	else if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN ||
		 code == SQLITE_PERM)
		hint = ": the state directory must be writable";
	else if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		kind = CUT_TEMP;
	return cut_status_set(st, kind, CUT_SCOPE_LOCAL,
			      "%s/cutover.db: cannot %s: %s%s", j->dir, what,
			      sqlite3_errmsg(j->db), hint);
}

int journal_open(const char *state_dir, journal **j_r, cut_status *st)
{
	journal *j = NULL;
	char *path = NULL;
	char *err = NULL;
	int ret = -1;

	*j_r = NULL;
	if (cut_dir_ensure(state_dir, st) < 0)
		goto done;
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->dir = strdup(state_dir)) == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	j->lock_fd = -1;
	pthread_mutex_init(&j->mu, NULL);
	path = cut_strdup_printf("%s/cutover.db", state_dir);
	if (path == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	if (sqlite3_open_v2(path, &j->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		journal_db_error(j, st, "open");
		goto done;
	}
	chmod(path, 0600);
	sqlite3_busy_timeout(j->db, 10000);
	if (sqlite3_exec(j->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "PRAGMA foreign_keys=ON;",
			 NULL, NULL, &err) != SQLITE_OK ||
	    sqlite3_exec(j->db, journal_schema, NULL, NULL, &err) != SQLITE_OK) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: cannot initialise the state database: %s%s",
			       path, err ? err : "unknown error",
			       sqlite3_errcode(j->db) == SQLITE_FULL
				       ? ": the disk is full"
				       : "");
		goto done;
	}
	*j_r = j;
	j = NULL;
	ret = 0;
done:
	sqlite3_free(err);
	free(path);
	journal_close(&j);
	return ret;
}

void journal_close(journal **jp)
{
	journal *j;

	if (jp == NULL || *jp == NULL)
		return;
	j = *jp;
	if (j->db != NULL)
		sqlite3_close(j->db);
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	pthread_mutex_destroy(&j->mu);
	free(j->dir);
	free(j);
	*jp = NULL;
}

int journal_lock(journal *j, cut_status *st)
{
	char *path = NULL;
	char pidbuf[32];
	int fd = -1, ret = -1;
	ssize_t n;

	if (j->lock_fd >= 0)
		return 0;
	path = cut_strdup_printf("%s/lock", j->dir);
	if (path == NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: cannot open the lock file: %s", path,
			       strerror(errno));
		goto done;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		n = pread(fd, pidbuf, sizeof(pidbuf) - 1, 0);
		pidbuf[n > 0 ? n : 0] = '\0';
		cut_str_trim(pidbuf);
		if (pidbuf[0] != '\0')
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s: another cutover process (PID %s) "
				       "works on this plan; wait for it to "
				       "finish",
				       j->dir, pidbuf);
		else
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s: another cutover process works on "
				       "this plan; wait for it to finish",
				       j->dir);
		ret = JOURNAL_LOCK_HELD;
		goto done;
	}
	n = snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pidbuf, (size_t)n, 0) < 0) {
		/* The PID is informational only. */
	}
	j->lock_fd = fd;
	fd = -1;
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

static int journal_step(journal *j, sqlite3_stmt *stmt, cut_status *st,
			const char *what)
{
	int rc = sqlite3_step(stmt);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return journal_db_error(j, st, what);
	return 0;
}

int journal_record(journal *j, const char *step, const char *phase,
		   const char *detail_json, cut_status *st)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	pthread_mutex_lock(&j->mu);
	if (sqlite3_prepare_v2(j->db,
			       "INSERT INTO entries(time, step, phase, detail) "
			       "VALUES (?, ?, ?, ?)",
			       -1, &stmt, NULL) != SQLITE_OK) {
		journal_db_error(j, st, "write the journal");
		goto done;
	}
	sqlite3_bind_double(stmt, 1, cut_now());
	sqlite3_bind_text(stmt, 2, step, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, phase, -1, SQLITE_STATIC);
	if (detail_json != NULL)
		sqlite3_bind_text(stmt, 4, detail_json, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 4);
	if (journal_step(j, stmt, st, "write the journal") < 0)
		goto done;
	ret = 0;
done:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&j->mu);
	if (ret == 0)
		journal_count_write();
	return ret;
}

static char *journal_col_dup(sqlite3_stmt *stmt, int col)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	return t != NULL ? strdup((const char *)t) : NULL;
}

int journal_last(journal *j, const char *step, char **phase_r,
		 char **detail_r, double *time_r, cut_status *st)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1, rc;

	*phase_r = NULL;
	if (detail_r != NULL)
		*detail_r = NULL;
	pthread_mutex_lock(&j->mu);
	if (sqlite3_prepare_v2(j->db,
			       "SELECT phase, detail, time FROM entries "
			       "WHERE step = ? ORDER BY id DESC LIMIT 1",
			       -1, &stmt, NULL) != SQLITE_OK) {
		journal_db_error(j, st, "read the journal");
		goto done;
	}
	sqlite3_bind_text(stmt, 1, step, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*phase_r = journal_col_dup(stmt, 0);
		if (detail_r != NULL)
			*detail_r = journal_col_dup(stmt, 1);
		if (time_r != NULL)
			*time_r = sqlite3_column_double(stmt, 2);
	} else if (rc != SQLITE_DONE) {
		journal_db_error(j, st, "read the journal");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&j->mu);
	return ret;
}

int journal_foreach(journal *j, journal_entry_cb *cb, void *ctx,
		    cut_status *st)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1, rc;

	pthread_mutex_lock(&j->mu);
	if (sqlite3_prepare_v2(j->db,
			       "SELECT id, time, step, phase, detail FROM "
			       "entries ORDER BY id",
			       -1, &stmt, NULL) != SQLITE_OK) {
		journal_db_error(j, st, "read the journal");
		goto done;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (cb(ctx, sqlite3_column_int64(stmt, 0),
		       sqlite3_column_double(stmt, 1),
		       (const char *)sqlite3_column_text(stmt, 2),
		       (const char *)sqlite3_column_text(stmt, 3),
		       (const char *)sqlite3_column_text(stmt, 4)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		journal_db_error(j, st, "read the journal");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&j->mu);
	return ret;
}

int journal_fact_set(journal *j, const char *key, const char *json,
		     cut_status *st)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	pthread_mutex_lock(&j->mu);
	if (sqlite3_prepare_v2(j->db,
			       "INSERT OR REPLACE INTO facts(key, value, time) "
			       "VALUES (?, ?, ?)",
			       -1, &stmt, NULL) != SQLITE_OK) {
		journal_db_error(j, st, "write a fact");
		goto done;
	}
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, json, -1, SQLITE_STATIC);
	sqlite3_bind_double(stmt, 3, cut_now());
	if (journal_step(j, stmt, st, "write a fact") < 0)
		goto done;
	ret = 0;
done:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&j->mu);
	if (ret == 0)
		journal_count_write();
	return ret;
}

int journal_fact_get(journal *j, const char *key, char **json_r,
		     double *time_r, cut_status *st)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1, rc;

	*json_r = NULL;
	pthread_mutex_lock(&j->mu);
	if (sqlite3_prepare_v2(j->db,
			       "SELECT value, time FROM facts WHERE key = ?", -1,
			       &stmt, NULL) != SQLITE_OK) {
		journal_db_error(j, st, "read a fact");
		goto done;
	}
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*json_r = journal_col_dup(stmt, 0);
		if (time_r != NULL)
			*time_r = sqlite3_column_double(stmt, 1);
	} else if (rc != SQLITE_DONE) {
		journal_db_error(j, st, "read a fact");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&j->mu);
	return ret;
}

int journal_fact_del(journal *j, const char *key, cut_status *st)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	pthread_mutex_lock(&j->mu);
	if (sqlite3_prepare_v2(j->db, "DELETE FROM facts WHERE key = ?", -1,
			       &stmt, NULL) != SQLITE_OK) {
		journal_db_error(j, st, "delete a fact");
		goto done;
	}
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	if (journal_step(j, stmt, st, "delete a fact") < 0)
		goto done;
	ret = 0;
done:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&j->mu);
	return ret;
}

int journal_run_begin(journal *j, const char *kind, int64_t *run_id_r,
		      cut_status *st)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	pthread_mutex_lock(&j->mu);
	if (sqlite3_prepare_v2(j->db,
			       "INSERT INTO runs(kind, start) VALUES (?, ?)",
			       -1, &stmt, NULL) != SQLITE_OK) {
		journal_db_error(j, st, "record a run");
		goto done;
	}
	sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_double(stmt, 2, cut_now());
	if (journal_step(j, stmt, st, "record a run") < 0)
		goto done;
	*run_id_r = sqlite3_last_insert_rowid(j->db);
	ret = 0;
done:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&j->mu);
	if (ret == 0)
		journal_count_write();
	return ret;
}

int journal_run_account(journal *j, int64_t run_id,
			const journal_account_result *r, cut_status *st)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	pthread_mutex_lock(&j->mu);
	if (sqlite3_prepare_v2(
		    j->db,
		    "INSERT INTO run_accounts(run_id, csv_line, user1, user2, "
		    "start, end, copied, copied_bytes, in_sync, flags_updated, "
		    "deleted1, deleted2, failed, status, error) VALUES "
		    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		    -1, &stmt, NULL) != SQLITE_OK) {
		journal_db_error(j, st, "record an account result");
		goto done;
	}
	sqlite3_bind_int64(stmt, 1, run_id);
	sqlite3_bind_int(stmt, 2, (int)r->csv_line);
	sqlite3_bind_text(stmt, 3, r->user1, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, r->user2, -1, SQLITE_STATIC);
	sqlite3_bind_double(stmt, 5, r->start);
	sqlite3_bind_double(stmt, 6, r->end);
	sqlite3_bind_int64(stmt, 7, (sqlite3_int64)r->copied);
	sqlite3_bind_int64(stmt, 8, (sqlite3_int64)r->copied_bytes);
	sqlite3_bind_int64(stmt, 9, (sqlite3_int64)r->in_sync);
	sqlite3_bind_int64(stmt, 10, (sqlite3_int64)r->flags_updated);
	sqlite3_bind_int64(stmt, 11, (sqlite3_int64)r->deleted1);
	sqlite3_bind_int64(stmt, 12, (sqlite3_int64)r->deleted2);
	sqlite3_bind_int64(stmt, 13, (sqlite3_int64)r->failed);
	sqlite3_bind_text(stmt, 14, r->status ? r->status : "ok", -1,
			  SQLITE_STATIC);
	if (r->error != NULL)
		sqlite3_bind_text(stmt, 15, r->error, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 15);
	if (journal_step(j, stmt, st, "record an account result") < 0)
		goto done;
	ret = 0;
done:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&j->mu);
	if (ret == 0)
		journal_count_write();
	return ret;
}

int journal_run_end(journal *j, int64_t run_id, const char *status,
		    cut_status *st)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	pthread_mutex_lock(&j->mu);
	if (sqlite3_prepare_v2(j->db,
			       "UPDATE runs SET end = ?, status = ? WHERE id = ?",
			       -1, &stmt, NULL) != SQLITE_OK) {
		journal_db_error(j, st, "record a run");
		goto done;
	}
	sqlite3_bind_double(stmt, 1, cut_now());
	sqlite3_bind_text(stmt, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, run_id);
	if (journal_step(j, stmt, st, "record a run") < 0)
		goto done;
	ret = 0;
done:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&j->mu);
	if (ret == 0)
		journal_count_write();
	return ret;
}

int journal_run_durations(journal *j, const char *kind, unsigned max,
			  double **durations_r, unsigned *n_r, cut_status *st)
{
	sqlite3_stmt *stmt = NULL;
	double *d = NULL;
	unsigned n = 0;
	int ret = -1, rc;

	*durations_r = NULL;
	*n_r = 0;
	if (max == 0)
		return 0;
	d = calloc(max, sizeof(*d));
	if (d == NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "out of memory");
	pthread_mutex_lock(&j->mu);
	if (sqlite3_prepare_v2(j->db,
			       "SELECT end - start FROM runs WHERE kind = ? AND "
			       "end IS NOT NULL ORDER BY id DESC LIMIT ?",
			       -1, &stmt, NULL) != SQLITE_OK) {
		journal_db_error(j, st, "read the history");
		goto done;
	}
	sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, (int)max);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < max)
		d[n++] = sqlite3_column_double(stmt, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		journal_db_error(j, st, "read the history");
		goto done;
	}
	*durations_r = d;
	*n_r = n;
	d = NULL;
	ret = 0;
done:
	free(d);
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&j->mu);
	return ret;
}

struct sqlite3 *journal_db(journal *j)
{
	return j->db;
}
