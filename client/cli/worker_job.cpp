// One run of the worker's COMMAND: environment, posix_spawnp with a stdin pipe, payload feeding.
#include "client/cli/worker_job.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <system_error>

namespace postbox::cli {

namespace {

constexpr std::string_view kPrefix = "POSTBOX_";
constexpr std::string_view kHeaderPrefix = "POSTBOX_HEADER_";
// The per-message names; inherited values of these are dropped.
constexpr std::string_view kMessageVariables[] = {"POSTBOX_ID",
                                                  "POSTBOX_QUEUE",
                                                  "POSTBOX_TYPE",
                                                  "POSTBOX_PRIORITY",
                                                  "POSTBOX_DELIVERY_COUNT",
                                                  "POSTBOX_TAG",
                                                  "POSTBOX_CORRELATION_ID",
                                                  "POSTBOX_REPLY_TO"};

std::string_view name_of(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

bool set_per_message(std::string_view name) {
  if (!name.starts_with(kPrefix)) return false;
  if (name.starts_with(kHeaderPrefix)) return true;
  for (std::string_view v : kMessageVariables)
    if (name == v) return true;
  return false;
}

/// An environment value cannot hold NUL: the value ends at the first one.
std::string_view env_value(std::string_view v) {
  return v.substr(0, v.find('\0'));
}

std::string entry(std::string_view name, std::string_view value) {
  std::string e(name);
  e += '=';
  e += env_value(value);
  return e;
}

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

/// posix_spawn's attributes and file actions, destroyed however we leave.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;

  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

std::string header_variable(std::string_view key) {
  std::string name(kHeaderPrefix);
  for (char c : key) {
    if (c >= 'a' && c <= 'z')
      name += static_cast<char>(c - 'a' + 'A');
    else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      name += c;
    else
      name += '_';
  }
  return name;
}

JobEnvironment::JobEnvironment(const char* const* inherited, std::optional<std::string> socket,
                               std::string queue)
    : queue_(std::move(queue)) {
  for (; inherited && *inherited; ++inherited) {
    std::string_view e = *inherited;
    std::string_view name = name_of(e);
    if (set_per_message(name) || (socket && name == "POSTBOX_SOCKET")) continue;
    base_.emplace_back(e);
  }
  if (socket) base_.push_back(entry("POSTBOX_SOCKET", *socket));
}

std::vector<std::string> JobEnvironment::for_message(const Message& m) const {
  std::vector<std::string> env = base_;
  env.push_back(entry("POSTBOX_ID", std::to_string(m.id)));
  env.push_back(entry("POSTBOX_QUEUE", queue_));
  env.push_back(entry("POSTBOX_TYPE", std::to_string(m.type)));
  env.push_back(entry("POSTBOX_PRIORITY", std::to_string(m.priority)));
  env.push_back(entry("POSTBOX_DELIVERY_COUNT", std::to_string(m.delivery_count)));
  env.push_back(entry("POSTBOX_TAG", std::to_string(m.delivery_tag)));
  if (m.correlation_id) env.push_back(entry("POSTBOX_CORRELATION_ID", *m.correlation_id));
  if (m.reply_to) env.push_back(entry("POSTBOX_REPLY_TO", *m.reply_to));
  // Keys that map to one name (a repeated key, or "a-b" and "a_b"): the last wins.
  std::map<std::string, std::string_view> headers;
  for (const auto& [key, value] : m.headers) headers[header_variable(key)] = value;
  for (const auto& [name, value] : headers) env.push_back(entry(name, value));
  return env;
}

Job spawn_job(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              bool capture_stdout) {
  int out[2] = {-1, -1};
  if (capture_stdout && ::pipe2(out, O_CLOEXEC) != 0) throw_errno(errno, "cannot make a pipe");
  // Closes the stdout pipe on the ways out that start no job.
  struct OutPipe {
    int* fds;
    bool keep_read = false;
    ~OutPipe() {
      if (fds[0] >= 0 && !keep_read) ::close(fds[0]);
      if (fds[1] >= 0) ::close(fds[1]);
    }
  } out_pipe{out};
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw_errno(errno, "cannot make a pipe");
  // Only our end is non-blocking (it is its own open file description): the
  // job reads its stdin the ordinary, blocking way.
  if (::fcntl(p[1], F_SETFL, O_NONBLOCK) != 0) {
    int err = errno;
    ::close(p[0]);
    ::close(p[1]);
    throw_errno(err, "cannot make a pipe");
  }

  std::vector<char*> args, vars;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& v : env) vars.push_back(const_cast<char*>(v.c_str()));
  vars.push_back(nullptr);

  SpawnSetup s;
  // The worker ignores SIGPIPE (a job that does not read its stdin must not
  // kill it), and an ignored signal stays ignored across exec: restore it.
  // Handled signals (SIGTERM, SIGINT, SIGCHLD) are reset by exec itself.
  sigset_t defaults, mask;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&mask);
  posix_spawnattr_setsigdefault(&s.attr, &defaults);
  posix_spawnattr_setsigmask(&s.attr, &mask);
  posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  // dup2 clears close-on-exec on the copy; p[0] itself is closed by exec.
  posix_spawn_file_actions_adddup2(&s.actions, p[0], STDIN_FILENO);
  if (capture_stdout) posix_spawn_file_actions_adddup2(&s.actions, out[1], STDOUT_FILENO);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &s.actions, &s.attr, args.data(), vars.data());
  ::close(p[0]);
  if (rc != 0) {
    ::close(p[1]);
    throw_errno(rc, "cannot run '" + argv[0] + "'");
  }
  out_pipe.keep_read = true;
  return {pid, p[1], out[0]};
}

CapturedRun run_captured(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         std::string_view input) {
  Job job = spawn_job(argv, env, /*capture_stdout=*/true);
  CapturedRun r;
  std::size_t fed = feed(job.stdin_fd, input, 0);
  if (fed == input.size()) {
    ::close(job.stdin_fd);
    job.stdin_fd = -1;
  }
  // Feed and drain together: a job that writes before reading all its input
  // would otherwise block on a full stdout pipe while we block on its stdin.
  while (job.stdout_fd >= 0) {
    pollfd fds[2] = {{job.stdout_fd, POLLIN, 0}, {job.stdin_fd, POLLOUT, 0}};
    if (::poll(fds, job.stdin_fd >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (job.stdin_fd >= 0 && fds[1].revents != 0) {
      fed = feed(job.stdin_fd, input, fed);
      if (fed == input.size()) {
        ::close(job.stdin_fd);
        job.stdin_fd = -1;
      }
    }
    if (fds[0].revents != 0) {
      char buf[64 * 1024];
      ssize_t n = ::read(job.stdout_fd, buf, sizeof buf);
      if (n > 0) {
        r.out.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(job.stdout_fd);
        job.stdout_fd = -1;
      }
    }
  }
  if (job.stdin_fd >= 0) ::close(job.stdin_fd);
  int status = 0;
  while (::waitpid(job.pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::size_t feed(int fd, std::string_view data, std::size_t offset) {
  while (offset < data.size()) {
    ssize_t n = ::write(fd, data.data() + offset, data.size() - offset);
    if (n > 0) {
      offset += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return offset;
    } else {
      return data.size();  // EPIPE: the job does not want (the rest of) its payload
    }
  }
  return offset;
}

void ensure_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) continue;
    // open() returns the lowest free descriptor, which is `fd`.
    int opened = ::open("/dev/null", O_RDWR);
    if (opened >= 0 && opened != fd) ::close(opened);
  }
}

}  // namespace postbox::cli
