// ClientAuth: the server side of md5, SCRAM-SHA-256 and cleartext logins (see client_auth.h).
#include "pooler/client_auth.h"

#include <openssl/rand.h>

#include "pooler/auth/md5.h"
#include "pooler/auth/scram.h"
#include "pooler/wire/frontend.h"
#include "pooler/wire/writer.h"

namespace apibouncer {

using config::AuthType;
using Kind = auth::Secret::Kind;

namespace {

std::vector<uint8_t> randomBytes(size_t n) {
  std::vector<uint8_t> out(n);
  if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
    for (auto& b : out) b = static_cast<uint8_t>(rand());
  }
  return out;
}

// A secret nobody knows: an unknown user still goes through the whole exchange and fails at
// the end, so the answer does not reveal which users exist.
auth::ScramSecret unguessableScramSecret() {
  auto pw = randomBytes(32);
  return auth::scramSecretFromPassword(std::string(pw.begin(), pw.end()), randomBytes(16), 4096);
}

}  // namespace

ClientAuth::ClientAuth(AuthType type, std::string user, const auth::Secret* secret,
                       bool have_auth_file)
    : type_(type), user_(std::move(user)), have_auth_file_(have_auth_file) {
  if (secret != nullptr) secret_ = *secret;
}

ClientAuth::~ClientAuth() = default;

ClientAuth::Step ClientAuth::failure(std::string reason) const {
  Step step;
  step.kind = Step::Kind::kFailure;
  step.reason = std::move(reason);
  return step;
}

ClientAuth::Step ClientAuth::start() {
  switch (type_) {
    case AuthType::kAny:
      return Step{Step::Kind::kSuccess, {}, {}, {}};
    case AuthType::kTrust:
      if (have_auth_file_ && !secret_) return failure("user not in auth_file (auth_type=trust)");
      return Step{Step::Kind::kSuccess, {}, {}, {}};
    case AuthType::kPlain:
      exchange_ = Exchange::kCleartext;
      return Step{Step::Kind::kSend, wire::authenticationCleartext(), {}, {}};
    case AuthType::kMd5:
      if (secret_ && secret_->kind == Kind::kScram) return startScram();
      {
        auto salt = randomBytes(4);
        std::copy(salt.begin(), salt.end(), salt_);
        exchange_ = Exchange::kMd5;
        return Step{
            Step::Kind::kSend, wire::authenticationMd5(std::span<const uint8_t, 4>(salt_)), {}, {}};
      }
    case AuthType::kScramSha256:
      return startScram();
    default: {
      Step step = failure(std::string("auth_type ") + std::string(config::toString(type_)) +
                          " is not supported yet");
      step.sqlstate = "28000";
      return step;
    }
  }
}

ClientAuth::Step ClientAuth::startScram() {
  std::optional<auth::ScramSecret> secret;
  if (secret_ && secret_->kind == Kind::kScram) secret = auth::parseScramSecret(secret_->text);
  if (secret_ && secret_->kind == Kind::kPlain)
    secret = auth::scramSecretFromPassword(secret_->text, randomBytes(16), 4096);
  if (!secret) secret = unguessableScramSecret();
  scram_ = std::make_unique<auth::ScramServer>(std::move(*secret));
  exchange_ = Exchange::kScram;
  return Step{Step::Kind::kSend, wire::authenticationSasl({"SCRAM-SHA-256"}), {}, {}};
}

ClientAuth::Step ClientAuth::onPasswordMessage(std::span<const uint8_t> body) {
  switch (exchange_) {
    case Exchange::kCleartext:
    case Exchange::kMd5: {
      wire::PasswordMsg msg;
      if (!wire::decodePassword(body, msg)) return failure("malformed password message");
      if (exchange_ == Exchange::kCleartext) return verifyCleartext(msg.password);
      if (!secret_) return failure("user not in auth_file");
      if (secret_->kind == Kind::kScram) return failure("md5 login for a SCRAM secret");
      bool ok = auth::verifyMd5Response(user_, secret_->text, secret_->kind == Kind::kMd5,
                                        std::span<const uint8_t, 4>(salt_), msg.password);
      if (!ok) return failure("password does not match (md5)");
      return Step{Step::Kind::kSuccess, {}, {}, {}};
    }
    case Exchange::kScram:
      return onScramMessage(body);
    case Exchange::kNone:
      break;
  }
  return failure("unexpected password message");
}

ClientAuth::Step ClientAuth::verifyCleartext(std::string_view password) {
  if (!secret_) return failure("user not in auth_file");
  bool ok = false;
  switch (secret_->kind) {
    case Kind::kPlain:
      ok = auth::constantTimeEquals(password, secret_->text);
      break;
    case Kind::kMd5:
      ok = auth::constantTimeEquals(auth::md5PasswordHash(user_, password), secret_->text);
      break;
    case Kind::kScram: {
      auto stored = auth::parseScramSecret(secret_->text);
      if (stored) {
        auto derived = auth::scramSecretFromPassword(password, stored->salt, stored->iterations);
        ok = derived.stored_key == stored->stored_key && derived.server_key == stored->server_key;
        if (ok) cleartext_keys_ = auth::scramKeysFromPassword(password, *stored);
      }
      break;
    }
  }
  if (!ok) return failure("password does not match (plain)");
  return Step{Step::Kind::kSuccess, {}, {}, {}};
}

std::optional<auth::ScramKeys> ClientAuth::provenScramKeys() const {
  if (!secret_ || secret_->kind != Kind::kScram) return std::nullopt;
  if (cleartext_keys_) return cleartext_keys_;
  if (scram_) return scram_->provenKeys();
  return std::nullopt;
}

ClientAuth::Step ClientAuth::onScramMessage(std::span<const uint8_t> body) {
  if (!scram_first_done_) {
    wire::SaslInitialResponseMsg msg;
    if (!wire::decodeSaslInitialResponse(body, msg) || !msg.data)
      return failure("malformed SASLInitialResponse");
    if (msg.mechanism != "SCRAM-SHA-256")
      return failure("client asked for SASL mechanism " + std::string(msg.mechanism));
    auto reply = scram_->handleClientFirst(*msg.data);
    if (!reply) return failure("SCRAM client-first rejected: " + scram_->error());
    scram_first_done_ = true;
    return Step{Step::Kind::kSend, wire::authenticationSaslContinue(*reply), {}, {}};
  }
  wire::SaslResponseMsg msg;
  if (!wire::decodeSaslResponse(body, msg)) return failure("malformed SASLResponse");
  auto reply = scram_->handleClientFinal(msg.data);
  if (!reply) {
    return failure(secret_ ? "SCRAM proof does not match: " + scram_->error()
                           : "user not in auth_file");
  }
  if (!secret_) return failure("user not in auth_file");
  return Step{Step::Kind::kSuccess, wire::authenticationSaslFinal(*reply), {}, {}};
}

}  // namespace apibouncer
