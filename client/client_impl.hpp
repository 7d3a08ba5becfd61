// Client::Impl: the blocking transport shared by the Client's source files.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>

#include "client/connection.hpp"
#include "postbox/client.hpp"
#include "proto/frame.hpp"

namespace postbox {

// Replies are read on demand: a wait() reads until its own reply is there,
// parsing every frame each read brings and keeping the others in `stash` for
// their own wait(). Writes never block while the broker waits for us to read
// (see write_all()), so deep pipelines cannot deadlock on full socket buffers.
struct Client::Impl {
  using RawReply = detail::RawReply;
  using Kind = proto::Kind;

  int fd = -1;
  detail::Connection conn;
  std::unordered_map<uint32_t, Kind>
      outstanding;  // id -> request kind, until its reply is returned
  std::unordered_map<uint32_t, RawReply> stash;
  // request(): the temporary queue replies come to, declared on first use.
  // It belongs to this connection, so it is forgotten with it.
  std::optional<std::string> reply_queue;
  uint64_t requests_made = 0;  // numbers the correlation ids of this connection
  uint64_t nonce = 0;          // random per reply queue: see detail::correlation_id()

  ~Impl() { close(); }

  void close() noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
    conn = detail::Connection();
    outstanding.clear();
    stash.clear();
    reply_queue.reset();
  }

  void require_connected() const {
    if (fd < 0) throw Error(Errc::disconnected, "not connected to the broker");
  }

  /// Closes the connection and throws: after a lost connection or a garbled
  /// stream nothing later on it can be trusted.
  [[noreturn]] void fail(Errc code, const std::string& message) {
    close();
    throw Error(code, message);
  }

  [[noreturn]] void fail_os(const char* what) {
    fail(Errc::disconnected, std::string(what) + " the broker failed: " + std::strerror(errno));
  }

  /// Reads once; returns false when nothing was available and `wait` is false.
  bool read_some(bool wait) {
    auto space = conn.input_space();
    ssize_t n;
    do {
      n = ::recv(fd, space.data(), space.size(), wait ? 0 : MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && !wait && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n < 0) fail_os("reading from");
    if (n == 0) fail(Errc::disconnected, "the broker closed the connection");
    conn.commit_input(static_cast<std::size_t>(n));
    return true;
  }

  /// Writes all of the connection's output. The first attempt is one plain
  /// send(); only when the socket buffer is full do we poll, and then we also
  /// read, because the broker may be blocked writing replies to us.
  void write_all() {
    auto& out = conn.output();
    std::size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) fail_os("writing to");
      pollfd p{fd, POLLIN | POLLOUT, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) fail_os("waiting for");
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) drain_input();
    }
    out.clear();
  }

  /// Reads what is available and stashes every complete reply.
  void drain_input() {
    while (read_some(false)) stash_replies();
  }

  void stash_replies() {
    while (auto r = next_reply()) stash.emplace(r->request_id, std::move(*r));
  }

  std::optional<RawReply> next_reply() {
    std::optional<RawReply> r;
    try {
      r = conn.next_reply();
    } catch (const Error& e) {
      fail(e.errc(), e.what());
    }
    if (!r) return r;
    // Id 0 is a connection-wide error (e.g. too many connections), sent just
    // before the broker closes: it answers whatever we are waiting for.
    if (r->request_id == 0 && r->kind == Kind::error)
      fail(static_cast<Errc>(r->reply.error.value()), r->reply.error_message);
    auto it = outstanding.find(r->request_id);
    if (it == outstanding.end())
      fail(Errc::protocol_error,
           "reply to unknown request id " + std::to_string(r->request_id) + " from the broker");
    if (r->kind != Kind::error && r->kind != it->second)
      fail(Errc::protocol_error, "reply of the wrong kind from the broker");
    return r;
  }

  uint32_t started(uint32_t id, Kind kind) {
    outstanding.emplace(id, kind);
    return id;
  }

  /// Writes what is buffered and blocks until request `id` is answered.
  RawReply await(uint32_t id) {
    require_connected();
    if (!conn.output().empty()) write_all();
    for (;;) {
      if (auto it = stash.find(id); it != stash.end()) {
        RawReply r = std::move(it->second);
        stash.erase(it);
        outstanding.erase(id);
        return r;
      }
      read_some(true);
      stash_replies();
    }
  }

  /// Waits until the socket is readable or `deadline` passes (nullopt:
  /// forever). False on timeout, and when a signal interrupted the wait.
  bool wait_readable(std::optional<std::chrono::steady_clock::time_point> deadline) {
    int ms = -1;
    if (deadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline -
                                                               std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      ms = static_cast<int>(std::min<int64_t>(left.count(), std::numeric_limits<int>::max()));
    }
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, ms);
    if (rc < 0 && errno != EINTR) fail_os("waiting for");
    return rc > 0;
  }

  /// The reply to a settle of one tag: a missing lease is an error here.
  void settle_one(uint32_t id, Kind kind, uint64_t tag) {
    RawReply r = await(started(id, kind));
    r.reply.throw_if_error();
    if (!r.reply.missing.empty())
      throw Error(Errc::no_such_lease,
                  "no lease with tag " + std::to_string(tag) +
                      " (expired, settled already, or not this connection's to settle)");
  }

  std::vector<uint64_t> settle_many(uint32_t id, Kind kind) {
    RawReply r = await(started(id, kind));
    r.reply.throw_if_error();
    return std::move(r.reply.missing);
  }

  /// One admin request and its JSON reply; ERROR replies throw.
  std::string admin(Kind kind, const std::string& json) {
    require_connected();
    RawReply r = await(started(conn.add_admin(kind, json), kind));
    r.reply.throw_if_error();
    return std::move(r.json);
  }
};

}  // namespace postbox
