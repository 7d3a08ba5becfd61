// Segment files: naming, creating, listing, reading back and cutting.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace postbox::broker::journal {

/// One segment file, open for appending. Shared with the sync thread, which
/// may still hold it (and its fd) after the journal let go.
struct Segment {
  Segment(uint64_t number, std::string path, int fd)
      : number(number), path(std::move(path)), fd(fd) {}
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  /// Makes the file at least `end` bytes long with fallocate(2), in steps of
  /// `step`, so that the writes up to there change no file size and an
  /// fdatasync has no inode to write (1.4-1.5x faster on ext4 here:
  /// bench/fdatasync_probe). Best effort: where it fails
  /// (ENOSPC, a file system without it) the write itself extends the file.
  void reserve(uint64_t end, uint64_t step);
  /// Gives back what reserve() took past `size`, once nothing more is
  /// written to the segment (sealed, or the journal closing).
  void trim();

  uint64_t number;
  std::string path;
  int fd;
  uint64_t size = 0;        // bytes appended (written or still buffered)
  uint64_t allocated = 0;   // the file's size: written, or reserved and zero
  uint64_t live_count = 0;  // messages whose latest ADD is here
  uint64_t live_bytes = 0;  // the bytes of those ADD records
  bool dirty = false;       // written since its last fdatasync
  bool can_reserve = true;  // false once fallocate proved unsupported
};
using SegmentPtr = std::shared_ptr<Segment>;

/// DIR/segment-<number, 20 digits>.wal
std::string segment_path(const std::string& dir, uint64_t number);
/// The segment numbers present in `dir`, ascending. Throws std::system_error.
std::vector<uint64_t> list_segments(const std::string& dir);
/// Creates a new, empty segment file (O_EXCL). Throws std::system_error.
SegmentPtr create_segment(const std::string& dir, uint64_t number);
/// The whole file. Throws std::system_error.
std::string read_file(const std::string& path);
/// Cuts the file to `size` bytes and syncs it. Throws std::system_error.
void truncate_file(const std::string& path, uint64_t size);
/// fsync of a directory, so that files created in it survive a power loss.
void sync_dir(const std::string& dir);
/// mkdir -p with mode 0700 for what it creates. Throws std::system_error.
void make_dirs(const std::string& dir);

}  // namespace postbox::broker::journal
