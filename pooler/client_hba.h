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
#include "pooler/tls/tls_session.h"

namespace apibouncer {

struct HbaLogin {
  auth::HbaClient client;
  std::string host;                    // for messages: the client's IP, or "[local]"
  std::optional<std::string> os_user;  // Unix socket: the peer process's user (SO_PEERCRED)
  std::string os_user_error;           // why os_user is missing
  // TLS with a client certificate the CA vouched for: its subject's CommonName.
  std::optional<std::string> certificate_name;
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

// cert (auth_type = cert, or an hba line's method): the client certificate's CommonName must
// be the user name, or a name `map` (in `rules`' ident map) lets in as that user. `rules` and
// `map` may be null/empty. Not refused: auth_type is kTrust (the certificate was the proof).
HbaDecision decideCertLogin(const HbaLogin& login, const auth::HbaRules* rules,
                            std::string_view map, const std::string& decided_by);

// Reads the client's address (TCP) or peer credentials (Unix socket) from its socket, and its
// certificate from `tls` (null: plain text). `database` and `user` must outlive the result.
// The uid -> name lookup goes through NSS on the loop, as PgBouncer's does.
HbaLogin describeHbaLogin(uv_stream_t* stream, bool unix_socket, const tls::Session* tls,
                          std::string_view database, std::string_view user);

}  // namespace apibouncer
