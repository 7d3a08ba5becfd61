// The COMMAND of worker_test: a job that logs its start (one O_APPEND write, so lines from
// concurrent jobs never interleave and their order is the order the jobs started) and then
// succeeds, fails, dies or waits as its flags say. A compiled binary rather than a shell
// script because the drain test runs 11,000 of them.
//
//   worker_test_job LOG [--fail-first-multiple-of N] [--kill-first] [--hold LOCKFILE]
//
// LOG lines: "S id delivery_count priority pid payload" at the start, "E id delivery_count"
// before exiting 0 and "F id delivery_count" before exiting 1. The pid orders jobs by when the
// worker started them (the kernel hands pids out in order), which the order of the S lines
// only approximates: a job may be descheduled between its start and its first write.
// --fail-first-multiple-of N: exit 1 on the first delivery of a payload that is a multiple of N.
// --kill-first: SIGKILL itself on the first delivery. --hold: wait for a shared flock on LOCKFILE
// first (the test holds it exclusively to keep jobs running).
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "?";
}

void append(const char* path, const std::string& line) {
  int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    std::exit(100);
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 101;
  const char* log = argv[1];
  long fail_multiple = 0;
  bool kill_first = false;
  const char* hold = nullptr;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--fail-first-multiple-of") && i + 1 < argc)
      fail_multiple = std::strtol(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--kill-first"))
      kill_first = true;
    else if (!std::strcmp(argv[i], "--hold") && i + 1 < argc)
      hold = argv[++i];
    else
      return 102;
  }

  std::string payload;
  char buf[4096];
  for (ssize_t n; (n = ::read(0, buf, sizeof buf)) != 0;) {
    if (n < 0) return 103;
    payload.append(buf, static_cast<std::size_t>(n));
  }
  const std::string id = env("POSTBOX_ID");
  const std::string count = env("POSTBOX_DELIVERY_COUNT");
  append(log, "S " + id + " " + count + " " + env("POSTBOX_PRIORITY") + " " +
                  std::to_string(::getpid()) + " " + payload + "\n");

  if (hold) {
    int fd = ::open(hold, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::flock(fd, LOCK_SH) != 0) return 104;
  }
  const bool first = count == "1";
  if (kill_first && first) ::raise(SIGKILL);
  if (fail_multiple > 0 && first &&
      std::strtol(payload.c_str(), nullptr, 10) % fail_multiple == 0) {
    append(log, "F " + id + " " + count + "\n");
    return 1;
  }
  append(log, "E " + id + " " + count + "\n");
  return 0;
}
