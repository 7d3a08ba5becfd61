// QueueTimers: each queue's earliest deadline (due, TTL, lease) on the broker's Deadlines.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "broker/deadlines.hpp"
#include "broker/queue.hpp"

namespace postbox::broker {

/// One Deadline per queue that has something due, armed for its earliest
/// time; when it fires the queue advances and tells us its next one.
class QueueTimers {
 public:
  explicit QueueTimers(Deadlines& deadlines) : deadlines_(deadlines) {}
  /// What QueueServices::schedule() forwards: arm for `when_ns`
  /// (CLOCK_MONOTONIC), or forget the queue with 0.
  void schedule(Queue& q, uint64_t when_ns);

 private:
  class Timer final : public Deadline {
   public:
    explicit Timer(Queue& q) : queue_(q) {}
    // May destroy this timer (schedule(q, 0) from inside advance()): nothing after it.
    void expired() override { queue_.advance(); }

   private:
    Queue& queue_;
  };
  Deadlines& deadlines_;
  std::unordered_map<Queue*, std::unique_ptr<Timer>> timers_;
};

}  // namespace postbox::broker
