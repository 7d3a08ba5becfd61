// Client: drives detail::Connection over a blocking Unix socket on the caller's thread.
#include "postbox/client.hpp"

#include <chrono>
#include <limits>

#include "client/admin_json.hpp"
#include "client/client_impl.hpp"
#include "config/paths.hpp"

namespace postbox {

using detail::RawReply;
using proto::Kind;

std::string default_socket_path() {
  return config::default_socket_path();
}

Client::Client() : impl_(std::make_unique<Impl>()) {}

Client::Client(const std::string& socket_path, std::string_view client_name) : Client() {
  connect(socket_path, client_name);
}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

void Client::connect(const std::string& socket_path, std::string_view client_name) {
  impl_->close();
  impl_->fd = detail::connect_unix_socket(socket_path);
  try {
    uint32_t id = impl_->started(impl_->conn.add_hello(client_name), Kind::hello);
    impl_->conn.accept_hello(impl_->await(id));
  } catch (...) {
    impl_->close();
    throw;
  }
}

bool Client::is_connected() const noexcept {
  return impl_ && impl_->fd >= 0;
}

int Client::native_handle() const noexcept {
  return impl_ ? impl_->fd : -1;
}

void Client::close() noexcept {
  if (impl_) impl_->close();
}

const ServerInfo& Client::server_info() const {
  impl_->require_connected();
  return impl_->conn.server();
}

// --- Administration -----------------------------------------------------------

DeclareResult Client::declare(std::string_view queue, const QueueOptions& options) {
  impl_->require_connected();
  if (detail::declare_needs_jobs(options))
    impl_->conn.require_jobs(
        "declare with max_deliveries, dead_letter, lease, ttl, temporary, durable or drop-new");
  return detail::parse_declare_reply(
      impl_->admin(Kind::declare, detail::declare_request(queue, options)));
}

void Client::remove(std::string_view queue) {
  detail::parse_delete_reply(impl_->admin(Kind::remove, detail::queue_request(queue)));
}

uint64_t Client::purge(std::string_view queue) {
  return detail::parse_purge_reply(impl_->admin(Kind::purge, detail::queue_request(queue)));
}

QueueStat Client::stat(std::string_view queue) {
  return detail::parse_stat_reply(impl_->admin(Kind::stat, detail::queue_request(queue)));
}

std::vector<QueueSummary> Client::list() {
  return detail::parse_list_reply(impl_->admin(Kind::list, detail::list_request()));
}

QueueList Client::queue_list() {
  return detail::parse_queue_list_reply(impl_->admin(Kind::list, detail::list_request()));
}

BrokerStatus Client::status() {
  return detail::parse_status_reply(impl_->admin(Kind::status, detail::status_request()));
}

MoveResult Client::move(std::string_view source, std::string_view destination,
                        const MoveOptions& options) {
  return detail::parse_move_reply(
      impl_->admin(Kind::move, detail::move_request(source, destination, options)));
}

// --- Data path ------------------------------------------------------------------

SendResult Client::send(std::string_view queue, std::string_view payload,
                        const SendOptions& options) {
  Reply r = wait(start_send(queue, payload, options));
  r.throw_if_error();
  return r.send_result();
}

SendResult Client::send_batch(std::string_view queue, std::span<const OutgoingMessage> messages,
                              Timeout timeout) {
  Reply r = wait(start_send_batch(queue, messages, timeout));
  r.throw_if_error();
  return r.send_result();
}

SendResult Client::send_batch(std::string_view queue, std::span<const std::string> payloads,
                              const SendOptions& options) {
  Reply r = wait(start_send_batch(queue, payloads, options));
  r.throw_if_error();
  return r.send_result();
}

std::optional<Message> Client::receive(std::string_view queue, const ReceiveOptions& options) {
  ReceiveOptions one = options;
  one.max_count = 1;
  auto messages = receive_many(queue, 1, one);
  if (messages.empty()) return std::nullopt;
  return std::move(messages.front());
}

std::vector<Message> Client::receive_many(std::string_view queue, uint32_t max_count,
                                          ReceiveOptions options) {
  options.max_count = max_count;
  Reply r = wait(start_receive(queue, options));
  if (r.error == make_error_code(Errc::no_message)) return {};
  r.throw_if_error();
  return std::move(r.messages);
}

// --- Leases -----------------------------------------------------------------------

void Client::ack(uint64_t tag) {
  impl_->require_connected();
  impl_->settle_one(impl_->conn.add_ack({&tag, 1}), Kind::ack, tag);
}

std::vector<uint64_t> Client::ack(std::span<const uint64_t> tags) {
  impl_->require_connected();
  return impl_->settle_many(impl_->conn.add_ack(tags), Kind::ack);
}

void Client::nack(uint64_t tag, const NackOptions& options) {
  impl_->require_connected();
  impl_->settle_one(impl_->conn.add_nack({&tag, 1}, options), Kind::nack, tag);
}

std::vector<uint64_t> Client::nack(std::span<const uint64_t> tags, const NackOptions& options) {
  impl_->require_connected();
  return impl_->settle_many(impl_->conn.add_nack(tags, options), Kind::nack);
}

void Client::touch(uint64_t tag, std::optional<std::chrono::milliseconds> lease) {
  impl_->require_connected();
  impl_->settle_one(impl_->conn.add_touch({&tag, 1}, lease), Kind::touch, tag);
}

std::vector<uint64_t> Client::touch(std::span<const uint64_t> tags,
                                    std::optional<std::chrono::milliseconds> lease) {
  impl_->require_connected();
  return impl_->settle_many(impl_->conn.add_touch(tags, lease), Kind::touch);
}

void Client::reject(uint64_t tag) {
  impl_->require_connected();
  impl_->settle_one(impl_->conn.add_reject({&tag, 1}), Kind::reject, tag);
}

std::vector<uint64_t> Client::reject(std::span<const uint64_t> tags) {
  impl_->require_connected();
  return impl_->settle_many(impl_->conn.add_reject(tags), Kind::reject);
}

// --- Push consumers -------------------------------------------------------------

uint32_t Client::consume(std::string_view queue, const ConsumeOptions& options) {
  impl_->require_connected();
  uint32_t id = impl_->started(impl_->conn.add_consume(queue, options), Kind::consume);
  impl_->await(id).reply.throw_if_error();
  return id;
}

std::vector<Message> Client::deliveries(uint32_t consumer, Timeout timeout) {
  impl_->require_connected();
  detail::Connection& conn = impl_->conn;
  if (!conn.is_consumer(consumer))
    throw Error(Errc::invalid_argument,
                "consumer " + std::to_string(consumer) + " is not running on this client");
  if (timeout && timeout->count() < 0) throw Error(Errc::invalid_argument, "timeout is negative");
  // Settles buffered with start_ack() and friends give the consumer credit:
  // they must be on the wire before we wait for more.
  if (!conn.output().empty()) impl_->write_all();
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (timeout) deadline = std::chrono::steady_clock::now() + *timeout;
  for (;;) {
    // Frames already read (e.g. while waiting for another reply) come first.
    impl_->stash_replies();
    if (conn.has_deliveries(consumer)) return conn.take_deliveries(consumer);
    if (conn.consumer_ended(consumer)) {
      if (const auto& e = conn.consumer_error(consumer)) throw *e;
      return {};
    }
    if (!impl_->read_some(false) && !impl_->wait_readable(deadline)) return {};
  }
}

std::vector<Message> Client::cancel(uint32_t consumer) {
  impl_->require_connected();
  detail::Connection& conn = impl_->conn;
  if (!conn.is_consumer(consumer))
    throw Error(Errc::invalid_argument,
                "consumer " + std::to_string(consumer) + " is not running on this client");
  if (!conn.consumer_ended(consumer)) {
    // An ERROR instead of CANCEL_OK means the broker had just ended the
    // consumer itself: it is over either way, which is all cancel promises.
    impl_->await(impl_->started(conn.add_cancel(consumer), Kind::cancel));
  }
  std::vector<Message> rest = conn.take_deliveries(consumer);
  conn.forget_consumer(consumer);
  return rest;
}

// --- Pipelining -----------------------------------------------------------------

Client::Ticket Client::start_send(std::string_view queue, std::string_view payload,
                                  const SendOptions& options) {
  impl_->require_connected();
  return {impl_->started(impl_->conn.add_send(queue, payload, options), Kind::send)};
}

Client::Ticket Client::start_send_batch(std::string_view queue,
                                        std::span<const OutgoingMessage> messages,
                                        Timeout timeout) {
  impl_->require_connected();
  return {impl_->started(impl_->conn.add_send_batch(queue, messages, timeout), Kind::send)};
}

Client::Ticket Client::start_send_batch(std::string_view queue,
                                        std::span<const std::string> payloads,
                                        const SendOptions& options) {
  impl_->require_connected();
  return {impl_->started(impl_->conn.add_send_batch(queue, payloads, options), Kind::send)};
}

Client::Ticket Client::start_receive(std::string_view queue, const ReceiveOptions& options) {
  impl_->require_connected();
  return {impl_->started(impl_->conn.add_receive(queue, options), Kind::receive)};
}

Client::Ticket Client::start_ack(std::span<const uint64_t> tags) {
  impl_->require_connected();
  return {impl_->started(impl_->conn.add_ack(tags), Kind::ack)};
}

Client::Ticket Client::start_nack(std::span<const uint64_t> tags, const NackOptions& options) {
  impl_->require_connected();
  return {impl_->started(impl_->conn.add_nack(tags, options), Kind::nack)};
}

Client::Ticket Client::start_touch(std::span<const uint64_t> tags,
                                   std::optional<std::chrono::milliseconds> lease) {
  impl_->require_connected();
  return {impl_->started(impl_->conn.add_touch(tags, lease), Kind::touch)};
}

Client::Ticket Client::start_reject(std::span<const uint64_t> tags) {
  impl_->require_connected();
  return {impl_->started(impl_->conn.add_reject(tags), Kind::reject)};
}

void Client::flush() {
  impl_->require_connected();
  if (!impl_->conn.output().empty()) impl_->write_all();
}

Reply Client::wait(Ticket ticket) {
  impl_->require_connected();
  if (!impl_->outstanding.contains(ticket.request_id))
    throw Error(Errc::invalid_argument, "wait() on a ticket that is not pending");
  return std::move(impl_->await(ticket.request_id).reply);
}

std::size_t Client::pending() const noexcept {
  return impl_ ? impl_->outstanding.size() : 0;
}

}  // namespace postbox
