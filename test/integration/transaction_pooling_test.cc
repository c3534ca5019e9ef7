// Transaction and statement pooling: links are shared between transactions, held inside
// them, and session settings follow the client from link to link.
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "fixture.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

using namespace itest;

TEST_CASE("transaction mode: two clients share one link between transactions", "[transaction]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"), "", "", true});
  Conn a = connectOk(pooler);
  Conn b = connectOk(pooler);
  std::string pid_a = queryValue(a.get(), "SELECT pg_backend_pid()");
  std::string pid_b = queryValue(b.get(), "SELECT pg_backend_pid()");
  CHECK(pid_a == pid_b);
  for (int i = 0; i < 20; ++i) {
    CHECK(queryValue(a.get(), "SELECT " + std::to_string(i)) == std::to_string(i));
    CHECK(queryValue(b.get(), "SELECT " + std::to_string(i + 100)) == std::to_string(i + 100));
  }
}

TEST_CASE("transaction mode: a transaction keeps its link until COMMIT", "[transaction]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"), "", "", true});
  Conn a = connectOk(pooler);
  Conn b = connectOk(pooler);
  REQUIRE(PQresultStatus(exec(a.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  REQUIRE(PQresultStatus(exec(a.get(), "CREATE TEMP TABLE t_inside (x int)").get()) ==
          PGRES_COMMAND_OK);
  std::atomic<bool> b_done{false};
  std::string b_value;
  std::thread other([&] {
    b_value = queryValueInThread(b.get(), "SELECT 1");
    b_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(b_done);  // waiting: the only link is inside a's transaction
  CHECK(queryValue(a.get(), "SELECT count(*) FROM t_inside") == "0");
  REQUIRE(PQresultStatus(exec(a.get(), "COMMIT").get()) == PGRES_COMMAND_OK);
  other.join();
  CHECK(b_done);
  CHECK(b_value == "1");
}

TEST_CASE("transaction mode: SET follows the client to its next link", "[transaction]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"), "", "", true});
  Conn a = connectOk(pooler);
  Conn b = connectOk(pooler);
  REQUIRE(PQresultStatus(exec(a.get(), "SET application_name = 'client-a'").get()) ==
          PGRES_COMMAND_OK);
  REQUIRE(PQresultStatus(exec(b.get(), "SET application_name = 'client-b'").get()) ==
          PGRES_COMMAND_OK);
  CHECK(queryValue(a.get(), "SHOW application_name") == "client-a");
  CHECK(queryValue(b.get(), "SHOW application_name") == "client-b");
  Conn c = connectOk(pooler);  // never set it: sees the server default, not b's value
  CHECK(queryValue(c.get(), "SHOW application_name").empty());
}

TEST_CASE("transaction mode: a client leaving mid-transaction leaves no dirty link",
          "[transaction]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"), "", "", true});
  {
    Conn a = connectOk(pooler);
    exec(a.get(), "BEGIN");
    exec(a.get(), "SELECT 1");
  }
  Conn b = connectOk(pooler);
  CHECK(queryValue(b.get(), "SELECT 1") == "1");
  CHECK(PQtransactionStatus(b.get()) == PQTRANS_IDLE);
}

TEST_CASE("transaction mode: COPY FROM STDIN with the extended protocol frees the link",
          "[transaction]") {
  // libpq sends Execute and Sync before it knows the statement is a COPY, and a second Sync
  // after CopyDone; the server ignores the first and answers once.
  auto max_prepared = GENERATE(as<std::string>{}, "0", "200");
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"),
                        "max_prepared_statements = " + max_prepared + "\nquery_wait_timeout = 5\n",
                        "", true});
  superuserQuery("DROP TABLE IF EXISTS public.copy_ext; CREATE TABLE public.copy_ext (x int)");
  superuserQuery("GRANT ALL ON public.copy_ext TO app");
  Conn a = connectOk(pooler);
  Conn b = connectOk(pooler);
  for (int round = 0; round < 3; ++round) {
    REQUIRE(copyInExtended(a.get(), "COPY public.copy_ext FROM STDIN", "1\n2\n") == "COPY 2");
    // The one link is free for the other client, and each reply still finds its request.
    CHECK(queryValue(b.get(), "SELECT 'b'") == "b");
    const char* values[] = {"41"};
    Result r(PQexecParams(a.get(), "SELECT $1::int + 1", 1, nullptr, values, nullptr, nullptr, 0),
             &PQclear);
    REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
    CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == "42");
  }
  CHECK(superuserQuery("SELECT count(*) FROM public.copy_ext") == "6");
}

TEST_CASE("a link in an extended-protocol COPY FROM STDIN is not handed to another client",
          "[transaction]") {
  // The Sync libpq sends with the Execute earns nothing: the link must stay busy until the
  // copy's own ReadyForQuery, not look clean the moment CopyInResponse arrives.
  auto mode = GENERATE(as<std::string>{}, "transaction", "session");
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=" + mode),
                        "max_prepared_statements = 0\nquery_wait_timeout = 10\n", "", true});
  superuserQuery("DROP TABLE IF EXISTS public.copy_busy; CREATE TABLE public.copy_busy (x int)");
  superuserQuery("GRANT ALL ON public.copy_busy TO app");
  Conn a = connectOk(pooler);
  Result started(PQexecParams(a.get(), "COPY public.copy_busy FROM STDIN", 0, nullptr, nullptr,
                              nullptr, nullptr, 0),
                 &PQclear);
  REQUIRE(PQresultStatus(started.get()) == PGRES_COPY_IN);
  if (mode == "transaction") {
    // Another client's query waits for the copy instead of landing inside it.
    Conn b = connectOk(pooler);
    REQUIRE(PQsendQuery(b.get(), "SELECT count(*) FROM public.copy_busy") == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    REQUIRE(PQputCopyData(a.get(), "1\n2\n", 4) == 1);
    REQUIRE(PQputCopyEnd(a.get(), nullptr) == 1);
    Result done(PQgetResult(a.get()), &PQclear);
    INFO(PQresultErrorMessage(done.get()));
    CHECK(cmdStatus(done.get()) == "COPY 2");
    CHECK(PQgetResult(a.get()) == nullptr);
    Result counted(PQgetResult(b.get()), &PQclear);
    INFO(PQresultErrorMessage(counted.get()));
    REQUIRE(PQresultStatus(counted.get()) == PGRES_TUPLES_OK);
    CHECK(std::string(PQgetvalue(counted.get(), 0, 0)) == "2");
    CHECK(PQgetResult(b.get()) == nullptr);
  } else {
    // A client that leaves mid-copy: its link is closed, not reset into the copy and kept
    // (or handed on) with the server still waiting for data.
    REQUIRE(PQputCopyData(a.get(), "1\n", 2) == 1);
    REQUIRE(PQflush(a.get()) == 0);
    a.reset();
    Conn b = connectOk(pooler);
    CHECK(queryValue(b.get(), "SELECT count(*) FROM public.copy_busy") == "0");
  }
}

TEST_CASE("transaction mode: extended protocol and COPY", "[transaction]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"), "", "", true});
  Conn a = connectOk(pooler);
  Conn b = connectOk(pooler);
  const char* values[] = {"41"};
  Result r(PQexecParams(a.get(), "SELECT $1::int + 1", 1, nullptr, values, nullptr, nullptr, 0),
           &PQclear);
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == "42");
  Result copy_out = exec(b.get(), "COPY (SELECT generate_series(1, 3)) TO STDOUT");
  REQUIRE(PQresultStatus(copy_out.get()) == PGRES_COPY_OUT);
  std::string received;
  char* buffer = nullptr;
  int n;
  while ((n = PQgetCopyData(b.get(), &buffer, 0)) > 0) {
    received.append(buffer, static_cast<size_t>(n));
    PQfreemem(buffer);
  }
  while (PGresult* rest = PQgetResult(b.get())) PQclear(rest);
  CHECK(received == "1\n2\n3\n");
  CHECK(queryValue(a.get(), "SELECT 'after'") == "after");
}

TEST_CASE("statement mode refuses transaction blocks", "[transaction]") {
  PoolerProcess pooler({sandboxDatabase("pool_mode=statement"), "", "", true});
  Conn conn = connectOk(pooler);
  CHECK(queryValue(conn.get(), "SELECT 1") == "1");
  PQsetErrorVerbosity(conn.get(), PQERRORS_VERBOSE);  // the message then shows the SQLSTATE
  exec(conn.get(), "BEGIN");
  CHECK(std::string(PQerrorMessage(conn.get())).find("transaction blocks not allowed") !=
        std::string::npos);
  CHECK(contains(PQerrorMessage(conn.get()), "08P01"));  // PgBouncer's
  Conn again = connectOk(pooler);
  CHECK(queryValue(again.get(), "SELECT 2") == "2");
  CHECK(PQtransactionStatus(again.get()) == PQTRANS_IDLE);
}

TEST_CASE("statement mode: a client that is gone when its transaction block is refused",
          "[transaction]") {
  PoolerProcess pooler({sandboxDatabase("pool_mode=statement"), "auth_type = trust\n", "", true});
  RawClient gone(pooler.port());
  gone.logIn();
  // The query opens a transaction block when it ends. Flush messages behind it fill the link
  // while the server sleeps, so the pooler stops reading the client, and the client's reset
  // shows only when the pooler relays the answer and refuses the block.
  REQUIRE(gone.sendBytes(apibouncer::wire::query("SELECT pg_sleep(1); BEGIN")));
  std::string flushes;
  for (int i = 0; i < 8192; ++i) flushes += std::string("H\0\0\0\4", 5);
  CHECK(gone.sendUntilFull(flushes, size_t{256} << 20) < (size_t{256} << 20));
  gone.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Conn after = connectOk(pooler);
  INFO(pooler.log());
  CHECK(queryValue(after.get(), "SELECT 'still up'") == "still up");
}

TEST_CASE("transaction mode: a link keeps its client until the client's bytes reached it",
          "[transaction]") {
  // A transaction can end while bytes the client sent after it still wait to go to the server
  // (the server ignores CopyData outside COPY, as after a failed COPY FROM STDIN). The link
  // is not free until they went, and the client, paused meanwhile, must be read again.
  PoolerProcess pooler(
      {sandboxDatabase("pool_size=1 pool_mode=transaction"), "auth_type = trust\n", "", true});
  RawClient client(pooler.port());
  client.logIn();
  char type = 0;
  std::string body;
  REQUIRE(client.sendBytes(apibouncer::wire::query("SELECT pg_sleep(3)")));
  // CopyData of 8 kB (as libpq flushes COPY data), one per read of the pooler (a pause after each),
  // so it stops reading the client where a message ends: the transaction's end then finds it
  // between messages.
  constexpr size_t kSize = 8 * 1024;
  std::string copy_data(kSize, 'x');
  copy_data[0] = 'd';
  for (int i = 0; i < 4; ++i)  // length, big-endian
    copy_data[1 + i] = static_cast<char>(((kSize - 1) >> (24 - 8 * i)) & 0xff);
  size_t sent = client.sendUntilFull(copy_data, size_t{256} << 20, 1);
  CHECK(sent < (size_t{256} << 20));  // the pooler stopped reading: the link was full
  bool ready = false;
  while (!ready && client.readMessage(type, body, 10000)) ready = type == 'Z';
  REQUIRE(ready);
  std::string rest = copy_data.substr(sent % kSize) + apibouncer::wire::query("SELECT 'next'");
  size_t rest_sent = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (rest_sent < rest.size() && std::chrono::steady_clock::now() < deadline)
    rest_sent += client.sendUntilFull(rest.substr(rest_sent), rest.size() - rest_sent);
  CHECK(rest_sent == rest.size());
  std::string value;
  ready = false;
  while (!ready && client.readMessage(type, body, 10000)) {
    if (type == 'D' && body.size() > 6) value = body.substr(6);
    ready = type == 'Z';
  }
  CHECK(value == "next");
  Conn other = connectOk(pooler);
  CHECK(queryValue(other.get(), "SELECT 'other'") == "other");
}

TEST_CASE("pgbench simple, extended and prepared on a pool of 2 in transaction mode",
          "[transaction][pgbench]") {
  ensureRole("txbench", "txbench-secret");
  if (superuserQuery("SELECT count(*) FROM pg_database WHERE datname = 'txbenchdb'") == "0")
    superuserQuery("CREATE DATABASE txbenchdb");
  const Sandbox& pg = Sandbox::get();
  std::string init = "pgbench -i -s 1 -q -h 127.0.0.1 -p " + std::to_string(pg.port) +
                     " -U postgres txbenchdb >/dev/null 2>&1";
  REQUIRE(std::system(init.c_str()) == 0);
  std::string databases = "txbenchdb = host=127.0.0.1 port=" + std::to_string(pg.port) +
                          " dbname=txbenchdb user=postgres pool_size=2 pool_mode=transaction\n";
  PoolerProcess pooler({databases, "auth_type = trust\n", "\"txbench\" \"\"\n", true});
  std::string target =
      " -h 127.0.0.1 -p " + std::to_string(pooler.port()) + " -U txbench txbenchdb";
  for (const char* mode : {"simple", "extended", "prepared"}) {
    std::string cmd = "pgbench -S -M " + std::string(mode) + " -c 10 -j 2 -t 100" + target;
    int status = 0;
    std::string out = runCommand(cmd, status);
    INFO(mode << ": " << out << pooler.log());
    CHECK(status == 0);
    CHECK(out.find("number of transactions actually processed: 1000/1000") != std::string::npos);
  }
  // The TPC-B-like script: multi-statement transactions of prepared statements. (One thread
  // per client: pgbench prepares synchronously, so a thread serving several clients would
  // wait for a link its other client holds inside a transaction, through any pooler.)
  int status = 0;
  std::string out = runCommand("pgbench -M prepared -c 4 -j 4 -t 50" + target, status);
  INFO("tpcb prepared: " << out << pooler.log());
  CHECK(status == 0);
  CHECK(out.find("number of transactions actually processed: 200/200") != std::string::npos);
  CHECK(std::stoi(superuserQuery("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                 "'txbenchdb' AND usename = 'postgres'")) <= 2);
}

namespace {
void cancelFrom(PGconn* conn) {
  PGcancel* cancel = PQgetCancel(conn);
  char errbuf[256];
  REQUIRE(PQcancel(cancel, errbuf, sizeof errbuf) == 1);
  PQfreeCancel(cancel);
}
}  // namespace

TEST_CASE("transaction mode: a cancel reaches the link its client is using", "[transaction]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"), "", "", true});
  Conn a = connectOk(pooler);
  Conn b = connectOk(pooler);
  REQUIRE(PQsendQuery(a.get(), "SELECT pg_sleep(30)") == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  cancelFrom(a.get());
  Result result(PQgetResult(a.get()), &PQclear);
  while (PGresult* extra = PQgetResult(a.get())) PQclear(extra);
  CHECK(errorField(result.get(), PG_DIAG_SQLSTATE) == "57014");
  // The link went back clean and serves the next client.
  CHECK(queryValue(b.get(), "SELECT 'b runs'") == "b runs");
}

TEST_CASE("transaction mode: a client with nothing running cancels nobody's query",
          "[transaction]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"), "", "", true});
  Conn idle = connectOk(pooler);
  CHECK(queryValue(idle.get(), "SELECT 1") == "1");  // it used the link a moment ago
  Conn busy = connectOk(pooler);
  REQUIRE(PQsendQuery(busy.get(), "SELECT pg_sleep(0.5), 'finished'") == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  cancelFrom(idle.get());  // the link now runs busy's query, not idle's
  Result result(PQgetResult(busy.get()), &PQclear);
  while (PGresult* extra = PQgetResult(busy.get())) PQclear(extra);
  REQUIRE(PQresultStatus(result.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(result.get(), 0, 1)) == "finished");
}

TEST_CASE("transaction mode: track_extra_parameters follow their client", "[transaction]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"),
                        "auth_type = trust\ntrack_extra_parameters = IntervalStyle, "
                        "extra_float_digits\n",
                        "", true});
  // extra_float_digits is accepted at startup only because it is tracked.
  RawClient a(pooler.port());
  a.logIn({{"extra_float_digits", "2"}});
  Conn b = connectOk(pooler);
  Result set = exec(b.get(), "SET IntervalStyle = 'iso_8601'");
  INFO(PQerrorMessage(b.get()) << pooler.log());
  REQUIRE(PQresultStatus(set.get()) == PGRES_COMMAND_OK);
  for (int round = 0; round < 3; ++round) {
    CHECK(rawQueryValue(a, "SHOW extra_float_digits") == "2");
    CHECK(rawQueryValue(a, "SHOW IntervalStyle") == "postgres");
    CHECK(queryValue(b.get(), "SHOW extra_float_digits") == "1");  // the server's default
    CHECK(queryValue(b.get(), "SHOW IntervalStyle") == "iso_8601");
  }
}

// PostgreSQL before 18 does not report search_path: the pooler cannot see a client change it.
TEST_CASE("a tracked parameter the server does not report never leaks to the next client",
          "[transaction]") {
  SECTION("transaction pooling: a client's own SET") {
    PoolerProcess pooler({sandboxDatabase("pool_size=1 pool_mode=transaction"),
                          "auth_type = trust\ntrack_extra_parameters = search_path\n", "", true});
    Conn b = connectOk(pooler);
    Conn c = connectOk(pooler);
    std::string server_default = queryValue(c.get(), "SHOW search_path");
    RawClient a(pooler.port());
    a.logIn({{"search_path", "pg_catalog"}});
    for (int round = 0; round < 2; ++round) {
      REQUIRE(PQresultStatus(exec(b.get(), "SET search_path = information_schema").get()) ==
              PGRES_COMMAND_OK);
      CHECK(queryValue(c.get(), "SHOW search_path") == server_default);
      CHECK(rawQueryValue(a, "SHOW search_path") == "pg_catalog");
      REQUIRE(PQresultStatus(exec(b.get(), "RESET search_path").get()) == PGRES_COMMAND_OK);
      CHECK(rawQueryValue(a, "SHOW search_path") == "pg_catalog");
      // No SET tag to see: set_config() in a SELECT, and SET inside a DO block.
      CHECK(queryValue(b.get(), "SELECT set_config('search_path', 'information_schema', false)") ==
            "information_schema");
      CHECK(queryValue(c.get(), "SHOW search_path") == server_default);
      REQUIRE(PQresultStatus(exec(b.get(),
                                  "DO $$BEGIN SET search_path = information_schema; "
                                  "END$$")
                                 .get()) == PGRES_COMMAND_OK);
      CHECK(rawQueryValue(a, "SHOW search_path") == "pg_catalog");
      CHECK(queryValue(c.get(), "SHOW search_path") == server_default);
    }
  }
  SECTION("session pooling: server_reset_query undid the value the pooler set") {
    PoolerProcess pooler({sandboxDatabase("pool_size=1"),
                          "auth_type = trust\ntrack_extra_parameters = search_path\n", "", true});
    for (int login = 0; login < 3; ++login) {
      RawClient a(pooler.port());
      a.logIn({{"search_path", "pg_catalog"}});
      CHECK(rawQueryValue(a, "SHOW search_path") == "pg_catalog");
    }
  }
}

TEST_CASE("a RELOAD that changes a database's timezone reaches new clients", "[transaction]") {
  PoolerProcess pooler(
      {sandboxDatabase("pool_size=2 pool_mode=transaction"), "auth_type = trust\n", "", true});
  Conn before = connectOk(pooler);
  REQUIRE(queryValue(before.get(), "SHOW TimeZone") != "Asia/Tokyo");
  {
    std::string path = pooler.dir() + "/pooler.ini";
    std::FILE* in = std::fopen(path.c_str(), "r");
    REQUIRE(in != nullptr);
    std::string ini;
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, in)) > 0;) ini.append(buffer, n);
    std::fclose(in);
    size_t at = ini.find("dbname=app ");
    REQUIRE(at != std::string::npos);
    ini.insert(at, "timezone=Asia/Tokyo ");
    std::FILE* out = std::fopen(path.c_str(), "w");
    REQUIRE(out != nullptr);
    std::fputs(ini.c_str(), out);
    std::fclose(out);
  }
  pooler.signal(SIGHUP);
  // A client welcomed with the old zone would have it SET back on every link it gets.
  std::string zone;
  for (int i = 0; i < 50 && zone != "Asia/Tokyo"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Conn after = connectOk(pooler);
    zone = queryValue(after.get(), "SHOW TimeZone");
    if (zone != "Asia/Tokyo") continue;
    for (int round = 0; round < 3; ++round)
      CHECK(queryValue(after.get(), "SHOW TimeZone") == "Asia/Tokyo");
  }
  CHECK(zone == "Asia/Tokyo");
}

TEST_CASE("an untracked startup parameter is refused", "[transaction]") {
  PoolerProcess pooler({"", "auth_type = trust\n", "", true});
  RawClient a(pooler.port());
  a.sendBytes(apibouncer::wire::startupMessage(
      apibouncer::wire::kProtocolV3,
      {{"user", "app"}, {"database", "app"}, {"extra_float_digits", "2"}}));
  char type = 0;
  std::string body;
  REQUIRE(a.readMessage(type, body));
  CHECK(type == 'E');
  CHECK(body.find("unsupported startup parameter: extra_float_digits") != std::string::npos);
}

// Logins after the first are welcomed from the pool's parameters, and the encoded welcome is
// reused for clients with the same startup values: each client must still see its own values,
// and a client that set nothing must get the server's, also after another client SET them.
TEST_CASE("transaction mode: each login is welcomed with its own startup values", "[transaction]") {
  PoolerProcess pooler(
      {sandboxDatabase("pool_size=1 pool_mode=transaction"), "auth_type = trust\n", "", true});
  Conn first = connectOk(pooler);
  std::string server_timezone = PQparameterStatus(first.get(), "TimeZone");
  Result set = exec(first.get(), "SET TimeZone = 'Pacific/Auckland'");
  REQUIRE(PQresultStatus(set.get()) == PGRES_COMMAND_OK);
  struct Login {
    std::string application_name, timezone;  // "" timezone: not sent, the server's expected
  };
  const Login logins[] = {{"alpha", ""},           {"beta", ""},  {"alpha", ""},
                          {"alpha", "Asia/Tokyo"}, {"alpha", ""}, {"beta", ""}};
  std::vector<std::unique_ptr<RawClient>> clients;
  for (const Login& login : logins) {
    std::vector<std::pair<std::string, std::string>> params = {
        {"application_name", login.application_name}};
    if (!login.timezone.empty()) params.emplace_back("TimeZone", login.timezone);
    auto client = std::make_unique<RawClient>(pooler.port());
    client->sendStartup(params);
    LoginSeen seen = readLogin(*client);
    INFO(seen.error << pooler.log());
    REQUIRE(seen.error.empty());
    REQUIRE(seen.ready);
    std::map<std::string, std::string>& reported = seen.reported;
    INFO(login.application_name << " " << login.timezone);
    CHECK(reported["application_name"] == login.application_name);
    CHECK(reported["TimeZone"] == (login.timezone.empty() ? server_timezone : login.timezone));
    clients.push_back(std::move(client));
  }
  // The shared link follows each client's own values, whichever client used it last.
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < clients.size(); ++i) {
      const Login& login = logins[i];
      INFO("client " << i);
      CHECK(rawQueryValue(*clients[i], "SHOW application_name") == login.application_name);
      CHECK(rawQueryValue(*clients[i], "SHOW TimeZone") ==
            (login.timezone.empty() ? server_timezone : login.timezone));
    }
    CHECK(queryValue(first.get(), "SHOW TimeZone") == "Pacific/Auckland");
  }
}
