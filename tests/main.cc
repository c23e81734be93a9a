// Test main: the peer role first (tests spawn this binary as their peer),
// then googletest with a check that no test leaves a kernel object behind.
#include <gtest/gtest.h>

#include <cstdio>

#include "hygiene.h"
#include "ipcb/ipcb.h"

int main(int argc, char **argv) {
  int peer_status = ipcb_peer_main_if_requested(argc, argv);
  if (peer_status >= 0) {
    if (peer_status != 0)
      fprintf(stderr, "ipcb_tests peer: %s\n", ipcb_peer_error());
    return peer_status;
  }
  ipcb_install_cleanup_handlers();
  testing::InitGoogleTest(&argc, argv);
  testing::AddGlobalTestEnvironment(new ipcb_test::HygieneCheck);
  return RUN_ALL_TESTS();
}
