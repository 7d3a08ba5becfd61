// Session: one client connection — read, decode, dispatch, coalesced writes, backpressure.
#pragma once

#include <string>
#include <utility>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/intrusive/list.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "broker/context.hpp"
#include "broker/credentials.hpp"
#include "broker/lease.hpp"
#include "proto/decoder.hpp"

namespace postbox::broker {

class Consumer;

/// A request parked on a queue (a blocked receive or send). Owned by its
/// session. Cancelling all of a session's requests is two-phase: detach()
/// every one, answer() every one, then resume() the queues they were on, so
/// that cancelling one cannot let another of the same session through.
class Pending {
 public:
  bi::list_member_hook<bi::link_mode<bi::auto_unlink>> session_hook;
  virtual ~Pending() = default;
  virtual Queue& queue() noexcept = 0;
  /// Takes it off its queue without admitting anyone; touches only its own hook.
  virtual void detach() noexcept = 0;
  /// Replies with `code` and deletes it.
  virtual void answer(proto::Errc code) = 0;
  /// Bytes it holds in the broker (a parked SEND's batch), counted against
  /// the connection's max_pending_output.
  virtual std::size_t held_bytes() const noexcept { return 0; }
  /// A push consumer stays parked until cancelled; it also holds leases.
  virtual Consumer* as_consumer() noexcept { return nullptr; }
};

/// The leases of a connection's ack-mode RECEIVEs (and of its cancelled
/// consumers): returned to their queues when the connection ends.
class SessionLeases final : public LeaseHolder {};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;
  /// `on_closed` runs once when the session has ended, so the broker can drop it.
  Session(Context& ctx, Socket socket, uint64_t id, std::function<void(Session&)> on_closed);
  ~Session();

  void start();
  /// Fails what is in flight with shutting_down, flushes replies, then closes.
  void stop();
  /// Closes at once, dropping unsent replies (shutdown grace expired).
  void abort() { end(); }

  uint64_t id() const noexcept { return id_; }
  const Credentials& peer() const noexcept { return peer_; }
  Context& context() noexcept { return ctx_; }

  /// The buffer replies are encoded into; call reply_ready() after appending
  /// outside a read (from another session's send), so the write is scheduled.
  std::vector<std::byte>& output() noexcept { return out_; }
  void reply_ready();
  /// The reply just encoded reports a change to `q`: if `q` is durable, this
  /// connection's output waits until the journal has that change on disk.
  void hold_for(const Queue& q) noexcept {
    if (q.durable()) hold_for_log();
  }
  /// The same when the queue is gone (DELETE of a durable queue).
  void hold_for_log() noexcept { hold_until_ = ctx_.journal.appended_seq(); }
  /// Encodes an ERROR reply.
  void reply_error(uint32_t request_id, proto::Errc code, std::string_view message);
  /// Answers with protocol_error and closes once the reply is written.
  void fail_protocol(uint32_t request_id, std::string_view message);

  void park(Pending& p) {
    pending_.push_back(p);
    held_bytes_ += p.held_bytes();
  }
  /// A parked request is done (answered by its queue or its deadline).
  void unpark(Pending& p) noexcept {
    p.session_hook.unlink();
    held_bytes_ -= p.held_bytes();
  }
  /// True while unread replies pass max_pending_output: parked receives of
  /// this session then take no more messages (see ReceiveWaiter::may_deliver).
  bool output_over_limit() const noexcept;
  bool greeted() const noexcept { return greeted_; }
  /// The protocol version negotiated by HELLO.
  uint16_t version() const noexcept { return version_; }
  void set_greeted(uint16_t version) noexcept {
    greeted_ = true;
    version_ = version;
  }
  /// Changes whenever output() is handed to the socket, so an encoder can
  /// tell whether a frame it appended is still the last thing in output().
  uint64_t output_epoch() const noexcept { return out_epoch_; }

  /// The connection's own leases (ack-mode RECEIVEs without detached).
  LeaseHolder& leases() noexcept { return leases_; }
  /// Takes over a retiring consumer's leases (they stay until settled or the connection ends).
  void adopt_leases(LeaseHolder& from);
  /// The lease with `tag` this connection may settle: its own, its
  /// consumers', or a detached lease of a queue it may read; nullptr if none.
  Message* find_lease(uint64_t tag) noexcept;
  /// The consumer started by the CONSUME with this request id, or nullptr.
  Consumer* find_consumer(uint32_t request_id) noexcept;
  /// `queue` is a temporary queue of this connection: deleted when it ends.
  void own_temporary(std::string queue) { temporaries_.push_back(std::move(queue)); }
  /// Every consumer of this connection.
  template <class F>
  void for_each_consumer(F&& f) {
    for (Pending& p : pending_)
      if (Consumer* c = p.as_consumer()) f(*c);
  }

 private:
  void do_read();
  void on_read(std::size_t n);
  void process_input();
  void do_write();
  void on_written();
  void end();
  void cancel_pending(proto::Errc code, bool resume_queues = true);
  /// Returns every lease of this connection to its queue (the connection is
  /// gone); adds the queues to `touched`.
  void return_leases(std::vector<Queue*>& touched);
  static void resume_all(std::vector<Queue*>& queues);
  void delete_temporaries();
  /// Replies plus parked batches over the limit: stop reading requests.
  bool should_pause_reading() const noexcept;
  void resume_parked_queues();

  Context& ctx_;
  Socket socket_;
  uint64_t id_;
  std::function<void(Session&)> on_closed_;
  Credentials peer_;

  std::vector<std::byte> in_;
  std::size_t in_begin_ = 0;        // first unparsed byte
  std::size_t in_end_ = 0;          // end of received data
  std::vector<std::byte> out_;      // replies being gathered
  std::vector<std::byte> writing_;  // replies being written

  bi::list<Pending,
           bi::member_hook<Pending, bi::list_member_hook<bi::link_mode<bi::auto_unlink>>,
                           &Pending::session_hook>,
           bi::constant_time_size<false>>
      pending_;

  std::size_t held_bytes_ = 0;  // sum of parked requests' held_bytes()
  SessionLeases leases_;
  std::vector<std::string> temporaries_;  // by name: someone may have deleted one already
  uint64_t out_epoch_ = 1;
  uint64_t hold_until_ = 0;  // journal sequence the output waits for (hold_for)
  bool hold_waiting_ = false;
  uint16_t version_ = 1;
  bool greeted_ = false;
  bool reading_ = false;
  bool writing_active_ = false;
  bool write_posted_ = false;
  bool closing_ = false;  // no more reads; close once output is flushed
  bool ended_ = false;
};

}  // namespace postbox::broker
