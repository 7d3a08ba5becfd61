// Session: one connection's read → decode → dispatch → coalesced write cycle.
#include "broker/session.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "broker/consumer.hpp"
#include "broker/dispatch.hpp"
#include "proto/messages.hpp"

namespace postbox::broker {

namespace asio = boost::asio;

namespace {
// One read brings up to this much; frames larger than it grow the buffer.
constexpr std::size_t kInitialReadBuffer = 256 * 1024;
// Buffers grown past this for a large frame are given back once drained.
constexpr std::size_t kRetainedBuffer = 4 * 1024 * 1024;

Credentials peer_credentials(int fd) {
  ucred uc{};
  socklen_t len = sizeof uc;
  Credentials c;
  // A Unix stream socket always has peer credentials; if the call fails we
  // keep uid 0xFFFFFFFF so the peer gets no rights rather than root's.
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
    c.pid = static_cast<uint32_t>(uc.pid);
    c.uid = uc.uid;
    c.gid = uc.gid;
  } else {
    c.uid = c.gid = 0xFFFFFFFFu;
  }
  return c;
}
}  // namespace

Session::Session(Context& ctx, Socket socket, uint64_t id, std::function<void(Session&)> on_closed)
    : ctx_(ctx), socket_(std::move(socket)), id_(id), on_closed_(std::move(on_closed)) {
  peer_ = peer_credentials(socket_.native_handle());
  in_.resize(kInitialReadBuffer);
}

Session::~Session() {
  // Normally end() already answered everything; if not, there is no one left
  // to write to, and reply_ready() must not reach for shared_from_this().
  // Leases are linked only while their queue exists, so returning them is safe.
  ended_ = true;
  cancel_pending(proto::Errc::shutting_down, /*resume_queues=*/false);
  std::vector<Queue*> touched;
  return_leases(touched);
}

void Session::start() {
  do_read();
}

void Session::stop() {
  if (ended_ || closing_) return;
  closing_ = true;
  cancel_pending(proto::Errc::shutting_down);
  boost::system::error_code ignored;
  // Wakes the outstanding read with end-of-file; replies already gathered still go out.
  socket_.shutdown(Socket::shutdown_receive, ignored);
  if (!writing_active_ && out_.empty())
    end();
  else
    do_write();
}

bool Session::output_over_limit() const noexcept {
  return out_.size() + writing_.size() > ctx_.config.max_pending_output;
}

bool Session::should_pause_reading() const noexcept {
  return out_.size() + writing_.size() + held_bytes_ > ctx_.config.max_pending_output;
}

void Session::do_read() {
  if (reading_ || closing_ || ended_) return;
  if (in_end_ == in_.size()) {
    // Full of one partial frame: the decoder already checked its size
    // against the limit, so growing to hold it is bounded.
    in_.resize(in_.size() * 2);
  }
  reading_ = true;
  socket_.async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            self->reading_ = false;
                            if (ec) {
                              // EOF or reset: send what is gathered, then go.
                              self->closing_ = true;
                              self->cancel_pending(proto::Errc::shutting_down);
                              if (!self->writing_active_ && self->out_.empty())
                                self->end();
                              else
                                self->do_write();
                              return;
                            }
                            self->on_read(n);
                          });
}

void Session::on_read(std::size_t n) {
  if (ended_) return;
  in_end_ += n;
  process_input();
  do_write();
  if (!should_pause_reading()) do_read();
}

void Session::process_input() {
  const uint32_t max_body = ctx_.config.max_frame_size;
  while (!closing_ && !should_pause_reading()) {
    auto input = std::span<const std::byte>(in_.data() + in_begin_, in_end_ - in_begin_);
    auto r = proto::decode_frame(input, max_body);
    if (r.status == proto::DecodeStatus::need_more) break;
    if (r.status == proto::DecodeStatus::error) {
      uint32_t rid = 0;
      if (input.size() >= proto::kHeaderSize) rid = proto::decode_header(input.data()).request_id;
      fail_protocol(rid, r.error);
      break;
    }
    in_begin_ += r.consumed;
    dispatch(*this, r.frame);
  }
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
    // A one-off large frame must not pin its buffer for the connection's life.
    if (in_.size() > kRetainedBuffer) {
      in_.resize(kInitialReadBuffer);
      in_.shrink_to_fit();
    }
  } else if (in_begin_ > 0 && (in_begin_ > in_.size() / 2 || in_end_ == in_.size())) {
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
}

void Session::reply_ready() {
  if (write_posted_ || writing_active_ || ended_) return;
  write_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->write_posted_ = false;
    self->do_write();
  });
}

void Session::do_write() {
  if (writing_active_ || out_.empty() || ended_) return;
  if (hold_until_ > ctx_.journal.durable_seq()) {
    if (!hold_waiting_) {
      hold_waiting_ = true;
      ctx_.journal.when_durable(hold_until_, [w = weak_from_this()] {
        if (auto self = w.lock()) {
          self->hold_waiting_ = false;
          self->do_write();
        }
      });
    }
    return;
  }
  std::swap(out_, writing_);
  ++out_epoch_;
  writing_active_ = true;
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing_active_ = false;
                      if (ec) {
                        self->end();
                        return;
                      }
                      self->on_written();
                    });
}

void Session::on_written() {
  const bool was_over = output_over_limit();
  writing_.clear();
  if (writing_.capacity() > kRetainedBuffer) std::vector<std::byte>().swap(writing_);
  if (ended_) return;
  if (!out_.empty()) {
    do_write();
  } else if (closing_) {
    end();
    return;
  }
  // Parked receives skipped while over the limit may take messages again.
  if (was_over && !output_over_limit()) resume_parked_queues();
  // Input held back by backpressure: finish it, then read again.
  if (!should_pause_reading()) {
    if (in_end_ > in_begin_) {
      process_input();
      do_write();
    }
    if (!should_pause_reading()) do_read();
  }
}

void Session::reply_error(uint32_t request_id, proto::Errc code, std::string_view message) {
  if (message.size() > 0xFFFF) message = message.substr(0, 0xFFFF);
  proto::encode(proto::ErrorReply{code, message}, out_, request_id);
}

void Session::fail_protocol(uint32_t request_id, std::string_view message) {
  reply_error(request_id, proto::Errc::protocol_error, message);
  closing_ = true;
  cancel_pending(proto::Errc::shutting_down);
}

void Session::cancel_pending(proto::Errc code, bool resume_queues) {
  if (pending_.empty()) return;
  std::vector<Queue*> queues;
  for (Pending& p : pending_) {
    p.detach();
    queues.push_back(&p.queue());
  }
  while (!pending_.empty()) {
    Pending& p = pending_.front();
    unpark(p);
    p.answer(code);  // deletes it
  }
  if (resume_queues) resume_all(queues);
}

void Session::resume_all(std::vector<Queue*>& queues) {
  std::sort(queues.begin(), queues.end());
  queues.erase(std::unique(queues.begin(), queues.end()), queues.end());
  for (Queue* q : queues) q->resume();
}

void Session::resume_parked_queues() {
  // Collected first: resuming may complete (and delete) our own parked requests.
  std::vector<Queue*> queues;
  for (Pending& p : pending_) queues.push_back(&p.queue());
  resume_all(queues);
}

void Session::adopt_leases(LeaseHolder& from) {
  while (Message* m = from.any()) {
    from.unlink(*m);
    m->holder = &leases_;
    leases_.link(*m);
  }
}

void Session::return_leases(std::vector<Queue*>& touched) {
  for_each_consumer([this](Consumer& c) { adopt_leases(c); });
  while (Message* m = leases_.any()) {
    Queue* q = m->leased_from;
    touched.push_back(q);
    q->return_lease(*m);  // unlinks it from leases_
  }
}

Message* Session::find_lease(uint64_t tag) noexcept {
  if (Message* m = leases_.find(tag)) return m;
  Message* found = nullptr;
  for_each_consumer([&](Consumer& c) {
    if (!found) found = c.find(tag);
  });
  if (found) return found;
  Message* m = ctx_.detached.find(tag);
  if (m && may_read(m->leased_from->attributes().owner, peer_)) return m;
  return nullptr;
}

Consumer* Session::find_consumer(uint32_t request_id) noexcept {
  Consumer* found = nullptr;
  for_each_consumer([&](Consumer& c) {
    if (c.id() == request_id) found = &c;
  });
  return found;
}

void Session::delete_temporaries() {
  auto& store = ctx_.store;
  for (const std::string& name : temporaries_) {
    // Only ours: after a DELETE the name may belong to another queue now.
    if (Queue* q = store.find(name); q && q->attributes().temporary_owner == id_) store.remove(*q);
  }
  temporaries_.clear();
}

void Session::end() {
  if (ended_) return;
  ended_ = true;
  closing_ = true;
  // Two phases, as in cancel_pending(): nothing of ours is on any queue when
  // our leases go back, so none can come straight back to us.
  std::vector<Queue*> touched;
  for (Pending& p : pending_) touched.push_back(&p.queue());
  cancel_pending(proto::Errc::shutting_down, /*resume_queues=*/false);
  return_leases(touched);
  resume_all(touched);
  delete_temporaries();
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (on_closed_) on_closed_(*this);
}

}  // namespace postbox::broker
