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

/// spdlog's level names.
inline constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug",    "info", "warn",
                                                            "error", "critical", "off"};

}  // namespace postbox::config::detail
