// Session parameters in transaction pooling (PgBouncer's varcache): what a client is welcomed
// with and what its link is set to, whatever the clients before it did on that link, and the
// values that reach the server intact (lists, backslashes, options=-c).
#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

using namespace itest;

TEST_CASE("a login waiting for the pool's first link is not welcomed with another client's values",
          "[params]") {
  // connect_query keeps the first link logging in, so both logins wait for it; the first
  // one's startup values are set on it before the second one gets it.
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction "
                                        "connect_query='SELECT pg_sleep(2)'"),
                        "auth_type = trust\n", "", true});
  RawClient first(pooler.port());
  first.sendStartup({{"application_name", "first-client"}, {"TimeZone", "Asia/Tokyo"}});
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  RawClient second(pooler.port());
  second.sendStartup();
  LoginSeen first_seen = readLogin(first, 10000);
  LoginSeen second_seen = readLogin(second, 10000);
  INFO(pooler.log());
  REQUIRE(first_seen.error.empty());
  REQUIRE(second_seen.error.empty());
  CHECK(first_seen.reported["TimeZone"] == "Asia/Tokyo");
  // A later login is welcomed from the pool's parameters: what the second one must match.
  RawClient later(pooler.port());
  later.sendStartup();
  LoginSeen later_seen = readLogin(later, 10000);
  REQUIRE(later_seen.error.empty());
  REQUIRE(later_seen.reported["TimeZone"] != "Asia/Tokyo");
  CHECK(second_seen.reported["application_name"] == later_seen.reported["application_name"]);
  CHECK(second_seen.reported["TimeZone"] == later_seen.reported["TimeZone"]);
  for (int round = 0; round < 2; ++round) {
    CHECK(rawQueryValue(second, "SHOW application_name") != "first-client");
    CHECK(rawQueryValue(second, "SHOW TimeZone") == later_seen.reported["TimeZone"]);
    CHECK(rawQueryValue(first, "SHOW TimeZone") == "Asia/Tokyo");
  }
}

TEST_CASE("what connect_query sets is what clients are welcomed with", "[params]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction connect_query='SELECT "
                                        "set_config(''application_name'', ''from-connect-query'', "
                                        "false)'"),
                        "auth_type = trust\n", "", true});
  // The first login waits for the pool's first link, the next one does not.
  for (int login = 0; login < 2; ++login) {
    RawClient client(pooler.port());
    client.sendStartup();
    LoginSeen seen = readLogin(client, 10000);
    INFO("login " << login << pooler.log());
    REQUIRE(seen.error.empty());
    CHECK(seen.reported["application_name"] == "from-connect-query");
    for (int round = 0; round < 2; ++round)
      CHECK(rawQueryValue(client, "SHOW application_name") == "from-connect-query");
  }
}

TEST_CASE("a tracked search_path list reaches the link as a list", "[params]") {
  superuserQuery(
      "CREATE SCHEMA IF NOT EXISTS params_a; CREATE SCHEMA IF NOT EXISTS params_b; "
      "CREATE TABLE IF NOT EXISTS params_b.only_in_b (x int); "
      "GRANT USAGE ON SCHEMA params_a, params_b TO app; GRANT SELECT ON params_b.only_in_b TO app");
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"),
                        "auth_type = trust\ntrack_extra_parameters = search_path\n", "", true});
  Conn other = connectOk(pooler);
  RawClient client(pooler.port());
  client.logIn({{"search_path", "params_a, params_b"}});  // as pgjdbc's currentSchema=a,b
  for (int round = 0; round < 2; ++round) {
    CHECK(rawQueryValue(client, "SHOW search_path") == "params_a, params_b");
    CHECK(rawQuery(client, "SELECT count(*) FROM only_in_b").error.empty());
    REQUIRE(PQresultStatus(exec(other.get(), "SET search_path = pg_catalog").get()) ==
            PGRES_COMMAND_OK);
  }
}

TEST_CASE("a value with backslashes is set intact on a link with standard_conforming_strings off",
          "[params]") {
  PoolerProcess pooler(
      {sandboxDatabase("pool_size=1 pool_mode=transaction"), "auth_type = trust\n", "", true});
  Conn old_style = connectOk(pooler);
  REQUIRE(PQresultStatus(exec(old_style.get(), "SET standard_conforming_strings = off").get()) ==
          PGRES_COMMAND_OK);
  RawClient client(pooler.port());
  client.logIn({{"application_name", "C:\\app\\it's"}});
  INFO(pooler.log());
  CHECK(rawQueryValue(client, "SHOW application_name") == "C:\\app\\it's");
  CHECK(rawQueryValue(client, "SHOW standard_conforming_strings") == "on");
  CHECK(queryValue(old_style.get(), "SHOW standard_conforming_strings") == "off");
}

TEST_CASE("a value the server spells its own way is set once, not before every transaction",
          "[params]") {
  // pgjdbc logs in with DateStyle=ISO; the server says "ISO, MDY".
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"),
                        "auth_type = trust\nverbose = 1\n", "", true});
  RawClient client(pooler.port());
  client.logIn({{"DateStyle", "ISO"}, {"TimeZone", "utc"}});
  for (int round = 0; round < 5; ++round)
    CHECK(rawQueryValue(client, "SHOW DateStyle") == "ISO, MDY");
  CHECK(rawQueryValue(client, "SHOW TimeZone") == "UTC");
  // The pooler's debug log shows each setup of a link for a client.
  std::string log = pooler.log();
  size_t setups = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);)
    if (contains(line, "setting up S-") && contains(line, "DateStyle")) ++setups;
  INFO(log);
  CHECK(setups == 1);
}

TEST_CASE("RECONNECT welcomes new clients with what the server now says", "[params]") {
  ensureRole("params_tz", "params-secret");
  superuserQuery("ALTER ROLE params_tz RESET TimeZone");
  PoolerProcess pooler(
      {sandboxDatabase("pool_mode=transaction"), "admin_users = admin\n",
       defaultUserlist() + "\"params_tz\" \"params-secret\"\n\"admin\" \"admin-secret\"\n", true});
  Conn before = connect(pooler.conninfo("params_tz", "params-secret"));
  REQUIRE(PQstatus(before.get()) == CONNECTION_OK);
  REQUIRE(queryValue(before.get(), "SHOW TimeZone") != "Asia/Kolkata");
  // The database's (or role's) default changes, as after ALTER DATABASE ... SET or a failover.
  superuserQuery("ALTER ROLE params_tz SET TimeZone = 'Asia/Kolkata'");
  Conn admin = connect(pooler.conninfo("admin", "admin-secret", "pgbouncer"));
  REQUIRE(PQstatus(admin.get()) == CONNECTION_OK);
  REQUIRE(PQresultStatus(exec(admin.get(), "RECONNECT").get()) == PGRES_COMMAND_OK);
  Conn after = connect(pooler.conninfo("params_tz", "params-secret"));
  INFO(PQerrorMessage(after.get()) << pooler.log());
  REQUIRE(PQstatus(after.get()) == CONNECTION_OK);
  CHECK(std::string(PQparameterStatus(after.get(), "TimeZone")) == "Asia/Kolkata");
  for (int round = 0; round < 2; ++round)
    CHECK(queryValue(after.get(), "SHOW TimeZone") == "Asia/Kolkata");
  superuserQuery("ALTER ROLE params_tz RESET TimeZone");
}

TEST_CASE("a startup value the server refuses fails with the server's SQLSTATE, link kept",
          "[params]") {
  for (const char* mode : {"transaction", "session"}) {
    INFO(mode << " pooling");
    PoolerProcess pooler({sandboxDatabase(std::string("pool_size=1 pool_mode=") + mode),
                          "auth_type = trust\n", "", true});
    std::string pid;
    {
      Conn first = connectOk(pooler);
      pid = queryValue(first.get(), "SELECT pg_backend_pid()");
    }
    RawClient client(pooler.port());
    client.logIn({{"TimeZone", "Mars/Olympus"}});  // welcomed from the pool's parameters
    // In session pooling the link's reset query runs as soon as the link is back.
    std::string error = rawQuery(client, "SELECT 1").error;
    INFO(pooler.log());
    CHECK(error.find("C22023") != std::string::npos);
    CHECK(error.find("Mars/Olympus") != std::string::npos);
    Conn after = connectOk(pooler);
    CHECK(queryValue(after.get(), "SELECT pg_backend_pid()") == pid);
  }
}

TEST_CASE("DateStyle=ISO at startup gives the server's day order, whatever the link had",
          "[params]") {
  PoolerProcess pooler(
      {sandboxDatabase("pool_size=1 pool_mode=transaction"), "auth_type = trust\n", "", true});
  Conn other = connectOk(pooler);
  std::string server_default = PQparameterStatus(other.get(), "DateStyle");
  REQUIRE(server_default.rfind("ISO, ", 0) == 0);
  REQUIRE(PQresultStatus(exec(other.get(), "SET DateStyle = 'SQL, DMY'").get()) ==
          PGRES_COMMAND_OK);
  RawClient client(pooler.port());
  client.logIn({{"DateStyle", "ISO"}});  // as pgjdbc logs in
  for (int round = 0; round < 2; ++round) {
    CHECK(rawQueryValue(client, "SHOW DateStyle") == server_default);
    CHECK(queryValue(other.get(), "SHOW DateStyle") == "SQL, DMY");
  }
}

TEST_CASE("options=-c sets tracked parameters, as PgBouncer reads it", "[params]") {
  SECTION("a tracked setting follows its client from link to link") {
    PoolerProcess pooler(
        {sandboxDatabase("pool_size=1 pool_mode=transaction"), "auth_type = trust\n", "", true});
    Conn tokyo = connect(pooler.conninfo() + " options='-c TimeZone=Asia/Tokyo'");
    INFO(PQerrorMessage(tokyo.get()) << pooler.log());
    REQUIRE(PQstatus(tokyo.get()) == CONNECTION_OK);
    Conn other = connectOk(pooler);
    for (int round = 0; round < 2; ++round) {
      REQUIRE(PQresultStatus(exec(other.get(), "SET TimeZone = 'Europe/Paris'").get()) ==
              PGRES_COMMAND_OK);
      CHECK(queryValue(tokyo.get(), "SHOW TimeZone") == "Asia/Tokyo");
      CHECK(queryValue(other.get(), "SHOW TimeZone") == "Europe/Paris");
    }
  }
  SECTION("an untracked setting is refused unless ignore_startup_parameters names it") {
    PoolerProcess refusing({"", "auth_type = trust\n", "", true});
    Conn refused = connect(refusing.conninfo() + " options='-c work_mem=1MB'");
    CHECK(PQstatus(refused.get()) == CONNECTION_BAD);
    CHECK(contains(PQerrorMessage(refused.get()),
                   "unsupported startup parameter in options: work_mem"));
    Conn other_switch = connect(refusing.conninfo() + " options='-X'");
    CHECK(PQstatus(other_switch.get()) == CONNECTION_BAD);
    CHECK(contains(PQerrorMessage(other_switch.get()), "only '-c config=val' is allowed"));
    PoolerProcess ignoring(
        {"", "auth_type = trust\nignore_startup_parameters = work_mem\n", "", true});
    Conn accepted =
        connect(ignoring.conninfo() + " options='-c work_mem=1MB -c TimeZone=Asia/Tokyo'");
    INFO(PQerrorMessage(accepted.get()));
    REQUIRE(PQstatus(accepted.get()) == CONNECTION_OK);
    CHECK(queryValue(accepted.get(), "SHOW TimeZone") == "Asia/Tokyo");
  }
  SECTION("a parameter the packet names itself wins over options, as in PostgreSQL") {
    PoolerProcess pooler({"", "auth_type = trust\n", "", true});
    RawClient client(pooler.port());
    client.logIn({{"TimeZone", "Europe/Paris"}, {"options", "-c TimeZone=Asia/Tokyo"}});
    CHECK(rawQueryValue(client, "SHOW TimeZone") == "Europe/Paris");
  }
}

TEST_CASE("session pooling: a server_reset_query that resets nothing leaks no setting",
          "[params]") {
  // As PgBouncer: the next client's own values, or the server's it was welcomed with, are set
  // on the link whatever the reset query did.
  PoolerProcess pooler({sandboxDatabase("pool_size=1"),
                        "auth_type = trust\nserver_reset_query = SELECT 1\n", "", true});
  std::string welcomed;
  {
    Conn first = connectOk(pooler);
    welcomed = PQparameterStatus(first.get(), "TimeZone");
    REQUIRE(PQresultStatus(exec(first.get(), "SET TimeZone = 'Asia/Tokyo'").get()) ==
            PGRES_COMMAND_OK);
  }
  REQUIRE(welcomed != "Asia/Tokyo");
  Conn next = connectOk(pooler);
  CHECK(std::string(PQparameterStatus(next.get(), "TimeZone")) == welcomed);
  CHECK(queryValue(next.get(), "SHOW TimeZone") == welcomed);
}
