// disk_free_limit against a real postboxd: below it durable sends and publishes fail with
// storage_error naming the limit, while receives, acks and non-durable queues go on; once the
// space is back, sends are accepted again; nothing acknowledged is lost across it.
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "postbox/client.hpp"
#include "tests/support/client_checks.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kNoDiskIsThisBig = uint64_t{1} << 50;  // the largest disk_free_limit

QueueOptions durable() {
  QueueOptions o;
  o.durable = true;
  return o;
}

TestBroker::Options with_limit(uint64_t limit) {
  return {.args = {"--disk-free-limit", std::to_string(limit)}};
}

uint64_t free_in(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) throw std::runtime_error("statvfs " + dir + " failed");
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

/// Polls STATUS (the broker checks the disk once a second) until the log's state is `state`.
bool wait_for_state(Client& c, const std::string& state) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (c.status().log.state == state) return true;
    ::usleep(20'000);  // polling an observable condition, bounded by the deadline
  }
  return false;
}

void expect_send_refused(Client& c, const std::string& queue) {
  const Error e = error_of([&] { c.send(queue, "refused"); });
  EXPECT_EQ(e.errc(), Errc::storage_error) << e.what();
  const std::string what = e.what();
  EXPECT_NE(what.find("'" + queue + "' is durable and the disk of its log is nearly full"),
            std::string::npos)
      << what;
  EXPECT_NE(what.find("below disk_free_limit"), std::string::npos) << what;
  EXPECT_NE(what.find("nothing was sent"), std::string::npos) << what;
}

TEST(DurableSpace, BelowTheLimitSendsAreRefusedAndReceivesAndAcksGoOn) {
  TestBroker broker(with_limit(0));
  {
    Client c(broker.socket());
    c.declare("d", durable());
    for (int i = 0; i < 6; ++i) c.send("d", "m" + std::to_string(i));
  }
  broker.stop();
  broker.restart(with_limit(kNoDiskIsThisBig));
  {
    Client c(broker.socket());
    c.declare("plain");
    const BrokerStatus st = c.status();
    EXPECT_EQ(st.log.state, "low_space");
    EXPECT_EQ(st.log.disk_free_limit, kNoDiskIsThisBig);
    EXPECT_GT(st.log.free_bytes, 0u);
    EXPECT_NE(st.log.error.find("below disk_free_limit " + std::to_string(kNoDiskIsThisBig)),
              std::string::npos)
        << st.log.error;

    expect_send_refused(c, "d");
    const Error pe = error_of([&] {
      c.bind("d", "news.#");
      c.publish("news.today", "refused too");
    });
    EXPECT_EQ(pe.errc(), Errc::storage_error) << pe.what();
    c.send("plain", "fine");  // not durable: nothing to write
    EXPECT_EQ(must(c.receive("plain")).payload, "fine");

    // Taking messages out goes on: an auto-ack receive, a lease and its ack,
    // a lease given back.
    EXPECT_EQ(must(c.receive("d")).payload, "m0");
    ReceiveOptions lease;
    lease.ack = true;
    const Message m1 = must(c.receive("d", lease));
    EXPECT_EQ(m1.payload, "m1");
    c.ack(m1.delivery_tag);
    const Message m2 = must(c.receive("d", lease));
    c.nack(m2.delivery_tag);
    EXPECT_EQ(c.stat("d").depth, 4u);

    // The CLI's exit status for it is storage_error's.
    RunResult r = run(
        {binary_from_env("POSTBOX_CLI"), "--socket", broker.socket(), "send", "d", "from the cli"});
    EXPECT_EQ(r.status, 11) << r.err;
    EXPECT_NE(r.err.find("disk_free_limit"), std::string::npos) << r.err;
  }
  broker.stop();
  broker.restart(with_limit(0));
  Client c(broker.socket());
  EXPECT_EQ(c.status().log.state, "ok");
  std::vector<std::string> left;
  for (const Message& m : c.receive_many("d", 100, {.timeout = kNoWait})) left.push_back(m.payload);
  // m0 and m1 are gone for good; m2 came back; no refused send got in.
  EXPECT_EQ(left, (std::vector<std::string>{"m2", "m3", "m4", "m5"}));
}

TEST(DurableSpace, SendsAreAcceptedAgainOnceSpaceReturns) {
  TestBroker broker(with_limit(0));
  const uint64_t free = free_in(broker.dir());
  constexpr uint64_t kMargin = 512ull << 20;
  if (free < 4 * kMargin)
    GTEST_SKIP() << "needs 2 GiB free in " << broker.dir() << ", has " << free;
  broker.stop();
  broker.restart(with_limit(free - kMargin));
  Client c(broker.socket());
  c.declare("d", durable());
  c.send("d", "before");
  ASSERT_EQ(c.status().log.state, "ok");

  // Take the margin and as much again: the broker sees it at its next check.
  const std::string filler = broker.dir() + "/filler";
  const int fd = ::open(filler.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::posix_fallocate(fd, 0, static_cast<off_t>(2 * kMargin)), 0);
  ::close(fd);
  ASSERT_TRUE(wait_for_state(c, "low_space")) << c.status().log.error;
  expect_send_refused(c, "d");
  EXPECT_EQ(must(c.receive("d")).payload, "before");

  ASSERT_EQ(::unlink(filler.c_str()), 0);
  ASSERT_TRUE(wait_for_state(c, "ok")) << c.status().log.error;
  c.send("d", "after");
  EXPECT_EQ(c.status().log.error, "");
  broker.kill();
  broker.restart();
  Client again(broker.socket());
  EXPECT_EQ(must(again.receive("d", {.timeout = kNoWait})).payload, "after");
  EXPECT_EQ(again.stat("d").depth, 0u);
}

}  // namespace
}  // namespace postbox::testing
