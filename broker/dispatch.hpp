// Dispatch: routes each decoded frame to its handler; the one place broker outcomes become wire
// errors.
#pragma once

#include "broker/session.hpp"
#include "proto/decoder.hpp"

namespace postbox::broker {

/// Handles one request frame from `s`. Replies are appended to s.output();
/// a request that must wait is parked on its queue and answered later.
void dispatch(Session& s, const proto::Frame& f);

}  // namespace postbox::broker
