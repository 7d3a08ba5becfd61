// Where libpostbox connects unless told otherwise.
#pragma once

#include <string>

namespace postbox {

/// Where postboxd listens unless told otherwise: $POSTBOX_SOCKET, else
/// $XDG_RUNTIME_DIR/postbox/postbox.sock, else /run/postbox/postbox.sock for
/// root and /tmp/postbox-$UID/postbox.sock for others (the broker's own rule).
std::string default_socket_path();

}  // namespace postbox
