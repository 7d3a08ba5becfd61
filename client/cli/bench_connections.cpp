// A producer process with several connections in one event loop (`--connections`), the way
// redis-benchmark -c runs its clients: every connection is a producer of its own with
// --pipeline SENDs in flight, and one process wakes once for all the replies a broker turn wrote.
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <exception>
#include <memory>

#include "client/cli/bench_consumers.hpp"
#include "client/cli/bench_queues.hpp"
#include "postbox/async_client.hpp"

namespace postbox::cli::bench {

namespace {

namespace asio = boost::asio;

/// One connection's sends: `messages` in SENDs of up to o.batch, o.pipeline in flight.
AsyncClient::Awaitable<void> send_on(const BenchOptions& o, AsyncClient& c,
                                     const std::string& queue, uint64_t messages,
                                     WorkerReport& report) {
  std::vector<std::string> payloads(o.batch, std::string(o.size, 'p'));
  struct InFlight {
    AsyncClient::Awaitable<uint64_t> reply;
    std::size_t messages;
    int64_t sent_ns;
  };
  std::deque<InFlight> in_flight;
  const SendOptions options;
  uint64_t left = messages;
  while (left > 0 || !in_flight.empty()) {
    while (left > 0 && in_flight.size() < o.pipeline) {
      int64_t sent_ns = 0;
      const std::size_t n = stamp_next_send(o, payloads, left, sent_ns);
      // The request is encoded here, so the payloads may be stamped again at once.
      in_flight.push_back(
          {c.send_batch(queue, std::span(payloads.data(), n), options), n, sent_ns});
    }
    InFlight done = std::move(in_flight.front());
    in_flight.pop_front();
    co_await std::move(done.reply);
    count_acked(o, report, done.messages, done.sent_ns);
  }
}

}  // namespace

WorkerReport produce_connections(const BenchOptions& o, const std::string& queue, uint64_t messages,
                                 StartGate& gate) {
  asio::io_context io(1);
  WorkerReport report;
  std::exception_ptr failure;
  std::vector<std::unique_ptr<AsyncClient>> clients;
  // Every connection's sender ends by counting down; the last one (or the
  // first failure) closes the connections, so io.run() runs out of work.
  uint32_t running = o.connections;
  const auto finish = [&](std::exception_ptr e) {
    if (e && !failure) failure = e;
    if (--running == 0 || e)
      for (auto& c : clients) c->close();
  };
  asio::co_spawn(
      io,
      [&]() -> AsyncClient::Awaitable<void> {
        for (uint32_t i = 0; i < o.connections; ++i) {
          clients.push_back(std::make_unique<AsyncClient>(io.get_executor()));
          co_await clients.back()->connect(o.socket, std::string(kBenchClientName));
        }
        // Blocks the loop until every worker is ready: nothing else is due yet.
        gate.ready();
        for (uint32_t i = 0; i < o.connections; ++i) {
          const uint64_t n = share_of(messages, o.connections, i);
          asio::co_spawn(io, send_on(o, *clients[i], queue, n, report), finish);
        }
      },
      [&](std::exception_ptr e) {
        if (e) {
          failure = e;
          for (auto& c : clients) c->close();
        }
      });
  io.run();
  if (failure) std::rethrow_exception(failure);
  report.last_ns = monotonic_ns();
  return report;
}

}  // namespace postbox::cli::bench
