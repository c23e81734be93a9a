// Test main: the peer role first (tests spawn this binary as their peer),
// then googletest with a check that no test leaves a kernel object behind.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "hygiene.h"
#include "ipcb/ipcb.h"
#ifdef IPCB_TEST_INTRUDER
#include "intruder_darwin.h"
#endif

int main(int argc, char **argv) {
#ifdef IPCB_TEST_INTRUDER
  // A stranger at the Mach rendezvous, spawned by the rendezvous tests.
  size_t flag_len = strlen(INTRUDER_FLAG);
  if (argc == 2 && strncmp(argv[1], INTRUDER_FLAG, flag_len) == 0)
    return intruder_main(argv[1] + flag_len);
#endif
  int peer_status = ipcb_peer_main_if_requested(argc, argv);
  if (peer_status >= 0) {
    if (peer_status != 0)
      fprintf(stderr, "ipcb_tests peer: %s\n", ipcb_peer_error());
    return peer_status;
  }
  ipcb_install_cleanup_handlers();
  testing::InitGoogleTest(&argc, argv);
  testing::AddGlobalTestEnvironment(new ipcb_test::HygieneCheck);
  testing::UnitTest::GetInstance()->listeners().Append(
      ipcb_test::HygieneCheck::NewTestMarker());
  return RUN_ALL_TESTS();
}
