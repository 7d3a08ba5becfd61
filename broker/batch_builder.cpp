// Turning a SEND (or PUBLISH) body into a Batch: framing, per-message checks, scheduling tags.
#include "broker/batch_builder.hpp"

#include <algorithm>

#include "broker/clock.hpp"
#include "broker/handlers.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"

namespace postbox::broker {

using proto::Errc;

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;
// Far beyond any real schedule (~292 years of ns), so sums cannot wrap.
constexpr uint64_t kMaxScheduleMs = 100ull * 366 * 24 * 3600 * 1000;

/// Due time and expiry from the scheduling properties, on the monotonic clock.
/// A due time in the past is now; delay and due together: the later wins.
void schedule(Message& m, const proto::Scheduling& sc, uint64_t now_real, uint64_t now_steady) {
  uint64_t due = 0;
  if (sc.delay_ms && *sc.delay_ms > 0) {
    due = now_steady + std::min(*sc.delay_ms, kMaxScheduleMs) * kNsPerMs;
  }
  if (sc.due_ns && *sc.due_ns > now_real) {
    due = std::max(due, now_steady + std::min(*sc.due_ns - now_real, kMaxScheduleMs * kNsPerMs));
  }
  m.due_ns = due;
  // TTL counts from the send, not from when a delayed message becomes due.
  if (sc.ttl_ms && *sc.ttl_ms > 0)
    m.expires_ns = now_steady + std::min(*sc.ttl_ms, kMaxScheduleMs) * kNsPerMs;
  if (!sc.dedup_key.empty()) {
    m.key_offset = static_cast<uint32_t>(sc.dedup_key_offset);
    m.key_size = static_cast<uint32_t>(sc.dedup_key.size());
  }
}

}  // namespace

bool well_framed(std::span<const std::byte> body) {
  proto::SendReader reader;
  if (!reader.open(body)) return false;
  proto::OutgoingMessage m;
  while (reader.next(m)) {
  }
  return !reader.failed();
}

Batch build_batch(Session& s, std::span<const std::byte> body, const Queue* q, Errc& code,
                  std::string& problem, std::string_view stamp) {
  proto::SendReader reader;
  reader.open(body);
  const uint32_t max_size =
      q ? q->attributes().limits.max_message_size : s.context().store.message_size_ceiling();
  const uint32_t max_frame = s.context().config.max_frame_size;
  const uint64_t now = realtime_ns();
  const uint64_t steady = steady_ns();
  Batch batch;
  batch.messages.reserve(reader.header().count);
  proto::OutgoingMessage m;
  while (reader.next(m)) {
    const std::size_t props_size = m.properties.size() + stamp.size();
    if (m.type < 1) {
      code = Errc::invalid_argument;
      problem = "message type must be 1..9223372036854775807, got " + std::to_string(m.type);
    } else if (props_size > kMaxPropertiesSize) {
      code = Errc::too_big;
      problem = "a message's properties of " + std::to_string(props_size) +
                " bytes exceed the limit of " + std::to_string(kMaxPropertiesSize);
    } else if (props_size + m.payload.size() + proto::kDeliveredMessageHeader + 4 > max_frame) {
      // Delivered messages carry a larger header than sent ones; one must fit a reply.
      code = Errc::too_big;
      problem = "a message of " + std::to_string(m.payload.size()) + " bytes with " +
                std::to_string(props_size) +
                " bytes of properties would not fit a reply frame (max_frame_size " +
                std::to_string(max_frame) + ")";
    } else if (m.payload.size() > max_size) {
      code = Errc::too_big;
      problem = "a message of " + std::to_string(m.payload.size()) + " bytes exceeds " +
                (q ? quoted_queue(q->name()) + " max_message_size " : "the broker's limit ") +
                std::to_string(max_size);
    }
    proto::Scheduling sched;
    if (code == Errc::ok && s.version() >= proto::kVersionJobs) {
      problem = proto::find_scheduling(m.properties, sched);
      if (!problem.empty()) code = Errc::invalid_argument;
    }
    if (code != Errc::ok) return {};
    auto msg = std::make_unique<Message>();
    schedule(*msg, sched, now, steady);
    msg->type = m.type;
    msg->priority = m.priority;
    msg->sender_pid = s.peer().pid;
    msg->sender_uid = s.peer().uid;
    msg->enqueue_time_ns = now;
    msg->props_size = static_cast<uint32_t>(props_size);
    msg->data.reserve(props_size + m.payload.size());
    msg->data.append(reinterpret_cast<const char*>(m.properties.data()), m.properties.size());
    msg->data.append(stamp);  // after the sender's entries: dedup key offsets stay right
    msg->data.append(reinterpret_cast<const char*>(m.payload.data()), m.payload.size());
    batch.payload_bytes += m.payload.size();
    batch.messages.push_back(std::move(msg));
  }
  return batch;
}

}  // namespace postbox::broker
