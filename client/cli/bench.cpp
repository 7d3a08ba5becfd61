// `postbox bench`: its flags, their validation, and the text and JSON forms of a measurement.
#include "client/cli/bench.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "client/cli/bench_consumers.hpp"
#include "client/cli/bench_queues.hpp"
#include "client/cli/bench_workloads.hpp"
#include "client/cli/exit_status.hpp"
#include "client/cli/output.hpp"
#include "client/cli/parse.hpp"
#include "postbox/paths.hpp"

namespace postbox::cli {

namespace {

using bench::BenchOptions;
using bench::Consume;
using bench::kMaxQueueBytes;
using bench::LogActivity;
using bench::Measurement;
using bench::Mode;
using bench::Transport;

// Round trips when --count is not given with --mode pingpong: about 6 s on
// the 2-vCPU VM of docs/bench.md, where a postbox round trip takes ~110 µs.
constexpr uint64_t kDefaultRoundTrips = 50'000;
// Generous ceilings that only catch typos; the real limits (frame size, the
// broker's message size, msgmax) are checked where they apply.
constexpr uint64_t kMaxCount = uint64_t{1} << 40;
constexpr uint64_t kMaxSize = uint64_t{1} << 30;
constexpr uint64_t kMaxBatch = 1'000'000;
constexpr uint64_t kMaxPipeline = 65'536;
constexpr uint64_t kMaxProcesses = 256;
// Per producer process: each connection is a socket of the process's own.
constexpr uint64_t kMaxConnections = 256;
constexpr uint64_t kMaxPrefetch = 1'000'000;
// Several pulling postbox consumers stop on end markers, consumers x pipeline
// x messages per receive of them (bench_consumers.cpp); this keeps that far
// below the default queue limits.
constexpr uint64_t kMaxStopMarkers = uint64_t{1} << 20;
// The send time fills the first 8 bytes of every payload.
constexpr uint64_t kMinSize = 8;

/// The raw flag text, kept between parsing and run_bench(); nullopt: not given.
struct RawBenchFlags {
  std::optional<std::string> size, count, batch, pipeline, producers, consumers, queue, mode,
      transport, consume, prefetch, subscribers, connections;
  bool ack = false, durable = false;
};

RawBenchFlags& raw() {
  static RawBenchFlags flags;
  return flags;
}

// =========================================================================
// Validation
// =========================================================================

uint32_t number32(const char* flag, const std::optional<std::string>& text, uint64_t min,
                  uint64_t max, uint32_t fallback) {
  return text ? static_cast<uint32_t>(parse_unsigned(flag, *text, min, max)) : fallback;
}

/// Fails when `text` was given although `why` makes it meaningless.
void reject(const char* flag, const std::optional<std::string>& text, const char* why) {
  if (text) throw UsageError(std::string(flag) + ": not used by " + why);
}

BenchOptions validate(const RawBenchFlags& r, const GlobalOptions& global) {
  BenchOptions o;
  if (r.transport && *r.transport == "sysv")
    o.transport = Transport::sysv;
  else if (r.transport && *r.transport != "postbox")
    throw UsageError("--transport: expected postbox or sysv, got '" + *r.transport + "'");
  if (r.mode && *r.mode == "pingpong")
    o.mode = Mode::pingpong;
  else if (r.mode && *r.mode != "throughput")
    throw UsageError("--mode: expected throughput or pingpong, got '" + *r.mode + "'");

  if (r.size) {
    o.size = static_cast<uint32_t>(parse_unsigned("--size", *r.size, 0, kMaxSize));
    if (o.size < kMinSize)
      throw UsageError(
          "--size: each message carries its 8-byte send time, so the size must be at "
          "least 8, got '" +
          *r.size + "'");
  }
  const uint64_t default_count = o.mode == Mode::pingpong ? kDefaultRoundTrips : o.count;
  o.count = r.count ? parse_unsigned("--count", *r.count, 1, kMaxCount) : default_count;

  if (o.mode == Mode::pingpong) {
    const char* why = "--mode pingpong (one process sends and one echoes, one message at a time)";
    reject("--batch", r.batch, why);
    reject("--pipeline", r.pipeline, why);
    reject("--producers", r.producers, why);
    reject("--connections", r.connections, why);
    reject("--consumers", r.consumers, why);
    reject("--consume", r.consume, why);
    if (r.ack) reject("--ack", "", why);
    reject("--prefetch", r.prefetch, why);
    reject("--subscribers", r.subscribers, why);
  }
  if (r.durable && r.subscribers)
    throw UsageError(
        "--durable: not used by --subscribers (subscriptions are temporary queues, never "
        "durable)");
  if (r.subscribers) {
    o.subscribers =
        static_cast<uint32_t>(parse_unsigned("--subscribers", *r.subscribers, 1, kMaxProcesses));
    const char* why = "--subscribers (each subscriber is one push consumer of its own queue)";
    reject("--consumers", r.consumers, why);
    reject("--connections", r.connections, why);
    if (r.consume && *r.consume != "push") reject("--consume", r.consume, why);
    o.consume = Consume::push;
  }
  if (o.transport == Transport::sysv) {
    const char* why = "--transport sysv (one message per syscall, on private queues)";
    reject("--batch", r.batch, why);
    reject("--pipeline", r.pipeline, why);
    reject("--queue", r.queue, why);
    reject("--connections", r.connections, why);
    reject("--consume", r.consume, why);
    if (r.ack) reject("--ack", "", why);
    reject("--prefetch", r.prefetch, why);
    reject("--subscribers", r.subscribers, "--transport sysv (no topics)");
    if (r.durable) reject("--durable", "", "--transport sysv (kernel queues are never durable)");
  }
  o.durable = r.durable;
  if (r.consume && *r.consume == "receive")
    o.consume = Consume::receive;
  else if (r.consume && *r.consume == "push")
    o.consume = Consume::push;
  else if (r.consume && *r.consume != "batch")
    throw UsageError("--consume: expected batch, receive or push, got '" + *r.consume + "'");
  o.ack = r.ack;
  if (o.consume != Consume::push || !o.ack)
    reject("--prefetch", r.prefetch,
           "consumers other than --consume push --ack (without ack the broker pushes as fast as "
           "the consumer reads)");
  o.prefetch = number32("--prefetch", r.prefetch, 1, kMaxPrefetch, o.prefetch);
  o.batch = number32("--batch", r.batch, 1, kMaxBatch, o.batch);
  o.pipeline = number32("--pipeline", r.pipeline, 1, kMaxPipeline, o.pipeline);
  o.producers = number32("--producers", r.producers, 1, kMaxProcesses, o.producers);
  o.connections = number32("--connections", r.connections, 1, kMaxConnections, o.connections);
  // 0: sends only, which only a postbox throughput run without subscribers can measure.
  const bool sends_only_possible =
      o.transport == Transport::postbox && o.mode == Mode::throughput && o.subscribers == 0;
  o.consumers =
      number32("--consumers", r.consumers, sends_only_possible ? 0 : 1, kMaxProcesses, o.consumers);
  if (o.consumers == 0) {
    const char* why = "--consumers 0 (sends only: nobody takes the messages)";
    reject("--consume", r.consume, why);
    if (r.ack) reject("--ack", "", why);
    reject("--prefetch", r.prefetch, why);
    if (o.count > kMaxQueueBytes / o.size)
      throw UsageError(
          "--consumers 0 keeps every message queued until the run ends: --count x "
          "--size must stay within " +
          std::to_string(kMaxQueueBytes) + " bytes, got " + std::to_string(o.count) + " x " +
          std::to_string(o.size));
  }
  if (o.transport == Transport::postbox && o.mode == Mode::throughput && o.subscribers == 0 &&
      bench::stop_markers(o) > kMaxStopMarkers)
    throw UsageError("--consumers: " + std::to_string(o.consumers) + " consumers x pipeline " +
                     std::to_string(o.pipeline) + " x " +
                     (o.consume == Consume::batch ? "batch " + std::to_string(o.batch)
                                                  : std::string("1 message per receive")) +
                     " is over " + std::to_string(kMaxStopMarkers) +
                     ", the most end markers the bench sends; lower one of them");
  if (o.transport == Transport::sysv) o.batch = o.pipeline = 1;
  if (o.mode == Mode::pingpong) o.batch = o.pipeline = 1;
  if (r.queue) {
    if (r.queue->empty()) throw UsageError("--queue: expected a queue name, got ''");
    o.queue = *r.queue;
  }
  o.socket = global.socket.empty() ? default_socket_path() : global.socket;
  return o;
}

// =========================================================================
// Output
// =========================================================================

const char* transport_name(Transport t) {
  return t == Transport::sysv ? "sysv" : "postbox";
}
const char* mode_name(Mode m) {
  return m == Mode::pingpong ? "pingpong" : "throughput";
}
const char* consume_name(Consume c) {
  return c == Consume::push ? "push" : c == Consume::receive ? "receive" : "batch";
}

/// "  consume push ack prefetch 256"; empty for the default (batch receives
/// without ack), whose line stays as it always was.
std::string consume_text(const BenchOptions& o) {
  if (o.consume == Consume::batch && !o.ack) return "";
  std::string s = std::string("  consume ") + consume_name(o.consume);
  if (o.ack) s += " ack";
  if (o.consume == Consume::push && o.ack) s += " prefetch " + std::to_string(o.prefetch);
  return s;
}

/// 2345678 -> "2,345,678".
std::string grouped(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

/// Nanoseconds as microseconds: one decimal below 100 µs, whole above.
std::string micros(uint64_t ns) {
  char buf[32];
  const double us = static_cast<double>(ns) / 1e3;
  std::snprintf(buf, sizeof buf, us < 100 ? "%.1f µs" : "%.0f µs", us);
  return buf;
}

double per_second(const Measurement& m, double amount) {
  return m.seconds > 0 ? amount / m.seconds : 0.0;
}

std::string plural(uint32_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

/// "16 producers", or "1 producer x 16 connections" with --connections.
std::string producers_text(const BenchOptions& o) {
  std::string s = plural(o.producers, "producer");
  if (o.connections > 1) s += " x " + plural(o.connections, "connection");
  return s;
}

double fsyncs_per_send(const LogActivity& l) {
  return l.sends > 0 ? static_cast<double>(l.syncs) / static_cast<double>(l.sends) : 0.0;
}

/// "  0.071 fsyncs/send (1,234 fsyncs), log ok" for a --durable run; "" otherwise.
std::string log_text(const Measurement& m) {
  if (!m.log) return "";
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.3f", fsyncs_per_send(*m.log));
  std::string s = std::string("  ") + ratio + " fsyncs/send (" + grouped(m.log->syncs) +
                  (m.log->syncs == 1 ? " fsync" : " fsyncs") + "), log " + m.log->state;
  if (!m.log->error.empty()) s += " (" + m.log->error + ")";
  return s;
}

std::string text_of(const BenchOptions& o, const Measurement& m) {
  std::string s = std::string(transport_name(o.transport)) + "  " + mode_name(o.mode) + "  " +
                  std::to_string(o.size) + " B x " + std::to_string(o.count);
  const auto& h = m.latency;
  const std::string percentiles = "p50 " + micros(h.percentile(0.5)) + " p99 " +
                                  micros(h.percentile(0.99)) + " p999 " +
                                  micros(h.percentile(0.999));
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "  (%.2f s)", m.seconds);
  if (o.durable) s += "  durable";
  if (o.mode == Mode::pingpong) {
    return s + ":  " + grouped(static_cast<uint64_t>(per_second(m, double(m.messages)))) +
           " round trips/s  RTT " + percentiles + seconds + log_text(m);
  }
  if (o.transport == Transport::postbox)
    s += "  batch " + std::to_string(o.batch) + " pipeline " + std::to_string(o.pipeline) +
         consume_text(o);
  if (o.subscribers > 0) {
    return s + "  " + plural(o.producers, "publisher") + " / " +
           plural(o.subscribers, "subscriber") + ":  " +
           grouped(static_cast<uint64_t>(per_second(m, double(o.count)))) + " publications/s  " +
           grouped(static_cast<uint64_t>(per_second(m, double(m.messages)))) +
           " deliveries/s  latency " + percentiles + seconds;
  }
  char mbps[32];
  std::snprintf(mbps, sizeof mbps, "%.1f MB/s", per_second(m, double(m.messages) * o.size) / 1e6);
  const std::string rate = grouped(static_cast<uint64_t>(per_second(m, double(m.messages))));
  if (o.consumers == 0)
    return s + "  " + producers_text(o) + " / no consumers:  " + rate + " acked sends/s  " + mbps +
           "  ack latency " + percentiles + seconds + log_text(m);
  return s + "  " + producers_text(o) + " / " + plural(o.consumers, "consumer") + ":  " + rate +
         " msgs/s  " + mbps + "  latency " + percentiles + seconds + log_text(m);
}

std::string json_of(const BenchOptions& o, const Measurement& m) {
  const auto& h = m.latency;
  const auto us = [](uint64_t ns) { return std::round(static_cast<double>(ns) / 10.0) / 100.0; };
  nlohmann::json latency = {{"p50", us(h.percentile(0.5))},
                            {"p99", us(h.percentile(0.99))},
                            {"p999", us(h.percentile(0.999))},
                            {"min", us(h.min())},
                            {"max", us(h.max())},
                            {"mean", us(static_cast<uint64_t>(h.mean()))}};
  nlohmann::json j = {{"transport", transport_name(o.transport)},
                      {"mode", mode_name(o.mode)},
                      {"size", o.size},
                      {"count", o.count},
                      {"seconds", m.seconds}};
  if (o.mode == Mode::pingpong) {
    j["round_trips_per_s"] = per_second(m, double(m.messages));
    j["rtt_us"] = latency;
  } else {
    if (o.transport == Transport::postbox) {
      j["batch"] = o.batch;
      j["pipeline"] = o.pipeline;
      j["consume"] = consume_name(o.consume);
      j["ack"] = o.ack;
      if (o.consume == Consume::push && o.ack) j["prefetch"] = o.prefetch;
    }
    j["producers"] = o.producers;
    if (o.subscribers == 0) j["connections"] = o.connections;
    if (o.subscribers > 0) {
      j["subscribers"] = o.subscribers;
      j["publications_per_s"] = per_second(m, double(o.count));
      j["deliveries_per_s"] = per_second(m, double(m.messages));
    } else {
      j["consumers"] = o.consumers;
    }
    j["msgs_per_s"] = per_second(m, double(m.messages));
    j["mb_per_s"] = per_second(m, double(m.messages) * o.size) / 1e6;
    j["latency_us"] = latency;
  }
  if (m.sysv_qbytes) j["msg_qbytes"] = *m.sysv_qbytes;
  if (o.transport == Transport::postbox) j["durable"] = o.durable;
  if (m.log) {
    j["fsyncs"] = m.log->syncs;
    j["acked_sends"] = m.log->sends;
    j["fsyncs_per_send"] = fsyncs_per_send(*m.log);
    j["log_state"] = m.log->state;
    j["log_error"] = m.log->error;
  }
  return j.dump();
}

Measurement measure(const BenchOptions& o) {
  if (o.transport == Transport::sysv)
    return o.mode == Mode::pingpong ? bench::run_sysv_pingpong(o) : bench::run_sysv_throughput(o);
  if (o.mode == Mode::pingpong) return bench::run_postbox_pingpong(o);
  return o.subscribers > 0 ? bench::run_postbox_fanout(o) : bench::run_postbox_throughput(o);
}

}  // namespace

void add_bench_options(CLI::App& bench) {
  RawBenchFlags& r = raw();
  bench.add_option("--transport", r.transport, "postbox (default) or sysv (kernel message queues)");
  bench.add_option("--mode", r.mode, "throughput (default) or pingpong (round-trip latency)");
  bench.add_option("--size", r.size, "payload bytes, at least 8 (default 64)");
  bench.add_option("--count", r.count,
                   "messages, or round trips with pingpong (default 1000000; pingpong 50000)");
  bench.add_option("--batch", r.batch, "messages per SEND and per RECEIVE (default 64)");
  bench.add_option("--pipeline", r.pipeline,
                   "requests in flight per process (push consumers: ACKs; default 8)");
  bench.add_option("--producers", r.producers, "producer processes (default 1)");
  bench.add_option("--connections", r.connections,
                   "connections per producer process, each a producer of its own with "
                   "--pipeline requests in flight, in one event loop (default 1)");
  bench.add_option("--consumers", r.consumers,
                   "consumer processes (default 1); 0: sends only, measured from the send to "
                   "its acknowledgement");
  bench.add_option("--consume", r.consume,
                   "how consumers take messages: batch (RECEIVEs of up to --batch, the "
                   "default), receive (one RECEIVE per message, --pipeline in flight) or push "
                   "(a push consumer)");
  bench.add_flag("--ack", r.ack, "consumers lease every message and ack it");
  bench.add_option("--prefetch", r.prefetch,
                   "with --consume push --ack: the consumer's credit (default 256)");
  bench.add_option("--queue", r.queue,
                   "queue to use (default: a fresh bench-<pid>, deleted after); with "
                   "--subscribers, the topic");
  bench.add_flag("--durable", r.durable,
                 "declare the run's queues durable; the report adds the broker's fdatasync "
                 "calls per acknowledged send and the log's state (from STATUS)");
  bench.add_option("--subscribers", r.subscribers,
                   "fan-out: publish to a topic that this many subscribers (push consumers of "
                   "their own temporary queues) each receive in full");
}

int run_bench(const GlobalOptions& global) {
  BenchOptions o;
  try {
    o = validate(raw(), global);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "postbox: %s\n", e.what());
    return kExitUsage;
  }
  try {
    const Measurement m = measure(o);
    const uint64_t expected = o.count * std::max<uint32_t>(o.subscribers, 1);
    if (m.messages != expected)
      throw bench::BenchFailure("the run ended after " + std::to_string(m.messages) + " of " +
                                std::to_string(expected) + " messages");
    const std::string line = global.json ? json_of(o, m) : text_of(o, m);
    std::printf("%s\n", line.c_str());
    return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
  } catch (const bench::BenchFailure& e) {
    std::fprintf(stderr, "postbox: bench: %s\n", e.what());
    return e.interrupted() ? 128 + 2 : kExitFailure;  // like a shell's status for SIGINT
  } catch (const Error& e) {
    std::fprintf(stderr, "postbox: bench: %s\n", failure_text(e, o.queue).c_str());
    return exit_status(e.errc());
  }
}

}  // namespace postbox::cli
