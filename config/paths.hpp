// Where postboxd and postbox look for the socket and the data directory when not told.
#pragma once

#include <string>

namespace postbox::config {

/// $POSTBOX_SOCKET if set; else $XDG_RUNTIME_DIR/postbox/postbox.sock if that
/// is set; else /run/postbox/postbox.sock for root and
/// /tmp/postbox-$UID/postbox.sock for others. Both binaries use this.
/// Empty variables count as unset, and so do relative XDG ones (the XDG Base
/// Directory spec says to ignore them). $UID is the effective uid.
std::string default_socket_path();
/// /var/lib/postbox for root; else $XDG_STATE_HOME/postbox or ~/.local/state/postbox.
/// ~ is $HOME, else the passwd entry's home; with neither, /tmp/postbox-$UID/state.
std::string default_data_dir();

}  // namespace postbox::config
