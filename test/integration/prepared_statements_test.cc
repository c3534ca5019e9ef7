// Protocol-level prepared statements in transaction pooling (max_prepared_statements): named
// statements follow their client from link to link, answers arrive in protocol order, and
// errors, Close, DISCARD ALL and the per-link limit behave as on a direct connection.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "fixture.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

using namespace itest;
namespace wire = apibouncer::wire;

namespace {

// What came back for a stretch of requests: the message types in order, the first column of
// the DataRows, and the SQLSTATE and text of the first error.
struct Replies {
  std::string types;
  std::vector<std::string> values;
  std::string sqlstate, error;
};

Replies readUntilReady(RawClient& client, int ready_count = 1) {
  Replies replies;
  char type = 0;
  std::string body;
  while (ready_count > 0 && client.readMessage(type, body)) {
    replies.types += type;
    if (type == 'Z') --ready_count;
    if (type == 'D' && body.size() >= 6) {
      auto* p = reinterpret_cast<const uint8_t*>(body.data());
      int32_t length = static_cast<int32_t>(wire::readU32(p + 2));
      if (length >= 0) replies.values.push_back(body.substr(6, static_cast<size_t>(length)));
    }
    if (type == 'E' && replies.sqlstate.empty()) {
      for (size_t i = 0; i < body.size() && body[i] != '\0';) {
        size_t end = body.find('\0', i + 1);
        if (body[i] == 'C') replies.sqlstate = body.substr(i + 1, end - i - 1);
        if (body[i] == 'M') replies.error = body.substr(i + 1, end - i - 1);
        i = end + 1;
      }
    }
  }
  return replies;
}

// A logged-in client speaking the protocol by hand (trust auth).
struct RawSession {
  RawClient client;
  explicit RawSession(const PoolerProcess& pooler) : client(pooler.port()) { client.logIn(); }
  Replies send(const std::string& bytes, int ready_count = 1) {
    REQUIRE(client.sendBytes(bytes));
    return readUntilReady(client, ready_count);
  }
};

// Transaction pooling on a single link: every client shares it between transactions.
PoolerConfig onePoolLink(const std::string& extra_settings = "") {
  return {sandboxDatabase("pool_size=1"),
          "pool_mode = transaction\nauth_type = trust\n" + extra_settings, "", true};
}

std::string execPrepared(PGconn* conn, const char* name, const char* value) {
  const char* values[] = {value};
  Result r(PQexecPrepared(conn, name, 1, values, nullptr, nullptr, 0), &PQclear);
  INFO(PQerrorMessage(conn));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  return PQgetvalue(r.get(), 0, 0);
}

void prepare(PGconn* conn, const char* name, const char* sql) {
  Result r(PQprepare(conn, name, sql, 0, nullptr), &PQclear);
  INFO(PQerrorMessage(conn));
  REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
}

}  // namespace

TEST_CASE("prepared statements follow each client over a shared link", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  Conn a = connectOk(pooler);
  Conn b = connectOk(pooler);
  prepare(a.get(), "q", "SELECT $1::int * 2");
  prepare(b.get(), "q", "SELECT $1::text || '!'");  // same name, another statement
  prepare(b.get(), "r", "SELECT $1::int * 2");      // a's text: shared on the server
  for (int i = 0; i < 5; ++i) {
    std::string n = std::to_string(i);
    CHECK(execPrepared(a.get(), "q", n.c_str()) == std::to_string(i * 2));
    CHECK(execPrepared(b.get(), "q", n.c_str()) == n + "!");
    CHECK(execPrepared(b.get(), "r", n.c_str()) == std::to_string(i * 2));
  }
  // One link served everything; it holds each distinct statement once.
  CHECK(queryValue(a.get(), "SELECT count(*) FROM pg_prepared_statements") == "2");
}

TEST_CASE("a statement is prepared again on a new link when its link is gone", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  Conn a = connectOk(pooler);
  prepare(a.get(), "q", "SELECT $1::int + 100");
  CHECK(execPrepared(a.get(), "q", "1") == "101");
  std::string pid = queryValue(a.get(), "SELECT pg_backend_pid()");
  superuserQuery("SELECT pg_terminate_backend(" + pid + ")");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the pooler drops the link
  CHECK(execPrepared(a.get(), "q", "2") == "102");
  CHECK(queryValue(a.get(), "SELECT pg_backend_pid()") != pid);
}

TEST_CASE("pooler answers to Parse and Close arrive in protocol order", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler);
  RawSession y(pooler);
  CHECK(x.send(wire::parse("s1", "SELECT 1") + wire::sync()).types == "1Z");
  // y prepares the same text: the link has it, so the pooler answers the Parse itself.
  Replies r = y.send(wire::parse("t", "SELECT 1") + wire::bind("", "t") + wire::describe('S', "t") +
                     wire::execute() + wire::close('S', "t") + wire::sync());
  CHECK(r.types == "12tTDC3Z");
  CHECK(r.values == std::vector<std::string>{"1"});
  CHECK(y.send(wire::query("SELECT count(*) FROM pg_prepared_statements")).values ==
        std::vector<std::string>{"1"});
  // Closed: unknown again, as on a direct connection.
  r = y.send(wire::bind("", "t") + wire::execute() + wire::sync());
  CHECK(r.types == "EZ");
  CHECK(r.sqlstate == "26000");
  CHECK(r.error.find("\"t\"") != std::string::npos);
}

TEST_CASE("a client that does not read the pooler's own answers stops being read", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler);
  // Closing a named statement never reaches the server: the pooler answers CloseComplete
  // itself. A client that sends such requests without reading must be held back as one the
  // server answers is, not have its answers piled up in the pooler for as long as it sends.
  UnreadFlood flood = floodUnread(x.client, wire::close('S', "nothing"), '3');
  CHECK(flood.stopped);
  // Once it reads, it goes on: every answer, then ReadyForQuery.
  CHECK(flood.ready);
  CHECK(flood.answers == flood.sent);
  CHECK(x.send(wire::query("SELECT 'still served'")).values ==
        std::vector<std::string>{"still served"});
}

TEST_CASE("answers owed behind a slow query stop the client being read", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler);
  // The CloseCompletes wait for the query's reply, in the pooler: reading the client must stop
  // there too, not only once they can be sent.
  REQUIRE(x.client.sendBytes(wire::query("SELECT pg_sleep(3)")));
  auto start = std::chrono::steady_clock::now();
  UnreadFlood flood = floodUnread(x.client, wire::close('S', "nothing"), '3');
  CHECK(flood.stopped);
  CHECK(flood.sent < 1'000'000);  // 65,536 owed, plus what the sockets hold
  CHECK(flood.ready);             // the query's ReadyForQuery (the reader stops there)
  size_t answers = flood.answers;
  char type = 0;
  std::string body;
  while (x.client.readMessage(type, body, 20000) && type != 'Z')
    if (type == '3') ++answers;
  CHECK(type == 'Z');
  CHECK(answers == flood.sent);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
  CHECK(x.send(wire::query("SELECT 'still served'")).values ==
        std::vector<std::string>{"still served"});
}

TEST_CASE("an eviction the server skipped after an error leaves the statement usable",
          "[prepared]") {
  PoolerProcess pooler(onePoolLink("max_prepared_statements = 2\n"));
  RawSession x(pooler);
  REQUIRE(x.send(wire::parse("s1", "SELECT 1 / 0") + wire::parse("s2", "SELECT 2") + wire::sync())
              .types == "11Z");
  // The link holds s1 and s2 (full). s3 evicts s2 with a Close the pooler adds before the
  // Parse, but the division by zero before them makes the server skip both.
  Replies r =
      x.send(wire::bind("", "s1") + wire::execute() + wire::parse("s3", "SELECT 3") + wire::sync());
  CHECK(r.sqlstate == "22012");
  // s2 is still prepared on the server: using it must not try to prepare it again.
  r = x.send(wire::bind("", "s2") + wire::execute() + wire::sync());
  INFO(r.error);
  CHECK(r.types == "2DCZ");
  CHECK(r.values == std::vector<std::string>{"2"});
  // s3 never happened, as on a direct connection.
  r = x.send(wire::bind("", "s3") + wire::execute() + wire::sync());
  CHECK(r.sqlstate == "26000");
  CHECK(
      x.send(wire::parse("s3", "SELECT 3") + wire::bind("", "s3") + wire::execute() + wire::sync())
          .values == std::vector<std::string>{"3"});
}

TEST_CASE("a Close after an error in its pipeline leaves the statement, as PostgreSQL does",
          "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler);
  REQUIRE(x.send(wire::parse("fails", "SELECT 1 / 0") + wire::parse("kept", "SELECT 'kept'") +
                 wire::sync())
              .types == "11Z");
  Replies r =
      x.send(wire::bind("", "fails") + wire::execute() + wire::close('S', "kept") + wire::sync());
  CHECK(r.types == "EZ");  // no CloseComplete: the server skipped the Close
  r = x.send(wire::bind("", "kept") + wire::execute() + wire::sync());
  INFO(r.error);
  CHECK(r.values == std::vector<std::string>{"kept"});
  // Closed for real this time.
  CHECK(x.send(wire::close('S', "kept") + wire::sync()).types == "3Z");
  CHECK(x.send(wire::bind("", "kept") + wire::execute() + wire::sync()).sqlstate == "26000");
}

TEST_CASE("after an error the rest up to Sync is skipped, pooler answers included", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler);
  CHECK(x.send(wire::parse("one", "SELECT 1") + wire::sync()).types == "1Z");
  // The error comes first; the Parse after it never happened (no ParseComplete, no "two").
  Replies r = x.send(wire::bind("", "missing") + wire::parse("two", "SELECT 2") +
                     wire::parse("again", "SELECT 1") + wire::bind("", "one") + wire::execute() +
                     wire::sync());
  CHECK(r.types == "EZ");
  CHECK(r.sqlstate == "26000");
  r = x.send(wire::bind("", "two") + wire::execute() + wire::sync());
  CHECK(r.types == "EZ");
  CHECK(r.error.find("\"two\"") != std::string::npos);
  // So the names are free: preparing them now works.
  r = x.send(wire::parse("two", "SELECT 2") + wire::parse("again", "SELECT 1") +
             wire::bind("", "two") + wire::execute() + wire::bind("", "again") + wire::execute() +
             wire::sync());
  CHECK(r.types == "112DC2DCZ");
  CHECK(r.values == std::vector<std::string>{"2", "1"});
}

TEST_CASE("a Parse the server refuses leaves its name free", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler);
  Replies r = x.send(wire::parse("bad", "SELEC 1") + wire::sync());
  CHECK(r.types == "EZ");
  CHECK(r.sqlstate == "42601");
  r = x.send(wire::parse("bad", "SELECT 4") + wire::bind("", "bad") + wire::execute() +
             wire::sync());
  CHECK(r.types == "12DCZ");
  CHECK(r.values == std::vector<std::string>{"4"});
}

TEST_CASE("preparing a name twice is refused, and the first statement stays", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler);
  CHECK(x.send(wire::parse("u", "SELECT 2") + wire::sync()).types == "1Z");
  Replies r =
      x.send(wire::parse("u", "SELECT 3") + wire::bind("", "u") + wire::execute() + wire::sync());
  CHECK(r.types == "EZ");
  CHECK(r.sqlstate == "42P05");
  r = x.send(wire::bind("", "u") + wire::execute() + wire::sync());
  CHECK(r.types == "2DCZ");
  CHECK(r.values == std::vector<std::string>{"2"});
}

TEST_CASE("max_prepared_statements bounds what a link keeps", "[prepared]") {
  PoolerProcess pooler(onePoolLink("max_prepared_statements = 2\n"));
  Conn a = connectOk(pooler);
  prepare(a.get(), "a", "SELECT $1::int + 1");
  prepare(a.get(), "b", "SELECT $1::int + 2");
  prepare(a.get(), "c", "SELECT $1::int + 3");
  for (int round = 0; round < 3; ++round) {
    CHECK(execPrepared(a.get(), "a", "10") == "11");
    CHECK(execPrepared(a.get(), "b", "10") == "12");
    CHECK(execPrepared(a.get(), "c", "10") == "13");
  }
  CHECK(std::stoi(queryValue(a.get(), "SELECT count(*) FROM pg_prepared_statements")) <= 2);
}

TEST_CASE("DISCARD ALL and DEALLOCATE ALL drop the client's statements", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  Conn a = connectOk(pooler);
  for (const char* command : {"DISCARD ALL", "DEALLOCATE ALL"}) {
    prepare(a.get(), "q", "SELECT $1::int");
    CHECK(execPrepared(a.get(), "q", "7") == "7");
    REQUIRE(PQresultStatus(exec(a.get(), command).get()) == PGRES_COMMAND_OK);
    const char* values[] = {"7"};
    Result r(PQexecPrepared(a.get(), "q", 1, values, nullptr, nullptr, 0), &PQclear);
    CHECK(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
    CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "26000");
  }
}

// A drop-all the client pipelines ahead of its Parses takes effect where it stands in the
// stream: what comes after it is prepared anew, whatever the pooler knew before.
TEST_CASE("a name prepared again right behind DEALLOCATE ALL in one pipeline", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler);
  CHECK(x.send(wire::parse("q", "SELECT 'old'") + wire::sync()).types == "1Z");
  // As on a direct connection: the Query drops "q", so the Parse behind it is not a duplicate.
  Replies r = x.send(wire::query("DEALLOCATE ALL") + wire::parse("q", "SELECT 'new'") +
                         wire::bind("", "q") + wire::execute() + wire::sync(),
                     2);
  INFO(r.error);
  CHECK(r.types == "CZ12DCZ");
  CHECK(r.values == std::vector<std::string>{"new"});
  r = x.send(wire::bind("", "q") + wire::execute() + wire::sync());
  INFO(r.error);
  CHECK(r.values == std::vector<std::string>{"new"});
}

TEST_CASE("a statement prepared behind a drop-all in the same pipeline outlives it", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  for (const char* drop : {"DEALLOCATE ALL", "DISCARD ALL"}) {
    DYNAMIC_SECTION(drop) {
      RawSession x(pooler);
      CHECK(x.send(wire::parse("a", "SELECT 7") + wire::sync()).types == "1Z");
      // psycopg 3 in pipeline mode: DEALLOCATE ALL (unnamed, extended protocol) after a
      // rollback, then the same query prepared under a new name. The link had that text
      // prepared before the drop; it must be prepared again, not taken as still there.
      Replies r = x.send(wire::parse("", drop) + wire::bind("", "") + wire::execute() +
                         wire::parse("b", "SELECT 7") + wire::bind("", "b") + wire::execute() +
                         wire::sync());
      INFO(r.error);
      CHECK(r.types == "12C12DCZ");
      CHECK(r.values == std::vector<std::string>{"7"});
      // "b" is still the client's, "a" is gone, as on a direct connection.
      r = x.send(wire::bind("", "b") + wire::execute() + wire::sync());
      INFO(r.error);
      CHECK(r.values == std::vector<std::string>{"7"});
      CHECK(x.send(wire::bind("", "a") + wire::execute() + wire::sync()).sqlstate == "26000");
      // Another client finds the link's statements as the server has them.
      RawSession y(pooler);
      r = y.send(wire::parse("c", "SELECT 7") + wire::bind("", "c") + wire::execute() +
                 wire::sync());
      INFO(r.error);
      CHECK(r.values == std::vector<std::string>{"7"});
    }
  }
}

TEST_CASE("a drop-all an error skipped leaves the statements where they were", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler);
  CHECK(x.send(wire::parse("k", "SELECT 'k'") + wire::parse("z", "SELECT 1 / 0") + wire::sync())
            .types == "11Z");
  // The division by zero makes the server skip the DEALLOCATE ALL and everything after it.
  Replies r = x.send(wire::bind("", "z") + wire::execute() + wire::parse("", "DEALLOCATE ALL") +
                     wire::bind("", "") + wire::execute() + wire::parse("k2", "SELECT 'k'") +
                     wire::bind("", "k") + wire::execute() + wire::sync());
  CHECK(r.types == "EZ");
  CHECK(r.sqlstate == "22012");
  // "k" is still prepared on the link, "k2" never was.
  r = x.send(wire::bind("", "k") + wire::execute() + wire::sync());
  INFO(r.error);
  CHECK(r.values == std::vector<std::string>{"k"});
  CHECK(x.send(wire::bind("", "k2") + wire::execute() + wire::sync()).sqlstate == "26000");
  r = x.send(wire::parse("k2", "SELECT 'k'") + wire::bind("", "k2") + wire::execute() +
             wire::sync());
  INFO(r.error);
  CHECK(r.values == std::vector<std::string>{"k"});
  // This time the drop runs and the error skips what follows it: nothing is left.
  r = x.send(wire::parse("", "DEALLOCATE ALL") + wire::bind("", "") + wire::execute() +
             wire::bind("", "z") + wire::execute() + wire::parse("k3", "SELECT 'k'") +
             wire::sync());
  CHECK(r.types == "12CEZ");
  for (const char* name : {"k", "k2", "k3"})
    CHECK(x.send(wire::bind("", name) + wire::execute() + wire::sync()).sqlstate == "26000");
  r = x.send(wire::parse("k4", "SELECT 'k'") + wire::bind("", "k4") + wire::execute() +
             wire::sync());
  INFO(r.error);
  CHECK(r.values == std::vector<std::string>{"k"});
}

TEST_CASE("an error behind a drop-all leaves statements prepared again since on the link",
          "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler);
  CHECK(x.send(wire::parse("s1", "SELECT 1") + wire::sync()).types == "1Z");
  // Behind the drop, s1 is prepared again and used; the Bind of z fails, and the server skips
  // the last use of s1 (a Close and a Parse the pooler adds). s1 is on the link all the same.
  Replies r =
      x.send(wire::query("DEALLOCATE ALL") + wire::parse("s1", "SELECT 1") + wire::bind("", "s1") +
                 wire::execute() + wire::parse("z", "SELECT 1 / 0") + wire::bind("", "z") +
                 wire::execute() + wire::bind("", "s1") + wire::execute() + wire::sync(),
             2);
  CHECK(r.types == "CZ12DC1EZ");
  CHECK(r.sqlstate == "22012");
  r = x.send(wire::bind("", "s1") + wire::execute() + wire::sync());
  INFO(r.error);
  CHECK(r.values == std::vector<std::string>{"1"});
}

TEST_CASE("what an error voids is taken back in order", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler), y(pooler);
  CHECK(x.send(wire::parse("z", "SELECT 1 / 0") + wire::sync()).types == "1Z");
  // The query mentions "discard", so the pooler closes and prepares again whatever it uses
  // behind it. After the failing Bind the server skips the Parse of s and, for its Bind, a
  // Close and a Parse of the same statement: none of them happened.
  Replies r = x.send(wire::query("SELECT 'discard me'") + wire::bind("", "z") + wire::execute() +
                         wire::parse("s", "SELECT 8") + wire::bind("", "s") + wire::execute() +
                         wire::sync(),
                     2);
  CHECK(r.types == "TDCZEZ");
  // So the link does not have "SELECT 8": another client preparing it gets it prepared.
  r = y.send(wire::parse("t", "SELECT 8") + wire::bind("", "t") + wire::execute() + wire::sync());
  INFO(r.error);
  CHECK(r.values == std::vector<std::string>{"8"});
  CHECK(x.send(wire::bind("", "s") + wire::execute() + wire::sync()).sqlstate == "26000");
}

TEST_CASE("requests that need their replies edited, sent while a long result streams",
          "[prepared]") {
  // The result is read in many pieces; the Bind arrives after the first ones went through
  // unedited, and needs the pooler's own Close and Parse (the link keeps one statement).
  PoolerProcess pooler(onePoolLink("max_prepared_statements = 1\n"));
  RawSession x(pooler);
  CHECK(x.send(wire::parse("s0", "SELECT 0") + wire::sync()).types == "1Z");
  CHECK(x.send(wire::parse("s1", "SELECT 1") + wire::sync()).types == "1Z");
  REQUIRE(
      x.client.sendBytes(wire::query("SELECT repeat('x', 1000) FROM generate_series(1, 30000)")));
  char type = 0;
  std::string body;
  for (int i = 0; i < 10; ++i) REQUIRE(x.client.readMessage(type, body));
  REQUIRE(x.client.sendBytes(wire::bind("", "s0") + wire::execute() + wire::sync()));
  // Not read meanwhile: the server's last replies pile up behind the rows, so the pooler
  // reads them in one piece that begins inside a row.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Replies r = readUntilReady(x.client, 2);
  // The rest of the rows, the query's end, then only the answers to Bind, Execute and Sync.
  REQUIRE(r.types.size() >= 5);
  CHECK(r.types.substr(r.types.size() - 6) == "CZ2DCZ");
  CHECK(r.types.find_first_not_of('D') == r.types.size() - 6);
  CHECK(r.values.back() == "0");
  CHECK(x.send(wire::bind("", "s1") + wire::execute() + wire::sync()).values ==
        std::vector<std::string>{"1"});
}

TEST_CASE("a statement whose eviction an error may void is closed before it is prepared again",
          "[prepared]") {
  PoolerProcess pooler(onePoolLink("max_prepared_statements = 2\n"));
  RawSession x(pooler);
  CHECK(x.send(wire::parse("a", "SELECT 1 / 0") + wire::parse("b", "SELECT 'b'") + wire::sync())
            .types == "11Z");
  // Two batches sent at once. The first fails at its start, so the server skips the Close
  // that evicts b (for c). The second, sent before that is known, needs b back: the pooler
  // must not assume it is gone.
  Replies r = x.send(wire::bind("", "a") + wire::execute() + wire::parse("c", "SELECT 'c'") +
                         wire::sync() + wire::bind("", "b") + wire::execute() + wire::sync(),
                     2);
  INFO(r.error);
  CHECK(r.types == "EZ2DCZ");
  CHECK(r.values == std::vector<std::string>{"b"});
  for (int round = 0; round < 2; ++round) {
    r = x.send(wire::bind("", "b") + wire::execute() + wire::sync());
    INFO(r.error);
    CHECK(r.values == std::vector<std::string>{"b"});
  }
}

// psycopg 3.1 retires a statement from its cache with a SQL DEALLOCATE of the name it gave it,
// which the server only knows under the pooler's name.
TEST_CASE("a SQL DEALLOCATE of a protocol-level statement retires it", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler), y(pooler);
  CHECK(x.send(wire::parse("p", "SELECT 5") + wire::parse("q", "SELECT 6") + wire::sync()).types ==
        "11Z");
  CHECK(y.send(wire::parse("mine", "SELECT 5") + wire::sync()).types == "1Z");
  Replies r = x.send(wire::query("DEALLOCATE p"));
  INFO(r.error);
  CHECK(r.types == "CZ");
  CHECK(x.send(wire::bind("", "p") + wire::execute() + wire::sync()).sqlstate == "26000");
  // The name is free again; another client's statement with the same text is untouched.
  r = x.send(wire::parse("p", "SELECT 7") + wire::bind("", "p") + wire::execute() + wire::sync());
  INFO(r.error);
  CHECK(r.values == std::vector<std::string>{"7"});
  r = y.send(wire::bind("", "mine") + wire::execute() + wire::sync());
  INFO(r.error);
  CHECK(r.values == std::vector<std::string>{"5"});
  // Through the extended protocol, pipelined as psycopg 3 does.
  r = x.send(wire::parse("", "DEALLOCATE q") + wire::bind("", "") + wire::describe('P', "") +
             wire::execute() + wire::sync());
  INFO(r.error);
  CHECK(r.types == "12nCZ");
  CHECK(x.send(wire::bind("", "q") + wire::execute() + wire::sync()).sqlstate == "26000");
  // In a failed transaction it fails as on a direct connection, and the statement stays.
  CHECK(x.send(wire::query("BEGIN; SELECT 1 / 0")).sqlstate == "22012");
  CHECK(x.send(wire::query("DEALLOCATE p")).sqlstate == "25P02");
  CHECK(
      x.send(wire::parse("", "DEALLOCATE p") + wire::bind("", "") + wire::execute() + wire::sync())
          .sqlstate == "25P02");
  CHECK(x.send(wire::query("ROLLBACK")).types == "CZ");
  r = x.send(wire::bind("", "p") + wire::execute() + wire::sync());
  INFO(r.error);
  CHECK(r.values == std::vector<std::string>{"7"});
  // A name the client never prepared: the server's own error.
  CHECK(x.send(wire::query("DEALLOCATE nobody")).sqlstate == "26000");
}

TEST_CASE("Parse and Execute in separate round trips keep the link in between", "[prepared]") {
  PoolerProcess pooler(onePoolLink());
  RawSession x(pooler);
  REQUIRE(x.client.sendBytes(wire::parse("", "SELECT 5") + wire::flush()));
  char type = 0;
  std::string body;
  REQUIRE(x.client.readMessage(type, body));
  CHECK(type == '1');
  // No Sync yet: the unnamed statement lives on this link, which nobody else may take.
  Conn other = connectOk(pooler);
  std::atomic<bool> other_done{false};
  std::string other_value;
  std::thread waiter([&] {
    other_value = queryValueInThread(other.get(), "SELECT 1");
    other_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(other_done);
  Replies r = x.send(wire::bind("", "") + wire::execute() + wire::sync());
  CHECK(r.types == "2DCZ");
  CHECK(r.values == std::vector<std::string>{"5"});
  waiter.join();
  CHECK(other_done);
  CHECK(other_value == "1");
}

TEST_CASE("max_prepared_statements = 0 passes statement names through", "[prepared]") {
  PoolerProcess pooler(onePoolLink("max_prepared_statements = 0\n"));
  Conn a = connectOk(pooler);
  prepare(a.get(), "plain_name", "SELECT 1");
  CHECK(queryValue(a.get(), "SELECT name FROM pg_prepared_statements") == "plain_name");
}
