/* hb_signal — the stop flag. */
#include "hb_signal.h"

#include <string.h>

volatile sig_atomic_t hb_stop;

static void on_signal(int sig)
{
	hb_stop = sig;
}

int hb_signal_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	return sigaction(SIGPIPE, &sa, NULL);
}
