// The write planner: the exact stage, conflict filter and apply SQL of each statement shape
// (these texts were run against PostgreSQL 15), and every refusal.
#include <catch2/catch.hpp>

#include "interceptor/write_plan.h"

using namespace apibouncer::interceptor;

namespace {

TableConfig customers() {
  TableConfig table;
  table.schema = "public";
  table.table = "customers";
  table.primary_key = "id";
  return table;
}

WritePlanInput input(const TableConfig& table, std::string_view sql, int param_count = 0) {
  WritePlanInput in;
  in.sql = sql;
  in.table = &table;
  in.columns = {"id", "name", "email", "plan", "score"};
  in.stage = "st";
  in.row_limit = 3;
  in.param_count = param_count;
  return in;
}

WritePlan plan(std::string_view sql, int param_count = 0) {
  TableConfig table = customers();
  auto result = planWrite(input(table, sql, param_count));
  if (const Refusal* refusal = std::get_if<Refusal>(&result))
    FAIL("refused: " << refusal->sqlstate << " " << refusal->message);
  return std::get<WritePlan>(std::move(result));
}

Refusal refusal(std::string_view sql, int param_count = 0) {
  TableConfig table = customers();
  auto result = planWrite(input(table, sql, param_count));
  if (std::holds_alternative<WritePlan>(result))
    FAIL("not refused: " << std::get<WritePlan>(result).stage_sql);
  return std::get<Refusal>(std::move(result));
}

using Columns = std::vector<std::string>;

const char* kInsertApply =
    "INSERT INTO public.customers (id, name, email, plan, score) SELECT id, name, email, plan, "
    "score FROM jsonb_populate_recordset(NULL::public.customers, convert_from($1::bytea, 'UTF8')::jsonb)";

}  // namespace

TEST_CASE("INSERT VALUES with a column list and $n parameters", "[write_plan]") {
  WritePlan p =
      plan("INSERT INTO customers (name, score) VALUES ('x', 5), ($1, $2) RETURNING *", 2);
  CHECK(p.kind == WriteKind::kInsert);
  CHECK(p.stage_sql ==
        "INSERT INTO pg_temp.st (name, score) VALUES ('x', 5), ($1, $2) RETURNING "
        "convert_to(to_jsonb(st.*)::text, 'UTF8')");
  CHECK(p.apply_sql ==
        "INSERT INTO public.customers (id, name, email, plan, score) SELECT id, name, email, "
        "plan, score FROM jsonb_populate_recordset(NULL::public.customers, convert_from($3::bytea, 'UTF8')::jsonb) "
        "RETURNING *");
  CHECK(p.conflict_filter_sql.empty());
  CHECK(p.api_columns == Columns{"name", "score"});
  CHECK(p.values_rows == 2);
  CHECK(p.returning);
}

TEST_CASE("INSERT VALUES without a column list sends every column but the key", "[write_plan]") {
  WritePlan p = plan("insert into public.customers values ('k1', 'x', DEFAULT, DEFAULT, 3)");
  CHECK(p.stage_sql ==
        "INSERT INTO pg_temp.st VALUES ('k1', 'x', DEFAULT, DEFAULT, 3) RETURNING "
        "convert_to(to_jsonb(st.*)::text, 'UTF8')");
  CHECK(p.apply_sql == kInsertApply);
  CHECK(p.api_columns == Columns{"name", "email", "plan", "score"});
  CHECK(p.values_rows == 1);
  CHECK_FALSE(p.returning);
}

TEST_CASE("INSERT SELECT keeps WITH and OVERRIDING; VALUES rows are unknown", "[write_plan]") {
  WritePlan p = plan(
      "WITH src AS (SELECT n FROM names WHERE k = $1) INSERT INTO customers (name) OVERRIDING "
      "USER VALUE SELECT n FROM src",
      1);
  CHECK(p.stage_sql ==
        "WITH src AS (SELECT n FROM names WHERE k = $1) INSERT INTO pg_temp.st (name) "
        "OVERRIDING USER VALUE SELECT n FROM src RETURNING convert_to(to_jsonb(st.*)::text, 'UTF8')");
  CHECK(p.apply_sql ==
        "INSERT INTO public.customers (id, name, email, plan, score) SELECT id, name, email, "
        "plan, score FROM jsonb_populate_recordset(NULL::public.customers, convert_from($2::bytea, 'UTF8')::jsonb)");
  CHECK(p.values_rows == -1);
  CHECK(p.api_columns == Columns{"name"});
}

TEST_CASE("INSERT with an alias: the stage and apply keep it", "[write_plan]") {
  // convert_to(to_jsonb(c.*)::text, 'UTF8'), not to_jsonb(c): a column named c would win over the row.
  WritePlan p = plan("INSERT INTO customers AS c (id, name) VALUES ('a', 'b') RETURNING c.id");
  CHECK(p.stage_sql ==
        "INSERT INTO pg_temp.st AS c (id, name) VALUES ('a', 'b') RETURNING convert_to(to_jsonb(c.*)::text, 'UTF8')");
  CHECK(p.apply_sql ==
        "INSERT INTO public.customers AS c (id, name, email, plan, score) SELECT id, name, "
        "email, plan, score FROM jsonb_populate_recordset(NULL::public.customers, convert_from($1::bytea, 'UTF8')::jsonb) "
        "RETURNING c.id");
  CHECK(p.api_columns == Columns{"name"});
}

TEST_CASE("INSERT ... ON CONFLICT DO NOTHING without a target filters on the key", "[write_plan]") {
  WritePlan p = plan("INSERT INTO customers (id, name) VALUES ('a', 'x') ON CONFLICT DO NOTHING");
  CHECK(p.stage_sql ==
        "INSERT INTO pg_temp.st (id, name) VALUES ('a', 'x') RETURNING convert_to(to_jsonb(st.*)::text, 'UTF8')");
  CHECK(p.conflict_filter_sql ==
        "SELECT convert_to(to_jsonb(s.*)::text, 'UTF8') FROM pg_temp.st s WHERE NOT EXISTS (SELECT 1 FROM "
        "public.customers t WHERE t.id = s.id)");
  CHECK(p.apply_sql == kInsertApply);
  WritePlan named = plan(
      "INSERT INTO customers (id, name) VALUES ('a', 'x') ON CONFLICT ON CONSTRAINT "
      "customers_pkey DO NOTHING");
  CHECK(named.conflict_filter_sql == p.conflict_filter_sql);
}

TEST_CASE("INSERT ... ON CONFLICT (a, b) DO NOTHING filters on its columns", "[write_plan]") {
  WritePlan p = plan(
      "INSERT INTO customers (name, email) VALUES ('n', 'e') ON CONFLICT (email, name) DO "
      "NOTHING");
  CHECK(p.conflict_filter_sql ==
        "SELECT convert_to(to_jsonb(s.*)::text, 'UTF8') FROM pg_temp.st s WHERE NOT EXISTS (SELECT 1 FROM "
        "public.customers t WHERE t.email = s.email AND t.name = s.name)");
  CHECK(p.stage_sql ==
        "INSERT INTO pg_temp.st (name, email) VALUES ('n', 'e') RETURNING convert_to(to_jsonb(st.*)::text, 'UTF8')");
}

TEST_CASE("UPDATE with expressions on the old value, $n in SET and WHERE", "[write_plan]") {
  WritePlan p = plan(
      "UPDATE customers c SET score = c.score + 1, name = upper($1) WHERE c.id = $2 RETURNING "
      "c.id, name",
      2);
  CHECK(p.kind == WriteKind::kUpdate);
  CHECK(p.stage_sql ==
        "INSERT INTO pg_temp.st (id, name, email, plan, score) SELECT c.id, upper($1), "
        "c.email, c.plan, c.score + 1 FROM public.customers c WHERE c.id = $2 LIMIT 4 FOR "
        "UPDATE OF c RETURNING convert_to(to_jsonb(st.*)::text, 'UTF8')");
  CHECK(p.apply_sql ==
        "UPDATE public.customers c SET (name, email, plan, score) = (SELECT apibouncer_row.name, "
        "apibouncer_row.email, apibouncer_row.plan, apibouncer_row.score FROM "
        "jsonb_populate_recordset(NULL::public.customers, convert_from($3::bytea, 'UTF8')::jsonb) apibouncer_row WHERE "
        "apibouncer_row.id = c.id) WHERE c.id IN (SELECT apibouncer_row.id FROM "
        "jsonb_populate_recordset(NULL::public.customers, convert_from($3::bytea, 'UTF8')::jsonb) apibouncer_row) RETURNING "
        "c.id, name");
  CHECK(p.api_columns == Columns{"score", "name"});
  CHECK(p.returning);
  CHECK(p.values_rows == -1);
}

TEST_CASE("UPDATE ... SET c = DEFAULT leaves c to the stage's default", "[write_plan]") {
  WritePlan p = plan("UPDATE customers SET plan = DEFAULT, score = 0");
  CHECK(p.stage_sql ==
        "INSERT INTO pg_temp.st (id, name, email, score) SELECT customers.id, customers.name, "
        "customers.email, 0 FROM public.customers LIMIT 4 FOR UPDATE OF customers RETURNING "
        "convert_to(to_jsonb(st.*)::text, 'UTF8')");
  CHECK(p.api_columns == Columns{"plan", "score"});
}

TEST_CASE("UPDATE ... FROM without RETURNING, under WITH", "[write_plan]") {
  WritePlan p = plan(
      "WITH big AS (SELECT cid, n FROM orders WHERE n > 9) UPDATE customers SET score = big.n "
      "FROM big, other o WHERE big.cid = customers.id AND o.id = big.cid");
  CHECK(p.stage_sql ==
        "WITH big AS (SELECT cid, n FROM orders WHERE n > 9) INSERT INTO pg_temp.st (id, name, "
        "email, plan, score) SELECT customers.id, customers.name, customers.email, "
        "customers.plan, big.n FROM public.customers, big, other o WHERE big.cid = customers.id "
        "AND o.id = big.cid LIMIT 4 FOR UPDATE OF customers RETURNING convert_to(to_jsonb(st.*)::text, 'UTF8')");
  CHECK(p.apply_sql ==
        "UPDATE public.customers SET (name, email, plan, score) = (SELECT apibouncer_row.name, "
        "apibouncer_row.email, apibouncer_row.plan, apibouncer_row.score FROM "
        "jsonb_populate_recordset(NULL::public.customers, convert_from($1::bytea, 'UTF8')::jsonb) apibouncer_row WHERE "
        "apibouncer_row.id = customers.id) WHERE customers.id IN (SELECT apibouncer_row.id FROM "
        "jsonb_populate_recordset(NULL::public.customers, convert_from($1::bytea, 'UTF8')::jsonb) apibouncer_row)");
  CHECK(p.api_columns == Columns{"score"});
  CHECK_FALSE(p.returning);
}

TEST_CASE("DELETE ... USING", "[write_plan]") {
  WritePlan p =
      plan("DELETE FROM customers USING orders o WHERE o.cid = customers.id AND o.n = $1", 1);
  CHECK(p.kind == WriteKind::kDelete);
  CHECK(p.stage_sql ==
        "INSERT INTO pg_temp.st (id, name, email, plan, score) SELECT customers.id, "
        "customers.name, customers.email, customers.plan, customers.score FROM "
        "public.customers, orders o WHERE o.cid = customers.id AND o.n = $1 LIMIT 4 FOR UPDATE "
        "OF customers RETURNING convert_to(to_jsonb(st.*)::text, 'UTF8')");
  CHECK(p.apply_sql ==
        "DELETE FROM public.customers WHERE customers.id IN (SELECT apibouncer_row.id FROM "
        "jsonb_populate_recordset(NULL::public.customers, convert_from($2::bytea, 'UTF8')::jsonb) apibouncer_row)");
  CHECK(p.api_columns.empty());
  CHECK_FALSE(p.returning);
}

TEST_CASE("DELETE with an alias and RETURNING *", "[write_plan]") {
  WritePlan p = plan("DELETE FROM customers AS k WHERE k.score < 0 RETURNING *");
  CHECK(p.stage_sql ==
        "INSERT INTO pg_temp.st (id, name, email, plan, score) SELECT k.id, k.name, k.email, "
        "k.plan, k.score FROM public.customers k WHERE k.score < 0 LIMIT 4 FOR UPDATE OF k "
        "RETURNING convert_to(to_jsonb(st.*)::text, 'UTF8')");
  CHECK(p.apply_sql ==
        "DELETE FROM public.customers k WHERE k.id IN (SELECT apibouncer_row.id FROM "
        "jsonb_populate_recordset(NULL::public.customers, convert_from($1::bytea, 'UTF8')::jsonb) apibouncer_row) RETURNING "
        "*");
  CHECK(p.returning);
}

TEST_CASE("identifiers that need quotes are quoted", "[write_plan]") {
  TableConfig table;
  table.schema = "Sch";
  table.table = "Cust \"Omers";
  table.primary_key = "Id";
  WritePlanInput in = input(table, "DELETE FROM \"Sch\".\"Cust \"\"Omers\" WHERE \"select\" = 1");
  in.columns = {"Id", "select"};
  in.stage = "St age";
  auto result = planWrite(in);
  REQUIRE(std::holds_alternative<WritePlan>(result));
  const WritePlan& p = std::get<WritePlan>(result);
  CHECK(p.stage_sql ==
        "INSERT INTO pg_temp.\"St age\" (\"Id\", \"select\") SELECT \"Cust \"\"Omers\".\"Id\", "
        "\"Cust \"\"Omers\".\"select\" FROM \"Sch\".\"Cust \"\"Omers\" WHERE \"select\" = 1 "
        "LIMIT 4 FOR UPDATE OF \"Cust \"\"Omers\" RETURNING convert_to(to_jsonb(\"St age\".*)::text, 'UTF8')");
  CHECK(p.apply_sql ==
        "DELETE FROM \"Sch\".\"Cust \"\"Omers\" WHERE \"Cust \"\"Omers\".\"Id\" IN (SELECT "
        "apibouncer_row.\"Id\" FROM jsonb_populate_recordset(NULL::\"Sch\".\"Cust \"\"Omers\", "
        "convert_from($1::bytea, 'UTF8')::jsonb) apibouncer_row)");
}

TEST_CASE("refusals: the text is not one write to the table", "[write_plan]") {
  CHECK(refusal("INSERT INTO customers VALUES (").sqlstate == "42601");
  Refusal two = refusal("DELETE FROM customers; DELETE FROM customers");
  CHECK(two.sqlstate == "0A000");
  CHECK(two.message ==
        "a write to the synced table public.customers must be exactly one "
        "statement, not 2");
  CHECK(refusal("").sqlstate == "0A000");
  CHECK(refusal("SELECT * FROM customers").sqlstate == "0A000");
  Refusal other = refusal("DELETE FROM crm.customers");
  CHECK(other.sqlstate == "0A000");
  CHECK(other.message ==
        "the statement writes crm.customers, not the synced table "
        "public.customers");
  Refusal params = refusal("DELETE FROM customers WHERE id = $2", 1);
  CHECK(params.sqlstate == "08P01");
  TableConfig table = customers();
  WritePlanInput in = input(table, "DELETE FROM customers");
  in.table = nullptr;
  CHECK(std::get<Refusal>(planWrite(in)).sqlstate == "XX000");
}

TEST_CASE("refusals: INSERT", "[write_plan]") {
  Refusal rows = refusal("INSERT INTO customers (name) VALUES ('a'), ('b'), ('c'), ('d')");
  CHECK(rows.sqlstate == "54000");
  CHECK(rows.message ==
        "INSERT into public.customers has 4 rows, more than the 3 one statement may send to the "
        "API");
  CHECK(rows.hint ==
        "Split it into statements of at most 3 rows, or raise max_insert in "
        "[table.public.customers].");
  Refusal expression =
      refusal("INSERT INTO customers (name) VALUES ('a') ON CONFLICT (lower(name)) DO NOTHING");
  CHECK(expression.sqlstate == "0A000");
  CHECK(expression.message ==
        "an expression as ON CONFLICT target is not supported on the synced table "
        "public.customers");
  CHECK(refusal("INSERT INTO customers (name) VALUES ('a') ON CONFLICT (name) WHERE score > 0 "
                "DO NOTHING")
            .sqlstate == "0A000");
  CHECK(
      refusal("INSERT INTO customers (name) VALUES ('a') ON CONFLICT (nope) DO NOTHING").sqlstate ==
      "0A000");
  CHECK(refusal("INSERT INTO customers (id) VALUES ('a') ON CONFLICT (id) DO UPDATE SET "
                "name = 'x'")
            .sqlstate == "0A000");
  CHECK(refusal("INSERT INTO customers (nope) VALUES (1)").message ==
        "column \"nope\" is not a writable column of the synced table public.customers");
  CHECK(refusal("INSERT INTO customers (name[1]) VALUES ('a')").sqlstate == "0A000");
  CHECK(refusal("INSERT INTO customers (name, name) VALUES ('a', 'b')").sqlstate == "42601");
  Refusal with = refusal(
      "WITH x AS (SELECT 1 AS n) INSERT INTO customers (name) SELECT 'a' FROM x RETURNING (SELECT "
      "n FROM x)");
  CHECK(with.sqlstate == "0A000");
  CHECK(with.message ==
        "RETURNING with a subquery in a statement with WITH is not supported on the synced "
        "table public.customers");
}

TEST_CASE("refusals: UPDATE", "[write_plan]") {
  Refusal key = refusal("UPDATE customers SET id = 'b' WHERE id = 'a'");
  CHECK(key.sqlstate == "0A000");
  CHECK(key.message ==
        "UPDATE cannot change the primary key \"id\" of the synced table public.customers");
  CHECK_FALSE(key.hint.empty());
  Refusal multi = refusal("UPDATE customers SET (name, email) = ('a', 'b')");
  CHECK(multi.sqlstate == "0A000");
  CHECK(multi.message ==
        "UPDATE ... SET (a, b) = ... is not supported on the synced table public.customers");
  CHECK(refusal("UPDATE customers SET (name, email) = (SELECT 'a', 'b')").sqlstate == "0A000");
  Refusal part = refusal("UPDATE customers SET name[1] = 'a'");
  CHECK(part.sqlstate == "0A000");
  CHECK(part.message ==
        "writing part of column \"name\" (a subscript or field) is not supported on the synced "
        "table public.customers");
  CHECK(refusal("UPDATE customers SET name.f = 'a'").sqlstate == "0A000");
  Refusal cursor = refusal("UPDATE customers SET name = 'a' WHERE CURRENT OF cur");
  CHECK(cursor.sqlstate == "0A000");
  CHECK(cursor.message ==
        "UPDATE ... WHERE CURRENT OF is not supported on the synced table public.customers");
  Refusal from = refusal("UPDATE customers SET score = o.n FROM orders o RETURNING customers.id");
  CHECK(from.sqlstate == "0A000");
  CHECK(from.message ==
        "UPDATE ... FROM ... RETURNING is not supported on the synced table public.customers");
  Refusal unknown = refusal("UPDATE customers SET created = now()");
  CHECK(unknown.sqlstate == "0A000");
  CHECK(unknown.message ==
        "column \"created\" is not a writable column of the synced table public.customers");
  CHECK(refusal("UPDATE customers SET name = 'a', name = 'b'").sqlstate == "42601");
  CHECK(refusal("UPDATE customers AS apibouncer_row SET name = 'a'").sqlstate == "0A000");
  CHECK(refusal("WITH x AS (SELECT 1 AS n) UPDATE customers SET name = 'a' RETURNING (SELECT n "
                "FROM x)")
            .sqlstate == "0A000");
}

TEST_CASE("refusals: DELETE", "[write_plan]") {
  Refusal cursor = refusal("DELETE FROM customers WHERE CURRENT OF cur");
  CHECK(cursor.sqlstate == "0A000");
  CHECK(cursor.message ==
        "DELETE ... WHERE CURRENT OF is not supported on the synced table public.customers");
  Refusal using_ = refusal("DELETE FROM customers USING orders o WHERE o.cid = id RETURNING *");
  CHECK(using_.sqlstate == "0A000");
  CHECK(using_.message ==
        "DELETE ... USING ... RETURNING is not supported on the synced table public.customers");
  CHECK_FALSE(using_.hint.empty());
  CHECK(refusal("DELETE FROM customers apibouncer_row").sqlstate == "0A000");
}

// libpg_query's protobuf path crashes an 8 MB stack at about 25k nested terms (deps-notes);
// the planner runs long statements on a large stack, so the deepest statement the classifier
// lets through (kMaxParsedSql) is planned, not a crash.
TEST_CASE("a deeply nested statement just under the parse limit is planned without a crash",
          "[write_plan]") {
  std::string prefix = "INSERT INTO public.customers (name, score) VALUES ('x', 1";
  std::string sql = prefix;
  while (sql.size() + 3 < kMaxParsedSql) sql += "+1";
  sql += ")";
  TableConfig table = customers();
  auto result = planWrite(input(table, sql));
  REQUIRE(std::holds_alternative<WritePlan>(result));
  CHECK(std::get<WritePlan>(result).stage_sql.size() > kMaxParsedSql / 2);
}

TEST_CASE("a statement over the parse limit is refused, not parsed", "[write_plan]") {
  std::string sql =
      "INSERT INTO public.customers (name) VALUES ('" + std::string(kMaxParsedSql, 'x') + "')";
  CHECK(refusal(sql).sqlstate == "54000");
}
