// Tests of config/paths.cpp: the default socket path and data directory rules.
#include "config/paths.hpp"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace postbox::config {
namespace {

constexpr std::array<const char*, 4> kVars{"POSTBOX_SOCKET", "XDG_RUNTIME_DIR", "XDG_STATE_HOME",
                                           "HOME"};
/// Debian's "nobody": the non-root identity used when the tests run as root.
constexpr uid_t kNobody = 65534;

/// Sets the path variables for one scope and restores their old values after.
class ScopedEnv {
 public:
  /// Every variable of kVars not named in `values` is unset; nullptr unsets too.
  explicit ScopedEnv(const std::vector<std::pair<const char*, const char*>>& values) {
    for (const char* name : kVars) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      ::unsetenv(name);
    }
    for (const auto& [name, value] : values) {
      if (value != nullptr) ::setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name, value->c_str(), 1);
      } else {
        ::unsetenv(name);
      }
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

/// fn() evaluated in a child whose effective uid is `uid` (needs root).
std::optional<std::string> in_child_as(uid_t uid, const std::function<std::string()>& fn) {
  int fds[2];
  if (::pipe(fds) != 0) return std::nullopt;
  pid_t pid = ::fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    ::close(fds[0]);
    if (::seteuid(uid) != 0) ::_exit(2);
    const std::string out = fn();
    ssize_t n = ::write(fds[1], out.data(), out.size());
    ::_exit(n == static_cast<ssize_t>(out.size()) ? 0 : 3);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

struct Identity {
  bool root;
  uid_t uid;
};

/// fn() as root or as a non-root user; nullopt when this process cannot be that.
std::optional<std::string> evaluate_as(Identity who, const std::function<std::string()>& fn) {
  if (who.root) return ::geteuid() == 0 ? std::optional(fn()) : std::nullopt;
  if (::geteuid() != 0) return fn();
  return in_child_as(who.uid, fn);
}

Identity non_root() {
  return {false, ::geteuid() == 0 ? kNobody : ::geteuid()};
}

/// The passwd home of `uid`, as default_data_dir() falls back to without $HOME.
std::string passwd_home(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw != nullptr ? pw->pw_dir : "";
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

enum class Which { socket, data_dir };

struct PathCase {
  const char* name;
  Which which;
  bool root;
  std::vector<std::pair<const char*, const char*>> env;  // the rest are unset
  std::string expected;                                  // {uid} and {home} are filled in
};

TEST(DefaultPaths, FollowTheDocumentedOrderOfVariablesAndIdentity) {
  const std::vector<PathCase> cases = {
      {"POSTBOX_SOCKET wins over XDG_RUNTIME_DIR",
       Which::socket,
       false,
       {{"POSTBOX_SOCKET", "/x/s.sock"}, {"XDG_RUNTIME_DIR", "/run/user/7"}},
       "/x/s.sock"},
      {"POSTBOX_SOCKET wins for root too",
       Which::socket,
       true,
       {{"POSTBOX_SOCKET", "/x/s.sock"}},
       "/x/s.sock"},
      {"POSTBOX_SOCKET may be relative: the user said so",
       Which::socket,
       false,
       {{"POSTBOX_SOCKET", "here.sock"}},
       "here.sock"},
      {"empty POSTBOX_SOCKET counts as unset",
       Which::socket,
       false,
       {{"POSTBOX_SOCKET", ""}, {"XDG_RUNTIME_DIR", "/run/user/7"}},
       "/run/user/7/postbox/postbox.sock"},
      {"XDG_RUNTIME_DIR with a trailing slash",
       Which::socket,
       false,
       {{"XDG_RUNTIME_DIR", "/run/user/7//"}},
       "/run/user/7/postbox/postbox.sock"},
      {"XDG_RUNTIME_DIR is the root directory",
       Which::socket,
       false,
       {{"XDG_RUNTIME_DIR", "/"}},
       "/postbox/postbox.sock"},
      {"root follows XDG_RUNTIME_DIR too",
       Which::socket,
       true,
       {{"XDG_RUNTIME_DIR", "/run/user/0"}},
       "/run/user/0/postbox/postbox.sock"},
      {"user without variables", Which::socket, false, {}, "/tmp/postbox-{uid}/postbox.sock"},
      {"empty XDG_RUNTIME_DIR counts as unset",
       Which::socket,
       false,
       {{"XDG_RUNTIME_DIR", ""}},
       "/tmp/postbox-{uid}/postbox.sock"},
      {"relative XDG_RUNTIME_DIR is ignored",
       Which::socket,
       false,
       {{"XDG_RUNTIME_DIR", "run/user/7"}},
       "/tmp/postbox-{uid}/postbox.sock"},
      {"root without variables", Which::socket, true, {}, "/run/postbox/postbox.sock"},
      {"root with empty variables",
       Which::socket,
       true,
       {{"POSTBOX_SOCKET", ""}, {"XDG_RUNTIME_DIR", ""}},
       "/run/postbox/postbox.sock"},

      {"root ignores XDG_STATE_HOME and HOME",
       Which::data_dir,
       true,
       {{"XDG_STATE_HOME", "/s"}, {"HOME", "/h"}},
       "/var/lib/postbox"},
      {"XDG_STATE_HOME wins over HOME",
       Which::data_dir,
       false,
       {{"XDG_STATE_HOME", "/s/"}, {"HOME", "/h"}},
       "/s/postbox"},
      {"empty XDG_STATE_HOME counts as unset",
       Which::data_dir,
       false,
       {{"XDG_STATE_HOME", ""}, {"HOME", "/h"}},
       "/h/.local/state/postbox"},
      {"relative XDG_STATE_HOME is ignored",
       Which::data_dir,
       false,
       {{"XDG_STATE_HOME", "state"}, {"HOME", "/h/"}},
       "/h/.local/state/postbox"},
      {"no HOME: the passwd entry's home",
       Which::data_dir,
       false,
       {},
       "{home}/.local/state/postbox"},
      {"empty HOME counts as unset",
       Which::data_dir,
       false,
       {{"HOME", ""}},
       "{home}/.local/state/postbox"},
  };
  int skipped = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Identity who = c.root ? Identity{true, 0} : non_root();
    std::string expected = replace_all(c.expected, "{uid}", std::to_string(who.uid));
    expected = replace_all(expected, "{home}", passwd_home(who.uid));
    ScopedEnv env(c.env);

    auto actual = evaluate_as(
        who, [&] { return c.which == Which::socket ? default_socket_path() : default_data_dir(); });

    if (!actual) {
      std::printf("skipped (needs %s): %s\n", c.root ? "root" : "a second uid", c.name);
      ++skipped;
      continue;
    }
    EXPECT_EQ(*actual, expected);
  }
  std::printf("%d of %zu path cases skipped for this identity\n", skipped, cases.size());
}

TEST(DefaultPaths, RestoreTheEnvironmentAfterEachCase) {
  const char* before = std::getenv("HOME");
  const std::optional<std::string> saved =
      before ? std::optional<std::string>(before) : std::nullopt;
  {
    ScopedEnv env(std::vector<std::pair<const char*, const char*>>{{"HOME", "/elsewhere"}});
    EXPECT_STREQ(std::getenv("HOME"), "/elsewhere");
  }
  const char* after = std::getenv("HOME");
  ASSERT_EQ(after != nullptr, saved.has_value());
  if (saved) {
    EXPECT_EQ(std::string(after), *saved);
  }
}

}  // namespace
}  // namespace postbox::config
