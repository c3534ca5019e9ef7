// [databases] and [pgbouncer] settings a user sees the effect of: per-database startup
// parameters, connect_query, server_check_query, client limits, max_packet_size, daemon mode,
// disable_pqexec, application_name_add_host, unix_socket_group.
#include <catch2/catch.hpp>

#include <grp.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>

#include "fixture.h"
#include "pooler/wire/writer.h"

using namespace itest;
namespace wire = apibouncer::wire;

TEST_CASE("timezone and connect_query from the database entry reach the server", "[config]") {
  PoolerProcess pooler({sandboxDatabase("timezone=Asia/Tokyo connect_query='SELECT set_config(''"
                                        "application_name'', ''from-connect-query'', false)'"),
                        "", "", true});
  Conn conn = connect(pooler.conninfo());
  INFO(PQerrorMessage(conn.get()) << pooler.log());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  CHECK(queryValue(conn.get(), "SHOW TimeZone") == "Asia/Tokyo");
  CHECK(queryValue(conn.get(), "SHOW application_name") == "from-connect-query");
  CHECK(std::string(PQparameterStatus(conn.get(), "TimeZone")) == "Asia/Tokyo");
}

TEST_CASE("a failing connect_query fails the waiting login at once, with its error", "[config]") {
  PoolerProcess pooler(
      {sandboxDatabase("connect_query='SELECT no_such_function()'"), "", "", true});
  auto start = std::chrono::steady_clock::now();
  Conn conn = connect(pooler.conninfo());
  CHECK(PQstatus(conn.get()) == CONNECTION_BAD);
  CHECK(contains(PQerrorMessage(conn.get()), "connect_query failed"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("a link failing server_check_query is replaced before a client gets it", "[config]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1"),
                        "server_check_delay = 0\nserver_check_query = SELECT no_such_function()\n",
                        "", true});
  std::string first_pid;
  {
    Conn conn = connect(pooler.conninfo());
    REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
    first_pid = queryValue(conn.get(), "SELECT pg_backend_pid()");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Conn conn = connect(pooler.conninfo());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  CHECK(queryValue(conn.get(), "SELECT pg_backend_pid()") != first_pid);
  CHECK(pooler.logContains("server check failed"));
}

TEST_CASE("a passing server_check_query keeps the link", "[config]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1"),
                        "server_check_delay = 0\nserver_check_query = SELECT 1\n", "", true});
  std::string first_pid;
  {
    Conn conn = connect(pooler.conninfo());
    first_pid = queryValue(conn.get(), "SELECT pg_backend_pid()");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Conn conn = connect(pooler.conninfo());
  CHECK(queryValue(conn.get(), "SELECT pg_backend_pid()") == first_pid);
}

TEST_CASE("max_db_client_connections and max_user_client_connections", "[config]") {
  PoolerProcess by_db({sandboxDatabase("max_db_client_connections=1"), "", "", true});
  Conn a = connect(by_db.conninfo());
  REQUIRE(PQstatus(a.get()) == CONNECTION_OK);
  Conn b = connect(by_db.conninfo("md5user", "md5-secret"));
  CHECK(PQstatus(b.get()) == CONNECTION_BAD);
  CHECK(contains(PQerrorMessage(b.get()),
                 "client connections exceeded (max_db_client_connections)"));  // PgBouncer's

  PoolerProcess limited({"", "max_user_client_connections = 1\n", "", true});
  Conn d = connect(limited.conninfo());
  Conn e = connect(limited.conninfo());
  CHECK(PQstatus(d.get()) == CONNECTION_OK);
  CHECK(PQstatus(e.get()) == CONNECTION_BAD);
  CHECK(contains(PQerrorMessage(e.get()),
                 "client connections exceeded (max_user_client_connections)"));
  Conn f = connect(limited.conninfo("md5user", "md5-secret"));
  CHECK(PQstatus(f.get()) == CONNECTION_OK);
}

TEST_CASE("max_packet_size refuses a bigger packet with a clear error", "[config]") {
  PoolerProcess pooler({"", "max_packet_size = 2000\n", "", true});
  Conn conn = connect(pooler.conninfo());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  CHECK(PQresultStatus(exec(conn.get(), "SELECT '" + std::string(500, 'a') + "'").get()) ==
        PGRES_TUPLES_OK);
  Result big = exec(conn.get(), "SELECT '" + std::string(5000, 'a') + "'");
  CHECK(PQresultStatus(big.get()) == PGRES_FATAL_ERROR);
  CHECK(std::string(PQerrorMessage(conn.get())).find("max_packet_size") != std::string::npos);
  CHECK(pooler.alive());
  Conn again = connect(pooler.conninfo());
  CHECK(PQresultStatus(exec(again.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
}

TEST_CASE("daemon mode (-d) writes a pidfile and stops on SIGTERM", "[config][process]") {
  PoolerProcess config_only({"", "", "", false});  // just for its config directory
  config_only.waitExit(std::chrono::seconds(5));
  std::string dir = config_only.dir();
  int port = freePort();
  std::ofstream(dir + "/daemon.ini")
      << "[databases]\n"
      << defaultDatabases() << "[pgbouncer]\nlisten_addr = 127.0.0.1\n"
      << "listen_port = " << port << "\nunix_socket_dir =\nauth_type = trust\n"
      << "auth_file = " << dir << "/userlist.txt\nlogfile = " << dir << "/daemon.log\n"
      << "pidfile = " << dir << "/daemon.pid\n";
  std::string binary = poolerBinary();
  REQUIRE(std::system((binary + " -d " + dir + "/daemon.ini").c_str()) == 0);
  std::string pid_text;
  for (int i = 0; i < 100 && pid_text.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream(dir + "/daemon.pid") >> pid_text;
  }
  REQUIRE_FALSE(pid_text.empty());
  pid_t pid = std::stoi(pid_text);
  Conn conn = connect("host=127.0.0.1 port=" + std::to_string(port) + " dbname=app user=app");
  CHECK(PQstatus(conn.get()) == CONNECTION_OK);
  conn.reset();
  REQUIRE(::kill(pid, SIGTERM) == 0);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gone = ::kill(pid, 0) != 0;
  }
  CHECK(gone);
  struct stat st;
  CHECK(stat((dir + "/daemon.pid").c_str(), &st) != 0);  // removed at exit
}

TEST_CASE("disable_pqexec refuses simple queries and keeps the extended protocol", "[config]") {
  PoolerProcess pooler(configWith("disable_pqexec = 1\nadmin_users = admin\n",
                                  defaultUserlist() + "\"admin\" \"admin-secret\"\n"));
  // The console only speaks the simple protocol (psql -c): it is exempt.
  Conn console = connect(pooler.conninfo("admin", "admin-secret", "pgbouncer"));
  REQUIRE(PQstatus(console.get()) == CONNECTION_OK);
  CHECK(PQresultStatus(exec(console.get(), "SHOW VERSION").get()) == PGRES_TUPLES_OK);
  Conn conn = connectOk(pooler);
  const char* values[] = {"5"};
  Result extended(
      PQexecParams(conn.get(), "SELECT $1::int + 1", 1, nullptr, values, nullptr, nullptr, 0),
      &PQclear);
  REQUIRE(PQresultStatus(extended.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(extended.get(), 0, 0)) == "6");

  Result simple = exec(conn.get(), "SELECT 1; SELECT 2");
  CHECK(PQresultStatus(simple.get()) == PGRES_FATAL_ERROR);
  // libpq reports the FATAL error, then the closed connection that follows it.
  CHECK(contains(PQerrorMessage(conn.get()), "FATAL:  PQexec disallowed"));
  CHECK(pooler.logContains("client used a simple Query (disable_pqexec)"));
  PQconsumeInput(conn.get());
  CHECK(PQstatus(conn.get()) == CONNECTION_BAD);
}

TEST_CASE("application_name_add_host appends the client's address for the server", "[config]") {
  PoolerProcess pooler(configWith("application_name_add_host = 1\n"));
  Conn named = connect(pooler.conninfo() + " application_name=billing");
  REQUIRE(PQstatus(named.get()) == CONNECTION_OK);
  // What PostgreSQL itself holds (pg_stat_activity shows the same).
  std::string seen = queryValue(named.get(), "SELECT current_setting('application_name')");
  CHECK(seen.starts_with("billing - 127.0.0.1:"));
  CHECK(seen.size() > std::string("billing - 127.0.0.1:").size());

  Conn unnamed = connectOk(pooler);
  CHECK(queryValue(unnamed.get(), "SELECT current_setting('application_name')")
            .starts_with("app - 127.0.0.1:"));
}

TEST_CASE("unix_socket_group gives the socket file to that group; an unknown one stops the start",
          "[config]") {
  const group* nogroup = getgrnam("nogroup");
  REQUIRE(nogroup != nullptr);  // Debian always has it
  PoolerProcess pooler(configWith("unix_socket_group = nogroup\n"));
  struct stat info {};
  REQUIRE(stat(pooler.unixSocketPath().c_str(), &info) == 0);
  CHECK(info.st_gid == nogroup->gr_gid);

  PoolerProcess broken(configWith("unix_socket_group = no-such-group-here\n", {}, {}, false));
  auto status = broken.waitExit(std::chrono::seconds(10));
  REQUIRE(status.has_value());
  CHECK(*status != 0);
  CHECK(contains(broken.stderrText() + broken.log(), "unix_socket_group: no such group"));
}

TEST_CASE("autodb_idle_timeout frees pools the \"*\" entry made once unused", "[config]") {
  std::string autodb = "* = host=127.0.0.1 port=" + std::to_string(Sandbox::get().port) + "\n";
  PoolerProcess pooler(
      configWith("autodb_idle_timeout = 1\nserver_idle_timeout = 1\nadmin_users = admin\n",
                 defaultUserlist() + "\"admin\" \"admin-secret\"\n", autodb));
  Conn console = connect(pooler.conninfo("admin", "admin-secret", "pgbouncer"));
  REQUIRE(PQstatus(console.get()) == CONNECTION_OK);
  auto listsApp = [&] {
    Result r = exec(console.get(), "SHOW DATABASES");
    for (int row = 0; row < PQntuples(r.get()); ++row)
      if (std::string(PQgetvalue(r.get(), row, 0)) == "app") return true;
    return false;
  };
  CHECK_FALSE(listsApp());
  {
    Conn client = connectOk(pooler);
    CHECK(queryValue(client.get(), "SELECT current_database()") == "app");
    CHECK(listsApp());
    // In use (a client, then its idle link): the pool stays past the timeout.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    CHECK(listsApp());
  }
  // The idle link closes after server_idle_timeout, the pool a second later.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (listsApp() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(listsApp());
  CHECK(pooler.logContains("autodb: freeing pool app/app"));
  // The "*" entry makes it again on the next login.
  Conn again = connectOk(pooler);
  CHECK(queryValue(again.get(), "SELECT 1") == "1");
  CHECK(listsApp());
}

TEST_CASE("server host names are cached: SHOW DNS_HOSTS, dns_max_ttl, dns_nxdomain_ttl",
          "[config]") {
  std::string port = std::to_string(Sandbox::get().port);
  PoolerProcess pooler(configWith(
      "dns_max_ttl = 2\ndns_nxdomain_ttl = 30\nserver_login_retry = 0\nadmin_users = admin\n",
      defaultUserlist() + "\"admin\" \"admin-secret\"\n",
      "app = host=localhost port=" + port +
          " dbname=app\nnowhere = host=no-such-host.invalid port=" + port + " dbname=app\n"));
  Conn console = connect(pooler.conninfo("admin", "admin-secret", "pgbouncer"));
  REQUIRE(PQstatus(console.get()) == CONNECTION_OK);
  auto dnsRow = [&](const std::string& name) -> std::optional<std::pair<int, std::string>> {
    Result r = exec(console.get(), "SHOW DNS_HOSTS");
    REQUIRE(PQnfields(r.get()) == 3);
    for (int row = 0; row < PQntuples(r.get()); ++row)
      if (PQgetvalue(r.get(), row, 0) == name)
        return std::make_pair(std::stoi(PQgetvalue(r.get(), row, 1)),
                              std::string(PQgetvalue(r.get(), row, 2)));
    return std::nullopt;
  };
  CHECK_FALSE(dnsRow("localhost"));

  std::string error;
  bool served = runsQuery(pooler.conninfo(), error);
  auto localhost = dnsRow("localhost");
  REQUIRE(localhost);
  CHECK(localhost->first >= 1);
  CHECK(localhost->first <= 2);
  // The sandbox listens on 127.0.0.1; a resolver that puts ::1 first cannot reach it.
  if (localhost->second.starts_with("127.0.0.1")) CHECK(served);

  CHECK_FALSE(runsQuery(pooler.conninfo("app", "app-secret", "nowhere"), error));
  CHECK(contains(error, "could not resolve no-such-host.invalid"));
  auto nowhere = dnsRow("no-such-host.invalid");
  REQUIRE(nowhere);
  // The cached failure answers the next login at once, the same way.
  error.clear();
  CHECK_FALSE(runsQuery(pooler.conninfo("app", "app-secret", "nowhere"), error));
  CHECK(contains(error, "could not resolve no-such-host.invalid"));
  CHECK(pooler.alive());
  CHECK(nowhere->first > 2);
  CHECK(nowhere->second.empty());

  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK_FALSE(dnsRow("localhost"));  // dns_max_ttl passed
  CHECK(dnsRow("no-such-host.invalid"));
}
