// Bounds-checked little-endian readers and appending writers for frame bodies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <bit>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace postbox::proto {

/// Reads primitives from a body. Every read checks the remaining length; after
/// the first failure ok() is false and every later read returns zero/empty, so
/// a decoder can read a whole struct and check once at the end.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> in) noexcept : p_(in.data()), end_(p_ + in.size()) {}

  uint8_t u8() noexcept { return read<uint8_t>(); }
  uint16_t u16() noexcept { return read<uint16_t>(); }
  uint32_t u32() noexcept { return read<uint32_t>(); }
  uint64_t u64() noexcept { return read<uint64_t>(); }
  int64_t i64() noexcept { return static_cast<int64_t>(read<uint64_t>()); }
  /// n raw bytes, as a view into the input.
  std::span<const std::byte> bytes(std::size_t n) noexcept {
    if (!ok_ || static_cast<std::size_t>(end_ - p_) < n) return fail<std::span<const std::byte>>();
    std::span<const std::byte> s(p_, n);
    p_ += n;
    return s;
  }
  std::string_view str(std::size_t n) noexcept {
    auto b = bytes(n);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  std::string_view str8() noexcept { return str(u8()); }
  std::string_view str16() noexcept { return str(u16()); }
  std::string_view str32() noexcept { return str(u32()); }

  bool ok() const noexcept { return ok_; }
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }
  /// True when every byte was consumed and nothing failed.
  bool done() const noexcept { return ok_ && p_ == end_; }

 private:
  template <class T>
  T read() noexcept {
    if (!ok_ || static_cast<std::size_t>(end_ - p_) < sizeof(T)) return fail<T>();
    T v;
    std::memcpy(&v, p_, sizeof(T));  // the wire is little-endian, as are our targets
    p_ += sizeof(T);
    return v;
  }
  template <class T>
  T fail() noexcept {
    ok_ = false;
    p_ = end_;
    return T{};
  }

  const std::byte* p_;
  const std::byte* end_;
  bool ok_ = true;
};

static_assert(std::endian::native == std::endian::little, "postbox's wire format assumes a little-endian host");

/// Appends primitives to a byte buffer.
class Writer {
 public:
  explicit Writer(std::vector<std::byte>& out) noexcept : out_(out) {}

  void u8(uint8_t v) { put(v); }
  void u16(uint16_t v) { put(v); }
  void u32(uint32_t v) { put(v); }
  void u64(uint64_t v) { put(v); }
  void i64(int64_t v) { put(static_cast<uint64_t>(v)); }
  void bytes(const void* data, std::size_t n) {
    auto* b = static_cast<const std::byte*>(data);
    out_.insert(out_.end(), b, b + n);
  }
  void bytes(std::span<const std::byte> s) { bytes(s.data(), s.size()); }
  void str(std::string_view s) { bytes(s.data(), s.size()); }
  /// Caller guarantees the length fits the prefix (validated before encoding).
  void str8(std::string_view s) {
    u8(static_cast<uint8_t>(s.size()));
    str(s);
  }
  void str16(std::string_view s) {
    u16(static_cast<uint16_t>(s.size()));
    str(s);
  }
  void str32(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    str(s);
  }
  std::size_t size() const noexcept { return out_.size(); }
  std::vector<std::byte>& buffer() noexcept { return out_; }

 private:
  template <class T>
  void put(T v) {
    auto n = out_.size();
    out_.resize(n + sizeof(T));
    std::memcpy(out_.data() + n, &v, sizeof(T));
  }
  std::vector<std::byte>& out_;
};

}  // namespace postbox::proto
