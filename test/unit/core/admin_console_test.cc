// The admin console's pure pieces: command parsing (PgBouncer's grammar) and result encoding.
#include <catch2/catch.hpp>

#include "pooler/admin/command_parser.h"
#include "pooler/admin/result_set.h"
#include "pooler/admin/show_commands.h"
#include "pooler/stats.h"
#include "pooler/wire/packet.h"

using namespace apibouncer;
using apibouncer::admin::parseCommand;
using Kind = apibouncer::admin::ParsedCommand::Kind;

TEST_CASE("admin command: verb and optional argument", "[admin]") {
  auto show = parseCommand("SHOW POOLS");
  REQUIRE(show);
  CHECK(show->kind == Kind::kCommand);
  CHECK(show->verb == "show");
  CHECK(show->arg == "POOLS");

  auto pause = parseCommand("  pause  ;  ");
  REQUIRE(pause);
  CHECK(pause->verb == "pause");
  CHECK(pause->arg.empty());

  auto quoted = parseCommand("PAUSE \"my\"\"db\";");
  REQUIRE(quoted);
  CHECK(quoted->arg == "my\"db");

  auto kill_client = parseCommand("KILL_CLIENT 42");
  REQUIRE(kill_client);
  CHECK(kill_client->verb == "kill_client");
  CHECK(kill_client->arg == "42");
}

TEST_CASE("admin command: what PgBouncer's grammar refuses", "[admin]") {
  CHECK_FALSE(parseCommand(""));
  CHECK_FALSE(parseCommand("SHOW POOLS; SHOW STATS"));  // one command per query
  CHECK_FALSE(parseCommand("SHOW a b"));
  CHECK_FALSE(parseCommand("SHOW 'pools'"));
  CHECK_FALSE(parseCommand("PAUSE \"unterminated"));
  CHECK_FALSE(parseCommand("PAUSE \"\""));
  CHECK_FALSE(parseCommand(std::string(65, 'x')));  // longer than PgBouncer's buffers
}

TEST_CASE("admin command: SET key = value, TO, and quoted values", "[admin]") {
  auto word = parseCommand("SET default_pool_size = 5");
  REQUIRE(word);
  CHECK(word->kind == Kind::kSet);
  CHECK(word->key == "default_pool_size");
  CHECK(word->value == "5");

  auto to = parseCommand("set server_reset_query TO 'DISCARD ALL; SELECT ''x''';");
  REQUIRE(to);
  CHECK(to->kind == Kind::kSet);
  CHECK(to->key == "server_reset_query");
  CHECK(to->value == "DISCARD ALL; SELECT 'x'");

  CHECK_FALSE(parseCommand("SET = 5"));
  CHECK_FALSE(parseCommand("SET x 5"));
  CHECK_FALSE(parseCommand("SET x = 'open"));
}

TEST_CASE("admin result set: RowDescription types, NULLs, CommandComplete", "[admin]") {
  admin::ResultSet rows("siq", {"name", "small", "big"});
  rows.addRow({admin::text("a"), admin::number(1), admin::number(uint64_t{1} << 40)});
  rows.addRow({admin::text("b"), admin::Cell(), admin::number(-1)});
  std::string bytes = rows.encode();
  auto span =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  std::vector<char> types;
  while (!span.empty()) {
    wire::Message msg;
    REQUIRE(wire::nextMessage(span, 1 << 20, msg) == wire::DecodeStatus::kOk);
    types.push_back(msg.header.type);
    if (msg.header.type == 'T') {
      std::string body(reinterpret_cast<const char*>(msg.body.data()), msg.body.size());
      // Three fields: int4 (OID 23) and int8 (OID 20) after the text one.
      CHECK(body.find(std::string("small\0", 6)) != std::string::npos);
      size_t small = body.find(std::string("small\0", 6)) + 6 + 6;  // skip table oid + attnum
      CHECK(static_cast<uint8_t>(body[small + 3]) == 23);
      size_t big = body.find(std::string("big\0", 4)) + 4 + 6;
      CHECK(static_cast<uint8_t>(body[big + 3]) == 20);
    }
    if (msg.header.type == 'C')
      CHECK(std::string(reinterpret_cast<const char*>(msg.body.data())) == "SHOW");
    span = span.subspan(msg.header.totalSize());
  }
  CHECK(types == std::vector<char>{'T', 'D', 'D', 'C'});
  CHECK(rows.rowCount() == 2);
}

TEST_CASE("admin result set: a short row is padded with NULLs", "[admin]") {
  admin::ResultSet rows("ss", {"a", "b"});
  rows.addRow({admin::text("x")});
  REQUIRE(rows.rows()[0].size() == 2);
  CHECK_FALSE(rows.rows()[0][1].has_value());
}

TEST_CASE("admin: fake parameters and online-changeable keys", "[admin]") {
  CHECK(admin::isFakeParameter("CLIENT_ENCODING"));
  CHECK_FALSE(admin::isFakeParameter("pools"));
  auto fake = admin::fakeParameter("timezone");
  REQUIRE(fake);
  CHECK(fake->rows()[0][0] == "GMT");
  CHECK(admin::changeableOnline("default_pool_size"));
  CHECK_FALSE(admin::changeableOnline("listen_port"));
  CHECK_FALSE(admin::changeableOnline("UNIX_SOCKET_DIR"));
}

TEST_CASE("stats: averages are per second for counts, per event for times", "[admin]") {
  DatabaseStats older, newer;
  newer.query_count = 20;
  newer.query_time_us = 2000;
  newer.xact_count = 10;
  newer.xact_time_us = 5000;
  newer.bytes_received = 1000;
  auto avg = averageOver(newer, older, 2.0);
  CHECK(avg.query_count == 10);
  CHECK(avg.query_time_us == 100);
  CHECK(avg.xact_count == 5);
  CHECK(avg.xact_time_us == 500);
  CHECK(avg.bytes_received == 500);
  CHECK(avg.wait_time_us == 0);  // no assignments: no division by zero
  CHECK(averageOver(newer, older, 0).query_count == 0);

  StatsRegistry registry;
  DatabaseStats& app = registry.forDatabase("app");
  app.query_count = 4;
  registry.maybeRoll(1000, 1000);  // first call only starts the clock
  app.query_count = 14;
  registry.maybeRoll(2000, 1000);
  size_t rows = 0;
  registry.forEach([&](const StatsRegistry::Row& row) {
    ++rows;
    CHECK(*row.database == "app");
    CHECK(row.totals->query_count == 14);
    CHECK(row.averages.query_count == 14);  // older snapshot is still zero
  });
  CHECK(rows == 1);
  CHECK(&registry.forDatabase("app") == &app);  // stable for pools to keep
}
