/* A stranger at the Mach rendezvous (macOS): a third process looks up the
 * client's bootstrap name and sends a well-formed hello before the real
 * peer starts. The client must refuse it (it comes from a pid other than
 * the peer it spawned), connect with the real peer, and leave no name
 * registered. */
#ifndef IPCB_TESTS_INTRUDER_DARWIN_H
#define IPCB_TESTS_INTRUDER_DARWIN_H

#ifdef __cplusplus
extern "C" {
#endif

/* The test binary runs intruder_main(name) when given this flag. */
#define INTRUDER_FLAG "--ipcb_test_intruder="

typedef struct intruder_trial {
  int attach_rc, exchange_rc;  /* 0, or the code of the failure */
  int registered_after_attach; /* the name could still be looked up */
  int registered_after_close;
  char name[128];
  char err[512];
} intruder_trial;

/* 0 once sent, else a small exit status. */
int intruder_main(const char *name);
/* Setup, the intruder's hello, the real peer, attach, one exchange. 0, or
 * -1 when the trial could not be staged (out->err says why). */
int intruder_trial_run(const char *transport, intruder_trial *out);

#ifdef __cplusplus
}
#endif
#endif
