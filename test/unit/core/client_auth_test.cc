// ClientAuth: each auth_type against each kind of auth_file secret, driven like a real client.
#include <catch2/catch.hpp>

#include "pooler/auth/md5.h"
#include "pooler/auth/scram.h"
#include "pooler/client_auth.h"
#include "pooler/wire/backend.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

using apibouncer::ClientAuth;
using apibouncer::auth::Secret;
using apibouncer::config::AuthType;
namespace wire = apibouncer::wire;
namespace auth = apibouncer::auth;

namespace {

using Kind = ClientAuth::Step::Kind;

// Splits the challenge the pooler sent into its Authentication message.
wire::AuthenticationMsg challenge(const std::string& bytes) {
  wire::Message msg;
  auto span =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  REQUIRE(wire::nextMessage(span, 1 << 20, msg) == wire::DecodeStatus::kOk);
  REQUIRE(msg.header.type == 'R');
  wire::AuthenticationMsg auth_msg;
  REQUIRE(wire::decodeAuthentication(msg.body, auth_msg));
  return auth_msg;
}

// The body of a frontend message built by the writer (skips type and length).
std::span<const uint8_t> bodyOf(const std::string& message) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(message.data()) + 5,
                                  message.size() - 5);
}

ClientAuth::Step md5Login(const Secret* secret, const std::string& user,
                          const std::string& password) {
  ClientAuth login(AuthType::kMd5, user, secret, true);
  ClientAuth::Step first = login.start();
  REQUIRE(first.kind == Kind::kSend);
  wire::AuthenticationMsg msg = challenge(first.bytes);
  REQUIRE(msg.code == wire::authcode::kMd5);
  std::string response = auth::md5SaltedResponse(
      auth::md5PasswordHash(user, password), std::span<const uint8_t, 4>(msg.payload.data(), 4));
  std::string reply = wire::passwordMessage(response);
  return login.onPasswordMessage(bodyOf(reply));
}

ClientAuth::Step scramLogin(AuthType type, const Secret* secret, const std::string& password) {
  ClientAuth login(type, "alice", secret, true);
  ClientAuth::Step first = login.start();
  REQUIRE(first.kind == Kind::kSend);
  REQUIRE(challenge(first.bytes).code == wire::authcode::kSasl);
  auth::ScramClient client(password);
  std::string initial = wire::saslInitialResponse("SCRAM-SHA-256", client.clientFirst());
  ClientAuth::Step second = login.onPasswordMessage(bodyOf(initial));
  REQUIRE(second.kind == Kind::kSend);
  wire::AuthenticationMsg cont = challenge(second.bytes);
  REQUIRE(cont.code == wire::authcode::kSaslContinue);
  auto final_message = client.handleServerFirst(
      std::string_view(reinterpret_cast<const char*>(cont.payload.data()), cont.payload.size()));
  REQUIRE(final_message);
  ClientAuth::Step last = login.onPasswordMessage(bodyOf(wire::saslResponse(*final_message)));
  if (last.kind == Kind::kSuccess) {
    wire::AuthenticationMsg fin = challenge(last.bytes);
    CHECK(fin.code == wire::authcode::kSaslFinal);
    CHECK(client.verifyServerFinal(
        std::string_view(reinterpret_cast<const char*>(fin.payload.data()), fin.payload.size())));
  }
  return last;
}

}  // namespace

TEST_CASE("md5 login accepts the right password for plain and md5 secrets", "[client_auth]") {
  Secret plain{Secret::Kind::kPlain, "s3cret"};
  Secret hashed = auth::classifySecret(auth::md5PasswordHash("bob", "s3cret"));
  REQUIRE(hashed.kind == Secret::Kind::kMd5);
  CHECK(md5Login(&plain, "bob", "s3cret").kind == Kind::kSuccess);
  CHECK(md5Login(&hashed, "bob", "s3cret").kind == Kind::kSuccess);
  CHECK(md5Login(&plain, "bob", "wrong").kind == Kind::kFailure);
  CHECK(md5Login(&hashed, "bob", "wrong").kind == Kind::kFailure);
}

TEST_CASE("md5 login for an unknown user fails with 28P01", "[client_auth]") {
  ClientAuth::Step step = md5Login(nullptr, "nobody", "x");
  CHECK(step.kind == Kind::kFailure);
  CHECK(step.sqlstate == "28P01");
}

TEST_CASE("scram-sha-256 login works from plain and SCRAM secrets", "[client_auth]") {
  Secret plain{Secret::Kind::kPlain, "pencil"};
  auto derived = auth::scramSecretFromPassword("pencil", std::vector<uint8_t>(16, 7), 4096);
  Secret scram = auth::classifySecret(auth::formatScramSecret(derived));
  REQUIRE(scram.kind == Secret::Kind::kScram);
  CHECK(scramLogin(AuthType::kScramSha256, &plain, "pencil").kind == Kind::kSuccess);
  CHECK(scramLogin(AuthType::kScramSha256, &scram, "pencil").kind == Kind::kSuccess);
  CHECK(scramLogin(AuthType::kScramSha256, &scram, "crayon").kind == Kind::kFailure);
  CHECK(scramLogin(AuthType::kScramSha256, nullptr, "pencil").kind == Kind::kFailure);
}

TEST_CASE("auth_type md5 uses SCRAM when the secret is a SCRAM secret", "[client_auth]") {
  auto derived = auth::scramSecretFromPassword("pencil", std::vector<uint8_t>(16, 9), 4096);
  Secret scram = auth::classifySecret(auth::formatScramSecret(derived));
  CHECK(scramLogin(AuthType::kMd5, &scram, "pencil").kind == Kind::kSuccess);
}

TEST_CASE("plain login checks cleartext against every secret kind", "[client_auth]") {
  auto derived = auth::scramSecretFromPassword("pw", std::vector<uint8_t>(16, 1), 4096);
  Secret secrets[] = {{Secret::Kind::kPlain, "pw"},
                      auth::classifySecret(auth::md5PasswordHash("carol", "pw")),
                      auth::classifySecret(auth::formatScramSecret(derived))};
  for (const Secret& secret : secrets) {
    ClientAuth good(AuthType::kPlain, "carol", &secret, true);
    REQUIRE(challenge(good.start().bytes).code == wire::authcode::kCleartext);
    CHECK(good.onPasswordMessage(bodyOf(wire::passwordMessage("pw"))).kind == Kind::kSuccess);
    ClientAuth bad(AuthType::kPlain, "carol", &secret, true);
    bad.start();
    CHECK(bad.onPasswordMessage(bodyOf(wire::passwordMessage("nope"))).kind == Kind::kFailure);
  }
}

TEST_CASE("trust needs the user in auth_file only when there is one", "[client_auth]") {
  Secret plain{Secret::Kind::kPlain, "x"};
  CHECK(ClientAuth(AuthType::kTrust, "u", &plain, true).start().kind == Kind::kSuccess);
  CHECK(ClientAuth(AuthType::kTrust, "u", nullptr, true).start().kind == Kind::kFailure);
  CHECK(ClientAuth(AuthType::kTrust, "u", nullptr, false).start().kind == Kind::kSuccess);
  CHECK(ClientAuth(AuthType::kAny, "u", nullptr, true).start().kind == Kind::kSuccess);
}

TEST_CASE("unsupported auth types fail with 28000", "[client_auth]") {
  ClientAuth::Step step = ClientAuth(AuthType::kHba, "u", nullptr, true).start();
  CHECK(step.kind == Kind::kFailure);
  CHECK(step.sqlstate == "28000");
}

TEST_CASE("garbage password messages fail cleanly", "[client_auth]") {
  Secret plain{Secret::Kind::kPlain, "pencil"};
  ClientAuth login(AuthType::kScramSha256, "alice", &plain, true);
  login.start();
  const uint8_t garbage[] = {0xff, 0x00, 0x01};
  CHECK(login.onPasswordMessage(std::span<const uint8_t>(garbage)).kind == Kind::kFailure);
}
