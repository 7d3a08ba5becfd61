// Model-based test of broker/queue.cpp: random operations against a naive reference.
//
// The reference keeps messages in a vector in arrival order and finds every
// match by a linear scan, the obviously-correct reading of the msgrcv rules,
// limits, overflow policies and waiter lines. Each step compares the results,
// the waiters' completions in order, and the stats. Set POSTBOX_SEED to replay.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <tuple>
#include <vector>

#include "broker/queue.hpp"
#include "broker_test_support.hpp"

namespace postbox::broker {
namespace {

using namespace test;
using config::Overflow;

constexpr int kOpsPerSeed = 20000;
constexpr uint32_t kDefaultSeeds[] = {0xabcdef, 1, 20240607, 777, 31337};

// (id, delivered payload size, delivery count) per delivered message.
using Deliveries = std::vector<std::tuple<uint64_t, uint32_t, uint32_t>>;

struct Event {
  char kind;  // 'R' receiver finished, 'S' sender finished
  int handle;
  Errc result;
  Deliveries got;
  uint64_t first_id = 0;
  uint32_t count = 0;
  bool operator==(const Event&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Event& e) {
  os << e.kind << e.handle << ":" << proto::to_string(e.result) << " first " << e.first_id << " x"
     << e.count << " [";
  for (auto& [id, size, n] : e.got) os << " " << id << "/" << size << "/" << n;
  return os << " ]";
}

// =========================================================================
// The reference model
// =========================================================================

struct RefMsg {
  uint64_t id;
  int64_t type;
  uint8_t priority;
  uint32_t size;
  uint32_t deliveries = 0;
};

bool ref_before(const RefMsg& a, const RefMsg& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  return a.id < b.id;
}

// Index in `msgs` of what one receive with `s` takes, or -1.
int ref_select(const std::vector<RefMsg>& msgs, const Selector& s) {
  auto best = [&](auto accept) {
    int found = -1;
    for (int i = 0; i < static_cast<int>(msgs.size()); ++i) {
      if (accept(msgs[i]) && (found < 0 || ref_before(msgs[i], msgs[found]))) found = i;
    }
    return found;
  };
  if (s.type == 0) return best([](const RefMsg&) { return true; });
  if (s.type > 0 && s.except) return best([&](const RefMsg& m) { return m.type != s.type; });
  if (s.type > 0) return best([&](const RefMsg& m) { return m.type == s.type; });
  const int64_t bound =
      s.type == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -s.type;
  int64_t lowest = std::numeric_limits<int64_t>::max();
  bool any = false;
  for (const RefMsg& m : msgs) {
    if (m.type <= bound && m.type <= lowest) {
      lowest = m.type;
      any = true;
    }
  }
  if (!any) return -1;
  return best([&](const RefMsg& m) { return m.type == lowest; });
}

struct Model {
  config::QueueLimits limits;
  uint64_t next_id = 1;
  std::vector<RefMsg> msgs;  // arrival order
  uint64_t sent = 0, received = 0, dropped = 0, purged = 0;
  struct Rx {
    int handle;
    ReceiveSpec spec;
  };
  struct Tx {
    int handle;
    std::vector<Msg> batch;
  };
  std::vector<Rx> receivers;
  std::vector<Tx> senders;
  std::vector<Event> events;

  uint64_t bytes() const {
    uint64_t b = 0;
    for (const RefMsg& m : msgs) b += m.size;
    return b;
  }
  bool fits(uint64_t count, uint64_t add) const {
    return msgs.size() + count <= limits.max_messages && bytes() + add <= limits.max_bytes;
  }
  static uint64_t sum(const std::vector<Msg>& b) {
    uint64_t s = 0;
    for (const Msg& m : b) s += m.size;
    return s;
  }
  Errc check(const std::vector<Msg>& b) const {
    for (const Msg& m : b) {
      if (m.type < 1) return Errc::invalid_argument;
      if (m.size > limits.max_message_size) return Errc::too_big;
    }
    if (b.size() > limits.max_messages || sum(b) > limits.max_bytes) return Errc::too_big;
    return Errc::ok;
  }

  bool room_below(const RefMsg& m) {
    if (fits(1, m.size)) return true;
    uint64_t low_count = 0, low_bytes = 0;
    for (const RefMsg& q : msgs) {
      if (q.priority < m.priority) {
        ++low_count;
        low_bytes += q.size;
      }
    }
    if (msgs.size() - low_count + 1 > limits.max_messages ||
        bytes() - low_bytes + m.size > limits.max_bytes) {
      return false;
    }
    while (!fits(1, m.size)) {
      auto last = std::max_element(msgs.begin(), msgs.end(), ref_before);
      msgs.erase(last);
      ++dropped;
    }
    return true;
  }

  uint64_t admit(const std::vector<Msg>& b) {
    const uint64_t first = next_id;
    if (limits.overflow == Overflow::drop_oldest) {
      while (!fits(b.size(), sum(b))) {
        msgs.erase(msgs.begin());
        ++dropped;
      }
    }
    for (const Msg& s : b) {
      RefMsg m{next_id++, s.type, s.priority, static_cast<uint32_t>(s.size)};
      ++sent;
      if (limits.overflow == Overflow::drop_lowest_priority && !room_below(m)) {
        ++dropped;
        continue;
      }
      msgs.push_back(m);
    }
    return first;
  }

  Errc take(const ReceiveSpec& spec, Deliveries& out) {
    const uint32_t max_count = std::max<uint32_t>(spec.max_count, 1);
    std::vector<RefMsg> view = msgs;  // what is still selectable
    uint32_t n = 0;
    while (n < max_count) {
      const int i = ref_select(view, spec.selector);
      if (i < 0 || (view[i].size > spec.max_size && !spec.truncate)) break;
      const uint64_t id = view[i].id;
      auto real =
          std::find_if(msgs.begin(), msgs.end(), [&](const RefMsg& m) { return m.id == id; });
      if (!spec.peek) ++real->deliveries;  // a peek is not a delivery
      out.emplace_back(id, std::min(real->size, spec.max_size), real->deliveries);
      view.erase(view.begin() + i);
      if (!spec.peek) {
        msgs.erase(real);
        ++received;
      }
      ++n;
    }
    if (n > 0) return Errc::ok;
    return ref_select(msgs, spec.selector) >= 0 ? Errc::too_big : Errc::no_message;
  }

  bool serve_receivers() {
    bool removed = false;
    for (std::size_t i = 0; i < receivers.size();) {
      if (ref_select(msgs, receivers[i].spec.selector) < 0) {
        ++i;
        continue;
      }
      Rx w = receivers[i];
      receivers.erase(receivers.begin() + i);
      Event e{'R', w.handle, Errc::ok, {}};
      const uint64_t before = received;
      e.result = take(w.spec, e.got);
      removed |= received != before;
      events.push_back(e);
    }
    return removed;
  }

  bool admit_senders() {
    bool admitted = false;
    while (!senders.empty()) {
      const Errc checked = check(senders.front().batch);
      if (checked == Errc::ok && limits.overflow == Overflow::reject &&
          !fits(senders.front().batch.size(), sum(senders.front().batch))) {
        break;
      }
      Tx w = senders.front();
      senders.erase(senders.begin());
      if (checked != Errc::ok) {
        events.push_back({'S', w.handle, checked, {}});
        continue;
      }
      const uint64_t first = admit(w.batch);
      admitted = true;
      events.push_back({'S', w.handle, Errc::ok, {}, first, static_cast<uint32_t>(w.batch.size())});
    }
    return admitted;
  }

  void settle() {
    while (admit_senders() && serve_receivers()) {
    }
  }

  Errc send(const std::vector<Msg>& b, uint64_t& first) {
    if (Errc e = check(b); e != Errc::ok) return e;
    if (!senders.empty()) return Errc::queue_full;
    if (limits.overflow == Overflow::reject && !fits(b.size(), sum(b))) return Errc::queue_full;
    first = admit(b);
    if (serve_receivers()) settle();
    return Errc::ok;
  }

  Errc receive(const ReceiveSpec& spec, Deliveries& out) {
    const uint64_t before = received;
    const Errc e = take(spec, out);
    if (received != before) settle();
    return e;
  }

  void cancel_sender(int handle) {
    auto it = std::find_if(senders.begin(), senders.end(),
                           [&](const Tx& t) { return t.handle == handle; });
    const bool was_first = it == senders.begin();
    senders.erase(it);
    if (was_first) settle();
  }

  void cancel_receiver(int handle) {
    std::erase_if(receivers, [&](const Rx& r) { return r.handle == handle; });
  }

  uint64_t purge() {
    const uint64_t n = msgs.size();
    msgs.clear();
    purged += n;
    settle();
    return n;
  }
};

// =========================================================================
// The real queue with its waiters, logging completions like the model
// =========================================================================

struct Real {
  explicit Real(const config::QueueLimits& l)
      : queue("model", QueueAttributes{l, Ownership{}}, next_id, 0) {}

  class Receiver final : public ReceiveWaiter {
   public:
    Receiver(Real& r, int h, const ReceiveSpec& s) : real_(r), handle_(h) { spec = s; }
    void deliver(const Message& m, uint32_t size) override {
      got_.emplace_back(m.id, size, m.delivery_count);
    }
    void finished(Errc e) override {
      real_.events.push_back({'R', handle_, e, got_});
      real_.done_receivers.push_back(handle_);
    }

   private:
    Real& real_;
    int handle_;
    Deliveries got_;
  };

  class Sender final : public SendWaiter {
   public:
    Sender(Real& r, int h, Batch b) : real_(r), handle_(h) { batch = std::move(b); }
    void finished(Errc e, uint64_t first, uint32_t count) override {
      real_.events.push_back({'S', handle_, e, {}, first, count});
      real_.done_senders.push_back(handle_);
    }

   private:
    Real& real_;
    int handle_;
  };

  // Finished waiters are destroyed after the operation, as a connection would later.
  void reap() {
    for (int h : done_receivers) receivers.erase(h);
    for (int h : done_senders) senders.erase(h);
    done_receivers.clear();
    done_senders.clear();
  }

  uint64_t next_id = 1;
  Queue queue;
  std::map<int, std::unique_ptr<Receiver>> receivers;
  std::map<int, std::unique_ptr<Sender>> senders;
  std::vector<int> done_receivers, done_senders;
  std::vector<Event> events;
};

class Delivered : public Delivery {
 public:
  void deliver(const Message& m, uint32_t size) override {
    got.emplace_back(m.id, size, m.delivery_count);
  }
  Deliveries got;
};

// =========================================================================
// The random script
// =========================================================================

class Script {
 public:
  explicit Script(uint32_t seed) : rng_(seed) {}

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return pick(1, 100) <= percent; }

  std::vector<Msg> batch() {
    std::vector<Msg> b(chance(5) ? pick(4, 6) : pick(1, 3));
    for (Msg& m : b) {
      m.type = chance(2) ? 0 : pick(1, 6);
      m.priority = static_cast<uint8_t>(chance(50) ? 0 : pick(1, 3));
      m.size = chance(3) ? 45 : pick(0, 30);
    }
    return b;
  }

  ReceiveSpec spec() {
    ReceiveSpec s;
    s.selector.type = pick(-7, 7);
    s.selector.except = chance(30);
    s.max_count = chance(60) ? 1 : pick(0, 5);
    if (chance(25)) s.max_size = pick(0, 20);
    s.truncate = chance(30);
    s.peek = chance(15);
    return s;
  }

  config::QueueLimits limits() {
    config::QueueLimits l;
    l.max_messages = pick(1, 12);
    l.max_bytes = pick(30, 300);
    l.max_message_size = pick(20, 60);
    const int p = pick(1, 10);
    l.overflow = p <= 6   ? Overflow::reject
                 : p <= 8 ? Overflow::drop_oldest
                          : Overflow::drop_lowest_priority;
    return l;
  }

 private:
  std::mt19937 rng_;
};

Batch to_batch(const std::vector<Msg>& specs) {
  Batch b;
  for (const Msg& s : specs) {
    b.messages.push_back(make_message(s));
    b.payload_bytes += s.size;
  }
  return b;
}

void expect_same_stats(const Model& m, const Queue& q) {
  const QueueStats s = q.stats();
  EXPECT_EQ(s.depth, m.msgs.size());
  EXPECT_EQ(s.bytes, m.bytes());
  EXPECT_EQ(s.sent_total, m.sent);
  EXPECT_EQ(s.received_total, m.received);
  EXPECT_EQ(s.dropped_total, m.dropped);
  EXPECT_EQ(s.purged_total, m.purged);
  EXPECT_EQ(s.blocked_senders, m.senders.size());
  EXPECT_EQ(s.blocked_receivers, m.receivers.size());
  std::map<uint8_t, uint64_t> per_priority;
  for (const RefMsg& r : m.msgs) ++per_priority[r.priority];
  EXPECT_EQ(s.depth_per_priority, per_priority);
  // Every accepted message is in exactly one place.
  EXPECT_EQ(s.sent_total, s.depth + s.received_total + s.dropped_total + s.purged_total);
}

void run_script(uint32_t seed) {
  std::cout << "queue model seed " << seed << " (POSTBOX_SEED=" << seed << " replays it)\n";
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  Script script(seed);
  Model model;
  model.limits = script.limits();
  model.limits.overflow = Overflow::reject;
  Real real(model.limits);
  int next_handle = 0;

  for (int op = 0; op < kOpsPerSeed && !testing::Test::HasFailure(); ++op) {
    SCOPED_TRACE(testing::Message() << "op " << op);
    const int dice = script.pick(1, 100);
    if (dice <= 38) {
      const std::vector<Msg> specs = script.batch();
      Batch batch = to_batch(specs);
      uint64_t model_first = 0, real_first = 0;
      const Errc want = model.send(specs, model_first);
      const Errc got = real.queue.send(batch, kAlice, real_first);
      ASSERT_EQ(got, want) << "send of " << specs.size();
      if (got == Errc::ok) {
        ASSERT_EQ(real_first, model_first);
      }
      if (got == Errc::queue_full && script.chance(60)) {
        const int h = next_handle++;
        model.senders.push_back({h, specs});
        auto w = std::make_unique<Real::Sender>(real, h, std::move(batch));
        w->who = kAlice;
        real.queue.wait_send(*w);
        real.senders.emplace(h, std::move(w));
      }
    } else if (dice <= 78) {
      const ReceiveSpec spec = script.spec();
      Deliveries want_got;
      Delivered got;
      const Errc want = model.receive(spec, want_got);
      ASSERT_EQ(real.queue.receive(spec, kBob, got), want)
          << "receive type " << spec.selector.type << (spec.selector.except ? " except" : "");
      ASSERT_EQ(got.got.size(), want_got.size());
      ASSERT_TRUE(got.got == want_got) << "receive type " << spec.selector.type;
      if (want == Errc::no_message && script.chance(50)) {
        const int h = next_handle++;
        model.receivers.push_back({h, spec});
        auto w = std::make_unique<Real::Receiver>(real, h, spec);
        w->who = kBob;
        real.queue.wait_receive(*w);
        real.receivers.emplace(h, std::move(w));
      }
    } else if (dice <= 88) {
      if (!model.senders.empty() && script.chance(50)) {
        const int h =
            model.senders[script.pick(0, static_cast<int>(model.senders.size()) - 1)].handle;
        model.cancel_sender(h);
        real.queue.cancel(*real.senders.at(h));
        real.senders.erase(h);
      } else if (!model.receivers.empty()) {
        const int h =
            model.receivers[script.pick(0, static_cast<int>(model.receivers.size()) - 1)].handle;
        model.cancel_receiver(h);
        // Half the time by destruction alone: the hook unlinks itself.
        if (script.chance(50)) real.queue.cancel(*real.receivers.at(h));
        real.receivers.erase(h);
      }
    } else if (dice <= 90) {
      ASSERT_EQ(real.queue.purge(), model.purge());
    } else if (dice <= 95) {
      model.limits = script.limits();
      QueueAttributes a = real.queue.attributes();
      a.limits = model.limits;
      model.settle();
      real.queue.set_attributes(a);
    } else {
      // Peek everything in queue order: compares the whole content.
      ReceiveSpec all;
      all.peek = true;
      all.max_count = std::numeric_limits<uint32_t>::max();
      Deliveries want_got;
      Delivered got;
      ASSERT_EQ(real.queue.receive(all, kBob, got), model.receive(all, want_got));
      ASSERT_TRUE(got.got == want_got) << "content differs";
    }
    real.reap();
    ASSERT_EQ(real.events, model.events);
    expect_same_stats(model, real.queue);
  }
  const QueueStats s = real.queue.stats();
  std::cout << "  " << real.events.size() << " waiter completions, sent " << s.sent_total
            << ", received " << s.received_total << ", dropped " << s.dropped_total << ", purged "
            << s.purged_total << "\n";
  // Leave no waiter behind: close finishes them all.
  real.queue.close();
  for (const auto& r : model.receivers)
    model.events.push_back({'R', r.handle, Errc::queue_removed, {}});
  for (const auto& s : model.senders)
    model.events.push_back({'S', s.handle, Errc::queue_removed, {}});
  EXPECT_EQ(real.events, model.events);
}

TEST(QueueModel, RandomOperationsMatchNaiveReference) {
  if (const char* env = std::getenv("POSTBOX_SEED")) {
    run_script(static_cast<uint32_t>(std::strtoul(env, nullptr, 0)));
    return;
  }
  for (uint32_t seed : kDefaultSeeds) run_script(seed);
}

}  // namespace
}  // namespace postbox::broker
