// The classifier: the cheap gate, writes found in every statement shape, refusals, and text
// that would crash or fool a naive parser.
#include <catch2/catch.hpp>

#include "interceptor/classifier.h"

using namespace apibouncer::interceptor;
using Kind = Classification::Kind;

namespace {

SyncConfig syncedConfig() {
  SyncConfig config;
  config.settings.writer_user = "writer";
  TableConfig customers;
  customers.schema = "public";
  customers.table = "customers";
  customers.database = "app";
  customers.api = "stripe";
  customers.object = "customer";
  config.tables.push_back(customers);
  TableConfig deals = customers;
  deals.schema = "crm";
  deals.table = "deals";
  config.tables.push_back(deals);
  return config;
}

}  // namespace

TEST_CASE("the cheap gate needs a write keyword and a synced table's name", "[classifier]") {
  SyncConfig config = syncedConfig();
  Classifier classifier(config);
  CHECK_FALSE(classifier.mayWriteSyncedTable("SELECT * FROM customers"));
  CHECK_FALSE(classifier.mayWriteSyncedTable("INSERT INTO orders VALUES (1)"));
  CHECK_FALSE(classifier.mayWriteSyncedTable("SELECT updated_at, deleted_at FROM customers"));
  CHECK(classifier.mayWriteSyncedTable("select 1; delete from customers"));
  CHECK(classifier.mayWriteSyncedTable("WITH x AS (DELETE FROM crm.deals RETURNING *) SELECT 1"));
  // Nothing configured: nothing is ever parsed.
  SyncConfig none;
  Classifier idle(none);
  Classification c = idle.classify("DELETE FROM customers");
  CHECK(c.kind == Kind::kPassThrough);
  CHECK_FALSE(c.parsed);
}

TEST_CASE("writes to synced tables are found in every form", "[classifier]") {
  SyncConfig config = syncedConfig();
  Classifier classifier(config);
  struct Case {
    const char* sql;
    WriteKind kind;
    const char* table;
  };
  for (const Case& c : {
           Case{"INSERT INTO customers (name) VALUES ('a'), ($1)", WriteKind::kInsert, "customers"},
           Case{"insert into public.customers select * from staging", WriteKind::kInsert,
                "customers"},
           Case{"INSERT INTO \"customers\" AS c (name) VALUES ('x') RETURNING c.id",
                WriteKind::kInsert, "customers"},
           Case{"UPDATE crm.deals d SET amount = s.amount FROM staging s WHERE d.id = s.id",
                WriteKind::kUpdate, "deals"},
           Case{"DELETE FROM customers c USING banned b WHERE c.email = b.email",
                WriteKind::kDelete, "customers"},
       }) {
    INFO(c.sql);
    Classification result = classifier.classify(c.sql);
    REQUIRE(result.kind == Kind::kSyncedWrite);
    REQUIRE(result.writes.size() == 1);
    CHECK(result.writes[0].kind == c.kind);
    CHECK(result.writes[0].table->table == c.table);
  }
  Classification returning = classifier.classify("DELETE FROM customers WHERE id = $1 RETURNING *");
  CHECK(returning.writes.at(0).returning);
  Classification nothing =
      classifier.classify("INSERT INTO customers (id) VALUES ('x') ON CONFLICT DO NOTHING");
  CHECK(nothing.writes.at(0).on_conflict_do_nothing);
}

TEST_CASE("names that only look like synced tables pass through", "[classifier]") {
  SyncConfig config = syncedConfig();
  Classifier classifier(config);
  for (const char* sql : {"INSERT INTO other.customers VALUES (1)",  // another schema
                          "UPDATE deals SET x = 1",                  // crm.deals, not public
                          "INSERT INTO \"Customers\" VALUES (1)",    // quoted: another table
                          "INSERT INTO log (message) VALUES ('delete from customers')",
                          "SELECT * FROM customers FOR UPDATE"}) {
    INFO(sql);
    CHECK(classifier.classify(sql).kind == Kind::kPassThrough);
  }
}

TEST_CASE("statements that cannot become one API request are refused", "[classifier]") {
  SyncConfig config = syncedConfig();
  Classifier classifier(config);
  struct Case {
    const char* sql;
    const char* sqlstate;
    const char* message_part;
  };
  for (const Case& c : {
           Case{"INSERT INTO customers (id, name) VALUES ('a', 'b') ON CONFLICT (id) DO UPDATE "
                "SET name = excluded.name",
                "0A000", "ON CONFLICT DO UPDATE"},
           Case{"MERGE INTO customers c USING staging s ON c.id = s.id WHEN MATCHED THEN DELETE",
                "0A000", "MERGE"},
           Case{"TRUNCATE customers", "0A000", "TRUNCATE"},
           Case{"COPY customers FROM STDIN", "0A000", "COPY FROM"},
           Case{"WITH gone AS (DELETE FROM customers RETURNING id) SELECT count(*) FROM gone",
                "0A000", "WITH"},
           Case{"EXPLAIN ANALYZE DELETE FROM customers", "0A000", "EXPLAIN ANALYZE"},
           Case{"PREPARE p AS DELETE FROM customers WHERE id = $1", "0A000", "PREPARE"},
           Case{"DELETE FROM customers WHERE", "42601", "syntax error"},
       }) {
    INFO(c.sql);
    Classification result = classifier.classify(c.sql);
    REQUIRE(result.kind == Kind::kRefused);
    CHECK(result.refusal.sqlstate == c.sqlstate);
    CHECK(result.refusal.message.find(c.message_part) != std::string::npos);
  }
  Classification upsert = classifier.classify(
      "INSERT INTO customers (id) VALUES ('a') ON CONFLICT (id) DO UPDATE SET id = 'b'");
  CHECK(upsert.refusal.hint.find("DO NOTHING") != std::string::npos);
  // Reading is fine: COPY TO, plain EXPLAIN.
  CHECK(classifier.classify("COPY customers TO STDOUT").kind == Kind::kPassThrough);
  CHECK(classifier.classify("EXPLAIN DELETE FROM customers").kind == Kind::kPassThrough);
}

TEST_CASE("multi-statement text reports each synced write where it is", "[classifier]") {
  SyncConfig config = syncedConfig();
  Classifier classifier(config);
  std::string sql =
      "BEGIN; INSERT INTO customers (name) VALUES ('a'); SELECT 1; "
      "DELETE FROM crm.deals WHERE id = 7; COMMIT;";
  Classification result = classifier.classify(sql);
  REQUIRE(result.kind == Kind::kSyncedWrite);
  CHECK(result.statements == 5);
  REQUIRE(result.writes.size() == 2);
  CHECK(
      sql.substr(result.writes[0].offset, result.writes[0].length).find("INSERT INTO customers") !=
      std::string::npos);
  CHECK(
      sql.substr(result.writes[1].offset, result.writes[1].length).find("DELETE FROM crm.deals") !=
      std::string::npos);
}

TEST_CASE("deep or huge text naming a synced table is refused, not parsed into a crash",
          "[classifier]") {
  SyncConfig config = syncedConfig();
  Classifier classifier(config);
  // 60k left-deep terms crash libpg_query on an 8 MiB stack (deps-notes); it is never parsed.
  std::string deep = "DELETE FROM customers WHERE id = 1";
  for (int i = 0; i < 60000; ++i) deep += "+1";
  Classification result = classifier.classify(deep);
  CHECK(result.kind == Kind::kRefused);
  CHECK(result.refusal.sqlstate == "54000");
  CHECK_FALSE(result.parsed);
  // The same depth in a statement about other tables is not looked at at all.
  std::string other = "SELECT 1";
  for (int i = 0; i < 60000; ++i) other += "+1";
  CHECK(classifier.classify(other).kind == Kind::kPassThrough);
  // Just under the cap parses fine on the main thread's stack.
  std::string near_cap = "DELETE FROM customers WHERE id = 1";
  while (near_cap.size() + 2 <= kMaxParsedSql) near_cap += "+1";
  CHECK(classifier.classify(near_cap).kind == Kind::kSyncedWrite);
}
