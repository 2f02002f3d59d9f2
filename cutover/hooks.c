/* hooks.c: hook commands and the notify webhook (see hooks.h). */
#include "cutover/hooks.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"

int hooks_run_command(const plan *p, const char *name, const char *command,
		      cut_status *st)
{
	pid_t pid;
	int status;

	if (command == NULL || command[0] == '\0')
		return 0;
	cut_info("running [hooks] %s: %s", name, command);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "[hooks] %s: cannot start: %s", name,
				      strerror(errno));
	if (pid == 0) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
		signal(SIGPIPE, SIG_DFL);
		setenv("CUTOVER_HOOK", name, 1);
		if (p->path != NULL)
			setenv("CUTOVER_PLAN", p->path, 1);
		if (p->zone != NULL)
			setenv("CUTOVER_ZONE", p->zone, 1);
		setenv("CUTOVER_SCENARIO",
		       p->scenario == PLAN_SCENARIO_LUCKY ? "lucky" : "classical",
		       1);
		if (p->state_dir != NULL)
			setenv("CUTOVER_STATE_DIR", p->state_dir, 1);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
					      "[hooks] %s: %s", name,
					      strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "[hooks] %s exited with status %d: `%s`",
				      name, WEXITSTATUS(status), command);
	return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			      "[hooks] %s was killed by signal %d: `%s`", name,
			      WTERMSIG(status), command);
}

static size_t hooks_discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

static pthread_once_t hooks_curl_once = PTHREAD_ONCE_INIT;

static void hooks_curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int hooks_notify(const char *url, const char *json)
{
	struct curl_slist *headers = NULL;
	CURL *c = NULL;
	CURLcode rc;
	long code = 0;
	int ret = -1;

	if (url == NULL || url[0] == '\0')
		return 0;
	pthread_once(&hooks_curl_once, hooks_curl_init);
	c = curl_easy_init();
	if (c == NULL)
		goto done;
	headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hooks_discard);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cutover");
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		cut_warn("[hooks] notify %s: %s (the cutover goes on)", url,
			 curl_easy_strerror(rc));
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		cut_warn("[hooks] notify %s: HTTP %ld (the cutover goes on)",
			 url, code);
		goto done;
	}
	ret = 0;
done:
	curl_slist_free_all(headers);
	if (c != NULL)
		curl_easy_cleanup(c);
	return ret;
}
