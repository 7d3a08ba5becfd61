// The client protocol engine: validates and encodes requests, decodes replies.
#include "client/connection.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "postbox/error.hpp"
#include "proto/decoder.hpp"
#include "proto/jobs.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"
#include "proto/topics.hpp"

namespace postbox::detail {

namespace {

constexpr std::size_t kMaxQueueName = 255;     // str8 on the wire (PROTOCOL.md "Limits")
constexpr std::size_t kMaxHeaderKey = 0xFFFF;  // key_len:u16 in a header property

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

/// A queue name, or a topic (`noun`), which has the same length limit.
void check_queue(std::string_view queue, std::string_view noun = "queue name") {
  if (queue.empty()) throw Error(Errc::invalid_argument, std::string(noun) + " is empty");
  if (queue.size() > kMaxQueueName)
    throw Error(Errc::invalid_argument, std::string(noun) + " is longer than 255 bytes");
}

uint32_t wire_timeout(Timeout t) {
  if (!t) return proto::kWaitForever;
  if (t->count() < 0) throw Error(Errc::invalid_argument, "timeout is negative");
  // kWaitForever itself means "forever", so the longest finite wait is one less.
  constexpr int64_t kLongest = proto::kWaitForever - 1;
  return static_cast<uint32_t>(t->count() > kLongest ? kLongest : t->count());
}

void check_send_type(int64_t type) {
  if (type < 1)
    throw Error(Errc::invalid_argument,
                "message type " + std::to_string(type) + " is out of range 1..2^63-1");
}

void check_headers(const Headers& headers) {
  for (const auto& [key, value] : headers)
    if (key.size() > kMaxHeaderKey)
      throw Error(Errc::invalid_argument, "header key longer than 65535 bytes");
}

[[noreturn]] void version1(std::string_view what) {
  throw Error(Errc::invalid_argument,
              "broker speaks protocol version 1: " + std::string(what) + " needs version 2");
}

/// A duration option as a u32 of milliseconds on the wire, from `min` up.
uint32_t wire_ms(std::string_view what, std::chrono::milliseconds ms, int64_t min) {
  if (ms.count() < min)
    throw Error(Errc::invalid_argument, std::string(what) + " must be at least " +
                                            std::to_string(min) + " ms, got " +
                                            std::to_string(ms.count()));
  if (ms.count() > std::numeric_limits<uint32_t>::max())
    throw Error(Errc::invalid_argument, std::string(what) + " of " + std::to_string(ms.count()) +
                                            " ms is longer than 4294967295 ms");
  return static_cast<uint32_t>(ms.count());
}

/// Properties TLV for one message (SendOptions or OutgoingMessage, which
/// share the field names); empty when it has none (the common case allocates
/// nothing). `jobs`: the broker speaks version 2, so scheduling is allowed.
template <class M>
void encode_properties(const M& m, bool jobs, std::vector<std::byte>& out) {
  out.clear();
  const bool scheduled = m.delay || m.due || m.ttl || m.dedup_key;
  if (!m.correlation_id && !m.reply_to && m.headers.empty() && !scheduled) return;
  check_headers(m.headers);
  proto::Properties p;
  p.correlation_id = m.correlation_id;
  p.reply_to = m.reply_to;
  p.headers = m.headers;
  if (scheduled && !jobs) version1("a send with delay, due, ttl or dedup_key");
  if (m.delay) {
    if (m.delay->count() < 0) throw Error(Errc::invalid_argument, "delay is negative");
    p.delay_ms = static_cast<uint64_t>(m.delay->count());
  }
  if (m.due) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(m.due->time_since_epoch());
    if (ns.count() < 0) throw Error(Errc::invalid_argument, "due time is before 1970");
    p.due_ns = static_cast<uint64_t>(ns.count());
  }
  if (m.ttl) {
    if (m.ttl->count() < 1) throw Error(Errc::invalid_argument, "ttl must be at least 1 ms");
    p.ttl_ms = static_cast<uint64_t>(m.ttl->count());
  }
  if (m.dedup_key) {
    if (m.dedup_key->empty() || m.dedup_key->size() > proto::kMaxDedupKey)
      throw Error(Errc::invalid_argument, "dedup_key must be 1.." +
                                              std::to_string(proto::kMaxDedupKey) + " bytes, got " +
                                              std::to_string(m.dedup_key->size()));
    p.dedup_key = m.dedup_key;
  }
  proto::append_properties(p, out);
}

std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

Error malformed(std::string_view what) {
  return Error(Errc::protocol_error, "malformed " + std::string(what) + " from the broker");
}

Message to_message(const proto::DeliveredMessage& d) {
  Message m;
  m.id = d.id;
  m.type = d.type;
  m.priority = d.priority;
  m.payload = as_string(d.payload);
  m.sender_pid = d.sender_pid;
  m.sender_uid = d.sender_uid;
  m.enqueue_time_ns = d.enqueue_time_ns;
  m.truncated = (d.flags & proto::kDeliveredTruncated) != 0;
  m.delivery_tag = d.delivery_tag;
  m.delivery_count = d.delivery_count;
  if (!d.properties.empty()) {
    auto props = proto::decode_properties(d.properties);
    if (!props) throw malformed("message properties");
    m.correlation_id = std::move(props->correlation_id);
    m.reply_to = std::move(props->reply_to);
    m.headers = std::move(props->headers);
    m.topic = std::move(props->topic);
  }
  return m;
}

std::vector<Message> decode_messages(std::span<const std::byte> body) {
  proto::ReceiveReplyReader reader;
  if (!reader.open(body)) throw malformed("RECEIVE reply");
  std::vector<Message> out;
  out.reserve(reader.count());
  proto::DeliveredMessage d;
  while (reader.next(d)) out.push_back(to_message(d));
  if (reader.failed() || out.size() != reader.count()) throw malformed("RECEIVE reply");
  return out;
}

}  // namespace

// --- Socket ------------------------------------------------------------------

void check_socket_path(const std::string& path) {
  if (path.empty()) throw Error(Errc::invalid_argument, "socket path is empty");
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    throw Error(Errc::invalid_argument, "socket path " + in_quotes(path) + " is longer than " +
                                            std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                                            " bytes");
}

int connect_unix_socket(const std::string& path) {
  check_socket_path(path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw Error(Errc::unreachable, std::string("cannot create socket: ") + std::strerror(errno));
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    throw Error(Errc::unreachable,
                "cannot connect to broker at " + path + ": " + std::strerror(err));
  }
  return fd;
}

// --- Requests ----------------------------------------------------------------

uint32_t Connection::next_id() noexcept {
  // Id 0 is what the broker uses for errors not tied to a request
  // (PROTOCOL.md section 9, resource_limit), so requests never use it. After
  // 2^32 requests the ids wrap; a running consumer keeps its id.
  do {
    ++last_id_;
  } while (last_id_ == 0 || consumers_.contains(last_id_));
  return last_id_;
}

uint32_t Connection::max_body() const noexcept {
  return server_.max_frame_body != 0 ? server_.max_frame_body : proto::kDefaultMaxFrameBody;
}

void Connection::check_frame_size(std::size_t body_start) const {
  std::size_t body = out_.size() - body_start;
  if (body > max_body())
    throw Error(Errc::too_big, "request of " + std::to_string(body) +
                                   " bytes is larger than the broker's frame limit of " +
                                   std::to_string(max_body()) + " bytes");
}

uint32_t Connection::add_hello(std::string_view client_name) {
  uint32_t id = next_id();
  proto::encode(proto::Hello{proto::kVersion, client_name}, out_, id);
  return id;
}

namespace {

/// Encodes one SEND (or PUBLISH: `kind`, `queue` the topic, which never
/// waits) frame with `count` messages produced by `each(i, message, props)`;
/// on any error the partial frame is removed again.
template <class Each>
void encode_send(std::vector<std::byte>& out, uint32_t id, proto::Kind kind, std::string_view queue,
                 Timeout timeout, std::size_t count, uint32_t max_message_size, Each&& each) {
  const bool publish = kind == proto::Kind::publish;
  check_queue(queue, publish ? "topic" : "queue name");
  if (count == 0) throw Error(Errc::invalid_argument, "a send needs at least one message");
  if (count > std::numeric_limits<uint32_t>::max())
    throw Error(Errc::invalid_argument, "too many messages in one send");
  uint32_t timeout_ms = publish ? 0 : wire_timeout(timeout);
  std::size_t start = out.size();
  try {
    proto::begin_send(proto::SendHeader{queue, timeout_ms, static_cast<uint32_t>(count)}, out, id,
                      kind);
    std::vector<std::byte> props;
    for (std::size_t i = 0; i < count; ++i) {
      proto::OutgoingMessage m;
      std::string_view payload = each(i, m, props);
      check_send_type(m.type);
      if (max_message_size != 0 && payload.size() > max_message_size)
        throw Error(Errc::too_big, "message of " + std::to_string(payload.size()) +
                                       " bytes is larger than the broker's limit of " +
                                       std::to_string(max_message_size) + " bytes");
      m.properties = props;
      m.payload = as_bytes(payload);
      proto::append_outgoing(m, out);
    }
    proto::finish_frame(out, start + proto::kHeaderSize);
  } catch (...) {
    out.resize(start);
    throw;
  }
}

}  // namespace

void Connection::check_send_kind(proto::Kind kind) const {
  if (kind == proto::Kind::publish)
    require_jobs("publish");
  else if (kind != proto::Kind::send)
    throw Error(Errc::invalid_argument, "not a send or publish kind");
}

uint32_t Connection::add_send(std::string_view queue, std::string_view payload,
                              const SendOptions& options, proto::Kind kind) {
  check_send_kind(kind);
  uint32_t id = next_id();
  const bool jobs = version() >= proto::kVersionJobs;
  std::size_t start = out_.size();
  encode_send(out_, id, kind, queue, options.timeout, 1, server_.max_message_size,
              [&](std::size_t, proto::OutgoingMessage& m, std::vector<std::byte>& props) {
                m.type = options.type;
                m.priority = options.priority;
                encode_properties(options, jobs, props);
                return payload;
              });
  check_frame_or_undo(start);
  return id;
}

uint32_t Connection::add_send_batch(std::string_view queue,
                                    std::span<const OutgoingMessage> messages, Timeout timeout,
                                    proto::Kind kind) {
  check_send_kind(kind);
  uint32_t id = next_id();
  const bool jobs = version() >= proto::kVersionJobs;
  std::size_t start = out_.size();
  encode_send(out_, id, kind, queue, timeout, messages.size(), server_.max_message_size,
              [&](std::size_t i, proto::OutgoingMessage& m, std::vector<std::byte>& props) {
                const auto& in = messages[i];
                m.type = in.type;
                m.priority = in.priority;
                encode_properties(in, jobs, props);
                return std::string_view(in.payload);
              });
  check_frame_or_undo(start);
  return id;
}

uint32_t Connection::add_send_batch(std::string_view queue, std::span<const std::string> payloads,
                                    const SendOptions& options, proto::Kind kind) {
  check_send_kind(kind);
  uint32_t id = next_id();
  std::size_t start = out_.size();
  std::vector<std::byte> shared;  // every message carries the same properties
  encode_properties(options, version() >= proto::kVersionJobs, shared);
  encode_send(out_, id, kind, queue, options.timeout, payloads.size(), server_.max_message_size,
              [&](std::size_t i, proto::OutgoingMessage& m, std::vector<std::byte>& props) {
                m.type = options.type;
                m.priority = options.priority;
                props = shared;
                return std::string_view(payloads[i]);
              });
  check_frame_or_undo(start);
  return id;
}

uint32_t Connection::add_receive(std::string_view queue, const ReceiveOptions& options) {
  check_queue(queue);
  if (options.max_count == 0)
    throw Error(Errc::invalid_argument, "a receive needs max_count of at least 1");
  if (options.max_size && *options.max_size == proto::kNoSizeLimit)
    throw Error(Errc::invalid_argument, "max_size 4294967295 is reserved for \"no limit\"");
  if (!options.ack && (options.detached || options.lease))
    throw Error(Errc::invalid_argument, "detached and lease need a receive with ack");
  if (options.ack && options.peek)
    throw Error(Errc::invalid_argument, "a peek removes nothing, so it cannot lease (ack)");
  if (options.ack) require_jobs("a receive with ack");
  proto::ReceiveRequest r;
  r.queue = queue;
  r.type = options.type;
  r.flags = static_cast<uint16_t>(
      (options.except ? proto::kReceiveExcept : 0) |
      (options.truncate ? proto::kReceiveTruncate : 0) | (options.peek ? proto::kReceivePeek : 0) |
      (options.ack ? proto::kReceiveAck : 0) | (options.detached ? proto::kReceiveDetached : 0));
  r.timeout_ms = wire_timeout(options.timeout);
  r.max_size = options.max_size.value_or(proto::kNoSizeLimit);
  r.max_count = options.max_count;
  if (options.lease) r.lease_ms = wire_ms("lease", *options.lease, 1);
  uint32_t id = next_id();
  proto::encode(r, out_, id);
  return id;
}

uint32_t Connection::add_admin(proto::Kind kind, const std::string& json) {
  if (kind == proto::Kind::move) require_jobs("move");
  if (kind == proto::Kind::bind || kind == proto::Kind::unbind || kind == proto::Kind::bindings)
    require_jobs("bind, unbind and bindings");
  if (kind == proto::Kind::status) require_jobs("status");
  uint32_t id = next_id();
  std::size_t start = out_.size();
  proto::encode_json(kind, json, out_, id);
  check_frame_or_undo(start);
  return id;
}

uint32_t Connection::add_settle(proto::Kind kind, std::span<const uint64_t> tags, uint32_t ms,
                                uint16_t priority) {
  if (tags.empty()) throw Error(Errc::invalid_argument, "a settle needs at least one delivery tag");
  if (std::find(tags.begin(), tags.end(), uint64_t{0}) != tags.end())
    throw Error(Errc::invalid_argument,
                "delivery tag 0 names no lease (the message was not received with ack)");
  if (tags.size() > std::numeric_limits<uint32_t>::max())
    throw Error(Errc::invalid_argument, "too many delivery tags in one settle");
  uint32_t id = next_id();
  std::size_t start = out_.size();
  proto::encode_settle(kind, ms, priority, tags, out_, id);
  check_frame_or_undo(start);
  return id;
}

uint32_t Connection::add_ack(std::span<const uint64_t> tags) {
  require_jobs("ack");
  return add_settle(proto::Kind::ack, tags, 0, proto::kKeepPriority);
}

uint32_t Connection::add_nack(std::span<const uint64_t> tags, const NackOptions& options) {
  require_jobs("nack");
  uint32_t delay = wire_ms("nack delay", options.delay, 0);
  // Not value_or(): the optional holds a uint8_t, which would cut 0xFFFF to 255.
  uint16_t priority = options.priority ? uint16_t{*options.priority} : proto::kKeepPriority;
  return add_settle(proto::Kind::nack, tags, delay, priority);
}

uint32_t Connection::add_touch(std::span<const uint64_t> tags,
                               std::optional<std::chrono::milliseconds> lease) {
  require_jobs("touch");
  // 0 on the wire: the lease's original length.
  uint32_t ms = lease ? wire_ms("lease", *lease, 1) : 0;
  return add_settle(proto::Kind::touch, tags, ms, proto::kKeepPriority);
}

uint32_t Connection::add_reject(std::span<const uint64_t> tags) {
  require_jobs("reject");
  return add_settle(proto::Kind::reject, tags, 0, proto::kKeepPriority);
}

uint32_t Connection::add_consume(std::string_view queue, const ConsumeOptions& options) {
  check_queue(queue);
  if (options.max_size && *options.max_size == proto::kNoSizeLimit)
    throw Error(Errc::invalid_argument, "max_size 4294967295 is reserved for \"no limit\"");
  if (!options.ack && (options.prefetch || options.lease))
    throw Error(Errc::invalid_argument,
                "prefetch and lease need a consumer with ack (without it the broker pushes as "
                "fast as the connection reads)");
  if (options.ack && options.prefetch && *options.prefetch == 0)
    throw Error(Errc::invalid_argument, "prefetch must be at least 1");
  require_jobs("consume");
  proto::ConsumeRequest r;
  r.queue = queue;
  r.type = options.type;
  r.flags = static_cast<uint16_t>((options.except ? proto::kReceiveExcept : 0) |
                                  (options.truncate ? proto::kReceiveTruncate : 0) |
                                  (options.ack ? proto::kReceiveAck : 0));
  if (options.ack) r.prefetch = options.prefetch.value_or(ConsumeOptions::kDefaultPrefetch);
  if (options.lease) r.lease_ms = wire_ms("lease", *options.lease, 1);
  r.max_size = options.max_size.value_or(proto::kNoSizeLimit);
  uint32_t id = next_id();
  proto::encode(r, out_, id);
  consumers_[id];
  return id;
}

uint32_t Connection::add_cancel(uint32_t consumer) {
  auto it = consumers_.find(consumer);
  if (it == consumers_.end() || it->second.ended || it->second.cancelling)
    throw Error(Errc::invalid_argument,
                "consumer " + std::to_string(consumer) + " is not running on this connection");
  uint32_t id = next_id();
  proto::encode(proto::CancelRequest{consumer}, out_, id);
  it->second.cancelling = true;
  cancels_[id] = consumer;
  return id;
}

void Connection::check_frame_or_undo(std::size_t frame_start) {
  try {
    check_frame_size(frame_start + proto::kHeaderSize);
  } catch (...) {
    out_.resize(frame_start);
    throw;
  }
}

// --- Replies -----------------------------------------------------------------

std::span<std::byte> Connection::input_space() {
  std::size_t held = in_end_ - in_begin_;
  // Room for the rest of a large partial frame, so it arrives in one read
  // rather than in kReadChunk pieces. Sizes over the limit are refused by
  // next_reply() once the header is there, so they are never allocated.
  std::size_t want = kReadChunk;
  if (held >= proto::kHeaderSize) {
    auto h = proto::decode_header(in_.data() + in_begin_);
    std::size_t frame = proto::kHeaderSize + std::min<std::size_t>(h.body_size, reply_limit());
    if (frame > held) want = std::max(want, frame - held);
  }
  if (held == 0) {
    in_begin_ = in_end_ = 0;
  } else if (in_begin_ > 0 && in_.size() - in_end_ < want) {
    // Slide the partial frame to the front rather than grow without bound.
    std::memmove(in_.data(), in_.data() + in_begin_, held);
    in_begin_ = 0;
    in_end_ = held;
  }
  if (in_.size() - in_end_ < want) in_.resize(in_end_ + want);
  return {in_.data() + in_end_, in_.size() - in_end_};
}

uint32_t Connection::reply_limit() const noexcept {
  // Replies are bounded by the broker's own limit, announced in HELLO_OK;
  // before that, only the protocol's ceiling applies.
  return server_.max_frame_body != 0 ? server_.max_frame_body : proto::kMaxFrameBodyCeiling;
}

void Connection::commit_input(std::size_t n) noexcept {
  in_end_ += n;
}

std::optional<RawReply> Connection::next_reply() {
  for (;;) {
    std::span<const std::byte> input(in_.data() + in_begin_, in_end_ - in_begin_);
    auto r = proto::decode_frame(input, reply_limit());
    switch (r.status) {
      case proto::DecodeStatus::need_more:
        return std::nullopt;
      case proto::DecodeStatus::error:
        throw Error(Errc::protocol_error,
                    std::string("malformed frame from the broker: ") + (r.error ? r.error : "?"));
      case proto::DecodeStatus::frame:
        break;
    }
    RawReply reply = decode(r.frame.header.kind, r.frame.header.request_id, r.frame.body);
    in_begin_ += r.consumed;
    if (!route(reply)) return reply;
  }
}

RawReply Connection::decode(proto::Kind kind, uint32_t request_id,
                            std::span<const std::byte> body) const {
  using proto::Kind;
  RawReply out;
  out.request_id = request_id;
  if (kind == Kind::error) {
    auto e = proto::decode_error(body);
    if (!e) throw malformed("ERROR frame");
    out.kind = Kind::error;
    out.reply.error = make_error_code(static_cast<Errc>(e->code));
    out.reply.error_message = std::string(e->message);
    return out;
  }
  if (kind == Kind::deliver) {  // 0x8018 has the reply bit but answers no request of its kind
    out.kind = Kind::deliver;
    out.reply.messages = decode_messages(body);
    return out;
  }
  if (!proto::is_reply(kind)) throw malformed("frame (a request kind)");
  out.kind = static_cast<Kind>(static_cast<uint16_t>(kind) & ~proto::kReplyBit);
  switch (out.kind) {
    case Kind::hello: {
      auto h = proto::decode_hello_reply(body);
      if (!h) throw malformed("HELLO_OK");
      out.server = {h->version, h->max_frame_body, h->max_message_size,
                    std::string(h->broker_version)};
      return out;
    }
    case Kind::send: {
      auto s = proto::decode_send_reply(body, version());
      if (!s) throw malformed("SEND reply");
      for (const auto& d : s->duplicates)
        if (d.index >= s->count) throw malformed("SEND reply (duplicate index out of range)");
      out.reply.first_id = s->first_id;
      out.reply.count = s->count;
      out.reply.duplicates.reserve(s->duplicates.size());
      for (const auto& d : s->duplicates) out.reply.duplicates.push_back({d.index, d.existing_id});
      // SendResult's lookups search by index.
      std::sort(out.reply.duplicates.begin(), out.reply.duplicates.end(),
                [](const SendDuplicate& a, const SendDuplicate& b) { return a.index < b.index; });
      return out;
    }
    case Kind::receive:
      out.reply.messages = decode_messages(body);
      return out;
    case Kind::declare:
    case Kind::remove:
    case Kind::purge:
    case Kind::stat:
    case Kind::list:
    case Kind::move:
    case Kind::bind:
    case Kind::unbind:
    case Kind::bindings:
    case Kind::status:
      out.json = as_string(body);
      return out;
    case Kind::publish: {
      auto p = proto::decode_publish_reply(body);
      if (!p) throw malformed("PUBLISH reply");
      out.reply.published = {p->queues, p->denied, p->dropped};
      return out;
    }
    case Kind::ack:
    case Kind::nack:
    case Kind::touch:
    case Kind::reject: {
      auto s = proto::decode_settle_reply(body);
      if (!s) throw malformed("settle reply");
      out.reply.settled = s->settled;
      out.reply.missing = std::move(s->missing);
      return out;
    }
    case Kind::consume:
    case Kind::cancel:
      if (!body.empty()) throw malformed("CONSUME or CANCEL reply (a non-empty body)");
      return out;
    case Kind::deliver:  // handled above: its kind has no request
    case Kind::error:
      break;
  }
  // No other reply kinds in version 2 (PROTOCOL.md section 10).
  throw malformed("frame (unknown reply kind " + std::to_string(static_cast<uint16_t>(kind)) + ")");
}

void Connection::accept_hello(const RawReply& reply) {
  reply.reply.throw_if_error();
  const ServerInfo& s = reply.server;
  // The broker answers min(ours, its own); anything else is not a version we speak.
  if (s.version == 0 || s.version > proto::kVersion)
    throw Error(Errc::unsupported_version, "the broker answered with protocol version " +
                                               std::to_string(s.version) + ", this client speaks " +
                                               std::to_string(proto::kVersion));
  if (s.max_frame_body == 0 || s.max_frame_body > proto::kMaxFrameBodyCeiling)
    throw Error(Errc::protocol_error, "the broker announced an invalid frame limit of " +
                                          std::to_string(s.max_frame_body) + " bytes");
  server_ = s;
}

uint16_t Connection::version() const noexcept {
  return server_.version != 0 ? server_.version : proto::kVersion;
}

void Connection::require_jobs(std::string_view what) const {
  if (version() < proto::kVersionJobs) version1(what);
}

}  // namespace postbox::detail
