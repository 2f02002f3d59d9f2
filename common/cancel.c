/* cancel.c: process-wide cancellation flag (see cancel.h). */
#include "common/cancel.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t cancel_flag;

static void cancel_handler(int sig)
{
	(void)sig;
	cancel_flag = 1;
}

void cut_cancel_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cancel_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int cut_cancelled(void)
{
	return cancel_flag != 0;
}

void cut_cancel_request(void)
{
	cancel_flag = 1;
}
