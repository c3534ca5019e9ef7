// Logins: client auth types against auth_file secrets, and the pooler's own login to
// PostgreSQL with md5 and SCRAM.
#include <catch2/catch.hpp>

#include "fixture.h"
#include "pooler/wire/backend.h"
#include "pooler/wire/writer.h"

using namespace itest;
namespace wire = apibouncer::wire;

namespace {

std::string scramSecretOf(const std::string& role) {
  return superuserQuery("SELECT rolpassword FROM pg_authid WHERE rolname = '" + role + "'");
}

}  // namespace

TEST_CASE("md5 client login with plain and md5 secrets; md5 to the server", "[auth]") {
  std::string md5_secret =
      superuserQuery("SELECT rolpassword FROM pg_authid WHERE rolname = 'md5user'");
  REQUIRE(md5_secret.starts_with("md5"));
  for (const std::string& secret : {std::string("md5-secret"), md5_secret}) {
    PoolerProcess pooler(
        {defaultDatabases(), "auth_type = md5\n", "\"md5user\" \"" + secret + "\"\n", true});
    std::string error;
    CHECK(runsQuery(pooler.conninfo("md5user", "md5-secret"), error));
    INFO(error << pooler.log());
    CHECK_FALSE(runsQuery(pooler.conninfo("md5user", "wrong"), error));
    CHECK(error.find("password authentication failed") != std::string::npos);
  }
}

TEST_CASE("scram-sha-256 client login with plain and SCRAM secrets; SCRAM to the server",
          "[auth]") {
  std::string scram_secret = scramSecretOf("scramuser");
  REQUIRE(scram_secret.starts_with("SCRAM-SHA-256$"));
  // With a SCRAM secret only, the pooler cannot log in to PostgreSQL as that user by itself,
  // so the server password comes from the database entry.
  std::string databases = "app = host=127.0.0.1 port=" + std::to_string(Sandbox::get().port) +
                          " dbname=app user=scramuser password=scram-secret\n";
  PoolerProcess with_plain(
      {databases, "auth_type = scram-sha-256\n", "\"scramuser\" \"scram-secret\"\n", true});
  PoolerProcess with_scram(
      {databases, "auth_type = scram-sha-256\n", "\"scramuser\" \"" + scram_secret + "\"\n", true});
  for (PoolerProcess* pooler : {&with_plain, &with_scram}) {
    std::string error;
    CHECK(runsQuery(pooler->conninfo("scramuser", "scram-secret"), error));
    INFO(error << pooler->log());
    CHECK_FALSE(runsQuery(pooler->conninfo("scramuser", "nope"), error));
  }
}

TEST_CASE("the server password comes from auth_file when the database entry has none", "[auth]") {
  // app is stored as SCRAM in PostgreSQL, md5user as md5: both logins happen with the
  // auth_file's plain password.
  PoolerProcess pooler({defaultDatabases(), "auth_type = plain\n", defaultUserlist(), true});
  std::string error;
  CHECK(runsQuery(pooler.conninfo("app", "app-secret"), error));
  INFO(error);
  CHECK(runsQuery(pooler.conninfo("md5user", "md5-secret"), error));
  INFO(error);
}

TEST_CASE("trust logs in users from auth_file without a password", "[auth]") {
  PoolerProcess pooler({"", "auth_type = trust\n", "", true});
  std::string error;
  CHECK(runsQuery(pooler.conninfo("app", ""), error));
  INFO(error);
  CHECK_FALSE(runsQuery(pooler.conninfo("stranger", ""), error));
}

TEST_CASE("a wrong password gets SQLSTATE 28P01 and a logged reason", "[auth]") {
  PoolerProcess pooler({"", "auth_type = plain\n", "", true});
  RawClient client(pooler.port());
  client.sendBytes(wire::startupMessage(wire::kProtocolV3, {{"user", "app"}, {"database", "app"}}));
  char type;
  std::string body;
  REQUIRE(client.readMessage(type, body));
  REQUIRE(type == 'R');  // AuthenticationCleartextPassword
  client.sendBytes(wire::passwordMessage("not-the-password"));
  REQUIRE(client.readMessage(type, body));
  REQUIRE(type == 'E');
  wire::ErrorFieldsMsg error;
  REQUIRE(wire::decodeErrorFields(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()), error));
  CHECK(error.field('C') == "28P01");
  CHECK(error.field('M') == "password authentication failed for user \"app\"");
  CHECK(client.closedByPeer());
  CHECK(pooler.logContains("login failed"));
}
