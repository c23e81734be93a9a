// The registry's contract: every transport CMake compiled is in it, once,
// with what the core calls unconditionally and what --ipc_list shows.
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ipcb/ipcb.h"

#ifndef IPCB_TRANSPORT_NAMES
#error "IPCB_TRANSPORT_NAMES: the names CMake put in the registry"
#endif

namespace ipcb_test {
namespace {

std::vector<const ipcb_transport *> Registry() {
  std::vector<const ipcb_transport *> out;
  for (size_t i = 0; i < ipcb_transport_count(); i++)
    out.push_back(ipcb_transport_at(i));
  return out;
}

// It is a path element of benchmark names (PingPong/<Name>/<bytes>), which
// bench.smoke matches as [A-Za-z0-9]+: a capital, then letters and digits.
bool IsCamelCase(const std::string &name) {
  if (name.empty() || !std::isupper(static_cast<unsigned char>(name[0])))
    return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      return false;
  return true;
}

TEST(Registry, EveryTransportHonoursTheContract) {
  ASSERT_GT(ipcb_transport_count(), 0u);
  for (const ipcb_transport *t : Registry()) {
    ASSERT_NE(t, nullptr);
    EXPECT_NE(t->name, nullptr);
    std::string name = t->name ? t->name : "";
    SCOPED_TRACE(name);
    EXPECT_TRUE(IsCamelCase(name)) << name;
    EXPECT_NE(t->summary, nullptr);
    std::string summary = t->summary ? t->summary : "";
    EXPECT_FALSE(summary.empty());
    EXPECT_EQ(summary.find('\n'), std::string::npos) << "one line: " << summary;
    EXPECT_GT(t->ctx_size, 0u);
    // The ops that transport.h does not allow to be NULL.
    EXPECT_NE(t->setup, nullptr);
    EXPECT_NE(t->attach, nullptr);
    EXPECT_NE(t->send_buf, nullptr);
    EXPECT_NE(t->send, nullptr);
    EXPECT_NE(t->recv, nullptr);
    EXPECT_NE(t->teardown, nullptr);
  }
}

// Lookups ignore case (the peer finds its transport by name), so names must
// differ in more than case, and each name finds its own table.
TEST(Registry, NamesAreUniqueAndFindTheirTransport) {
  std::set<std::string> seen;
  for (const ipcb_transport *t : Registry()) {
    ASSERT_NE(t->name, nullptr);
    std::string folded = t->name;
    for (char &c : folded)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_TRUE(seen.insert(folded).second) << t->name << " twice";
    EXPECT_EQ(ipcb_transport_find(t->name), t) << t->name;
  }
  EXPECT_EQ(ipcb_transport_at(ipcb_transport_count()), nullptr);
}

// The C table and CMake's list (bench.smoke expects a result for each) are
// the same transports in the same order, each named as its ipcb_tr_<Name>.
TEST(Registry, MatchesTheTablesCMakeFound) {
  std::vector<std::string> cmake, c;
  std::stringstream names(IPCB_TRANSPORT_NAMES);
  for (std::string name; std::getline(names, name, ',');)
    cmake.push_back(name);
  for (const ipcb_transport *t : Registry())
    c.push_back(t->name ? t->name : "(null)");
  EXPECT_EQ(c, cmake) << "IPCB_TRANSPORT_NAMES: " << IPCB_TRANSPORT_NAMES;
}

// Availability is asked once per process: SysVMsg's probe makes and
// removes a queue, so a second question that reached it would show as a
// second object in the tracking record. The answer stays the probe's own.
TEST(Registry, EachTransportIsProbedOnce) {
  const ipcb_transport *msg = ipcb_transport_find("SysVMsg");
  ASSERT_NE(msg, nullptr);
  const char *why = nullptr;
  int first = ipcb_transport_probe(msg, &why);
  ASSERT_NE(why, nullptr);
  ipcb_tracked_history_reset();
  for (int i = 0; i < 3; i++) {
    const char *again = nullptr;
    EXPECT_EQ(ipcb_transport_probe(msg, &again), first);
    EXPECT_STREQ(again, why);
  }
  EXPECT_EQ(ipcb_tracked_history(nullptr, 0), 0u)
      << "a cached answer made a queue";
  EXPECT_EQ(ipcb_transport_limit(msg), msg->max_message());
  char direct[512] = "";
  EXPECT_EQ(msg->probe(direct, sizeof direct), first) << direct;
}

} // namespace
} // namespace ipcb_test
