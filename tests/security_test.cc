// Every kernel object a session creates is private to the user.
#include <gtest/gtest.h>

#include "hygiene.h"
#include "support.h"

namespace ipcb_test {
namespace {

class Privacy : public testing::TestWithParam<const ipcb_transport *> {};

// Looks while the session runs: objects are removed or unlinked early, but
// whatever exists meanwhile must be mode 0600 or stricter.
TEST_P(Privacy, ObjectsAreOwnerOnlyWhileInUse) {
  auto before = KernelObjects();
  int rc = 0;
  SessionPtr session = Open(GetParam(), 4096, 0, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_pingpong(session.get()), 0);
  for (const auto &[name, mode] : KernelObjectModes()) {
    if (!before.count(name)) {
      EXPECT_EQ(mode & 077, 0u) << name << " has mode 0" << std::oct << mode;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTransports, Privacy,
                         testing::ValuesIn(Transports()), TransportName());

} // namespace
} // namespace ipcb_test
