// Broker: owns the event loop, the listener, the sessions and the queue store.
//
// All queue state is touched only on the loop thread: one io_context, run by
// the thread that calls run(). Nothing in broker/ takes a lock.
#pragma once

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <unordered_map>

#include "broker/context.hpp"
#include "broker/deadlines.hpp"
#include "broker/journal/journal.hpp"
#include "broker/listener.hpp"
#include "broker/queue_timers.hpp"
#include "broker/session.hpp"
#include "broker/store.hpp"
#include "config/config.hpp"

namespace postbox::broker {

class Broker {
 public:
  /// `cfg` must be validated, with socket_path and data_dir resolved. Binds
  /// the socket and declares the configured queues; throws StartupError.
  explicit Broker(config::Config cfg);
  ~Broker();

  /// Serves until SIGTERM or SIGINT, then shuts down cleanly: stop accepting,
  /// answer or fail what is in flight, remove the socket file.
  void run();

 private:
  void declare_configured_queues();
  void wait_for_signal();
  void on_signal(int signo);
  void accept(Listener::Socket socket);
  void begin_shutdown();
  void run_loop();

  config::Config cfg_;
  boost::asio::io_context io_;
  // Before store_: queues unlink their leases from it when they are destroyed.
  DetachedLeases detached_;
  journal::Journal journal_;
  QueueStore store_;
  Deadlines deadlines_;
  QueueTimers queue_timers_;
  Context ctx_;
  Listener listener_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer shutdown_guard_;
  std::unordered_map<uint64_t, std::shared_ptr<Session>> sessions_;
  uint64_t next_session_ = 1;
};

}  // namespace postbox::broker
