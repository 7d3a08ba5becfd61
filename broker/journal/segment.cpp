// Segment files: the file-system side of the journal.
#include "broker/journal/segment.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

namespace postbox::broker::journal {
namespace {

constexpr std::string_view kPrefix = "segment-";
constexpr std::string_view kSuffix = ".wal";
constexpr std::size_t kDigits = 20;

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

Segment::~Segment() {
  if (fd >= 0) ::close(fd);
}

void Segment::reserve(uint64_t end, uint64_t step) {
  if (end <= allocated || !can_reserve || fd < 0) return;
  const uint64_t target = (end + step - 1) / step * step;
  // Mode 0 sets the file size: the reserved blocks read as zeros, which
  // recovery takes for the end of the records.
  if (::fallocate(fd, 0, static_cast<off_t>(allocated), static_cast<off_t>(target - allocated)) ==
      0) {
    allocated = target;
    return;
  }
  if (errno == EOPNOTSUPP || errno == ENOSYS) can_reserve = false;
}

void Segment::trim() {
  if (allocated <= size || fd < 0) return;
  // Not synced: should the cut be lost in a crash, recovery finds zeros
  // after the last record, which it cuts itself.
  if (::ftruncate(fd, static_cast<off_t>(size)) == 0) allocated = size;
}

std::string segment_path(const std::string& dir, uint64_t number) {
  char name[64];
  std::snprintf(name, sizeof name, "segment-%020llu.wal", static_cast<unsigned long long>(number));
  return dir + "/" + name;
}

std::vector<uint64_t> list_segments(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) fail("cannot list " + dir);
  std::vector<uint64_t> out;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.size() != kPrefix.size() + kDigits + kSuffix.size() || !name.starts_with(kPrefix) ||
        !name.ends_with(kSuffix)) {
      continue;
    }
    std::string_view digits = name.substr(kPrefix.size(), kDigits);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    out.push_back(std::stoull(std::string(digits)));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

SegmentPtr create_segment(const std::string& dir, uint64_t number) {
  std::string path = segment_path(dir, number);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create " + path);
  // Empty: the journal writes the magic together with the segment's first
  // records, in one write.
  return std::make_shared<Segment>(number, std::move(path), fd);
}

std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open " + path);
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      errno = e;
      fail("cannot read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

void truncate_file(const std::string& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open " + path);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0 || ::fdatasync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    fail("cannot cut " + path + " to " + std::to_string(size) + " bytes");
  }
  ::close(fd);
}

void sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open " + dir);
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  errno = e;
  if (rc != 0) fail("cannot sync " + dir);
}

void make_dirs(const std::string& dir) {
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot create " + partial);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) fail("cannot use " + dir);
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    fail("cannot use " + dir);
  }
}

}  // namespace postbox::broker::journal
