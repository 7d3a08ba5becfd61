// Deadlines: every timeout in the broker on one Asio timer, armed for the earliest.
//
// A million waiting requests cost a tree node each, not a timer each; an idle
// broker with nothing due has no timer armed and so never wakes up.
#pragma once

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/set.hpp>
#include <chrono>

namespace postbox::broker {

namespace bi = boost::intrusive;
using Clock = std::chrono::steady_clock;

/// Something that must happen at a time. Linked into Deadlines while armed;
/// unlinks itself when destroyed, so owners need not cancel explicitly.
class Deadline : public bi::set_base_hook<bi::link_mode<bi::auto_unlink>> {
 public:
  Clock::time_point when{};
  /// Runs on the loop thread once `when` has passed; already unlinked, so it
  /// may destroy the object or re-arm it.
  virtual void expired() = 0;
  bool armed() const noexcept { return is_linked(); }

 protected:
  ~Deadline() = default;
};

class Deadlines {
 public:
  explicit Deadlines(boost::asio::io_context& io) : timer_(io) {}
  Deadlines(const Deadlines&) = delete;
  Deadlines& operator=(const Deadlines&) = delete;

  void add(Deadline& d);
  void remove(Deadline& d) noexcept { d.unlink(); }
  /// Stops the timer; armed deadlines stay linked but never fire (shutdown).
  void stop();

 private:
  struct Earlier {
    bool operator()(const Deadline& a, const Deadline& b) const noexcept { return a.when < b.when; }
  };
  void arm();
  void on_timer();

  boost::asio::steady_timer timer_;
  bi::multiset<Deadline, bi::compare<Earlier>, bi::constant_time_size<false>> set_;
  Clock::time_point armed_for_ = Clock::time_point::max();
  bool stopped_ = false;
};

}  // namespace postbox::broker
