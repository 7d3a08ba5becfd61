// Deadlines: one timer for the earliest of many.
#include "broker/deadlines.hpp"

namespace postbox::broker {

void Deadlines::add(Deadline& d) {
  d.unlink();
  set_.insert(d);
  if (d.when < armed_for_) arm();
}

void Deadlines::stop() {
  stopped_ = true;
  timer_.cancel();
}

void Deadlines::arm() {
  if (stopped_ || set_.empty()) {
    armed_for_ = Clock::time_point::max();
    return;
  }
  armed_for_ = set_.begin()->when;
  // Cancelling a pending wait runs its handler with operation_aborted; the
  // handler below ignores those, so re-arming is just a new expiry.
  timer_.expires_at(armed_for_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    on_timer();
  });
}

void Deadlines::on_timer() {
  armed_for_ = Clock::time_point::max();
  const auto now = Clock::now();
  while (!stopped_ && !set_.empty() && set_.begin()->when <= now) {
    Deadline& d = *set_.begin();
    set_.erase(set_.begin());
    d.expired();
  }
  arm();
}

}  // namespace postbox::broker
