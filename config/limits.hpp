// The ranges config/ enforces on each setting, with where each number comes from (internal).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace postbox::config::detail {

/// Room for a frame's own headers (kind, request id, queue name, type,
/// priority, properties) around a payload of max_message_size bytes.
inline constexpr uint64_t kFrameHeaderRoom = 256;
/// Below a page, ordinary requests with long queue names would not fit.
inline constexpr uint64_t kMinFrameSize = 4096;
/// Same as proto::kMaxFrameBodyCeiling (config does not depend on proto).
inline constexpr uint64_t kMaxFrameSize = 256u << 20;
/// Permission bits only: setuid, setgid and sticky mean nothing for queues.
inline constexpr uint64_t kMaxMode = 0777;
/// Busy-polling a whole second after each wake-up would only burn a core.
inline constexpr uint64_t kMaxSpinUs = 1'000'000;
/// sizeof(sockaddr_un::sun_path) is 108 on Linux, including the NUL.
inline constexpr std::size_t kMaxSocketPath = 107;
/// The broker's own rule (broker/store.hpp valid_queue_name).
inline constexpr std::size_t kMaxQueueName = 255;
inline constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
inline constexpr uint64_t kU64 = std::numeric_limits<uint64_t>::max();
/// 100 years of 365.25 days. A TTL is added to a CLOCK_REALTIME time in ns, and u64 ns end in
/// 2554: this keeps every expiry far from overflow while no real TTL comes near it.
inline constexpr uint64_t kMaxTtlMs = 36525ull * 24 * 60 * 60 * 1000;

/// Inclusive bounds of an integer setting.
struct Range {
  uint64_t min;
  uint64_t max;
};
inline constexpr Range kMaxMessagesRange{1, kU64};
inline constexpr Range kMaxBytesRange{1, kU64};
inline constexpr Range kMessageSizeRange{1, kMaxFrameSize - kFrameHeaderRoom};
inline constexpr Range kConnectionsRange{1, kU32};
inline constexpr Range kFrameSizeRange{kMinFrameSize, kMaxFrameSize};
inline constexpr Range kPendingOutputRange{1, kU64};
inline constexpr Range kSpinRange{0, kMaxSpinUs};
/// 0 means unlimited, so every u32 is meaningful.
inline constexpr Range kMaxDeliveriesRange{0, kU32};
/// The whole u32 (~49.7 days) that the wire's lease fields carry (RECEIVE, CONSUME, TOUCH), so
/// a configured default is never stricter than what a client may ask for; 0 would end every
/// lease at once (and on the wire means "the queue's default").
inline constexpr Range kLeaseRange{1, kU32};
inline constexpr Range kTtlRange{0, kMaxTtlMs};
/// 0 would sync continuously; over an hour, "interval" means "never" in all but name.
inline constexpr Range kFsyncIntervalRange{1, 3'600'000};
/// A page at least (tests use small segments to exercise compaction); at most 1 TiB.
inline constexpr Range kSegmentSizeRange{4096, 1ull << 40};
/// 0: off; at most 1 PiB.
inline constexpr Range kDiskFreeLimitRange{0, 1ull << 50};

/// spdlog's level names.
inline constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug",    "info", "warn",
                                                            "error", "critical", "off"};

}  // namespace postbox::config::detail
