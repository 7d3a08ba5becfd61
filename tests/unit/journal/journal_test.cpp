// Journal: what a restart restores, what it forgets, group commit and compaction.
#include "broker/journal/journal.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "journal_rig.hpp"

namespace postbox::broker::journal::test {
namespace {

using broker::test::Recorder;

/// A lease holder that never returns what it holds: its leases are what a
/// crash leaves behind. Declared before the rig, it outlives the queues.
class Crashing final : public LeaseHolder {};

/// The message one receive delivers (leased, with lease_to set).
Message* take(Queue& q, const ReceiveSpec& spec) {
  struct Grab final : Delivery {
    Message* m = nullptr;
    void deliver(const Message& x, uint32_t) override { m = const_cast<Message*>(&x); }
  } grab;
  return q.receive(spec, kAlice, grab) == Errc::ok ? grab.m : nullptr;
}

TEST(Journal, ARestartRestoresDurableQueuesWithEveryMessageAsItWas) {
  TempDir dir;
  Crashing holder;
  std::map<uint64_t, Image> before;
  QueueAttributes attrs;
  {
    JournalRig a(dir.path());
    DeclareSpec spec;
    spec.name = "jobs";
    spec.durable = true;
    spec.max_messages = 500;
    spec.max_deliveries = 4;
    spec.lease_ms = 60000;
    spec.mode = 0640;
    ASSERT_EQ(a.store.declare(spec, kAlice, 1).code, Errc::ok);
    Queue& q = *a.store.find("jobs");
    a.declare("scratch", /*durable=*/false);
    a.send(*a.store.find("scratch"), {{1, 0, "gone"}});
    a.send(q, {{.type = 1, .payload = "one", .header = "h1"},
               {.type = 2, .priority = 7, .payload = "two", .key = "k2"},
               {.type = 3, .payload = "three", .delay_ms = 60000},
               {.type = 4, .payload = "four", .ttl_ms = 3'600'000},
               {.type = 5, .payload = "five"},
               {.type = 1, .priority = 3, .payload = "six"}});
    Recorder auto_ack;
    ReceiveSpec first;
    ASSERT_EQ(q.receive(first, kAlice, auto_ack), Errc::ok);  // "two" (priority 7) is gone
    ReceiveSpec lease;
    lease.lease_to = &holder;
    lease.selector = Selector{1, false};
    ASSERT_NE(take(q, lease), nullptr);  // "six" (priority 3): leased at the crash
    lease.selector = Selector{4, false};
    Message* four = take(q, lease);
    lease.selector = Selector{5, false};
    Message* five = take(q, lease);
    ASSERT_TRUE(four && five);
    q.nack(*four, 60000, uint8_t{9});  // back, delayed, with a new priority
    q.ack(*five);
    a.settle();
    before = image_of(q);
    attrs = q.attributes();
  }
  ASSERT_EQ(before.size(), 4u);  // one, three, four (delayed), six (leased)
  // What a restart changes: the lease is over; the count of its delivery stays.
  for (auto& [id, img] : before) img.leased = false;

  JournalRig b(dir.path());
  EXPECT_EQ(b.store.find("scratch"), nullptr) << "a non-durable queue came back";
  Queue* q = b.store.find("jobs");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(image_of(*q), before);
  EXPECT_TRUE(q->durable());
  EXPECT_EQ(q->attributes().limits.max_messages, 500u);
  EXPECT_EQ(q->attributes().limits.max_deliveries, 4u);
  EXPECT_EQ(q->attributes().limits.lease_ms, 60000u);
  EXPECT_EQ(q->attributes().owner.mode, 0640u);
  EXPECT_EQ(q->attributes().owner.uid, attrs.owner.uid);
  EXPECT_EQ(q->stats().delayed, 2u);  // "three" and the nacked "four"
  EXPECT_EQ(b.journal.status().recovered_messages, 4u);

  // Queue order survives: "six" (priority 3) then "one"; the returned lease
  // is a redelivery.
  Recorder r;
  ReceiveSpec all;
  all.max_count = 10;
  ASSERT_EQ(q->receive(all, kAlice, r), Errc::ok);
  ASSERT_EQ(r.got.size(), 2u);
  EXPECT_EQ(r.got[0].type, 1);
  EXPECT_EQ(r.got[0].priority, 3);
  EXPECT_EQ(r.got[0].delivery_count, 2u);
  EXPECT_EQ(r.got[1].priority, 0);
  EXPECT_EQ(r.got[1].delivery_count, 1u);
  // New ids continue past the recovered ones.
  const uint64_t next = b.send(*q, {{.payload = "seven"}});
  EXPECT_GT(next, before.rbegin()->first);
}

TEST(Journal, PurgeAndDeleteAreReplayedAndLeasedMessagesSurviveAPurge) {
  TempDir dir;
  Crashing holder;
  {
    JournalRig a(dir.path());
    Queue& q = a.declare("jobs");
    Queue& doomed = a.declare("doomed");
    a.send(q, {{.payload = "a"}, {.payload = "b"}, {.payload = "c", .delay_ms = 60000}});
    a.send(doomed, {{.payload = "x"}});
    ReceiveSpec lease;
    lease.lease_to = &holder;
    Recorder got;
    ASSERT_EQ(q.receive(lease, kAlice, got), Errc::ok);  // "a" is leased
    EXPECT_EQ(q.purge(), 2u);
    a.store.remove(doomed);
    a.send(q, {{.payload = "d"}});
    a.settle();
  }
  JournalRig b(dir.path());
  EXPECT_EQ(b.store.find("doomed"), nullptr);
  Queue* q = b.store.find("jobs");
  ASSERT_NE(q, nullptr);
  std::vector<std::string> payloads;
  for (auto& [id, img] : image_of(*q)) payloads.push_back(img.data.substr(img.data.size() - 1));
  EXPECT_EQ(payloads, (std::vector<std::string>{"a", "d"}));
}

TEST(Journal, DeadLettersMoveBetweenDurableQueuesWithTheirHistory) {
  TempDir dir;
  Crashing holder;
  {
    JournalRig a(dir.path());
    a.declare("dead");
    DeclareSpec spec;
    spec.name = "jobs";
    spec.durable = true;
    spec.dead_letter = "dead";
    ASSERT_EQ(a.store.declare(spec, kAlice, 1).code, Errc::ok);
    Queue& q = *a.store.find("jobs");
    a.send(q, {{.payload = "poison"}});
    ReceiveSpec lease;
    lease.lease_to = &holder;
    Recorder got;
    ASSERT_EQ(q.receive(lease, kAlice, got), Errc::ok);
    q.reject(*holder.any());
    a.settle();
  }
  JournalRig b(dir.path());
  EXPECT_EQ(image_of(*b.store.find("jobs")).size(), 0u);
  auto dead = image_of(*b.store.find("dead"));
  ASSERT_EQ(dead.size(), 1u);
  const std::string& data = dead.begin()->second.data;
  EXPECT_NE(data.find("x-death-reason"), std::string::npos);
  EXPECT_NE(data.find("rejected"), std::string::npos);
  EXPECT_EQ(data.substr(data.size() - 6), "poison");
}

TEST(Journal, GroupCommitSyncsManyRecordsAtOnce) {
  TempDir dir;
  JournalRig a(dir.path(), config::Fsync::always);
  Queue& q = a.declare("jobs");
  a.settle();
  const uint64_t syncs = a.journal.status().syncs_total;
  for (int i = 0; i < 200; ++i) a.send(q, {{.payload = "m" + std::to_string(i)}});
  EXPECT_LT(a.journal.durable_seq(), a.journal.appended_seq()) << "nothing may be durable yet";
  a.settle();
  // One fdatasync (plus at most one more for records that raced it) covers all 200.
  EXPECT_LE(a.journal.status().syncs_total - syncs, 2u);
  EXPECT_EQ(a.journal.durable_seq(), a.journal.appended_seq());
}

TEST(Journal, RepliesWaitUntilTheirRecordsAreDurable) {
  TempDir dir;
  JournalRig a(dir.path(), config::Fsync::always);
  Queue& q = a.declare("jobs");
  a.settle();
  a.send(q, {{.payload = "m"}});
  bool released = false;
  a.journal.when_durable(a.journal.appended_seq(), [&] { released = true; });
  EXPECT_FALSE(released);
  a.settle();
  EXPECT_TRUE(released);
  bool at_once = false;
  a.journal.when_durable(a.journal.appended_seq(), [&] { at_once = true; });
  EXPECT_TRUE(at_once);
}

/// The sizes of the segment files in `data_dir`'s journal, added up.
uint64_t segment_files_size(const std::string& data_dir) {
  uint64_t sum = 0;
  for (uint64_t n : list_segments(data_dir + "/journal"))
    sum += std::filesystem::file_size(segment_path(data_dir + "/journal", n));
  return sum;
}

TEST(Journal, SegmentsGrowAheadOfTheirWritesAndGiveTheRoomBackOnceSealedOrClosed) {
  TempDir dir, crashed;
  constexpr uint64_t kSegment = 4096;  // the step of the reserve too
  std::size_t sent = 0;
  {
    JournalRig a(dir.path(), config::Fsync::never, kSegment);
    Queue& q = a.declare("jobs");
    for (; sent < 40; ++sent) {
      a.send(q, {{.payload = std::string(300, 'x')}});
      a.settle();
    }
    const uint64_t logical = a.journal.status().bytes;
    ASSERT_GE(a.journal.status().segments, 3u);
    // Only the active segment holds reserved room, less than one step.
    const uint64_t on_disk = segment_files_size(dir.path());
    EXPECT_GT(on_disk, logical);
    EXPECT_LT(on_disk - logical, kSegment);
    // A crash now leaves the zeros: recovery finds every message and cuts them.
    std::filesystem::copy(dir.path(), crashed.path(), std::filesystem::copy_options::recursive);
    a.journal.close();
    EXPECT_EQ(segment_files_size(dir.path()), logical);
  }
  JournalRig b(crashed.path(), config::Fsync::never, kSegment);
  ASSERT_NE(b.store.find("jobs"), nullptr);
  EXPECT_EQ(image_of(*b.store.find("jobs")).size(), sent);
}

TEST(Journal, CompactionKeepsTheLogNearWhatIsAliveAndCopiesOldMessagesForward) {
  TempDir dir;
  constexpr uint64_t kSegment = 4096;
  {
    JournalRig a(dir.path(), config::Fsync::never, kSegment);
    Queue& q = a.declare("jobs");
    a.send(q, {{.priority = 0, .payload = "keep me"}});  // lowest priority: received last
    for (int round = 0; round < 200; ++round) {
      for (int i = 0; i < 10; ++i) a.send(q, {{.priority = 5, .payload = std::string(40, 'p')}});
      Recorder r;
      ReceiveSpec ten;
      ten.max_count = 10;
      ASSERT_EQ(q.receive(ten, kAlice, r), Errc::ok);
      ASSERT_EQ(r.got.size(), 10u);
      a.settle();
      const JournalStatus st = a.journal.status();
      ASSERT_LE(st.bytes, 2 * st.live_bytes + 3 * kSegment) << "round " << round;
    }
    EXPECT_GT(a.journal.status().records_total, 4000u);
    EXPECT_LE(a.journal.status().segments, 4u);
  }
  std::size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path() + "/journal"))
    files += e.path().extension() == ".wal";
  EXPECT_LE(files, 5u);
  JournalRig b(dir.path());
  auto img = image_of(*b.store.find("jobs"));
  ASSERT_EQ(img.size(), 1u);
  EXPECT_EQ(img.begin()->second.data, "keep me");
}

TEST(Journal, DurabilityIsFixedAtCreationAndTemporaryQueuesCannotBeDurable) {
  TempDir dir;
  JournalRig a(dir.path());
  a.declare("plain", false);
  DeclareSpec spec;
  spec.name = "plain";
  spec.durable = true;
  auto r = a.store.declare(spec, kAlice, 1);
  EXPECT_EQ(r.code, Errc::invalid_argument);
  EXPECT_NE(r.error.find("durability is fixed"), std::string::npos) << r.error;
  spec.name = "";
  spec.temporary_for = 7;
  r = a.store.declare(spec, kAlice, 1);
  EXPECT_EQ(r.code, Errc::invalid_argument);
  EXPECT_NE(r.error.find("temporary"), std::string::npos) << r.error;
}

TEST(Journal, NothingIsWrittenUntilTheFirstDurableQueue) {
  TempDir dir;
  {
    JournalRig a(dir.path() + "/data");
    a.declare("plain", false);
    a.send(*a.store.find("plain"), {{.payload = "x"}});
    a.settle();
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data"));
    a.declare("kept");
    EXPECT_TRUE(std::filesystem::exists(dir.path() + "/data/journal"));
  }
}

TEST(Journal, ASecondBrokerOnTheSameDirectoryIsRefused) {
  TempDir dir;
  JournalRig a(dir.path());
  a.declare("kept");
  a.settle();
  boost::asio::io_context io;
  Journal other(io, JournalOptions{dir.path(), config::Fsync::never, 1000, 1u << 20});
  QueueStore store(config::QueueLimits{}, 1u << 20);
  try {
    other.recover(store);
    FAIL() << "recovered a journal another broker holds";
  } catch (const StartupError& e) {
    EXPECT_EQ(e.status, ExitStatus::storage);
    EXPECT_NE(std::string(e.what()).find("in use by another postboxd"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace postbox::broker::journal::test

namespace postbox::broker::journal::test {
namespace {

TEST(Journal, AMessageWhoseTtlRanOutWhileTheBrokerWasDownExpiresAtRecovery) {
  TempDir dir;
  {
    JournalRig a(dir.path());
    a.declare("dead");
    DeclareSpec spec;
    spec.name = "jobs";
    spec.durable = true;
    spec.dead_letter = "dead";
    ASSERT_EQ(a.store.declare(spec, kAlice, 1).code, Errc::ok);
    Queue& q = *a.store.find("jobs");
    a.send(q, {{.payload = "short", .ttl_ms = 1}, {.payload = "long", .ttl_ms = 3'600'000}});
    a.settle();
  }
  // The TTL is wall-clock time in the journal: let 1 ms pass on that clock.
  const uint64_t until = realtime_ns() + 2'000'000;
  while (realtime_ns() < until) {
  }
  JournalRig b(dir.path());
  auto jobs = image_of(*b.store.find("jobs"));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs.begin()->second.data, "long");
  EXPECT_EQ(b.store.find("jobs")->stats().expired_total, 1u);
  auto dead = image_of(*b.store.find("dead"));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(dead.begin()->second.data.find("expired"), std::string::npos);
}

TEST(Journal, AnExpiryAtRecoveryIsLoggedSoTheNextRestartAgrees) {
  TempDir dir;
  {
    JournalRig a(dir.path());
    a.send(a.declare("jobs"), {{.payload = "short", .ttl_ms = 1}});
    a.settle();
  }
  const uint64_t until = realtime_ns() + 2'000'000;
  while (realtime_ns() < until) {
  }
  {
    JournalRig b(dir.path());
    EXPECT_EQ(b.store.find("jobs")->stats().expired_total, 1u);
    b.settle();
  }
  JournalRig c(dir.path());
  EXPECT_EQ(image_of(*c.store.find("jobs")).size(), 0u);
  EXPECT_EQ(c.store.find("jobs")->stats().expired_total, 0u)
      << "expired again: its removal was lost";
}

TEST(Journal, IntervalAcknowledgesOnceWrittenAndSyncsOnItsTimer) {
  TempDir dir;
  JournalRig a(dir.path(), config::Fsync::interval);
  Queue& q = a.declare("jobs");
  a.settle();
  const uint64_t syncs = a.journal.status().syncs_total;
  a.send(q, {{.payload = "m"}});
  a.settle();  // written is enough under "interval"
  EXPECT_EQ(a.journal.durable_seq(), a.journal.appended_seq());
  // The timer (1000 ms) syncs what was written.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (a.journal.status().syncs_total == syncs && std::chrono::steady_clock::now() < deadline) {
    a.io.restart();
    a.io.run_one_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(a.journal.status().syncs_total, syncs);
}

}  // namespace
}  // namespace postbox::broker::journal::test
