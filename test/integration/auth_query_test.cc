// auth_query / auth_user: users missing from auth_file are looked up in PostgreSQL; SCRAM
// secrets (from auth_query or auth_file) log in to PostgreSQL through SCRAM pass-through.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "fixture.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

using namespace itest;

namespace {

// PgBouncer's recommended setup: a SECURITY DEFINER function only auth_user may call, so
// auth_user needs no superuser rights.
void createLookupFunction() {
  static bool created = [] {
    superuserQuery(
        "CREATE OR REPLACE FUNCTION public.apibouncer_lookup(uname text, OUT usename name, "
        "OUT passwd text) RETURNS record LANGUAGE sql SECURITY DEFINER AS $$ SELECT rolname, "
        "CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END FROM pg_authid "
        "WHERE rolname = uname AND rolcanlogin $$");
    superuserQuery("REVOKE ALL ON FUNCTION public.apibouncer_lookup(text) FROM PUBLIC");
    superuserQuery("GRANT EXECUTE ON FUNCTION public.apibouncer_lookup(text) TO app");
    return true;
  }();
  (void)created;
}

PoolerConfig lookupConfig(const std::string& auth_type) {
  createLookupFunction();
  return configWith("auth_type = " + auth_type +
                        "\nauth_user = app\nauth_query = SELECT usename, passwd FROM "
                        "public.apibouncer_lookup($1)\n",
                    "\"app\" \"app-secret\"\n");
}

std::string loginError(const std::string& conninfo) {
  Conn conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) return PQerrorMessage(conn.get());
  Result r(PQexec(conn.get(), "SELECT 1"), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return PQerrorMessage(conn.get());
  return "";
}

}  // namespace

TEST_CASE("auth_query: a SCRAM user missing from auth_file logs in, and its links too",
          "[auth_query]") {
  PoolerProcess pooler(lookupConfig("scram-sha-256"));
  Conn first = connect(pooler.conninfo("scramuser", "scram-secret"));
  CHECK(queryValue(first.get(), "SELECT current_user") == "scramuser");
  // A second link of the same user, opened while the first is held in a transaction, logs in
  // with the keys the client's SCRAM login proved: nobody gave the pooler the password.
  exec(first.get(), "BEGIN");
  Conn second = connect(pooler.conninfo("scramuser", "scram-secret"));
  CHECK(queryValue(second.get(), "SELECT current_user") == "scramuser");
  exec(first.get(), "COMMIT");
  CHECK(backendsOf("scramuser") >= 2);

  std::string wrong = loginError(pooler.conninfo("scramuser", "not-it"));
  CHECK(contains(wrong, "password authentication failed for user \"scramuser\""));
  // An unknown user reads exactly like a wrong password.
  std::string unknown = loginError(pooler.conninfo("nosuchuser", "whatever"));
  CHECK(contains(unknown, "password authentication failed for user \"nosuchuser\""));
  // The console has no pool to look users up in: auth_file only.
  CHECK(contains(loginError(pooler.conninfo("scramuser", "scram-secret", "pgbouncer")),
                 "password authentication failed"));
  Conn still_up = connect(pooler.conninfo("scramuser", "scram-secret"));
  CHECK(queryValue(still_up.get(), "SELECT 1") == "1");
}

TEST_CASE("auth_query: an md5 secret logs in with md5, to an md5 server", "[auth_query]") {
  PoolerProcess pooler(lookupConfig("md5"));
  Conn conn = connect(pooler.conninfo("md5user", "md5-secret"));
  CHECK(queryValue(conn.get(), "SELECT current_user") == "md5user");
  CHECK(contains(loginError(pooler.conninfo("md5user", "nope")), "password authentication failed"));
}

TEST_CASE("auth_query: without auth_user a missing user is refused; a failing query says so",
          "[auth_query]") {
  {
    PoolerProcess pooler(configWith({}, "\"app\" \"app-secret\"\n"));
    CHECK(contains(loginError(pooler.conninfo("scramuser", "scram-secret")),
                   "password authentication failed"));
  }
  {
    PoolerConfig config = lookupConfig("scram-sha-256");
    config.settings += "auth_query = SELECT no_such_column FROM pg_class WHERE relname = $1\n";
    PoolerProcess pooler(config);
    CHECK(contains(loginError(pooler.conninfo("scramuser", "scram-secret")),
                   "authentication lookup failed"));
    CHECK(pooler.logContains("auth_query failed"));
    // auth_user's own login is not affected.
    Conn app = connect(pooler.conninfo());
    CHECK(queryValue(app.get(), "SELECT 1") == "1");
  }
}

TEST_CASE("auth_query: a password sent before it was asked for waits for the lookup",
          "[auth_query]") {
  // The lookup sleeps, so the client's unasked-for password arrives while it runs. As with
  // PostgreSQL, that message is read as the answer once the pooler asks for one.
  createLookupFunction();
  PoolerProcess pooler(
      configWith("auth_type = md5\nauth_user = app\nauth_query = SELECT usename, passwd FROM "
                 "public.apibouncer_lookup($1), pg_sleep(0.5)\n",
                 "\"app\" \"app-secret\"\n"));
  RawClient early(pooler.port());
  early.sendBytes(apibouncer::wire::startupMessage(apibouncer::wire::kProtocolV3,
                                                   {{"user", "md5user"}, {"database", "app"}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  early.sendBytes(apibouncer::wire::passwordMessage("not an md5 answer"));
  char type = 0;
  std::string body;
  if (!early.readMessage(type, body)) FAIL(pooler.log());
  CHECK(type == 'R');  // AuthenticationMD5Password, once the lookup answered
  REQUIRE(early.readMessage(type, body));
  CHECK(type == 'E');
  CHECK(contains(body, "password authentication failed for user \"md5user\""));
  CHECK(early.closedByPeer());
  Conn after = connect(pooler.conninfo("md5user", "md5-secret"));
  CHECK(queryValue(after.get(), "SELECT current_user") == "md5user");
}

TEST_CASE("auth_file with PostgreSQL's SCRAM secret: SCRAM pass-through to the server",
          "[auth_query]") {
  std::string secret =
      superuserQuery("SELECT rolpassword FROM pg_authid WHERE rolname = 'scramuser'");
  REQUIRE(secret.starts_with("SCRAM-SHA-256$"));
  std::string userlist = "\"app\" \"app-secret\"\n\"scramuser\" \"" + secret + "\"\n";
  PoolerProcess pooler(configWith("auth_type = scram-sha-256\n", userlist));
  Conn conn = connect(pooler.conninfo("scramuser", "scram-secret"));
  CHECK(queryValue(conn.get(), "SELECT current_user") == "scramuser");
  // Plain-text login (auth_type = plain) against the same secret proves the keys as well.
  PoolerProcess plain(configWith("auth_type = plain\n", userlist));
  Conn over_plain = connect(plain.conninfo("scramuser", "scram-secret"));
  CHECK(queryValue(over_plain.get(), "SELECT current_user") == "scramuser");
}
