// Broker: start-up order, the accept path, signals and the shutdown sequence.
#include "broker/broker.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>

#include "broker/clock.hpp"
#include "broker/exit_status.hpp"
#include "broker/systemd.hpp"
#include "proto/messages.hpp"

namespace postbox::broker {

namespace asio = boost::asio;

namespace {
// How long stopping sessions may take to flush their last replies before
// they are cut off (a client that never reads must not hold up shutdown).
constexpr auto kShutdownGrace = std::chrono::seconds(3);
}  // namespace

Broker::Broker(config::Config cfg)
    : cfg_(std::move(cfg)),
      io_(1),  // one thread: lets Asio skip its internal locking
      journal_(io_, journal::JournalOptions{cfg_.data_dir, cfg_.fsync, cfg_.fsync_interval_ms,
                                            cfg_.segment_size, cfg_.disk_free_limit}),
      store_(cfg_.queue_defaults, cfg_.max_frame_size - 256),
      deadlines_(io_),
      queue_timers_(deadlines_),
      ctx_{io_, store_, deadlines_, cfg_, POSTBOX_VERSION, detached_, journal_, {}},
      listener_(io_, cfg_.socket_path, cfg_.socket_mode),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      shutdown_guard_(io_) {
  store_.set_on_schedule([this](Queue& q, uint64_t when) { queue_timers_.schedule(q, when); });
  ctx_.started_ns = steady_ns();
  journal_.recover(store_);
  journal_.set_on_recovered([this] {
    for (Queue* q : store_.all())
      if (q->durable()) q->resume();
  });
  declare_configured_queues();
}

Broker::~Broker() {
  // Sessions still open (run() left early) end while the queues they wait on exist.
  for (auto& [id, s] : std::unordered_map(sessions_)) s->abort();
}

void Broker::declare_configured_queues() {
  const Credentials self{static_cast<uint32_t>(::getpid()), ::geteuid(), ::getegid()};
  for (const auto& d : cfg_.queues) {
    DeclareSpec spec;
    spec.name = d.name;
    spec.max_messages = d.max_messages;
    spec.max_bytes = d.max_bytes;
    spec.max_message_size = d.max_message_size;
    spec.mode = d.mode;
    spec.overflow = d.overflow;
    spec.max_deliveries = d.max_deliveries;
    spec.dead_letter = d.dead_letter;
    spec.lease_ms = d.lease_ms;
    spec.ttl_ms = d.ttl_ms;
    spec.durable = d.durable;
    auto r = store_.declare(spec, self, realtime_ns());
    if (r.code != proto::Errc::ok) {
      const ExitStatus status =
          r.code == proto::Errc::storage_error ? ExitStatus::storage : ExitStatus::config;
      throw StartupError(status, "configured queue '" + d.name + "': " + r.error);
    }
  }
}

void Broker::run() {
  listener_.start([this](Listener::Socket s) { accept(std::move(s)); });
  wait_for_signal();
  spdlog::info("postboxd {} listening on {} ({} queues configured)", POSTBOX_VERSION,
               listener_.path(), cfg_.queues.size());
  notify_service_manager("READY=1\nSTATUS=serving");
  run_loop();
  journal_.close();  // what the last sessions' ends logged
  spdlog::info("postboxd stopped");
}

void Broker::run_loop() {
  if (cfg_.spin_us == 0) {
    io_.run();
    return;
  }
  // After activity, poll for a short while before blocking: a peer that
  // answers within the window is served without a wake-up (~60 µs across
  // vCPUs here). Idle, run_one() blocks and the broker uses no CPU.
  const auto spin = std::chrono::microseconds(cfg_.spin_us);
  while (io_.run_one() > 0) {
    auto until = Clock::now() + spin;
    while (Clock::now() < until) {
      if (io_.poll() > 0) until = Clock::now() + spin;
      if (io_.stopped()) return;
    }
  }
}

void Broker::wait_for_signal() {
  signals_.async_wait([this](boost::system::error_code ec, int signo) {
    if (ec) return;
    on_signal(signo);
  });
}

void Broker::on_signal(int signo) {
  switch (signo) {
    case SIGTERM:
    case SIGINT:
      spdlog::info("{}: shutting down", strsignal(signo));
      begin_shutdown();
      return;  // no more waits, so the loop can run out of work and return
    case SIGHUP:
      spdlog::warn("SIGHUP: configuration reload is not supported yet; ignoring");
      break;
  }
  wait_for_signal();
}

void Broker::accept(Listener::Socket socket) {
  if (ctx_.stopping) return;
  if (sessions_.size() >= cfg_.max_connections) {
    // Tell the client why before closing, rather than a bare reset.
    std::vector<std::byte> out;
    proto::encode(proto::ErrorReply{proto::Errc::resource_limit,
                                    "too many connections (max_connections " +
                                        std::to_string(cfg_.max_connections) + ")"},
                  out, 0);
    boost::system::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(out), ignored);
    spdlog::warn("refused a connection: max_connections {} reached", cfg_.max_connections);
    return;
  }
  const uint64_t id = next_session_++;
  auto session = std::make_shared<Session>(ctx_, std::move(socket), id, [this](Session& s) {
    sessions_.erase(s.id());
    ctx_.connections = sessions_.size();
    if (ctx_.stopping && sessions_.empty()) shutdown_guard_.cancel();
  });
  sessions_.emplace(id, session);
  ctx_.connections = sessions_.size();
  spdlog::debug("session {} connected: pid {} uid {}", id, session->peer().pid,
                session->peer().uid);
  session->start();
}

void Broker::begin_shutdown() {
  ctx_.stopping = true;
  notify_service_manager("STOPPING=1");
  listener_.close();
  deadlines_.stop();
  // Copy: stopping a session may end it, which erases it from the map.
  for (auto& [id, s] : std::unordered_map(sessions_)) s->stop();
  // Written and synced now, so the replies that wait on it can go out.
  journal_.close();
  if (!sessions_.empty()) {
    shutdown_guard_.expires_after(kShutdownGrace);
    shutdown_guard_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      spdlog::warn("{} connections did not drain in time; closing them", sessions_.size());
      for (auto& [id, s] : std::unordered_map(sessions_)) s->abort();
    });
  }
}

}  // namespace postbox::broker
