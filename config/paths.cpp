// The default socket path and data directory rules of paths.hpp.
#include "config/paths.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string_view>
#include <vector>

namespace postbox::config {
namespace {

/// The variable's value, or nullopt when it is unset or empty (an empty
/// variable is how shells and unit files usually "unset" one).
std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

/// Like env(), but a relative path counts as unset too: the XDG Base Directory
/// spec says such values are invalid and must be ignored.
std::optional<std::string> xdg_env(const char* name) {
  auto v = env(name);
  if (v && v->front() != '/') return std::nullopt;
  return v;
}

/// `dir` + "/" + `rest`, without doubling the slash of a "/run/user/1000/".
std::string join(std::string dir, std::string_view rest) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.back() != '/') dir += '/';
  dir += rest;
  return dir;
}

/// $HOME, else the passwd entry's home directory (daemons started by init
/// often have no $HOME); nullopt when neither is known.
std::optional<std::string> home_dir() {
  if (auto h = env("HOME")) return h;
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(geteuid(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr ||
      found->pw_dir == nullptr || found->pw_dir[0] == '\0') {
    return std::nullopt;
  }
  return std::string(found->pw_dir);
}

bool is_root() {
  return geteuid() == 0;
}

/// /tmp/postbox-$UID: a per-user directory when there is no better place.
std::string per_user_tmp() {
  return "/tmp/postbox-" + std::to_string(geteuid());
}

}  // namespace

std::string default_socket_path() {
  if (auto s = env("POSTBOX_SOCKET")) return *s;
  if (auto run = xdg_env("XDG_RUNTIME_DIR")) return join(*run, "postbox/postbox.sock");
  if (is_root()) return "/run/postbox/postbox.sock";
  return join(per_user_tmp(), "postbox.sock");
}

std::string default_data_dir() {
  if (is_root()) return "/var/lib/postbox";
  if (auto state = xdg_env("XDG_STATE_HOME")) return join(*state, "postbox");
  if (auto home = home_dir()) return join(*home, ".local/state/postbox");
  return join(per_user_tmp(), "state");
}

}  // namespace postbox::config
