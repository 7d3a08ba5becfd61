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

#include "postbox/error.hpp"
#include "proto/decoder.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"

namespace postbox::detail {

namespace {

constexpr std::size_t kMaxQueueName = 255;     // str8 on the wire (PROTOCOL.md "Limits")
constexpr std::size_t kMaxHeaderKey = 0xFFFF;  // key_len:u16 in a header property

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

void check_queue(std::string_view queue) {
  if (queue.empty()) throw Error(Errc::invalid_argument, "queue name is empty");
  if (queue.size() > kMaxQueueName)
    throw Error(Errc::invalid_argument, "queue name is longer than 255 bytes");
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

/// Properties TLV for one message; empty when it has none (the common case
/// allocates nothing).
void encode_properties(const std::optional<std::string>& correlation_id,
                       const std::optional<std::string>& reply_to, const Headers& headers,
                       std::vector<std::byte>& out) {
  out.clear();
  if (!correlation_id && !reply_to && headers.empty()) return;
  check_headers(headers);
  proto::Properties p;
  p.correlation_id = correlation_id;
  p.reply_to = reply_to;
  p.headers = headers;
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
  // (PROTOCOL.md section 9, resource_limit), so requests never use it.
  if (++last_id_ == 0) ++last_id_;
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

/// Encodes one SEND frame with `count` messages produced by `each(i, message,
/// props)`; on any error the partial frame is removed again.
template <class Each>
void encode_send(std::vector<std::byte>& out, uint32_t id, std::string_view queue, Timeout timeout,
                 std::size_t count, uint32_t max_message_size, Each&& each) {
  check_queue(queue);
  if (count == 0) throw Error(Errc::invalid_argument, "a send needs at least one message");
  if (count > std::numeric_limits<uint32_t>::max())
    throw Error(Errc::invalid_argument, "too many messages in one send");
  uint32_t timeout_ms = wire_timeout(timeout);
  std::size_t start = out.size();
  try {
    proto::begin_send(proto::SendHeader{queue, timeout_ms, static_cast<uint32_t>(count)}, out, id);
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

uint32_t Connection::add_send(std::string_view queue, std::string_view payload,
                              const SendOptions& options) {
  uint32_t id = next_id();
  std::size_t start = out_.size();
  encode_send(out_, id, queue, options.timeout, 1, server_.max_message_size,
              [&](std::size_t, proto::OutgoingMessage& m, std::vector<std::byte>& props) {
                m.type = options.type;
                m.priority = options.priority;
                encode_properties(options.correlation_id, options.reply_to, options.headers, props);
                return payload;
              });
  check_frame_or_undo(start);
  return id;
}

uint32_t Connection::add_send_batch(std::string_view queue,
                                    std::span<const OutgoingMessage> messages, Timeout timeout) {
  uint32_t id = next_id();
  std::size_t start = out_.size();
  encode_send(out_, id, queue, timeout, messages.size(), server_.max_message_size,
              [&](std::size_t i, proto::OutgoingMessage& m, std::vector<std::byte>& props) {
                const auto& in = messages[i];
                m.type = in.type;
                m.priority = in.priority;
                encode_properties(in.correlation_id, in.reply_to, in.headers, props);
                return std::string_view(in.payload);
              });
  check_frame_or_undo(start);
  return id;
}

uint32_t Connection::add_send_batch(std::string_view queue, std::span<const std::string> payloads,
                                    const SendOptions& options) {
  uint32_t id = next_id();
  std::size_t start = out_.size();
  std::vector<std::byte> shared;  // every message carries the same properties
  encode_properties(options.correlation_id, options.reply_to, options.headers, shared);
  encode_send(out_, id, queue, options.timeout, payloads.size(), server_.max_message_size,
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
  proto::ReceiveRequest r;
  r.queue = queue;
  r.type = options.type;
  r.flags = static_cast<uint16_t>((options.except ? proto::kReceiveExcept : 0) |
                                  (options.truncate ? proto::kReceiveTruncate : 0) |
                                  (options.peek ? proto::kReceivePeek : 0));
  r.timeout_ms = wire_timeout(options.timeout);
  r.max_size = options.max_size.value_or(proto::kNoSizeLimit);
  r.max_count = options.max_count;
  uint32_t id = next_id();
  proto::encode(r, out_, id);
  return id;
}

uint32_t Connection::add_admin(proto::Kind kind, const std::string& json) {
  uint32_t id = next_id();
  std::size_t start = out_.size();
  proto::encode_json(kind, json, out_, id);
  check_frame_or_undo(start);
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
  return reply;
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
      auto s = proto::decode_send_reply(body);
      if (!s) throw malformed("SEND reply");
      out.reply.first_id = s->first_id;
      out.reply.count = s->count;
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
      out.json = as_string(body);
      return out;
    case Kind::error:
      break;
  }
  // Version 1 has no other reply kinds (PROTOCOL.md section 10).
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

}  // namespace postbox::detail
