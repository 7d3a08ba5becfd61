// QueueTimers: arming and forgetting the per-queue deadline.
#include "broker/queue_timers.hpp"

#include <chrono>

namespace postbox::broker {

void QueueTimers::schedule(Queue& q, uint64_t when_ns) {
  if (when_ns == 0) {
    timers_.erase(&q);  // unlinks it from deadlines_ (auto-unlink hook)
    return;
  }
  auto& t = timers_[&q];
  if (!t) t = std::make_unique<Timer>(q);
  // steady_clock is CLOCK_MONOTONIC on Linux, the clock of steady_ns().
  t->when = Clock::time_point(std::chrono::nanoseconds(when_ns));
  deadlines_.add(*t);
}

}  // namespace postbox::broker
