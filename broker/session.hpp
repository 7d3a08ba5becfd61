// Session: one client connection — read, decode, dispatch, coalesced writes, backpressure.
#pragma once

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
#include "proto/decoder.hpp"

namespace postbox::broker {

/// A request parked on a queue (a blocked receive or send). Owned by its
/// session; cancel() takes it off its queue and answers it with `code`.
class Pending {
 public:
  bi::list_member_hook<bi::link_mode<bi::auto_unlink>> session_hook;
  virtual ~Pending() = default;
  virtual void cancel(proto::Errc code) = 0;
};

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
  /// Encodes an ERROR reply.
  void reply_error(uint32_t request_id, proto::Errc code, std::string_view message);
  /// Answers with protocol_error and closes once the reply is written.
  void fail_protocol(uint32_t request_id, std::string_view message);

  void park(Pending& p) { pending_.push_back(p); }
  bool greeted() const noexcept { return greeted_; }
  void set_greeted() noexcept { greeted_ = true; }

 private:
  void do_read();
  void on_read(std::size_t n);
  void process_input();
  void do_write();
  void on_written();
  void end();
  void cancel_pending(proto::Errc code);
  bool output_over_limit() const noexcept;

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

  bool greeted_ = false;
  bool reading_ = false;
  bool writing_active_ = false;
  bool write_posted_ = false;
  bool closing_ = false;  // no more reads; close once output is flushed
  bool ended_ = false;
};

}  // namespace postbox::broker
