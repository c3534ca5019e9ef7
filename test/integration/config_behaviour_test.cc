// [databases] and [pgbouncer] settings a user sees the effect of: per-database startup
// parameters, connect_query, server_check_query, client limits, max_packet_size, daemon mode.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
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
  CHECK(std::string(PQerrorMessage(b.get())).find("max_db_client_connections") !=
        std::string::npos);

  PoolerProcess limited({"", "max_user_client_connections = 1\n", "", true});
  Conn d = connect(limited.conninfo());
  Conn e = connect(limited.conninfo());
  CHECK(PQstatus(d.get()) == CONNECTION_OK);
  CHECK(PQstatus(e.get()) == CONNECTION_BAD);
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
