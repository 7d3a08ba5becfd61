// Listener: the broker's Unix socket — stale-socket check, bind with mode, accept loop.
#pragma once

#include <utility>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <string>

namespace postbox::broker {

class Listener {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  /// Adopts the listening socket passed by systemd (LISTEN_FDS, socket
  /// activation) if there is one; otherwise binds `path` with permission bits
  /// `mode`, creating its directory if missing. A socket file nobody listens
  /// on (a crashed broker's) is replaced; a live one, or a path that is not a
  /// socket, throws StartupError.
  Listener(boost::asio::io_context& io, std::string path, unsigned mode);
  /// Closes and removes the socket file if it is still ours.
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start(std::function<void(Socket)> on_accept);
  /// Stops accepting and removes the socket file; idempotent.
  void close();
  const std::string& path() const noexcept { return path_; }
  /// True when the socket came from the service manager, which owns its file.
  bool activated() const noexcept { return activated_; }

 private:
  void do_accept();

  std::string path_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  std::function<void(Socket)> on_accept_;
  unsigned long inode_ = 0;  // of the file we bound, so we never unlink a successor's
  bool closed_ = false;
  bool activated_ = false;
};

}  // namespace postbox::broker
