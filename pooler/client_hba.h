// auth_type = hba for one login: what the matching auth_hba_file line means for this client —
// a password exchange for ClientAuth, a login without one (trust, peer), or a refusal worded
// as PostgreSQL words it (SQLSTATE 28000).
#pragma once

#include <uv.h>

#include <optional>
#include <string>
#include <string_view>

#include "pooler/auth/hba.h"
#include "pooler/config/config.h"

namespace apibouncer {

struct HbaLogin {
  auth::HbaClient client;
  std::string host;                    // for messages: the client's IP, or "[local]"
  std::optional<std::string> os_user;  // Unix socket: the peer process's user (SO_PEERCRED)
  std::string os_user_error;           // why os_user is missing
};

struct HbaDecision {
  bool refused = false;
  config::AuthType auth_type = config::AuthType::kMd5;  // the exchange to run when not refused
  std::string sqlstate = "28000";
  std::string message;  // refused: sent to the client
  std::string reason;   // for the log: which line decided, and why
};

// `rules` may be null (nothing loaded): every login is refused.
HbaDecision decideHbaLogin(const auth::HbaRules* rules, const HbaLogin& login);

// Reads the client's address (TCP) or peer credentials (Unix socket) from its socket.
// `database` and `user` must outlive the result. client.tls stays false until client TLS
// exists (then hostssl lines and cert start to apply). The uid -> name lookup goes through
// NSS on the loop, as PgBouncer's does.
HbaLogin describeHbaLogin(uv_stream_t* stream, bool unix_socket, std::string_view database,
                          std::string_view user);

}  // namespace apibouncer
