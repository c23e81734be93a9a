// The baselines, which the registry-wide suites leave out: Null and CacheLine
// must pass the same checks a transport does at the sizes they carry.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "../support.h"

namespace ipcb_test {
namespace {

void Exchange(const ipcb_transport *transport, size_t bytes, int verify) {
  SCOPED_TRACE(testing::Message() << transport->name << " " << bytes << " B"
                                  << (verify ? " verify" : ""));
  int rc = 0;
  SessionPtr session = Open(transport, bytes, verify, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  for (int i = 0; i < 1000; i++)
    ASSERT_EQ(ipcb_round_trip(session.get()), 0)
        << "exchange " << i << ": " << ipcb_session_error(session.get());
}

TEST(Baselines, AreInTheRegistryAndAvailable) {
  int found = 0;
  for (const ipcb_transport *t : Transports(/*with_baselines=*/true))
    found += (t->caps & IPCB_CAP_BASELINE) != 0;
  EXPECT_EQ(found, 2);
}

TEST(Baselines, NullHandsBackAStampedReplyAtEverySize) {
  const ipcb_transport *null = ipcb_transport_find("Null");
  ASSERT_NE(null, nullptr);
  for (size_t bytes : {1, 7, 8, 12, 63, 64, 4097})
    for (int verify : {0, 1})
      Exchange(null, bytes, verify);
}

TEST(Baselines, CacheLineCarriesUpToItsLine) {
  const ipcb_transport *line = ipcb_transport_find("CacheLine");
  ASSERT_NE(line, nullptr);
  for (size_t bytes : {size_t{1}, size_t{12}, line->max_message()})
    for (int verify : {0, 1})
      Exchange(line, bytes, verify);
  int rc = 0;
  SessionPtr session = Open(line, line->max_message() + 1, 0, 0, &rc);
  EXPECT_EQ(rc, IPCB_ELIMIT) << ipcb_session_error(session.get());
}

TEST(Baselines, CacheLineNoticesADeadPeerWhileSpinning) {
  int rc = 0;
  SessionPtr session = Open(ipcb_transport_find("CacheLine"), 12, 0, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_round_trip(session.get()), 0);
  kill(ipcb_session_peer_pid(session.get()), SIGKILL);
  auto start = std::chrono::steady_clock::now();
  while ((rc = ipcb_round_trip(session.get())) == 0)
    ;
  EXPECT_EQ(rc, IPCB_EPEERDIED) << ipcb_session_error(session.get());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(Baselines, CacheLineStopsASilentPeerAtTheDeadline) {
  int rc = 0;
  SessionPtr session =
      Open(ipcb_transport_find("CacheLine"), 12, 0, 300 * 1000 * 1000, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_round_trip(session.get()), 0);
  kill(ipcb_session_peer_pid(session.get()), SIGSTOP);
  EXPECT_EQ(ipcb_round_trip(session.get()), IPCB_ETIMEDOUT)
      << ipcb_session_error(session.get());
}

} // namespace
} // namespace ipcb_test
