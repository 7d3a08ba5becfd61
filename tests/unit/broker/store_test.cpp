// Tests for broker/store.cpp: queue names, declare (create/open/change), remove and list.
#include "broker/store.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "broker_test_support.hpp"

namespace postbox::broker {
namespace {

using namespace test;

constexpr uint32_t kCeiling = 16776960;
constexpr Credentials kRoot{1, 0, 0};

config::QueueLimits store_defaults() {
  config::QueueLimits l = make_limits(100, 10000, 1000);
  l.mode = 0640;
  return l;
}

DeclareSpec named(std::string name) {
  DeclareSpec s;
  s.name = std::move(name);
  return s;
}

TEST(QueueName, ValidNamesAreShortAndPlain) {
  struct Case {
    std::string name;
    bool valid;
  };
  const Case cases[] = {
      {"a", true},
      {"jobs", true},
      {"Jobs.v1_high-prio", true},
      {"0", true},
      {std::string(255, 'x'), true},
      {"", false},
      {std::string(256, 'x'), false},
      {"a b", false},
      {"a/b", false},
      {"jobs\n", false},
      {std::string("a\0b", 3), false},
      {"caf\xc3\xa9", false},
      {"*", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(valid_queue_name(c.name), c.valid) << "name of " << c.name.size() << " bytes";
  }
}

TEST(QueueStoreDeclare, NewQueueTakesDefaultsAndDeclarersOwnership) {
  QueueStore sut(store_defaults(), kCeiling);
  const DeclareResult r = sut.declare(named("jobs"), kAlice, 77);
  ASSERT_EQ(r.code, Errc::ok) << r.error;
  ASSERT_NE(r.queue, nullptr);
  EXPECT_TRUE(r.created);
  const QueueAttributes& a = r.queue->attributes();
  EXPECT_EQ(a.limits.max_messages, 100u);
  EXPECT_EQ(a.limits.max_bytes, 10000u);
  EXPECT_EQ(a.limits.max_message_size, 1000u);
  EXPECT_EQ(a.owner.uid, kAlice.uid);
  EXPECT_EQ(a.owner.gid, kAlice.gid);
  EXPECT_EQ(a.owner.mode, 0640u);
  EXPECT_EQ(r.queue->stats().created_ns, 77u);
  EXPECT_EQ(sut.find("jobs"), r.queue);
  EXPECT_EQ(sut.size(), 1u);
}

TEST(QueueStoreDeclare, NewQueueTakesGivenFields) {
  QueueStore sut(store_defaults(), kCeiling);
  DeclareSpec spec = named("jobs");
  spec.max_messages = 5;
  spec.max_message_size = kCeiling;
  spec.mode = 0666;
  spec.overflow = config::Overflow::drop_oldest;
  const DeclareResult r = sut.declare(spec, kAlice, 0);
  ASSERT_EQ(r.code, Errc::ok) << r.error;
  const QueueAttributes& a = r.queue->attributes();
  EXPECT_EQ(a.limits.max_messages, 5u);
  EXPECT_EQ(a.limits.max_bytes, 10000u);
  EXPECT_EQ(a.limits.max_message_size, kCeiling);
  EXPECT_EQ(a.limits.overflow, config::Overflow::drop_oldest);
  EXPECT_EQ(a.owner.mode, 0666u);
  EXPECT_EQ(a.limits.mode, 0666u);
}

TEST(QueueStoreDeclare, BadValuesAreRejectedWithOneLineReason) {
  struct Case {
    DeclareSpec spec;
    std::string error;
  };
  DeclareSpec zero_messages = named("jobs");
  zero_messages.max_messages = 0;
  DeclareSpec zero_bytes = named("jobs");
  zero_bytes.max_bytes = 0;
  DeclareSpec zero_size = named("jobs");
  zero_size.max_message_size = 0;
  DeclareSpec huge = named("jobs");
  huge.max_message_size = 99999999;
  DeclareSpec mode = named("jobs");
  mode.mode = 01000;
  const Case cases[] = {
      {named(""), "queue name '': must be 1-255 bytes of [A-Za-z0-9._-]"},
      {named("a b\n"), "queue name 'a b\\x0a': must be 1-255 bytes of [A-Za-z0-9._-]"},
      {zero_messages, "queue 'jobs': max_messages must be at least 1"},
      {zero_bytes, "queue 'jobs': max_bytes must be at least 1"},
      {zero_size, "queue 'jobs': max_message_size must be at least 1"},
      {huge, "queue 'jobs': max_message_size 99999999 exceeds the broker's limit 16776960"},
      {mode, "queue 'jobs': mode 01000 is outside 0..0777"},
  };
  for (const Case& c : cases) {
    QueueStore sut(store_defaults(), kCeiling);
    const DeclareResult r = sut.declare(c.spec, kAlice, 0);
    EXPECT_EQ(r.code, Errc::invalid_argument);
    EXPECT_EQ(r.error, c.error);
    EXPECT_EQ(r.queue, nullptr);
    EXPECT_EQ(sut.size(), 0u);
  }
}

TEST(QueueStoreDeclare, ExistingQueueIsOpenedUnlessExclusive) {
  QueueStore sut(store_defaults(), kCeiling);
  Queue* q = sut.declare(named("jobs"), kAlice, 0).queue;
  DeclareResult again = sut.declare(named("jobs"), kAlice, 0);
  EXPECT_EQ(again.code, Errc::ok);
  EXPECT_EQ(again.queue, q);
  EXPECT_FALSE(again.created);

  DeclareSpec exclusive = named("jobs");
  exclusive.exclusive = true;
  const DeclareResult r = sut.declare(exclusive, kAlice, 0);
  EXPECT_EQ(r.code, Errc::queue_exists);
  EXPECT_EQ(r.error, "queue 'jobs' already exists");
  exclusive.name = "fresh";
  EXPECT_TRUE(sut.declare(exclusive, kAlice, 0).created);
}

TEST(QueueStoreDeclare, OpeningNeedsReadOrWritePermission) {
  struct Case {
    uint32_t mode;
    Credentials who;
    Errc result;
  };
  const Case cases[] = {
      {0600, kBob, Errc::permission_denied},
      {0604, kBob, Errc::ok},
      {0602, kBob, Errc::ok},
      {0600, kAlice, Errc::ok},
      {0000, kRoot, Errc::ok},
      {0060, kBob, Errc::permission_denied},
  };
  for (const Case& c : cases) {
    QueueStore sut(store_defaults(), kCeiling);
    DeclareSpec spec = named("jobs");
    spec.mode = c.mode;
    ASSERT_EQ(sut.declare(spec, kAlice, 0).code, Errc::ok);
    const DeclareResult r = sut.declare(named("jobs"), c.who, 0);
    EXPECT_EQ(r.code, c.result) << "mode 0" << std::oct << c.mode << " uid " << std::dec
                                << c.who.uid << ": " << r.error;
    if (c.result != Errc::ok) {
      std::ostringstream want;
      want << "queue 'jobs': permission denied (mode 0" << std::oct << c.mode
           << ", owner uid 1000)";
      EXPECT_EQ(r.error, want.str());
      EXPECT_EQ(r.queue, nullptr);
    }
  }
}

TEST(QueueStoreDeclare, ChangingAttributesNeedsOwnerOrRoot) {
  QueueStore sut(store_defaults(), kCeiling);
  DeclareSpec create = named("jobs");
  create.mode = 0666;
  Queue* q = sut.declare(create, kAlice, 0).queue;

  DeclareSpec same = create;
  EXPECT_EQ(sut.declare(same, kBob, 0).code, Errc::ok) << "repeating the attributes is no change";

  DeclareSpec change = named("jobs");
  change.max_messages = 5;
  const DeclareResult denied = sut.declare(change, kBob, 0);
  EXPECT_EQ(denied.code, Errc::permission_denied);
  EXPECT_EQ(denied.error,
            "queue 'jobs': only its owner (uid 1000) or root may change its attributes");
  EXPECT_EQ(q->attributes().limits.max_messages, 100u);

  EXPECT_EQ(sut.declare(change, kAlice, 0).code, Errc::ok);
  EXPECT_EQ(q->attributes().limits.max_messages, 5u);
  change.mode = 0600;
  EXPECT_EQ(sut.declare(change, kRoot, 0).code, Errc::ok);
  EXPECT_EQ(q->attributes().owner.mode, 0600u);
  EXPECT_EQ(q->attributes().owner.uid, kAlice.uid) << "root changing it does not take it over";
}

TEST(QueueStore, RemoveWakesWaitersAndForgetsTheQueue) {
  QueueStore sut(store_defaults(), kCeiling);
  Queue* q = sut.declare(named("jobs"), kAlice, 0).queue;
  TestReceiver w;
  w.on_finished = [&] { EXPECT_EQ(sut.find("jobs"), nullptr); };
  q->wait_receive(w);
  sut.remove(*q);
  EXPECT_EQ(w.result, Errc::queue_removed);
  EXPECT_EQ(sut.find("jobs"), nullptr);
  EXPECT_EQ(sut.size(), 0u);
}

TEST(QueueStore, AllListsQueuesByNameAndIdsAreShared) {
  QueueStore sut(store_defaults(), kCeiling);
  for (const char* n : {"b", "c", "a"}) ASSERT_EQ(sut.declare(named(n), kAlice, 0).code, Errc::ok);
  const std::vector<Queue*> all = sut.all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->name(), "a");
  EXPECT_EQ(all[1]->name(), "b");
  EXPECT_EQ(all[2]->name(), "c");

  Batch one = make_batch({{1}});
  Batch two = make_batch({{1}});
  uint64_t first_a = 0;
  uint64_t first_c = 0;
  ASSERT_EQ(all[0]->send(one, kAlice, first_a), Errc::ok);
  ASSERT_EQ(all[2]->send(two, kAlice, first_c), Errc::ok);
  EXPECT_EQ(first_c, first_a + 1) << "one id counter for the whole broker";
}

TEST(QueueStore, TemporaryQueuesAreNamedForTheirConnectionAndNeverOpenAnother) {
  QueueStore sut(store_defaults(), kCeiling);
  ASSERT_EQ(sut.declare(named("tmp.7.1"), kAlice, 0).code, Errc::ok);  // someone took the name
  DeclareSpec temp;
  temp.temporary_for = 7;
  auto a = sut.declare(temp, kAlice, 0);
  ASSERT_EQ(a.code, Errc::ok) << a.error;
  EXPECT_TRUE(a.created);
  EXPECT_EQ(a.queue->name(), "tmp.7.2") << "a picked name skips taken ones";
  EXPECT_EQ(a.queue->attributes().temporary_owner, 7u);
  auto b = sut.declare(temp, kAlice, 0);
  ASSERT_EQ(b.code, Errc::ok);
  EXPECT_NE(b.queue, a.queue);
  // A temporary declare of an existing name fails rather than opening it.
  DeclareSpec existing = named("tmp.7.1");
  existing.temporary_for = 7;
  EXPECT_EQ(sut.declare(existing, kAlice, 0).code, Errc::queue_exists);
  // Removing a queue removes its bindings.
  ASSERT_TRUE(sut.topics().bind("a.#", a.queue));
  ASSERT_TRUE(sut.topics().bind("b", a.queue));
  EXPECT_EQ(sut.topics().count_of(a.queue), 2u);
  sut.remove(*a.queue);
  EXPECT_EQ(sut.topics().size(), 0u);
  EXPECT_EQ(sut.topics().nodes(), 0u);
}

}  // namespace
}  // namespace postbox::broker
