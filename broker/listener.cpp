// Listener: binding the broker's socket safely and accepting connections.
#include "broker/listener.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "broker/exit_status.hpp"

namespace postbox::broker {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

std::string errno_text(int e) {
  return std::strerror(e);
}

/// True when a broker answers on `path`.
bool someone_listens(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return live;
}

void prepare_path(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    throw StartupError(ExitStatus::socket_error,
                       "socket path '" + path + "' is longer than the " +
                           std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                           " bytes a Unix socket allows");
  }
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
      // Per-user brokers keep their directory private; root's is world-searchable
      // so that other users can reach queues their mode bits allow.
      const mode_t dmode = ::geteuid() == 0 ? 0755 : 0700;
      std::filesystem::create_directories(dir, ec);
      if (ec || ::chmod(dir.c_str(), dmode) != 0) {
        throw StartupError(ExitStatus::socket_error,
                           "cannot create socket directory '" + dir.string() +
                               "': " + (ec ? ec.message() : errno_text(errno)));
      }
    }
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) {
    throw StartupError(ExitStatus::socket_error,
                       "'" + path + "' exists and is not a socket; refusing to replace it");
  }
  if (someone_listens(path)) {
    throw StartupError(ExitStatus::socket_in_use,
                       "another broker is already listening on '" + path + "'");
  }
  spdlog::warn("replacing stale socket '{}' left by a broker that is gone", path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw StartupError(ExitStatus::socket_error,
                       "cannot remove stale socket '" + path + "': " + errno_text(errno));
  }
}

// sd_listen_fds(3): the first passed descriptor is 3.
constexpr int kListenFdsStart = 3;

/// The listening Unix stream socket systemd passed us, or -1.
int inherited_socket() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (!pid || !fds || std::strtol(pid, nullptr, 10) != ::getpid()) return -1;
  const long n = std::strtol(fds, nullptr, 10);
  // Children (none today) must not believe the descriptors are theirs.
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (n < 1) return -1;
  if (n > 1) spdlog::warn("service manager passed {} sockets; using the first", n);
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  sockaddr_un addr{};
  socklen_t alen = sizeof addr;
  if (::getsockopt(kListenFdsStart, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
      ::getsockopt(kListenFdsStart, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
      !listening ||
      ::getsockname(kListenFdsStart, reinterpret_cast<sockaddr*>(&addr), &alen) != 0 ||
      addr.sun_family != AF_UNIX) {
    throw StartupError(ExitStatus::socket_error,
                       "the socket passed by the service manager (fd 3) is not a listening Unix "
                       "stream socket");
  }
  ::fcntl(kListenFdsStart, F_SETFD, FD_CLOEXEC);
  return kListenFdsStart;
}

}  // namespace

Listener::Listener(asio::io_context& io, std::string path, unsigned mode)
    : path_(std::move(path)), acceptor_(io), retry_(io) {
  if (int fd = inherited_socket(); fd >= 0) {
    boost::system::error_code ec;
    acceptor_.assign(stream(), fd, ec);
    if (ec) throw StartupError(ExitStatus::socket_error, "cannot use fd 3: " + ec.message());
    path_ = acceptor_.local_endpoint(ec).path();
    activated_ = true;
    spdlog::info("using the socket passed by the service manager: {}", path_);
    return;
  }
  prepare_path(path_);
  boost::system::error_code ec;
  acceptor_.open(stream(), ec);
  if (!ec) {
    // The file gets its final mode from the start: no window in which it is wider.
    const mode_t old = ::umask(static_cast<mode_t>(~mode & 0777));
    acceptor_.bind(stream::endpoint(path_), ec);
    ::umask(old);
  }
  if (!ec) acceptor_.listen(SOMAXCONN, ec);
  if (ec) {
    throw StartupError(ExitStatus::socket_error,
                       "cannot listen on '" + path_ + "': " + ec.message());
  }
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) inode_ = st.st_ino;
}

Listener::~Listener() {
  close();
}

void Listener::start(std::function<void(Socket)> on_accept) {
  on_accept_ = std::move(on_accept);
  do_accept();
}

void Listener::do_accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, Socket socket) {
    if (closed_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors or memory: accepting again at once would spin.
      spdlog::error("accept on '{}' failed: {}; retrying in 100 ms", path_, ec.message());
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this](boost::system::error_code e) {
        if (!e && !closed_) do_accept();
      });
      return;
    }
    on_accept_(std::move(socket));
    do_accept();
  });
}

void Listener::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
  struct stat st {};
  if (inode_ != 0 && ::stat(path_.c_str(), &st) == 0 && st.st_ino == inode_)
    ::unlink(path_.c_str());
}

}  // namespace postbox::broker
