// RawConn: frames over a plain Unix socket.
#include "tests/support/raw_conn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "proto/messages.hpp"

namespace postbox::testing {

RawConn::RawConn(const std::string& path) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("connect " + path + ": " + std::strerror(errno));
  }
}

RawConn::~RawConn() {
  if (fd_ >= 0) ::close(fd_);
}

void RawConn::send(const std::vector<std::byte>& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
}

std::size_t RawConn::send_until_blocked(const std::vector<std::byte>& chunk, std::size_t cap) {
  std::size_t chunks = 0, sent = 0, partial = 0;
  const int flags = ::fcntl(fd_, F_GETFL);
  ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  while (sent < cap) {
    ssize_t n = ::send(fd_, chunk.data() + partial, chunk.size() - partial, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
      // Wait a moment for room: the socket may drain while the broker
      // still reads. Ten quiet polls of 100 ms mean it stopped.
      pollfd p{fd_, POLLOUT, 0};
      int quiet = 0;
      while (quiet < 10 && ::poll(&p, 1, 100) == 0) ++quiet;
      if (quiet == 10) break;
      continue;
    }
    sent += static_cast<std::size_t>(n);
    partial += static_cast<std::size_t>(n);
    if (partial == chunk.size()) {
      partial = 0;
      ++chunks;
    }
  }
  ::fcntl(fd_, F_SETFL, flags);
  if (partial != 0) {
    // Finish the frame in flight (blocking) so the stream stays well framed.
    send({chunk.begin() + static_cast<std::ptrdiff_t>(partial), chunk.end()});
    ++chunks;
  }
  return chunks;
}

void RawConn::hello() {
  std::vector<std::byte> out;
  proto::encode(proto::Hello{proto::kVersion, "raw-test"}, out, 1);
  send(out);
  auto f = expect();
  if (!f || f->header.kind != proto::reply_kind(proto::Kind::hello)) {
    throw std::runtime_error("no HELLO_OK from the broker");
  }
}

bool RawConn::fill(std::chrono::milliseconds limit) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
  std::byte buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  in_.insert(in_.end(), buf, buf + n);
  return true;
}

std::optional<RawFrame> RawConn::expect(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto r = proto::decode_frame(in_, proto::kMaxFrameBodyCeiling);
    if (r.status == proto::DecodeStatus::frame) {
      RawFrame f{r.frame.header, {r.frame.body.begin(), r.frame.body.end()}};
      in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(r.consumed));
      return f;
    }
    if (r.status == proto::DecodeStatus::error || eof_) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !fill(left)) return std::nullopt;
  }
}

bool RawConn::closed_by_peer(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!eof_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!fill(left) && !eof_) return false;
  }
  return true;
}

}  // namespace postbox::testing
