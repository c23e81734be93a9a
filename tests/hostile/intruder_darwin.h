/* A stranger at the Mach rendezvous (macOS): a third process looks up the
 * client's bootstrap name and sends a message before the real peer starts,
 * then waits for an answer. The client must refuse it (it comes from a pid
 * other than the peer it spawned, or is not a hello at all), never answer
 * it, connect with the real peer, and leave no name registered. */
#ifndef IPCB_TESTS_INTRUDER_DARWIN_H
#define IPCB_TESTS_INTRUDER_DARWIN_H

#ifdef __cplusplus
extern "C" {
#endif

/* The test binary runs intruder_main(name) when given this flag. */
#define INTRUDER_FLAG "--ipcb_test_intruder="

typedef struct intruder_trial {
  int attach_rc, exchange_rc;  /* 0, or the code of the failure */
  int intruder_status;         /* 0: never answered; 10: answered */
  int registered_after_attach; /* the name could still be looked up */
  int registered_after_close;
  char name[128];
  char err[512];
} intruder_trial;

/* "<mode>:<name>", mode "hello", "bare" or "large". The exit status: 0
 * when stopped by SIGTERM without an answer, 10 when answered, else a
 * failure to send (2 to 6) or no SIGTERM within 20 s (11). */
int intruder_main(const char *arg);
/* Setup, the intruder's message, the real peer, attach, one exchange, the
 * intruder stopped. 0, or -1 when the trial could not be staged (out->err
 * says why). */
int intruder_trial_run(const char *transport, const char *mode,
                       intruder_trial *out);

#ifdef __cplusplus
}
#endif
#endif
