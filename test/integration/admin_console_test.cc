// The admin console (virtual database "pgbouncer"): every SHOW with PgBouncer 1.25's exact
// columns, values that follow the pooler's real state, who may do what, and the control
// commands (PAUSE/RESUME, SUSPEND, RELOAD, SET, KILL_CLIENT, SIGUSR1/SIGUSR2).
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakeapi_fixture.h"
#include "fixture.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

using namespace itest;

namespace {

constexpr const char* kAdminUsers = "\"admin\" \"admin-secret\"\n\"stats\" \"stats-secret\"\n";
constexpr const char* kAdminSettings = "admin_users = admin\nstats_users = stats\n";

PoolerConfig adminConfig(const std::string& extra_settings = "") {
  return {"", kAdminSettings + extra_settings, defaultUserlist() + kAdminUsers, true};
}

Conn consoleAs(const PoolerProcess& pooler, const std::string& user, const std::string& password) {
  return connect(pooler.conninfo(user, password, "pgbouncer"));
}

Conn adminConsole(const PoolerProcess& pooler) {
  Conn conn = consoleAs(pooler, "admin", "admin-secret");
  INFO(PQerrorMessage(conn.get()) << pooler.log());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  return conn;
}

std::vector<std::string> columnsOf(const PGresult* result) {
  std::vector<std::string> names;
  for (int i = 0; i < PQnfields(result); ++i) names.push_back(PQfname(result, i));
  return names;
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// The rows of `sql` as column -> value maps.
std::vector<std::map<std::string, std::string>> rowsOf(PGconn* conn, const std::string& sql) {
  Result r = exec(conn, sql);
  INFO(sql << ": " << PQresultErrorMessage(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  std::vector<std::map<std::string, std::string>> rows;
  for (int row = 0; row < PQntuples(r.get()); ++row) {
    std::map<std::string, std::string> values;
    for (int col = 0; col < PQnfields(r.get()); ++col)
      values[PQfname(r.get(), col)] = PQgetvalue(r.get(), row, col);
    rows.push_back(std::move(values));
  }
  return rows;
}

// The first row of `sql` whose `key` column equals `value` (the test fails if there is none).
std::map<std::string, std::string> rowWhere(PGconn* conn, const std::string& sql,
                                            const std::string& key, const std::string& value) {
  for (auto& row : rowsOf(conn, sql))
    if (row[key] == value) return row;
  FAIL("no row with " << key << " = " << value << " in " << sql);
  return {};
}

std::string commandError(PGconn* conn, const std::string& sql) {
  Result r = exec(conn, sql);
  if (PQresultStatus(r.get()) != PGRES_FATAL_ERROR) return "";
  return errorField(r.get(), PG_DIAG_SQLSTATE) + " " + errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY);
}

bool commandOk(PGconn* conn, const std::string& sql, const std::string& tag) {
  Result r = exec(conn, sql);
  INFO(sql << ": " << PQresultErrorMessage(r.get()));
  return PQresultStatus(r.get()) == PGRES_COMMAND_OK && std::string(PQcmdStatus(r.get())) == tag;
}

// A query sent while the pooler held it back (PAUSE, SUSPEND) now gets its one-row answer.
void expectHeldAnswer(const PoolerProcess& pooler, PGconn* client, const std::string& value) {
  Result r(PQgetResult(client), &PQclear);
  INFO(pooler.log());
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == value);
  while (PGresult* rest = PQgetResult(client)) PQclear(rest);
}

template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

}  // namespace

TEST_CASE("admin console: every SHOW has PgBouncer 1.25's columns in order", "[admin]") {
  PoolerProcess pooler(adminConfig());
  Conn client = connectOk(pooler);
  queryValue(client.get(), "SELECT 1");  // a pool, a server link and stats exist
  Conn admin = adminConsole(pooler);
  const std::string socket_columns =
      "type user database replication state addr port local_addr local_port connect_time "
      "request_time wait wait_us close_needed ptr link remote_pid tls application_name "
      "prepared_statements id";
  const std::string debug_columns =
      socket_columns + " recv_pos pkt_pos pkt_remain send_pos send_remain pkt_avail send_avail";
  // From /work/shared/pgbouncer-compat.md "SHOW column names" (and src/admin.c for the rest).
  const std::map<std::string, std::string> expected = {
      {"POOLS",
       "database user cl_active cl_waiting cl_active_cancel_req cl_waiting_cancel_req sv_active "
       "sv_active_cancel sv_being_canceled sv_idle sv_used sv_tested sv_login maxwait "
       "maxwait_us pool_mode load_balance_hosts"},
      {"STATS",
       "database total_xact_count total_query_count total_server_assignment_count "
       "total_received total_sent total_xact_time total_query_time total_wait_time "
       "total_client_parse_count total_server_parse_count total_bind_count avg_xact_count "
       "avg_query_count avg_server_assignment_count avg_recv avg_sent avg_xact_time "
       "avg_query_time avg_wait_time avg_client_parse_count avg_server_parse_count "
       "avg_bind_count"},
      {"CLIENTS", socket_columns},
      {"SERVERS", socket_columns},
      {"SOCKETS", debug_columns},
      {"ACTIVE_SOCKETS", debug_columns},
      {"DATABASES",
       "name host port database force_user pool_size min_pool_size reserve_pool_size "
       "server_lifetime pool_mode load_balance_hosts max_connections current_connections "
       "max_client_connections current_client_connections paused disabled"},
      {"USERS",
       "name pool_size reserve_pool_size pool_mode max_user_connections current_connections "
       "max_user_client_connections current_client_connections"},
      {"CONFIG", "key value default changeable"},
      {"LISTS", "list items"},
      {"VERSION", "version"},
      {"STATE", "key value"},
      {"MEM", "name size used free memtotal"},
      {"FDS",
       "fd task user database addr port cancel link client_encoding std_strings datestyle "
       "timezone password scram_client_key scram_server_key"},
      {"DNS_HOSTS", "hostname ttl addrs"},
      {"DNS_ZONES", "zonename serial count"},
      {"PEERS", "peer_id host port pool_size"},
      {"PEER_POOLS",
       "peer_id cl_active_cancel_req cl_waiting_cancel_req sv_active_cancel sv_login"},
      {"STATS_TOTALS",
       "database xact_count query_count server_assignment_count bytes_received bytes_sent "
       "xact_time query_time wait_time client_parse_count server_parse_count bind_count"},
      {"STATS_AVERAGES",
       "database xact_count query_count server_assignment_count bytes_received bytes_sent "
       "xact_time query_time wait_time client_parse_count server_parse_count bind_count"},
      {"TOTALS", "name value"},
      {"APIS",
       "name platform oauth requests failed retries rate_limited throttled_ms errors_refused "
       "errors_auth errors_throttled errors_upstream errors_transport token_refreshes avg_ms "
       "p50_ms p99_ms last_status in_flight token_state"},
      {"SYNCED_TABLES",
       "table database api object max_insert max_update max_delete writes_ok writes_refused "
       "writes_partial writes_lost"},
  };
  for (const auto& [what, columns] : expected) {
    Result r = exec(admin.get(), "SHOW " + what);
    INFO("SHOW " << what << ": " << PQresultErrorMessage(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
    CHECK(std::string(PQcmdStatus(r.get())) == "SHOW");
    CHECK(columnsOf(r.get()) == words(columns));
  }
  // Types as PgBouncer sends them: counters in SHOW POOLS are int4, SHOW STATS int8, names text.
  Result pools = exec(admin.get(), "SHOW POOLS");
  CHECK(PQftype(pools.get(), 0) == 25);
  CHECK(PQftype(pools.get(), 2) == 23);
  Result stats = exec(admin.get(), "SHOW STATS");
  CHECK(PQftype(stats.get(), 1) == 20);
  // SELECT x is SHOW x.
  CHECK(columnsOf(exec(admin.get(), "SELECT VERSION").get()) == words("version"));
  // Fixed answers PgBouncer fakes for drivers.
  CHECK(queryValue(admin.get(), "SHOW client_encoding") == "UTF-8");
}

TEST_CASE("admin console: psql -c 'SHOW VERSION' and SHOW HELP", "[admin]") {
  PoolerProcess pooler(adminConfig());
  int status = -1;
  std::string out =
      runCommand("PGPASSWORD=admin-secret /usr/bin/psql -X -A -t \"" +
                     pooler.conninfo("admin", "admin-secret", "pgbouncer") + "\" -c 'SHOW VERSION'",
                 status);
  INFO(out << pooler.log());
  CHECK(status == 0);
  CHECK(out.find("PgBouncer 1.25") != std::string::npos);
  out = runCommand("PGPASSWORD=admin-secret /usr/bin/psql -X \"" +
                       pooler.conninfo("admin", "admin-secret", "pgbouncer") + "\" -c 'SHOW HELP'",
                   status);
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("Console usage") != std::string::npos);
  CHECK(out.find("SHOW HELP|CONFIG|DATABASES") != std::string::npos);
}

TEST_CASE("admin console: clients, servers and pools reflect real connections", "[admin]") {
  PoolerProcess pooler(adminConfig());
  Conn client = connectOk(pooler);
  std::string backend_pid = queryValue(client.get(), "SELECT pg_backend_pid()");
  Conn admin = adminConsole(pooler);

  auto client_row = rowWhere(admin.get(), "SHOW CLIENTS", "database", "app");
  CHECK(client_row["type"] == "C");
  CHECK(client_row["user"] == "app");
  CHECK(client_row["addr"] == "127.0.0.1");
  CHECK(client_row["local_port"] == std::to_string(pooler.port()));
  auto console_row = rowWhere(admin.get(), "SHOW CLIENTS", "database", "pgbouncer");
  CHECK(console_row["user"] == "admin");

  // A transaction left open keeps the link: active on both sides.
  REQUIRE(PQresultStatus(exec(client.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  queryValue(client.get(), "SELECT 1");
  auto pool = rowWhere(admin.get(), "SHOW POOLS", "database", "app");
  CHECK(pool["user"] == "app");
  CHECK(pool["cl_active"] == "1");
  CHECK(pool["cl_waiting"] == "0");
  CHECK(pool["sv_active"] == "1");
  CHECK(pool["pool_mode"] == "session");
  auto server = rowWhere(admin.get(), "SHOW SERVERS", "database", "app");
  CHECK(server["type"] == "S");
  CHECK(server["state"] == "active");
  CHECK(server["remote_pid"] == backend_pid);
  CHECK(server["port"] == std::to_string(Sandbox::get().port));
  auto active = rowWhere(admin.get(), "SHOW CLIENTS", "database", "app");
  CHECK(active["state"] == "active");
  CHECK(active["link"] == server["ptr"]);

  auto database = rowWhere(admin.get(), "SHOW DATABASES", "name", "app");
  CHECK(database["current_connections"] == "1");
  CHECK(database["current_client_connections"] == "1");
  CHECK(database["pool_size"] == "20");
  auto user = rowWhere(admin.get(), "SHOW USERS", "name", "app");
  CHECK(user["current_connections"] == "1");
  CHECK(rowWhere(admin.get(), "SHOW LISTS", "list", "used_servers")["items"] == "1");

  client.reset();
  CHECK(eventually([&] {
    for (auto& row : rowsOf(admin.get(), "SHOW CLIENTS"))
      if (row["database"] == "app") return false;
    return true;
  }));
}

TEST_CASE("admin console: SHOW STATS counts queries, transactions and bytes", "[admin]") {
  PoolerProcess pooler(adminConfig());
  Conn client = connectOk(pooler);
  constexpr int kQueries = 7;
  for (int i = 0; i < kQueries; ++i) queryValue(client.get(), "SELECT " + std::to_string(i));
  REQUIRE(PQresultStatus(exec(client.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  queryValue(client.get(), "SELECT 1");
  REQUIRE(PQresultStatus(exec(client.get(), "COMMIT").get()) == PGRES_COMMAND_OK);
  Conn admin = adminConsole(pooler);
  auto stats = rowWhere(admin.get(), "SHOW STATS", "database", "app");
  // 7 autocommit queries + BEGIN, SELECT, COMMIT; 7 + 1 transactions.
  CHECK(std::stoll(stats["total_query_count"]) == kQueries + 3);
  CHECK(std::stoll(stats["total_xact_count"]) == kQueries + 1);
  CHECK(std::stoll(stats["total_server_assignment_count"]) >= 1);
  CHECK(std::stoll(stats["total_received"]) > 0);
  CHECK(std::stoll(stats["total_sent"]) > 0);
  auto totals = rowWhere(admin.get(), "SHOW STATS_TOTALS", "database", "app");
  CHECK(totals["query_count"] == stats["total_query_count"]);
  auto summed = rowWhere(admin.get(), "SHOW TOTALS", "name", "total_query_count");
  CHECK(summed["value"] == stats["total_query_count"]);
}

TEST_CASE("admin console: averages cover the last stats_period", "[admin]") {
  PoolerProcess pooler(adminConfig("stats_period = 1\n"));
  Conn client = connectOk(pooler);
  Conn admin = adminConsole(pooler);
  // Queries keep coming until a full period with traffic has been averaged.
  CHECK(eventually([&] {
    for (int i = 0; i < 20; ++i) queryValue(client.get(), "SELECT 1");
    auto avg = rowWhere(admin.get(), "SHOW STATS_AVERAGES", "database", "app");
    return std::stoll(avg["query_count"]) > 0 && std::stoll(avg["bytes_received"]) > 0;
  }));
}

TEST_CASE("admin console: who may log in and what they may do", "[admin]") {
  PoolerProcess pooler(adminConfig());
  // A user in neither list is refused even with the right password.
  Conn app = consoleAs(pooler, "app", "app-secret");
  CHECK(PQstatus(app.get()) == CONNECTION_BAD);
  CHECK(std::string(PQerrorMessage(app.get())).find("not allowed") != std::string::npos);
  // A wrong password is refused as anywhere else.
  Conn wrong = consoleAs(pooler, "admin", "nope");
  CHECK(PQstatus(wrong.get()) == CONNECTION_BAD);

  // stats_users: SHOW yes (not FDS), anything else no.
  Conn stats = consoleAs(pooler, "stats", "stats-secret");
  REQUIRE(PQstatus(stats.get()) == CONNECTION_OK);
  CHECK(rowsOf(stats.get(), "SHOW POOLS").size() >= 1);
  CHECK(commandError(stats.get(), "PAUSE") == "08P01 admin access needed");
  CHECK(commandError(stats.get(), "RELOAD") == "08P01 admin access needed");
  CHECK(commandError(stats.get(), "SET default_pool_size = 3") == "08P01 admin access needed");
  CHECK(commandError(stats.get(), "SHOW FDS") == "08P01 admin access needed");
  CHECK(rowWhere(stats.get(), "SHOW STATE", "key", "paused")["value"] == "no");

  // Unknown commands: PgBouncer's error, and the session goes on.
  Conn admin = adminConsole(pooler);
  CHECK(commandError(admin.get(), "SHOW nothing") ==
        "08P01 invalid command 'SHOW nothing', use SHOW HELP;");
  CHECK(commandError(admin.get(), "DROP TABLE x") ==
        "08P01 invalid command 'DROP TABLE x', use SHOW HELP;");
  CHECK(rowsOf(admin.get(), "SHOW VERSION").size() == 1);
  // Only the simple query protocol.
  Result extended =
      Result(PQexecParams(admin.get(), "SHOW VERSION", 0, nullptr, nullptr, nullptr, nullptr, 0),
             &PQclear);
  CHECK(PQresultStatus(extended.get()) != PGRES_TUPLES_OK);
}

TEST_CASE("admin console: user pgbouncer over the Unix socket needs no password", "[admin]") {
  PoolerProcess pooler(adminConfig());
  REQUIRE(access(pooler.unixSocketPath().c_str(), F_OK) == 0);  // the fixture waited for it
  Conn own = connect("host=" + pooler.dir() + " port=" + std::to_string(pooler.port()) +
                     " dbname=pgbouncer user=pgbouncer connect_timeout=10");
  INFO(PQerrorMessage(own.get()) << pooler.log());
  REQUIRE(PQstatus(own.get()) == CONNECTION_OK);
  CHECK(commandOk(own.get(), "RECONNECT", "RECONNECT"));
  // Over TCP the same user is an ordinary login (not in auth_file: refused).
  Conn tcp = consoleAs(pooler, "pgbouncer", "");
  CHECK(PQstatus(tcp.get()) == CONNECTION_BAD);
}

TEST_CASE("admin console: PAUSE holds a client's query until RESUME", "[admin]") {
  // Transaction pooling: the client holds no link between transactions, so PAUSE completes.
  PoolerProcess pooler(adminConfig("pool_mode = transaction\n"));
  Conn client = connectOk(pooler);
  queryValue(client.get(), "SELECT 1");
  Conn admin = adminConsole(pooler);
  REQUIRE(commandOk(admin.get(), "PAUSE", "PAUSE"));
  CHECK(rowWhere(admin.get(), "SHOW STATE", "key", "paused")["value"] == "yes");
  CHECK(commandError(admin.get(), "PAUSE") == "08P01 already suspended/paused");
  // PAUSE closed the idle link.
  CHECK(rowWhere(admin.get(), "SHOW POOLS", "database", "app")["sv_idle"] == "0");

  REQUIRE(PQsendQuery(client.get(), "SELECT 42") == 1);
  CHECK(eventually(
      [&] { return rowWhere(admin.get(), "SHOW POOLS", "database", "app")["cl_waiting"] == "1"; }));
  PQconsumeInput(client.get());
  CHECK(PQisBusy(client.get()) == 1);

  REQUIRE(commandOk(admin.get(), "RESUME", "RESUME"));
  expectHeldAnswer(pooler, client.get(), "42");
  CHECK(commandError(admin.get(), "RESUME") == "08P01 pooler is not paused/suspended");
}

TEST_CASE("admin console: a client that logged in during PAUSE and reset is let go on RESUME",
          "[admin]") {
  PoolerProcess pooler(adminConfig("auth_type = trust\n"));
  Conn admin = adminConsole(pooler);
  REQUIRE(commandOk(admin.get(), "PAUSE", "PAUSE"));
  // The pool has never logged in, so this client waits for a link before its welcome. It
  // sends more than the pooler keeps for a waiting client (1 MB), so it is no longer read and
  // its reset shows only when the welcome fails to send, once RESUME opens a link.
  RawClient gone(pooler.port());
  gone.sendBytes(apibouncer::wire::startupMessage(apibouncer::wire::kProtocolV3,
                                                  {{"user", "app"}, {"database", "app"}}));
  char type = 0;
  std::string body;
  REQUIRE(gone.readMessage(type, body));
  REQUIRE(type == 'R');  // AuthenticationOk; ReadyForQuery waits for a link
  REQUIRE(gone.sendBytes(apibouncer::wire::query("SELECT '" + std::string(1100000, 'x') + "'")));
  CHECK(eventually(
      [&] { return rowWhere(admin.get(), "SHOW POOLS", "database", "app")["cl_waiting"] == "1"; }));
  gone.reset();
  REQUIRE(commandOk(admin.get(), "RESUME", "RESUME"));
  CHECK(eventually(
      [&] { return rowWhere(admin.get(), "SHOW POOLS", "database", "app")["cl_waiting"] == "0"; }));
  Conn after = connectOk(pooler);
  CHECK(queryValue(after.get(), "SELECT 'still up'") == "still up");
  CHECK(rowWhere(admin.get(), "SHOW POOLS", "database", "app")["cl_active"] == "1");
}

TEST_CASE("admin console: PAUSE waits for a running transaction to end", "[admin]") {
  PoolerProcess pooler(adminConfig());
  Conn client = connectOk(pooler);
  REQUIRE(PQresultStatus(exec(client.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  Conn admin = adminConsole(pooler);
  REQUIRE(PQsendQuery(admin.get(), "PAUSE app") == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  PQconsumeInput(admin.get());
  CHECK(PQisBusy(admin.get()) == 1);  // the session-mode client still holds its link
  client.reset();                     // leaving releases it
  Result r(PQgetResult(admin.get()), &PQclear);
  CHECK(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
  CHECK(std::string(PQcmdStatus(r.get())) == "PAUSE");
  while (PGresult* rest = PQgetResult(admin.get())) PQclear(rest);
  CHECK(rowWhere(admin.get(), "SHOW DATABASES", "name", "app")["paused"] == "1");
  CHECK(commandOk(admin.get(), "RESUME app", "RESUME"));
  Conn again = connectOk(pooler);
  CHECK(queryValue(again.get(), "SELECT 7") == "7");
}

TEST_CASE("admin console: SUSPEND freezes clients and new logins until RESUME", "[admin]") {
  // Transaction pooling, so that PAUSE app below does not wait for the client's link.
  PoolerProcess pooler(adminConfig("pool_mode = transaction\n"));
  Conn client = connectOk(pooler);
  CHECK(queryValue(client.get(), "SELECT 1") == "1");
  Conn admin = adminConsole(pooler);

  REQUIRE(commandOk(admin.get(), "PAUSE app", "PAUSE"));
  CHECK(commandError(admin.get(), "SUSPEND") == "08P01 cannot suspend with paused databases");
  REQUIRE(commandOk(admin.get(), "RESUME app", "RESUME"));

  REQUIRE(commandOk(admin.get(), "SUSPEND", "SUSPEND"));
  CHECK(rowWhere(admin.get(), "SHOW STATE", "key", "suspended")["value"] == "yes");
  CHECK(rowWhere(admin.get(), "SHOW STATE", "key", "active")["value"] == "no");
  CHECK(commandError(admin.get(), "SUSPEND") == "08P01 already suspended/paused");
  CHECK(commandError(admin.get(), "PAUSE") == "08P01 already suspended/paused");

  // The linked client's query is not read, and a new login is not accepted.
  REQUIRE(PQsendQuery(client.get(), "SELECT 42") == 1);
  auto late = std::async(std::launch::async, [&pooler] {
    Conn conn = connect(pooler.conninfo());
    if (PQstatus(conn.get()) != CONNECTION_OK) return std::string(PQerrorMessage(conn.get()));
    return queryValueInThread(conn.get(), "SELECT 7");
  });
  CHECK(late.wait_for(std::chrono::milliseconds(800)) == std::future_status::timeout);
  PQconsumeInput(client.get());
  CHECK(PQisBusy(client.get()) == 1);
  // The console itself keeps working while suspended.
  CHECK(rowWhere(admin.get(), "SHOW POOLS", "database", "app")["cl_active"] == "1");

  REQUIRE(commandOk(admin.get(), "RESUME", "RESUME"));
  expectHeldAnswer(pooler, client.get(), "42");
  REQUIRE(late.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(late.get() == "7");
  CHECK(rowWhere(admin.get(), "SHOW STATE", "key", "suspended")["value"] == "no");
  CHECK(commandError(admin.get(), "RESUME") == "08P01 pooler is not paused/suspended");
}

TEST_CASE("admin console: SUSPEND drops a client that does not read within suspend_timeout",
          "[admin]") {
  PoolerProcess pooler(adminConfig("suspend_timeout = 1\n"));
  Conn stuck = connectOk(pooler);
  // 64 MiB of result that the client never reads: far more than the kernel buffers hold, so
  // the pooler keeps bytes queued toward this client.
  REQUIRE(PQsendQuery(stuck.get(), "SELECT repeat('x', 1048576) FROM generate_series(1, 64)") == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Conn bystander = connectOk(pooler);
  CHECK(queryValue(bystander.get(), "SELECT 1") == "1");
  Conn admin = adminConsole(pooler);

  auto started = std::chrono::steady_clock::now();
  REQUIRE(commandOk(admin.get(), "SUSPEND", "SUSPEND"));
  auto waited = std::chrono::steady_clock::now() - started;
  CHECK(waited >= std::chrono::milliseconds(900));
  CHECK(waited < std::chrono::seconds(5));
  CHECK(contains(pooler.log(), "suspend_timeout"));

  // SIGUSR2 ends a SUSPEND as RESUME does; the client that kept reading carries on.
  pooler.signal(SIGUSR2);
  CHECK(eventually(
      [&] { return rowWhere(admin.get(), "SHOW STATE", "key", "suspended")["value"] == "no"; }));
  CHECK(queryValue(bystander.get(), "SELECT 2") == "2");
  // The dropped client reads what reached its socket, then finds the connection gone.
  bool failed = false;
  while (PGresult* result = PQgetResult(stuck.get())) {
    if (PQresultStatus(result) == PGRES_FATAL_ERROR) failed = true;
    PQclear(result);
  }
  CHECK(failed);
  CHECK(PQstatus(stuck.get()) == CONNECTION_BAD);
}

namespace {

// Rewrites the [databases] entry of `app` with `extra` connection settings and RELOADs.
void reloadWithChangedEntry(const PoolerProcess& pooler, PGconn* admin, const std::string& extra) {
  std::string path = pooler.dir() + "/pooler.ini";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string ini = text.str();
  size_t at = ini.find("dbname=app\n");
  REQUIRE(at != std::string::npos);
  ini.replace(at, std::string("dbname=app\n").size(), "dbname=app " + extra + "\n");
  std::ofstream(path) << ini;
  REQUIRE(commandOk(admin, "RELOAD", "RELOAD"));
}

}  // namespace

TEST_CASE("admin console: RELOAD with a changed database entry replaces idle links only",
          "[admin]") {
  PoolerProcess pooler(adminConfig());
  Conn admin = adminConsole(pooler);
  Conn holder = connectOk(pooler);
  std::string held_pid = queryValue(holder.get(), "SELECT pg_backend_pid()");
  std::string idle_pid;
  {
    Conn first = connectOk(pooler);
    idle_pid = queryValue(first.get(), "SELECT pg_backend_pid()");
  }
  CHECK(held_pid != idle_pid);
  CHECK(eventually(
      [&] { return rowWhere(admin.get(), "SHOW POOLS", "database", "app")["sv_idle"] == "1"; }));
  reloadWithChangedEntry(pooler, admin.get(), "application_name=reloaded");
  // Without server_fast_close a session keeps its link until it ends.
  CHECK(queryValue(holder.get(), "SELECT pg_backend_pid()") == held_pid);
  Conn later = connectOk(pooler);
  std::string new_pid = queryValue(later.get(), "SELECT pg_backend_pid()");
  CHECK(new_pid != idle_pid);
  CHECK(new_pid != held_pid);
}

TEST_CASE("admin console: a RELOAD that removes a database ends its clients, as PgBouncer",
          "[admin]") {
  // A forced user with min_pool_size: the pool would open links by itself.
  ensureRole("gone_role", "gone-secret");
  std::string gone =
      sandboxDatabase("pool_mode=transaction user=gone_role password=gone-secret min_pool_size=2");
  gone.replace(0, 3, "gone");  // "app = host=..." -> "gone = host=..."
  PoolerProcess pooler(
      {defaultDatabases() + gone, kAdminSettings, defaultUserlist() + kAdminUsers, true});
  Conn admin = adminConsole(pooler);
  Conn stays = connectOk(pooler);
  Conn leaving = connect(pooler.conninfo("app", "app-secret", "gone"));
  REQUIRE(PQstatus(leaving.get()) == CONNECTION_OK);
  CHECK(queryValue(leaving.get(), "SELECT 1") == "1");  // then idle between transactions
  {
    std::string path = pooler.dir() + "/pooler.ini";
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::string ini = text.str();
    size_t at = ini.find(gone);
    REQUIRE(at != std::string::npos);
    ini.erase(at, gone.size());
    std::ofstream(path) << ini;
  }
  REQUIRE(commandOk(admin.get(), "RELOAD", "RELOAD"));
  CHECK(PQresultStatus(exec(leaving.get(), "SELECT 1").get()) != PGRES_TUPLES_OK);
  CHECK(contains(PQerrorMessage(leaving.get()), "database removed"));
  CHECK(queryValue(stays.get(), "SELECT 'stays'") == "stays");
  Conn again = connect(pooler.conninfo("app", "app-secret", "gone"));
  CHECK(PQstatus(again.get()) == CONNECTION_BAD);
  CHECK(contains(PQerrorMessage(again.get()), "no such database"));
  // Its links are gone, and the removed pool opens no new ones.
  CHECK(eventually([] { return backendsOf("gone_role") == 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(backendsOf("gone_role") == 0);
}

TEST_CASE("admin console: server_fast_close ends marked sessions between transactions", "[admin]") {
  PoolerProcess pooler(adminConfig("server_fast_close = 1\n"));
  Conn admin = adminConsole(pooler);
  Conn client = connectOk(pooler);
  std::string pid = queryValue(client.get(), "SELECT pg_backend_pid()");
  REQUIRE(PQresultStatus(exec(client.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  REQUIRE(commandOk(admin.get(), "RECONNECT", "RECONNECT"));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  // A transaction is never cut.
  CHECK(queryValue(client.get(), "SELECT pg_backend_pid()") == pid);
  REQUIRE(PQresultStatus(exec(client.get(), "COMMIT").get()) == PGRES_COMMAND_OK);
  CHECK(eventually([&] {
    PQconsumeInput(client.get());
    return PQstatus(client.get()) == CONNECTION_BAD;
  }));
  CHECK(pooler.logContains("server_fast_close"));

  Conn fresh = connectOk(pooler);
  std::string fresh_pid = queryValue(fresh.get(), "SELECT pg_backend_pid()");
  CHECK(fresh_pid != pid);
  // A RELOAD that changes the database entry marks links the same way.
  reloadWithChangedEntry(pooler, admin.get(), "application_name=reloaded");
  CHECK(eventually([&] {
    PQconsumeInput(fresh.get());
    return PQstatus(fresh.get()) == CONNECTION_BAD;
  }));
  Conn third = connectOk(pooler);
  CHECK(queryValue(third.get(), "SELECT pg_backend_pid()") != fresh_pid);
}

TEST_CASE("admin console: SIGUSR1 pauses and SIGUSR2 resumes", "[admin]") {
  PoolerProcess pooler(adminConfig());
  Conn admin = adminConsole(pooler);
  pooler.signal(SIGUSR1);
  CHECK(eventually(
      [&] { return rowWhere(admin.get(), "SHOW STATE", "key", "paused")["value"] == "yes"; }));
  pooler.signal(SIGUSR2);
  CHECK(eventually(
      [&] { return rowWhere(admin.get(), "SHOW STATE", "key", "active")["value"] == "yes"; }));
  Conn client = connectOk(pooler);
  CHECK(queryValue(client.get(), "SELECT 1") == "1");
}

TEST_CASE("admin console: RELOAD picks up a changed default_pool_size; SET changes it live",
          "[admin]") {
  PoolerProcess pooler(adminConfig());
  Conn admin = adminConsole(pooler);
  CHECK(rowWhere(admin.get(), "SHOW CONFIG", "key", "default_pool_size")["value"] == "20");
  {
    std::ofstream ini(pooler.dir() + "/pooler.ini", std::ios::app);
    ini << "\ndefault_pool_size = 7\n";
  }
  REQUIRE(commandOk(admin.get(), "RELOAD", "RELOAD"));
  auto config = rowWhere(admin.get(), "SHOW CONFIG", "key", "default_pool_size");
  CHECK(config["value"] == "7");
  CHECK(config["default"] == "20");
  CHECK(config["changeable"] == "yes");
  CHECK(rowWhere(admin.get(), "SHOW DATABASES", "name", "app")["pool_size"] == "7");

  CHECK(commandOk(admin.get(), "SET default_pool_size = 3", "SET default_pool_size=3"));
  CHECK(rowWhere(admin.get(), "SHOW CONFIG", "key", "default_pool_size")["value"] == "3");
  CHECK(commandError(admin.get(), "SET default_pool_size = lots").find("SET failed") !=
        std::string::npos);
  std::string refused = commandError(admin.get(), "SET listen_port = 1");
  CHECK(refused.find("cannot be changed while running") != std::string::npos);
  CHECK(rowWhere(admin.get(), "SHOW CONFIG", "key", "listen_port")["changeable"] == "no");

  // A broken file is reported and the running configuration stays.
  {
    std::ofstream ini(pooler.dir() + "/pooler.ini", std::ios::app);
    ini << "\nmax_client_conn = many\n";
  }
  CHECK(commandError(admin.get(), "RELOAD") ==
        "F0000 RELOAD failed, see logs for additional details");
  CHECK(rowWhere(admin.get(), "SHOW CONFIG", "key", "default_pool_size")["value"] == "3");
}

TEST_CASE("admin console: KILL_CLIENT, DISABLE and ENABLE", "[admin]") {
  PoolerProcess pooler(adminConfig());
  Conn victim = connectOk(pooler);
  queryValue(victim.get(), "SELECT 1");
  Conn admin = adminConsole(pooler);
  std::string id = rowWhere(admin.get(), "SHOW CLIENTS", "database", "app")["id"];
  CHECK(commandOk(admin.get(), "KILL_CLIENT " + id, "KILL_CLIENT"));
  CHECK(PQresultStatus(exec(victim.get(), "SELECT 1").get()) != PGRES_TUPLES_OK);
  CHECK(commandError(admin.get(), "KILL_CLIENT " + id) == "08P01 client not found");
  CHECK(commandError(admin.get(), "KILL_CLIENT x") == "08P01 invalid client pointer supplied");

  CHECK(commandOk(admin.get(), "DISABLE app", "DISABLE"));
  Conn refused = connect(pooler.conninfo());
  CHECK(PQstatus(refused.get()) == CONNECTION_BAD);
  CHECK(std::string(PQerrorMessage(refused.get())).find("is disabled") != std::string::npos);
  CHECK(rowWhere(admin.get(), "SHOW DATABASES", "name", "app")["disabled"] == "1");
  CHECK(commandOk(admin.get(), "ENABLE app", "ENABLE"));
  Conn welcome = connectOk(pooler);
  CHECK(queryValue(welcome.get(), "SELECT 1") == "1");
  CHECK(commandError(admin.get(), "DISABLE nosuchdb") == "08P01 no such database: nosuchdb");
}

TEST_CASE("admin console: KILL drops a database's clients and pauses it", "[admin]") {
  PoolerProcess pooler(adminConfig());
  Conn victim = connectOk(pooler);
  queryValue(victim.get(), "SELECT 1");
  Conn admin = adminConsole(pooler);
  CHECK(commandOk(admin.get(), "KILL app", "KILL"));
  CHECK(PQresultStatus(exec(victim.get(), "SELECT 1").get()) != PGRES_TUPLES_OK);
  CHECK(eventually(
      [&] { return rowWhere(admin.get(), "SHOW POOLS", "database", "app")["sv_idle"] == "0"; }));
  CHECK(rowWhere(admin.get(), "SHOW DATABASES", "name", "app")["paused"] == "1");
  CHECK(commandOk(admin.get(), "RESUME app", "RESUME"));
  Conn again = connectOk(pooler);
  CHECK(queryValue(again.get(), "SELECT 1") == "1");
}

TEST_CASE("admin console: SHUTDOWN WAIT_FOR_CLIENTS answers, then exits once clients leave",
          "[admin]") {
  PoolerProcess pooler(adminConfig());
  Conn client = connectOk(pooler);
  Conn admin = adminConsole(pooler);
  CHECK(commandOk(admin.get(), "SHUTDOWN WAIT_FOR_CLIENTS", "SHUTDOWN"));
  CHECK(pooler.alive());
  client.reset();
  admin.reset();
  CHECK(pooler.waitExit(std::chrono::seconds(10)) == 0);
}

TEST_CASE("admin console: SHOW APIS and SYNCED_TABLES after a synced write", "[admin]") {
  ensureRole("writer", "writer-secret");
  const std::string table = "adm_synced";
  superuserQuery("SET client_min_messages = warning; DROP TABLE IF EXISTS public." + table);
  superuserQuery("CREATE TABLE public." + table +
                 " (id text PRIMARY KEY, name text NOT NULL, email text, plan text DEFAULT "
                 "'free', score int)");
  superuserQuery("GRANT SELECT ON public." + table + " TO app");
  superuserQuery("GRANT ALL ON public." + table + " TO writer");
  FakeApiProcess api("test-key");
  std::string settings = std::string(kAdminSettings) +
                         "[apibouncer]\nwriter_user = writer\napi_timeout = 5\n"
                         "[api.crm]\nplatform = http\nbase_url = " +
                         api.baseUrl() + "\napi_key = test-key\n[table.public." + table +
                         "]\ndatabase = app\napi = crm\nobject = customers\nprimary_key = id\n"
                         "max_insert = 3\n";
  PoolerProcess pooler(
      {"", settings, defaultUserlist() + kAdminUsers + "\"writer\" \"writer-secret\"\n", true});
  Conn admin = adminConsole(pooler);
  auto before = rowWhere(admin.get(), "SHOW APIS", "name", "crm");
  CHECK(before["platform"] == "http");
  CHECK(before["requests"] == "0");

  Conn client = connectOk(pooler);
  Result insert = exec(client.get(), "INSERT INTO " + table + " (name) VALUES ('Ada')");
  INFO(PQresultErrorMessage(insert.get()) << pooler.log() << api.output());
  REQUIRE(PQresultStatus(insert.get()) == PGRES_COMMAND_OK);

  auto after = rowWhere(admin.get(), "SHOW APIS", "name", "crm");
  CHECK(after["requests"] == "1");
  CHECK(after["failed"] == "0");
  CHECK(after["oauth"] == "no");
  CHECK(after["in_flight"] == "0");
  CHECK(after["last_status"] == "201");
  CHECK(after["errors_refused"] == "0");
  CHECK(after["token_state"] == "api key");  // the state, never the key itself
  auto synced = rowWhere(admin.get(), "SHOW SYNCED_TABLES", "table", "public." + table);
  CHECK(synced["database"] == "app");
  CHECK(synced["api"] == "crm");
  CHECK(synced["object"] == "customers");
  CHECK(synced["max_insert"] == "3");
  CHECK(synced["writes_ok"] == "1");
}

TEST_CASE("admin console: APIS and SYNCED_TABLES are empty without synced tables", "[admin]") {
  PoolerProcess pooler(adminConfig());
  Conn admin = adminConsole(pooler);
  CHECK(rowsOf(admin.get(), "SHOW APIS").empty());
  CHECK(rowsOf(admin.get(), "SHOW SYNCED_TABLES").empty());
}
