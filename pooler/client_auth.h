// Client authentication for one login: picks the exchange from auth_type and the user's
// auth_file secret, produces the challenge bytes and judges the answers. No sockets.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "pooler/auth/auth_file.h"
#include "pooler/auth/scram.h"
#include "pooler/config/config.h"

namespace apibouncer {

class ClientAuth {
 public:
  struct Step {
    enum class Kind { kSend, kSuccess, kFailure };
    Kind kind = Kind::kFailure;
    std::string bytes;   // kSend: messages for the client (kSuccess: final SASL message, if any)
    std::string reason;  // kFailure: for the log, never sent to the client
    std::string sqlstate = "28P01";
  };

  // `secret` is the user's auth_file entry or nullptr if the user has none.
  ClientAuth(config::AuthType type, std::string user, const auth::Secret* secret,
             bool have_auth_file);
  ~ClientAuth();

  Step start();
  // A password-family ('p') message from the client.
  Step onPasswordMessage(std::span<const uint8_t> body);
  // After success against a SCRAM secret: the keys that let the pooler log in to PostgreSQL
  // as this user (SCRAM pass-through). Empty for other secrets and exchanges.
  std::optional<auth::ScramKeys> provenScramKeys() const;

 private:
  enum class Exchange { kNone, kCleartext, kMd5, kScram };
  Step startScram();
  Step verifyCleartext(std::string_view password);
  Step onScramMessage(std::span<const uint8_t> body);
  Step failure(std::string reason) const;

  config::AuthType type_;
  std::string user_;
  std::optional<auth::Secret> secret_;
  bool have_auth_file_;
  Exchange exchange_ = Exchange::kNone;
  uint8_t salt_[4] = {};
  std::unique_ptr<auth::ScramServer> scram_;
  bool scram_first_done_ = false;
  std::optional<auth::ScramKeys> cleartext_keys_;  // a plain password checked on a SCRAM secret
};

}  // namespace apibouncer
