// libpostbox against a real postboxd with durable queues: DECLARE's durable, the STAT and LIST
// keys, STATUS, and a durable queue's messages across a SIGTERM and restart on the same data dir.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>

#include "postbox/async_client.hpp"
#include "postbox/client.hpp"
#include "tests/support/client_checks.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

QueueOptions durable() {
  QueueOptions o;
  o.durable = true;
  return o;
}

class DurableClient : public ::testing::Test {
 protected:
  TestBroker broker_;
  Client sut_{broker_.socket()};
};

TEST_F(DurableClient, DurableQueuesShowInStatListAndStatus) {
  EXPECT_TRUE(sut_.declare("d", durable()).queue.durable);
  EXPECT_FALSE(sut_.declare("m").queue.durable);

  EXPECT_TRUE(sut_.stat("d").durable);
  EXPECT_FALSE(sut_.stat("m").durable);
  const QueueList list = sut_.queue_list();
  ASSERT_EQ(list.queues.size(), 2u);
  for (const QueueSummary& q : list.queues) EXPECT_EQ(q.durable, q.name == "d") << q.name;
  ASSERT_TRUE(list.log);
  EXPECT_GE(list.log->segments, 1u);
  EXPECT_GT(list.log->bytes, 0u);  // the declaration of d is a record
  for (const QueueSummary& q : sut_.list()) EXPECT_EQ(q.durable, q.name == "d") << q.name;

  const BrokerStatus s = sut_.status();
  EXPECT_EQ(s.pid, static_cast<uint32_t>(broker_.pid()));
  EXPECT_EQ(s.version, sut_.server_info().broker_version);
  EXPECT_GE(s.connections, 1u);
  EXPECT_EQ(s.queues, 2u);
  EXPECT_EQ(s.durable_queues, 1u);
  EXPECT_EQ(s.log.data_dir, broker_.data_dir());
  EXPECT_EQ(s.log.fsync, "always");  // the default
  EXPECT_GE(s.log.segment_size, 4096u);
  EXPECT_EQ(s.log.bytes, list.log->bytes);
  EXPECT_EQ(s.log.segments, list.log->segments);
  EXPECT_EQ(s.log.state, "ok");
  EXPECT_EQ(s.log.error, "");
}

TEST_F(DurableClient, LogBytesAndShareFollowTheQueuedMessages) {
  sut_.declare("d", durable());
  sut_.declare("m");
  for (int i = 0; i < 10; ++i) {
    sut_.send("d", "durable " + std::to_string(i));
    sut_.send("m", "memory " + std::to_string(i));
  }
  const QueueStat d = sut_.stat("d");
  EXPECT_GT(d.log_bytes, 0u);
  EXPECT_GT(d.log_share, 0.0);
  EXPECT_LE(d.log_share, 1.0);
  EXPECT_LE(d.log_bytes, sut_.status().log.bytes);
  const QueueStat m = sut_.stat("m");
  EXPECT_EQ(m.log_bytes, 0u);
  EXPECT_EQ(m.log_share, 0.0);

  sut_.purge("d");
  EXPECT_EQ(sut_.stat("d").log_bytes, 0u);
}

TEST_F(DurableClient, OnlyDurableChangesAreLoggedAndSyncedUnderFsyncAlways) {
  sut_.declare("d", durable());
  sut_.declare("m");
  const LogStatus before = sut_.status().log;
  sut_.send("m", "in memory only");
  sut_.receive("m", {.timeout = kNoWait});
  const LogStatus after_memory = sut_.status().log;
  EXPECT_EQ(after_memory.records_total, before.records_total);
  EXPECT_EQ(after_memory.syncs_total, before.syncs_total);

  sut_.send("d", "kept");
  const LogStatus after_durable = sut_.status().log;
  EXPECT_GT(after_durable.records_total, after_memory.records_total);
  // Acknowledged only once synced: at least one fdatasync came with the send.
  EXPECT_GT(after_durable.syncs_total, after_memory.syncs_total);
}

TEST_F(DurableClient, DurabilityIsFixedAndTemporaryQueuesAreNeverDurable) {
  sut_.declare("m");
  EXPECT_EQ(error_of([&] { sut_.declare("m", durable()); }).errc(), Errc::invalid_argument);
  QueueOptions both = durable();
  both.temporary = true;
  EXPECT_EQ(error_of([&] { sut_.declare("", both); }).errc(), Errc::invalid_argument);
  EXPECT_FALSE(sut_.stat("m").durable);
}

TEST_F(DurableClient, MessagesOfADurableQueueSurviveARestart) {
  sut_.declare("d", durable());
  sut_.declare("m");
  SendOptions rich;
  rich.type = 7;
  rich.priority = 9;
  rich.correlation_id = "c-1";
  rich.reply_to = "replies";
  rich.headers = {{"k", "v"}, {"k", "w"}};
  sut_.send("d", "first");
  sut_.send("d", std::string("bin\0ary", 7), rich);
  sut_.send("d", "taken before the restart");
  sut_.send("m", "lost with the process");
  // Highest priority first: the rich message, then "first"; take "first".
  EXPECT_EQ(must(sut_.receive("d", {.type = 1, .timeout = kNoWait})).payload, "first");
  sut_.close();

  ASSERT_EQ(broker_.stop(SIGTERM), 0) << broker_.log();
  broker_.restart();
  Client after(broker_.socket());

  const QueueStat d = after.stat("d");
  EXPECT_TRUE(d.durable);
  EXPECT_EQ(d.depth, 2u);
  EXPECT_EQ(error_of([&] { after.stat("m"); }).errc(), Errc::no_such_queue);
  EXPECT_EQ(after.status().log.recovered_messages, 2u);
  EXPECT_EQ(after.status().durable_queues, 1u);

  const Message m = must(after.receive("d", {.timeout = kNoWait}));
  EXPECT_EQ(m.payload, std::string("bin\0ary", 7));
  EXPECT_EQ(m.type, 7);
  EXPECT_EQ(m.priority, 9);
  EXPECT_EQ(m.correlation_id, std::optional<std::string>("c-1"));
  EXPECT_EQ(m.reply_to, std::optional<std::string>("replies"));
  EXPECT_EQ(m.headers, (Headers{{"k", "v"}, {"k", "w"}}));
  EXPECT_EQ(must(after.receive("d", {.timeout = kNoWait})).payload, "taken before the restart");
  EXPECT_FALSE(after.receive("d", {.timeout = kNoWait}));
}

TEST_F(DurableClient, AsyncClientReadsStatusAndTheListsLog) {
  sut_.declare("d", durable());
  asio::io_context io;
  bool done = false;
  std::exception_ptr thrown;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        AsyncClient c(io.get_executor());
        co_await c.connect(broker_.socket());
        const BrokerStatus s = co_await c.status();
        EXPECT_EQ(s.durable_queues, 1u);
        EXPECT_EQ(s.log.data_dir, broker_.data_dir());
        const QueueList l = co_await c.queue_list();
        EXPECT_TRUE(l.log.has_value());
        EXPECT_EQ(l.queues.at(0).durable, true);
      },
      [&](std::exception_ptr e) {
        done = true;
        thrown = e;
      });
  io.run_for(10s);
  ASSERT_TRUE(done) << "the scenario did not finish within 10 s";
  if (thrown) std::rethrow_exception(thrown);
}

}  // namespace
}  // namespace postbox::testing
