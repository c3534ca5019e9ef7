// TCP options from [pgbouncer] (keepalive tuning, TCP_USER_TIMEOUT, buffer size) applied to
// accepted client sockets and server sockets.
#pragma once

#include <uv.h>

#include "pooler/config/config.h"

namespace apibouncer {

void applyTcpOptions(uv_tcp_t* tcp, const config::Settings& settings);

}  // namespace apibouncer
