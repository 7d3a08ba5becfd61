// fdatasync_probe: what one small record costs to make durable on a file system, appending to a
// growing file against writing into room reserved by fallocate (the journal's Segment::reserve).
//
//   build/bench/fdatasync_probe [DIR] [COUNT]    # DIR default /var/tmp, COUNT 3000
//
// Each run writes COUNT records of 96 bytes, one pwrite and one fdatasync each, into a fresh
// file, three rounds of each way interleaved; prints p50 and p99 per run and the ratio of the
// median p50s.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

enum class Way { append, reserved, keep_size };

const char* name(Way w) {
  return w == Way::append ? "append" : w == Way::reserved ? "fallocate" : "keep-size";
}

/// p50 and p99 in µs of COUNT pwrite+fdatasync pairs.
std::pair<double, double> run(const std::string& dir, Way way, std::size_t count) {
  const std::string path = dir + "/postbox-fdatasync-probe";
  ::unlink(path.c_str());
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
  constexpr std::size_t kRecord = 96;
  const off_t room = static_cast<off_t>(count * kRecord + 4096);
  if (way == Way::reserved && ::fallocate(fd, 0, 0, room) != 0) std::perror("fallocate");
  if (way == Way::keep_size && ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, room) != 0)
    std::perror("fallocate keep-size");
  ::fsync(fd);
  char record[kRecord];
  std::memset(record, 'x', sizeof record);
  std::vector<double> us(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto t = std::chrono::steady_clock::now();
    if (::pwrite(fd, record, kRecord, static_cast<off_t>(i * kRecord)) != kRecord ||
        ::fdatasync(fd) != 0) {
      std::perror("pwrite/fdatasync");
      std::exit(1);
    }
    us[i] = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count();
  }
  ::close(fd);
  ::unlink(path.c_str());
  std::sort(us.begin(), us.end());
  return {us[count / 2], us[count * 99 / 100]};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/var/tmp";
  const std::size_t count = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 3000;
  if (count < 100) {
    std::fprintf(stderr, "fdatasync_probe: COUNT must be at least 100\n");
    return 2;
  }
  std::vector<double> p50[3];
  for (int round = 1; round <= 3; ++round) {
    for (Way w : {Way::append, Way::reserved, Way::keep_size}) {
      const auto [a, b] = run(dir, w, count);
      std::printf("round %d  %-10s p50 %6.0f µs  p99 %6.0f µs\n", round, name(w), a, b);
      p50[static_cast<int>(w)].push_back(a);
    }
  }
  std::printf("median p50: append %.0f µs, fallocate %.0f µs (%.2fx), keep-size %.0f µs\n",
              median(p50[0]), median(p50[1]), median(p50[0]) / median(p50[1]), median(p50[2]));
}
