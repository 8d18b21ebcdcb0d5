/* hb_signal — SIGINT/SIGTERM set a flag; the program drains and exits. */
#ifndef HB_SIGNAL_H
#define HB_SIGNAL_H

#include <signal.h>

/* The signal number that asked us to stop, or 0.  The only mutable global. */
extern volatile sig_atomic_t hb_stop;

/*
 * Install handlers for SIGINT and SIGTERM (without SA_RESTART, so a blocking
 * read or poll returns EINTR and the loop sees hb_stop; with SA_RESETHAND,
 * so a second signal during a stuck drain kills the process the default way
 * and never looks like success), and ignore SIGPIPE so that a closed stdout
 * shows up as EPIPE.  Returns 0 or -1 (errno).
 */
int hb_signal_setup(void);

#endif
