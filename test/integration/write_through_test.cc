// The write-through (DESIGN.md "The write-through"): INSERT/UPDATE/DELETE on a synced table go
// to the API first (the fake API, generic `http` platform), then the API's answer is applied to
// the table, and the client sees exactly what PostgreSQL would have answered — or an error with
// the SQLSTATE of interceptor/api_errors.cc when the API refuses, is down or is slow.
#include <httplib.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakeapi_fixture.h"
#include "fixture.h"
#include "pooler/wire/writer.h"

using namespace itest;
namespace wire = apibouncer::wire;

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kJson = "application/json";
constexpr const char* kApiKey = "test-key";

// ---- the fake API, seen from the test -------------------------------------------------------

// A JSON record flattened to text: strings as they are, anything else as JSON ("12", "null").
using Record = std::map<std::string, std::string>;

struct ApiRequest {
  std::string method, path;
  std::vector<Record> records;   // POST / PATCH bodies
  std::vector<std::string> ids;  // DELETE bodies
};

Record toRecord(const rapidjson::Value& object) {
  Record record;
  if (!object.IsObject()) return record;
  for (const auto& member : object.GetObject()) {
    record[std::string(member.name.GetString(), member.name.GetStringLength())] =
        jsonText(member.value);
  }
  return record;
}

std::vector<Record> toRecords(const rapidjson::Value* array) {
  std::vector<Record> records;
  if (array == nullptr || !array->IsArray()) return records;
  for (const auto& item : array->GetArray()) records.push_back(toRecord(item));
  return records;
}

const rapidjson::Value* member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

httplib::Client clientFor(const FakeApiProcess& api) {
  httplib::Client client("127.0.0.1", api.port());
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(5));
  return client;
}

// The records the fake API holds for `object`, in creation order.
std::vector<Record> storedRecords(const FakeApiProcess& api, const std::string& object) {
  rapidjson::Document doc;
  std::string body = apiGet(api, "/_control/store");
  doc.Parse(body.c_str());
  INFO(body);
  REQUIRE_FALSE(doc.HasParseError());
  return toRecords(member(doc, object.c_str()));
}

// The non-control requests the fake API received, in arrival order.
std::vector<ApiRequest> apiRequests(const FakeApiProcess& api) {
  rapidjson::Document doc;
  std::string body = apiGet(api, "/_control/requests");
  doc.Parse(body.c_str());
  INFO(body);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsArray());
  std::vector<ApiRequest> requests;
  for (const auto& entry : doc.GetArray()) {
    ApiRequest request;
    request.method = jsonText(*member(entry, "method"));
    request.path = jsonText(*member(entry, "path"));
    if (const rapidjson::Value* request_body = member(entry, "body")) {
      request.records = toRecords(member(*request_body, "records"));
      if (const rapidjson::Value* ids = member(*request_body, "ids"); ids && ids->IsArray()) {
        for (const auto& id : ids->GetArray()) request.ids.push_back(jsonText(id));
      }
    }
    requests.push_back(std::move(request));
  }
  return requests;
}

const Record* findById(const std::vector<Record>& records, const std::string& id) {
  for (const Record& record : records) {
    auto it = record.find("id");
    if (it != record.end() && it->second == id) return &record;
  }
  return nullptr;
}

// The record with `id`; the test stops here if there is none.
const Record& recordOf(const std::vector<Record>& records, const std::string& id) {
  const Record* record = findById(records, id);
  INFO("no record with id " << id);
  REQUIRE(record != nullptr);
  return *record;
}

std::string field(const Record& record, const std::string& name) {
  auto it = record.find(name);
  return it == record.end() ? "<absent>" : it->second;
}

std::vector<std::string> sortedIds(const std::vector<Record>& records) {
  std::vector<std::string> ids;
  for (const Record& record : records) ids.push_back(field(record, "id"));
  std::sort(ids.begin(), ids.end());
  return ids;
}

// ---- PostgreSQL, seen from the test ---------------------------------------------------------

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// A synced table as the spec describes it, created fresh; app may read it, writer may write it.
void createSyncedTable(const std::string& table) {
  superuserQuery("SET client_min_messages = warning; DROP TABLE IF EXISTS public." + table);
  superuserQuery("CREATE TABLE public." + table +
                 " (id text PRIMARY KEY, name text NOT NULL, email text, plan text DEFAULT "
                 "'free', score int)");
  superuserQuery("GRANT SELECT ON public." + table + " TO app");
  superuserQuery("GRANT ALL ON public." + table + " TO writer");
}

std::string tableSection(const std::string& table, const std::string& object) {
  return "[table.public." + table + "]\ndatabase = app\napi = crm\nobject = " + object +
         "\nprimary_key = id\nmax_insert = 3\n";
}

struct WriteThroughOptions {
  std::string pgbouncer_settings;   // extra [pgbouncer] lines, e.g. "pool_mode = transaction\n"
  std::string base_url;             // default: the fake API
  std::string apibouncer_settings;  // extra [apibouncer] lines, e.g. "write_pool_size = 8\n"
};

// One synced table `public.wt_<suffix>` (object "customers" in the fake API, max_insert = 3),
// the role `writer`, a fake API requiring `test-key`, and an apibouncer wired to all three.
struct WriteThrough {
  explicit WriteThrough(const std::string& suffix, WriteThroughOptions options = {})
      : table("wt_" + suffix), api(kApiKey) {
    ensureRole("writer", "writer-secret");
    createSyncedTable(table);
    std::string base_url = options.base_url.empty() ? api.baseUrl() : options.base_url;
    // api_timeout = 2 unless the test sets its own.
    std::string timeout =
        contains(options.apibouncer_settings, "api_timeout") ? "" : "api_timeout = 2\n";
    std::string settings = options.pgbouncer_settings + "[apibouncer]\nwriter_user = writer\n" +
                           timeout + options.apibouncer_settings +
                           "[api.crm]\nplatform = http\nbase_url = " + base_url +
                           "\napi_key = " + kApiKey + "\n" + tableSection(table, "customers");
    pooler = std::make_unique<PoolerProcess>(
        PoolerConfig{"", settings, defaultUserlist() + "\"writer\" \"writer-secret\"\n", true});
  }

  Conn connect() const { return connectOk(*pooler); }

  // What to print when an assertion fails: the result, the pooler's log and the API's output.
  std::string context(const PGresult* result = nullptr) const {
    std::string text;
    if (result != nullptr) {
      text += std::string("result: ") + PQresStatus(PQresultStatus(result)) + " " +
              cmdStatus(result) + " " + PQresultErrorMessage(result) + "\n";
    }
    std::string log = pooler->log();
    if (log.size() > 4000) log = "..." + log.substr(log.size() - 4000);
    return text + "pooler log:\n" + log + "\nfake API output:\n" + api.output();
  }

  // Reads the table directly (as the superuser), bypassing the pooler.
  int rowCount(const std::string& where = "true") const {
    return std::stoi(superuserQuery("SELECT count(*) FROM public." + table + " WHERE " + where));
  }
  std::string column(const std::string& column, const std::string& id) const {
    return superuserQuery("SELECT coalesce(" + column + "::text, '<null>') FROM public." + table +
                          " WHERE id = '" + id + "'");
  }
  std::vector<std::string> tableIds() const {
    std::string joined =
        superuserQuery("SELECT coalesce(string_agg(id, ','), '') FROM public." + table);
    std::vector<std::string> ids;
    std::stringstream in(joined);
    for (std::string id; std::getline(in, id, ',');) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::vector<Record> customers() const { return storedRecords(api, "customers"); }
  std::vector<ApiRequest> requests() const { return apiRequests(api); }

  // Rows that exist in both the API and the table, as if synced earlier: the API assigns the
  // ids (customers_1, ...) and the same rows go straight into the table. Row i gets score
  // 10 * (i + 1) and plan 'free'. Returns the ids in order; the seeding request is logged.
  std::vector<std::string> seed(const std::vector<std::string>& names) const {
    std::string body = "{\"records\":[";
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) body += ",";
      body += "{\"name\":\"" + names[i] + "\",\"email\":\"" + lower(names[i]) +
              "@x\",\"plan\":\"free\",\"score\":" + std::to_string(10 * (i + 1)) + "}";
    }
    body += "]}";
    auto client = clientFor(api);
    auto res = client.Post("/customers", {{"Authorization", std::string("Bearer ") + kApiKey}},
                           body, kJson);
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 201);
    rapidjson::Document doc;
    doc.Parse(res->body.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    std::vector<Record> created = toRecords(member(doc, "records"));
    REQUIRE(created.size() == names.size());
    std::vector<std::string> ids;
    for (size_t i = 0; i < names.size(); ++i) {
      ids.push_back(field(created[i], "id"));
      superuserQuery("INSERT INTO public." + table + " VALUES ('" + ids.back() + "', '" + names[i] +
                     "', '" + lower(names[i]) + "@x', 'free', " + std::to_string(10 * (i + 1)) +
                     ")");
    }
    return ids;
  }

  std::string table;
  FakeApiProcess api;
  std::unique_ptr<PoolerProcess> pooler;
};

// Writes `text` as the pooler's ini in one step, so a reload never reads half a file.
void replaceIni(const PoolerProcess& pooler, const std::string& text) {
  std::string path = pooler.dir() + "/pooler.ini";
  {
    std::ofstream out(path + ".new");
    out << text;
  }
  REQUIRE(std::rename((path + ".new").c_str(), path.c_str()) == 0);
}

std::string readIni(const PoolerProcess& pooler) {
  std::ifstream in(pooler.dir() + "/pooler.ini");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

// ---- INSERT ---------------------------------------------------------------------------------

TEST_CASE("write-through: INSERT RETURNING gets the API's id and the table's defaults",
          "[write_through]") {
  WriteThrough wt("insert_one");
  Conn conn = wt.connect();
  Result r =
      exec(conn.get(), "INSERT INTO " + wt.table +
                           " (name, email) VALUES ('Ada', 'ada@x') RETURNING id, name, plan");
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  REQUIRE(PQntuples(r.get()) == 1);
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  std::string id = PQgetvalue(r.get(), 0, 0);
  CHECK_FALSE(id.empty());
  CHECK(std::string(PQgetvalue(r.get(), 0, 1)) == "Ada");
  CHECK(std::string(PQgetvalue(r.get(), 0, 2)) == "free");

  std::vector<Record> customers = wt.customers();
  REQUIRE(customers.size() == 1);
  CHECK(field(customers[0], "id") == id);
  CHECK(field(customers[0], "name") == "Ada");
  CHECK(field(customers[0], "email") == "ada@x");

  CHECK(wt.rowCount() == 1);
  CHECK(wt.column("name", id) == "Ada");
  CHECK(wt.column("email", id) == "ada@x");
  CHECK(wt.column("plan", id) == "free");
  // The pooler's own read sees it too.
  CHECK(queryValue(conn.get(), "SELECT name FROM " + wt.table + " WHERE id = '" + id + "'") ==
        "Ada");

  std::vector<ApiRequest> requests = wt.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].path == "/customers");
}

TEST_CASE("write-through: a multi-row INSERT is one API request", "[write_through]") {
  WriteThrough wt("insert_three");
  Conn conn = wt.connect();
  Result r = exec(conn.get(), "INSERT INTO " + wt.table +
                                  " (name, email) VALUES ('Ada', 'ada@x'), ('Bob', 'bob@x'), "
                                  "('Cy', NULL)");
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(r.get()) == "INSERT 0 3");

  std::vector<Record> customers = wt.customers();
  REQUIRE(customers.size() == 3);
  CHECK(wt.rowCount() == 3);
  CHECK(wt.tableIds() == sortedIds(customers));
  for (const Record& customer : customers) {
    CHECK(wt.column("name", field(customer, "id")) == field(customer, "name"));
  }

  std::vector<ApiRequest> requests = wt.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].path == "/customers");
  CHECK(requests[0].records.size() == 3);
}

// ---- UPDATE and DELETE ----------------------------------------------------------------------

TEST_CASE("write-through: UPDATE patches the API's records, then the table", "[write_through]") {
  WriteThrough wt("update");
  std::vector<std::string> ids = wt.seed({"Bob", "Cy", "Di"});  // scores 10, 20, 30
  const size_t seeded = wt.requests().size();
  Conn conn = wt.connect();

  SECTION("one row") {
    Result r = exec(conn.get(), "UPDATE " + wt.table +
                                    " SET plan = 'pro', score = score + 1 WHERE name = 'Bob'");
    INFO(wt.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
    CHECK(cmdStatus(r.get()) == "UPDATE 1");

    std::vector<Record> customers = wt.customers();
    REQUIRE(customers.size() == 3);
    CHECK(field(recordOf(customers, ids[0]), "plan") == "pro");
    CHECK(field(recordOf(customers, ids[0]), "score") == "11");
    CHECK(field(recordOf(customers, ids[1]), "plan") == "free");
    CHECK(wt.column("plan", ids[0]) == "pro");
    CHECK(wt.column("score", ids[0]) == "11");
    CHECK(wt.column("plan", ids[1]) == "free");
    CHECK(wt.column("score", ids[1]) == "20");

    std::vector<ApiRequest> requests = wt.requests();
    REQUIRE(requests.size() == seeded + 1);
    CHECK(requests.back().method == "PATCH");
    CHECK(requests.back().path == "/customers");
    REQUIRE(requests.back().records.size() == 1);
    CHECK(field(requests.back().records[0], "id") == ids[0]);
  }

  SECTION("several rows") {
    Result r = exec(conn.get(), "UPDATE " + wt.table +
                                    " SET plan = 'pro', score = score + 1 WHERE score >= 20");
    INFO(wt.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
    CHECK(cmdStatus(r.get()) == "UPDATE 2");

    std::vector<Record> customers = wt.customers();
    REQUIRE(customers.size() == 3);
    CHECK(field(recordOf(customers, ids[0]), "plan") == "free");
    CHECK(field(recordOf(customers, ids[0]), "score") == "10");
    CHECK(field(recordOf(customers, ids[1]), "plan") == "pro");
    CHECK(field(recordOf(customers, ids[1]), "score") == "21");
    CHECK(field(recordOf(customers, ids[2]), "plan") == "pro");
    CHECK(field(recordOf(customers, ids[2]), "score") == "31");
    CHECK(wt.column("score", ids[0]) == "10");
    CHECK(wt.column("score", ids[1]) == "21");
    CHECK(wt.column("score", ids[2]) == "31");
    CHECK(wt.rowCount("plan = 'pro'") == 2);

    std::vector<ApiRequest> requests = wt.requests();
    REQUIRE(requests.size() == seeded + 1);
    CHECK(requests.back().method == "PATCH");
    CHECK(requests.back().records.size() == 2);
  }

  SECTION("no row: no API request") {
    Result r = exec(conn.get(), "UPDATE " + wt.table +
                                    " SET plan = 'pro', score = score + 1 WHERE name = 'nobody'");
    INFO(wt.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
    CHECK(cmdStatus(r.get()) == "UPDATE 0");
    CHECK(wt.requests().size() == seeded);
    CHECK(wt.rowCount("plan = 'pro'") == 0);
  }
}

TEST_CASE("write-through: DELETE removes from the API, then from the table", "[write_through]") {
  WriteThrough wt("delete");
  std::vector<std::string> ids = wt.seed({"Bob", "Cy", "Di"});
  const size_t seeded = wt.requests().size();
  Conn conn = wt.connect();

  SECTION("one row") {
    Result r = exec(conn.get(), "DELETE FROM " + wt.table + " WHERE name = 'Cy'");
    INFO(wt.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
    CHECK(cmdStatus(r.get()) == "DELETE 1");
    std::vector<Record> customers = wt.customers();
    CHECK(customers.size() == 2);
    CHECK(findById(customers, ids[1]) == nullptr);
    CHECK(wt.rowCount() == 2);
    CHECK(wt.rowCount("id = '" + ids[1] + "'") == 0);

    std::vector<ApiRequest> requests = wt.requests();
    REQUIRE(requests.size() == seeded + 1);
    CHECK(requests.back().method == "DELETE");
    CHECK(requests.back().path == "/customers");
    CHECK(requests.back().ids == std::vector<std::string>{ids[1]});
  }

  SECTION("several rows") {
    Result r = exec(conn.get(), "DELETE FROM " + wt.table + " WHERE score <= 20");
    INFO(wt.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
    CHECK(cmdStatus(r.get()) == "DELETE 2");
    std::vector<Record> customers = wt.customers();
    REQUIRE(customers.size() == 1);
    CHECK(field(customers[0], "id") == ids[2]);
    CHECK(wt.tableIds() == std::vector<std::string>{ids[2]});

    std::vector<ApiRequest> requests = wt.requests();
    REQUIRE(requests.size() == seeded + 1);
    CHECK(requests.back().method == "DELETE");
    std::vector<std::string> deleted = requests.back().ids;
    std::sort(deleted.begin(), deleted.end());
    CHECK(deleted == std::vector<std::string>{ids[0], ids[1]});
  }

  SECTION("no row: no API request") {
    Result r = exec(conn.get(), "DELETE FROM " + wt.table + " WHERE name = 'nobody'");
    INFO(wt.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
    CHECK(cmdStatus(r.get()) == "DELETE 0");
    CHECK(wt.requests().size() == seeded);
    CHECK(wt.rowCount() == 3);
  }
}

// ---- when the API says no, or says nothing --------------------------------------------------

TEST_CASE("write-through: an API validation error is 23514 with the API's message",
          "[write_through]") {
  WriteThrough wt("validation");
  Conn conn = wt.connect();
  control(wt.api, "/_control/fail",
          R"({"count":1,"status":422,"body":{"error":{"type":"validation",)"
          R"("message":"email is invalid","code":"invalid_email","field":"email"}}})");
  Result r = exec(conn.get(), "INSERT INTO " + wt.table + " (name, email) VALUES ('Ada', 'bad')");
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "23514");
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY), "email is invalid"));
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_DETAIL), "422"));
  CHECK(wt.rowCount() == 0);
  CHECK(wt.customers().empty());
  CHECK(wt.requests().size() == 1);  // it did reach the API
  // The session is usable afterwards.
  CHECK(queryValue(conn.get(), "SELECT 'still here'") == "still here");
}

TEST_CASE("write-through: an unreachable API is 08001 and nothing is applied", "[write_through]") {
  RefusingPort nobody;
  WriteThrough wt("api_down", {"", "http://127.0.0.1:" + std::to_string(nobody.port()), ""});
  Conn conn = wt.connect();
  Result r = exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('Ada')");
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "08001");
  CHECK(wt.rowCount() == 0);
  CHECK(queryValue(conn.get(), "SELECT 'still here'") == "still here");
}

TEST_CASE("write-through: an API slower than api_timeout is an error, nothing applied",
          "[write_through]") {
  WriteThrough wt("timeout");
  Conn conn = wt.connect();
  control(wt.api, "/_control/delay", R"({"ms":6000,"count":1})");
  auto start = Clock::now();
  Result r = exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('Ada')");
  auto elapsed = Clock::now() - start;
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  // 57014 if nothing was sent, 08007 if the request went out and may have been applied.
  std::string sqlstate = errorField(r.get(), PG_DIAG_SQLSTATE);
  CHECK((sqlstate == "57014" || sqlstate == "08007"));
  CHECK(elapsed < std::chrono::milliseconds(5000));  // api_timeout (2 s), not the API's delay
  CHECK(wt.rowCount() == 0);
}

TEST_CASE("write-through: a 429 with Retry-After is retried and the write goes through",
          "[write_through]") {
  WriteThrough wt("rate_limited");
  Conn conn = wt.connect();
  control(wt.api, "/_control/fail",
          R"({"count":1,"status":429,"retry_after":1,)"
          R"("body":{"error":{"type":"rate_limited","message":"slow down"}}})");
  Result r = exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('Ada') RETURNING id");
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  REQUIRE(PQntuples(r.get()) == 1);
  std::string id = PQgetvalue(r.get(), 0, 0);
  CHECK(wt.column("name", id) == "Ada");
  CHECK(wt.rowCount() == 1);
  std::vector<Record> customers = wt.customers();
  REQUIRE(customers.size() == 1);
  CHECK(field(customers[0], "id") == id);
  std::vector<ApiRequest> requests = wt.requests();
  CHECK(requests.size() == 2);  // the refused attempt and the retry
}

// ---- refused before the API sees anything ---------------------------------------------------

TEST_CASE("write-through: more rows than max_insert is 54000, nothing sent", "[write_through]") {
  WriteThrough wt("over_limit");  // max_insert = 3
  Conn conn = wt.connect();
  Result r =
      exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('A'), ('B'), ('C'), ('D')");
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "54000");
  std::string hint = lower(errorField(r.get(), PG_DIAG_MESSAGE_HINT));
  CHECK((contains(hint, "batch") || contains(hint, "split")));
  CHECK(wt.requests().empty());
  CHECK(wt.rowCount() == 0);
}

TEST_CASE("write-through: ON CONFLICT DO UPDATE is refused, DO NOTHING skips existing keys",
          "[write_through]") {
  WriteThrough wt("on_conflict");
  superuserQuery("INSERT INTO public." + wt.table + " (id, name) VALUES ('existing-1', 'Old')");
  Conn conn = wt.connect();

  SECTION("DO UPDATE: 0A000, pointing at DO NOTHING") {
    Result r = exec(conn.get(), "INSERT INTO " + wt.table +
                                    " (id, name) VALUES ('existing-1', 'New') "
                                    "ON CONFLICT (id) DO UPDATE SET name = excluded.name");
    INFO(wt.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
    CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "0A000");
    CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_HINT), "DO NOTHING"));
    CHECK(wt.requests().empty());
    CHECK(wt.column("name", "existing-1") == "Old");
  }

  SECTION("DO NOTHING: only the new row goes to the API") {
    Result r = exec(conn.get(), "INSERT INTO " + wt.table +
                                    " (id, name) VALUES ('existing-1', 'Dup'), ('new-1', 'New') "
                                    "ON CONFLICT (id) DO NOTHING");
    INFO(wt.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
    CHECK(cmdStatus(r.get()) == "INSERT 0 1");
    std::vector<ApiRequest> requests = wt.requests();
    REQUIRE(requests.size() == 1);
    REQUIRE(requests[0].records.size() == 1);
    CHECK(field(requests[0].records[0], "name") == "New");
    std::vector<Record> customers = wt.customers();
    REQUIRE(customers.size() == 1);
    CHECK(field(customers[0], "name") == "New");
    CHECK(wt.column("name", "existing-1") == "Old");
    CHECK(wt.rowCount() == 2);
    CHECK(wt.rowCount("name = 'New'") == 1);
  }
}

// ---- client transactions --------------------------------------------------------------------

TEST_CASE("write-through: inside BEGIN the write commits at once, with a NOTICE saying so",
          "[write_through]") {
  WriteThrough wt("in_transaction");
  std::vector<Notice> notices;
  Conn conn = wt.connect();
  PQsetNoticeReceiver(conn.get(), collectNotice, &notices);

  REQUIRE(PQresultStatus(exec(conn.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  Result r = exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('Ada') RETURNING id");
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  REQUIRE(PQntuples(r.get()) == 1);
  std::string id = PQgetvalue(r.get(), 0, 0);
  // ReadyForQuery carries the client's own transaction status, untouched by the write.
  CHECK(PQtransactionStatus(conn.get()) == PQTRANS_INTRANS);
  bool told = false;
  for (const Notice& notice : notices) {
    INFO(notice.severity << " " << notice.sqlstate << " " << notice.message);
    told |= notice.severity == "NOTICE" && contains(lower(notice.message), "outside") &&
            contains(lower(notice.message), "transaction");
  }
  CHECK(told);
  // Already committed: the other session (the superuser, directly) sees it before ROLLBACK.
  CHECK(wt.rowCount() == 1);

  REQUIRE(PQresultStatus(exec(conn.get(), "ROLLBACK").get()) == PGRES_COMMAND_OK);
  CHECK(PQtransactionStatus(conn.get()) == PQTRANS_IDLE);
  CHECK(wt.column("name", id) == "Ada");
  std::vector<Record> customers = wt.customers();
  REQUIRE(customers.size() == 1);
  CHECK(field(customers[0], "id") == id);
}

TEST_CASE("write-through: a write in an aborted transaction is 25P02, nothing sent",
          "[write_through]") {
  WriteThrough wt("aborted");
  Conn conn = wt.connect();
  REQUIRE(PQresultStatus(exec(conn.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  Result failed = exec(conn.get(), "SELECT 1/0");
  REQUIRE(errorField(failed.get(), PG_DIAG_SQLSTATE) == "22012");
  REQUIRE(PQtransactionStatus(conn.get()) == PQTRANS_INERROR);

  Result r = exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('Ada')");
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "25P02");
  CHECK(PQtransactionStatus(conn.get()) == PQTRANS_INERROR);
  CHECK(wt.requests().empty());
  REQUIRE(PQresultStatus(exec(conn.get(), "ROLLBACK").get()) == PGRES_COMMAND_OK);
  CHECK(wt.rowCount() == 0);
}

// ---- the loop keeps serving -----------------------------------------------------------------

TEST_CASE("write-through: reads go on while an API call is slow", "[write_through]") {
  WriteThrough wt("slow_api", {"", "", "api_timeout = 10\n"});
  Conn writer = wt.connect();
  Conn reader = wt.connect();
  REQUIRE(queryValue(reader.get(), "SELECT 1") == "1");  // its server link is ready
  control(wt.api, "/_control/delay", R"({"ms":3000,"count":1})");

  REQUIRE(PQsendQuery(writer.get(),
                      ("INSERT INTO " + wt.table + " (name) VALUES ('Ada')").c_str()) == 1);
  auto sent = Clock::now();
  // Wait until the API holds the request, so the reads really overlap the API call.
  bool reached = false;
  while (!reached && Clock::now() - sent < std::chrono::seconds(2)) {
    reached = !wt.requests().empty();
    if (!reached) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO(wt.context());
  REQUIRE(reached);

  auto reads_start = Clock::now();
  for (int i = 0; i < 20; ++i) {
    Result r = exec(reader.get(), "SELECT 1");
    REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  }
  auto reads = Clock::now() - reads_start;
  CHECK(reads < std::chrono::milliseconds(2000));  // the API takes 3 s
  REQUIRE(PQconsumeInput(writer.get()) == 1);
  CHECK(PQisBusy(writer.get()) == 1);  // the INSERT is still waiting for the API

  Result r(PQgetResult(writer.get()), &PQclear);
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  CHECK(PQgetResult(writer.get()) == nullptr);
  CHECK(Clock::now() - sent >= std::chrono::milliseconds(3000));
  CHECK(wt.rowCount() == 1);
}

// ---- pooling modes and reload ---------------------------------------------------------------

TEST_CASE("write-through: insert, update, delete in transaction pooling", "[write_through]") {
  WriteThrough wt("txn_pooling", {"pool_mode = transaction\n", "", ""});
  Conn conn = wt.connect();

  Result inserted = exec(conn.get(), "INSERT INTO " + wt.table +
                                         " (name, score) VALUES ('Ada', 1), ('Bob', 2) "
                                         "RETURNING id, name");
  INFO(wt.context(inserted.get()));
  REQUIRE(PQresultStatus(inserted.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(inserted.get()) == "INSERT 0 2");
  REQUIRE(PQntuples(inserted.get()) == 2);
  std::map<std::string, std::string> id_of;  // name -> id
  for (int row = 0; row < 2; ++row)
    id_of[PQgetvalue(inserted.get(), row, 1)] = PQgetvalue(inserted.get(), row, 0);
  REQUIRE(id_of.size() == 2);
  CHECK(wt.customers().size() == 2);

  Result updated = exec(
      conn.get(), "UPDATE " + wt.table + " SET plan = 'pro', score = score + 1 WHERE name = 'Ada'");
  INFO(wt.context(updated.get()));
  REQUIRE(PQresultStatus(updated.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(updated.get()) == "UPDATE 1");

  Result deleted = exec(conn.get(), "DELETE FROM " + wt.table + " WHERE name = 'Bob'");
  INFO(wt.context(deleted.get()));
  REQUIRE(PQresultStatus(deleted.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(deleted.get()) == "DELETE 1");

  std::vector<Record> customers = wt.customers();
  REQUIRE(customers.size() == 1);
  CHECK(field(customers[0], "id") == id_of["Ada"]);
  CHECK(field(customers[0], "plan") == "pro");
  CHECK(field(customers[0], "score") == "2");
  CHECK(wt.tableIds() == std::vector<std::string>{id_of["Ada"]});
  CHECK(wt.column("plan", id_of["Ada"]) == "pro");
  CHECK(wt.column("score", id_of["Ada"]) == "2");

  std::vector<ApiRequest> requests = wt.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].method == "POST");
  CHECK(requests[1].method == "PATCH");
  CHECK(requests[2].method == "DELETE");
  CHECK(queryValue(conn.get(), "SELECT count(*) FROM " + wt.table) == "1");
}

TEST_CASE("write-through: a synced table added by SIGHUP is intercepted on open connections",
          "[write_through]") {
  WriteThrough wt("reload_a");
  const std::string table_b = "wt_reload_b";
  createSyncedTable(table_b);
  Conn conn = wt.connect();

  // Not synced yet: the write goes to PostgreSQL as app, which may not write the table.
  Result direct = exec(conn.get(), "INSERT INTO " + table_b + " (id, name) VALUES ('x', 'Ada')");
  CHECK(errorField(direct.get(), PG_DIAG_SQLSTATE) == "42501");
  REQUIRE(wt.requests().empty());

  replaceIni(*wt.pooler, readIni(*wt.pooler) + "\n" + tableSection(table_b, "orders"));
  wt.pooler->signal(SIGHUP);
  // Until the reload lands the INSERT still fails as above (and reaches no API).
  Result r(nullptr, &PQclear);
  auto deadline = Clock::now() + std::chrono::seconds(2);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r = exec(conn.get(), "INSERT INTO " + table_b + " (name) VALUES ('Ada') RETURNING id");
  } while (PQresultStatus(r.get()) != PGRES_TUPLES_OK && Clock::now() < deadline);
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  REQUIRE(PQntuples(r.get()) == 1);
  std::string id = PQgetvalue(r.get(), 0, 0);

  std::vector<ApiRequest> requests = wt.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].path == "/orders");
  std::vector<Record> orders = storedRecords(wt.api, "orders");
  REQUIRE(orders.size() == 1);
  CHECK(field(orders[0], "id") == id);
  CHECK(superuserQuery("SELECT name FROM public." + table_b + " WHERE id = '" + id + "'") == "Ada");
  CHECK(wt.customers().empty());
}

// ---- extended protocol ----------------------------------------------------------------------

namespace {
// Sends `sql` without blocking and returns the first value, "error: ..." if it failed, or
// "timeout" if no answer came within `seconds` (a hang must fail the test, not stall it).
std::string queryWithin(PGconn* conn, const std::string& sql, int seconds) {
  PQsetnonblocking(conn, 1);
  if (PQsendQuery(conn, sql.c_str()) != 1) return std::string("error: ") + PQerrorMessage(conn);
  auto deadline = Clock::now() + std::chrono::seconds(seconds);
  std::string value;
  while (Clock::now() < deadline) {
    int flushing = PQflush(conn);
    if (flushing < 0) return std::string("error: ") + PQerrorMessage(conn);
    pollfd pfd{PQsocket(conn), static_cast<short>(POLLIN | (flushing ? POLLOUT : 0)), 0};
    ::poll(&pfd, 1, 100);
    if (!PQconsumeInput(conn)) return std::string("error: ") + PQerrorMessage(conn);
    while (!PQisBusy(conn)) {
      PGresult* result = PQgetResult(conn);
      if (result == nullptr) return value;
      if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0)
        value = PQgetvalue(result, 0, 0);
      else if (PQresultStatus(result) != PGRES_COMMAND_OK)
        value = std::string("error: ") + PQresultErrorMessage(result);
      PQclear(result);
    }
  }
  return "timeout";
}
}  // namespace

TEST_CASE("write-through: a query over 1 MB passes in transaction pooling", "[write_through]") {
  // The pooler reads a client's query whole before it knows whether it writes a synced table;
  // one longer than it holds for a client without a link must still get its link and pass.
  WriteThrough wt("big_query", {"pool_mode = transaction\n", "", ""});
  Conn conn = wt.connect();
  std::string big(3 << 20, 'x');
  CHECK(queryWithin(conn.get(), "SELECT length('" + big + "')", 20) == std::to_string(3 << 20));
  CHECK(queryWithin(conn.get(), "SELECT 'after'", 20) == "after");
}

TEST_CASE("write-through: an unnamed statement after a synced write does not repeat it",
          "[write_through][extended]") {
  // libpq's PQexecParams uses the unnamed statement and portal each time: the SELECT after the
  // INSERT replaces both, so it must run as a SELECT, not send the INSERT to the API again.
  WriteThrough wt("unnamed_after", {"pool_mode = transaction\n", "", ""});
  Conn conn = wt.connect();
  auto execParams = [&](const std::string& sql, const char* value) {
    const char* values[1] = {value};
    return Result(PQexecParams(conn.get(), sql.c_str(), 1, nullptr, values, nullptr, nullptr, 0),
                  &PQclear);
  };
  Result inserted = execParams("INSERT INTO " + wt.table + " (name, score) VALUES ($1, 7)", "Ada");
  INFO(wt.context(inserted.get()));
  REQUIRE(PQresultStatus(inserted.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(inserted.get()) == "INSERT 0 1");
  Result selected = execParams("SELECT $1::text", "plain");
  INFO(wt.context(selected.get()));
  REQUIRE(PQresultStatus(selected.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(selected.get(), 0, 0)) == "plain");
  // Bind and Execute of the unnamed portal without a new Parse (a statement the server has).
  Result again = execParams("SELECT $1::text", "plain");
  REQUIRE(PQresultStatus(again.get()) == PGRES_TUPLES_OK);
  CHECK(wt.requests().size() == 1);
  CHECK(wt.rowCount() == 1);
}

TEST_CASE("write-through: a client that does not read the pooler's answers stops being read",
          "[write_through][extended]") {
  // As without synced tables (prepared_statements_test.cc): the CloseComplete the pooler
  // answers itself must hold back a client that sends without reading.
  WriteThrough wt("unread_answers", {"pool_mode = transaction\nauth_type = trust\n", "", ""});
  RawClient client(wt.pooler->port());
  client.logIn();
  UnreadFlood flood = floodUnread(client, wire::close('S', "nothing"), '3');
  CHECK(flood.stopped);
  CHECK(flood.ready);
  CHECK(flood.answers == flood.sent);
  Conn conn = wt.connect();
  CHECK(queryValue(conn.get(), "SELECT 'still served'") == "still served");
}

TEST_CASE("write-through: a script whose parts turn out not to write keeps its client served",
          "[write_through]") {
  // Taken whole, the string writes the synced table (the search path is back to public at
  // its end); split into statements, the INSERT runs under search_path = nowhere, where the
  // table does not exist, so no part goes to the API and the server reports the error.
  WriteThrough wt("script_sp");
  Conn conn = wt.connect();
  Result r = exec(conn.get(), "SET search_path = nowhere; INSERT INTO " + wt.table +
                                  " (name) VALUES ('a'); RESET search_path");
  INFO(wt.context(r.get()));
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "42P01");
  CHECK(wt.requests().empty());
  CHECK(queryWithin(conn.get(), "SELECT 'next'", 10) == "next");
}

TEST_CASE("write-through: a prepared INSERT executed 20 times in transaction pooling",
          "[write_through][extended]") {
  WriteThrough wt("prepared", {"pool_mode = transaction\n", "", ""});
  Conn conn = wt.connect();
  const std::string sql = "INSERT INTO " + wt.table + " (name, score) VALUES ($1, $2) RETURNING id";
  Result prepared(PQprepare(conn.get(), "wt_insert", sql.c_str(), 2, nullptr), &PQclear);
  INFO(wt.context(prepared.get()));
  REQUIRE(PQresultStatus(prepared.get()) == PGRES_COMMAND_OK);

  std::vector<std::string> returned;
  for (int i = 0; i < 20; ++i) {
    std::string name = "user" + std::to_string(i);
    std::string score = std::to_string(i);
    const char* values[2] = {name.c_str(), score.c_str()};
    Result r(PQexecPrepared(conn.get(), "wt_insert", 2, values, nullptr, nullptr, 0), &PQclear);
    INFO("execution " << i << ": " << wt.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
    CHECK(cmdStatus(r.get()) == "INSERT 0 1");
    REQUIRE(PQntuples(r.get()) == 1);
    returned.push_back(PQgetvalue(r.get(), 0, 0));
    CHECK(wt.column("name", returned.back()) == name);
    CHECK(wt.column("score", returned.back()) == score);
  }
  std::sort(returned.begin(), returned.end());
  std::vector<Record> customers = wt.customers();
  CHECK(customers.size() == 20);
  CHECK(sortedIds(customers) == returned);
  CHECK(wt.tableIds() == returned);
  CHECK(wt.requests().size() == 20);
}

TEST_CASE("write-through: RETURNING in binary format", "[write_through][extended]") {
  WriteThrough wt("binary");
  Conn conn = wt.connect();
  const char* values[2] = {"Ada", "123456"};
  Result r(
      PQexecParams(
          conn.get(),
          ("INSERT INTO " + wt.table + " (name, score) VALUES ($1, $2) RETURNING score").c_str(), 2,
          nullptr, values, nullptr, nullptr, 1),
      &PQclear);
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  REQUIRE(PQntuples(r.get()) == 1);
  CHECK(PQfformat(r.get(), 0) == 1);
  CHECK(PQftype(r.get(), 0) == 23);  // int4
  REQUIRE(PQgetlength(r.get(), 0, 0) == 4);
  auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(r.get(), 0, 0));
  uint32_t value = (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
                   (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]};
  CHECK(value == 123456u);
  std::vector<Record> customers = wt.customers();
  REQUIRE(customers.size() == 1);
  CHECK(field(customers[0], "score") == "123456");
  CHECK(wt.rowCount("score = 123456") == 1);
}

// ---- simple-protocol strings of several statements ------------------------------------------

// Every result of one PQsendQuery, in order.
static std::vector<Result> allResults(PGconn* conn, const std::string& sql) {
  std::vector<Result> results;
  REQUIRE(PQsendQuery(conn, sql.c_str()) == 1);
  while (PGresult* r = PQgetResult(conn)) results.emplace_back(r, &PQclear);
  return results;
}

// "status tag error" of each result, for failure messages.
static std::string describe(const std::vector<Result>& results) {
  std::string text;
  for (const Result& r : results)
    text += std::string(PQresStatus(PQresultStatus(r.get()))) + " " + cmdStatus(r.get()) + " " +
            PQresultErrorMessage(r.get()) + "\n";
  return text;
}

TEST_CASE("write-through: a string of several statements runs its synced writes in place",
          "[write_through]") {
  WriteThrough wt("script");
  Conn conn = wt.connect();
  std::vector<Notice> notices;
  PQsetNoticeReceiver(conn.get(), collectNotice, &notices);

  SECTION("BEGIN; INSERT ...; SELECT; COMMIT") {
    auto results = allResults(conn.get(), "BEGIN; INSERT INTO " + wt.table +
                                              " (name) VALUES ('Ada') RETURNING id, name; "
                                              "SELECT 42 AS answer; COMMIT;");
    INFO(wt.context() << describe(results));
    REQUIRE(results.size() == 4);
    CHECK(cmdStatus(results[0].get()) == "BEGIN");
    REQUIRE(PQresultStatus(results[1].get()) == PGRES_TUPLES_OK);
    CHECK(cmdStatus(results[1].get()) == "INSERT 0 1");
    std::string id = PQgetvalue(results[1].get(), 0, 0);
    CHECK(std::string(PQgetvalue(results[1].get(), 0, 1)) == "Ada");
    CHECK(std::string(PQgetvalue(results[2].get(), 0, 0)) == "42");
    CHECK(cmdStatus(results[3].get()) == "COMMIT");
    CHECK(PQtransactionStatus(conn.get()) == PQTRANS_IDLE);
    CHECK(wt.column("name", id) == "Ada");
    CHECK(wt.customers().size() == 1);
    CHECK(notices.size() == 1);  // inside BEGIN: committed outside the transaction
    CHECK(queryValue(conn.get(), "SELECT 1") == "1");  // the connection is in step
  }
  SECTION("two writes and a read, one ReadyForQuery") {
    auto results = allResults(conn.get(), "SELECT 1 AS one; INSERT INTO " + wt.table +
                                              " (name) VALUES ('Ada'); UPDATE " + wt.table +
                                              " SET score = 7 WHERE name = 'Ada'");
    INFO(wt.context() << describe(results));
    REQUIRE(results.size() == 3);
    CHECK(std::string(PQgetvalue(results[0].get(), 0, 0)) == "1");
    CHECK(cmdStatus(results[1].get()) == "INSERT 0 1");
    CHECK(cmdStatus(results[2].get()) == "UPDATE 1");
    CHECK(wt.rowCount("score = 7") == 1);
    CHECK(wt.requests().size() == 2);  // POST, then PATCH
    CHECK(queryValue(conn.get(), "SELECT 2") == "2");
  }
  SECTION("an error before the write: the write is skipped, as PostgreSQL skips the rest") {
    auto results =
        allResults(conn.get(), "SELECT 1/0; INSERT INTO " + wt.table + " (name) VALUES ('never')");
    INFO(wt.context() << describe(results));
    REQUIRE(results.size() == 1);
    CHECK(errorField(results[0].get(), PG_DIAG_SQLSTATE) == "22012");
    CHECK(wt.requests().empty());
    CHECK(wt.rowCount() == 0);
    CHECK(queryValue(conn.get(), "SELECT 3") == "3");
  }
  SECTION("a write the API refuses: the statements after it are skipped") {
    control(wt.api, "/_control/fail",
            R"({"status":422,"count":1,"body":{"error":{"type":"validation","message":"no"}}})");
    auto results = allResults(
        conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('refused'); SELECT 'not reached'");
    INFO(wt.context() << describe(results));
    REQUIRE(results.size() == 1);
    CHECK(errorField(results[0].get(), PG_DIAG_SQLSTATE) == "23514");
    CHECK(wt.rowCount() == 0);
    CHECK(queryValue(conn.get(), "SELECT 4") == "4");
  }
}

TEST_CASE("write-through: a client that leaves mid-write does not abort it", "[write_through]") {
  WriteThrough wt("client_leaves");
  control(wt.api, "/_control/delay", R"({"ms":500,"count":1})");
  {
    Conn conn = wt.connect();
    REQUIRE(PQsendQuery(conn.get(),
                        ("INSERT INTO " + wt.table + " (name) VALUES ('Ada')").c_str()) == 1);
    auto sent = Clock::now();
    while (wt.requests().empty() && Clock::now() - sent < std::chrono::seconds(2))
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE_FALSE(wt.requests().empty());
  }  // the client disconnects while the API call is in flight
  auto left = Clock::now();
  while (wt.rowCount() == 0 && Clock::now() - left < std::chrono::seconds(3))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  INFO(wt.context());
  CHECK(wt.rowCount("name = 'Ada'") == 1);
  REQUIRE(wt.customers().size() == 1);
  CHECK(wt.tableIds() == std::vector<std::string>{field(wt.customers()[0], "id")});
  CHECK(wt.pooler->alive());
}

TEST_CASE("write-through: 50 clients writing while 50 others read, no read waits",
          "[write_through]") {
  WriteThrough wt("fifty",
                  {"pool_mode = transaction\ndefault_pool_size = 10\nmax_client_conn = 200\n", "",
                   "write_pool_size = 25\napi_timeout = 10\n"});
  constexpr int kClients = 50;
  std::vector<Conn> writers, readers;
  for (int i = 0; i < kClients; ++i) writers.push_back(wt.connect());
  for (int i = 0; i < kClients; ++i) readers.push_back(wt.connect());
  for (Conn& reader : readers) REQUIRE(queryValue(reader.get(), "SELECT 1") == "1");  // warm
  // 50 API calls of two seconds each, 25 at a time: the writes take four seconds at least.
  control(wt.api, "/_control/delay", R"({"ms":2000,"count":50})");

  auto start = Clock::now();
  for (int i = 0; i < kClients; ++i)
    REQUIRE(PQsendQuery(writers[i].get(), ("INSERT INTO " + wt.table + " (name) VALUES ('w" +
                                           std::to_string(i) + "')")
                                              .c_str()) == 1);
  // While the writes wait for the API, every reader reads.
  auto slowest = Clock::duration::zero();
  for (int round = 0; round < 3; ++round)
    for (Conn& reader : readers) {
      auto before = Clock::now();
      REQUIRE(queryValue(reader.get(), "SELECT count(*) >= 0 FROM " + wt.table) == "t");
      slowest = std::max(slowest, Clock::now() - before);
    }
  auto reads_done = Clock::now() - start;
  int ok = 0;
  std::string errors;
  for (Conn& writer : writers) {
    Result r(PQgetResult(writer.get()), &PQclear);
    ok += PQresultStatus(r.get()) == PGRES_COMMAND_OK;
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) errors += PQresultErrorMessage(r.get());
    while (PGresult* rest = PQgetResult(writer.get())) PQclear(rest);
  }
  auto writes_done = Clock::now() - start;
  INFO(wt.context());
  INFO("reads done after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(reads_done).count()
       << " ms, writes after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(writes_done).count()
       << " ms, slowest read "
       << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count() << " ms");
  INFO("write errors: " << errors);
  CHECK(ok == kClients);
  CHECK(slowest < std::chrono::milliseconds(2000));  // no read waited for an API call
  CHECK(reads_done < writes_done);
  CHECK(wt.rowCount() == kClients);
  CHECK(wt.customers().size() == static_cast<size_t>(kClients));
}

TEST_CASE("write-through: the API accepted but the database refused: 25000, applied later",
          "[write_through]") {
  WriteThrough wt("apply_fails");
  // The staged row has no id yet; the API's id is refused by the table until the fix below.
  superuserQuery("ALTER TABLE public." + wt.table +
                 " ADD CONSTRAINT not_yet CHECK (id <> 'customers_1')");
  Conn conn = wt.connect();
  Result r = exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('Ada') RETURNING id");
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "25000");
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY), "reached"));
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_DETAIL), "customers_1"));
  CHECK(wt.customers().size() == 1);  // the API has it
  CHECK(wt.rowCount() == 0);          // the table does not, yet
  CHECK(wt.pooler->logContains("reached the API but not the database"));
  CHECK(queryValue(conn.get(), "SELECT 1") == "1");

  superuserQuery("ALTER TABLE public." + wt.table + " DROP CONSTRAINT not_yet");
  auto fixed = Clock::now();
  while (wt.rowCount() == 0 && Clock::now() - fixed < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  INFO(wt.context());
  CHECK(wt.column("name", "customers_1") == "Ada");
  CHECK(wt.pooler->logContains("synced write applied after"));
}

TEST_CASE("write-through: a LATIN1 write applied later is read in LATIN1 again",
          "[write_through]") {
  WriteThrough wt("apply_fails_latin1");
  superuserQuery("ALTER TABLE public." + wt.table +
                 " ADD CONSTRAINT not_yet CHECK (id <> 'customers_1')");
  Conn latin1 = connect(wt.pooler->conninfo() + " client_encoding=LATIN1");
  Result r = exec(latin1.get(), "INSERT INTO " + wt.table +
                                    " (name) VALUES ('Caf\xe9') RETURNING name || '\xe9'");
  INFO(wt.context(r.get()));
  REQUIRE(errorField(r.get(), PG_DIAG_SQLSTATE) == "25000");
  // A UTF-8 client's write runs on the write link in between.
  Result other = exec(wt.connect().get(), "INSERT INTO " + wt.table + " (name) VALUES ('Bob')");
  REQUIRE(cmdStatus(other.get()) == "INSERT 0 1");
  superuserQuery("ALTER TABLE public." + wt.table + " DROP CONSTRAINT not_yet");
  auto fixed = Clock::now();
  while (wt.rowCount() < 2 && Clock::now() - fixed < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  INFO(wt.context());
  CHECK(wt.column("name", "customers_1") == "Caf\xc3\xa9");
}

TEST_CASE("write-through: concurrent writes to one row are serialized by its row lock",
          "[write_through]") {
  WriteThrough wt("same_row");
  std::vector<std::string> ids = wt.seed({"Ada"});
  size_t seeded = wt.requests().size();
  Conn first = wt.connect(), second = wt.connect();
  control(wt.api, "/_control/delay", R"({"ms":400,"count":2})");
  auto start = Clock::now();
  REQUIRE(PQsendQuery(first.get(), ("UPDATE " + wt.table + " SET score = 1").c_str()) == 1);
  while (wt.requests().size() == seeded && Clock::now() - start < std::chrono::seconds(2))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(wt.requests().size() == seeded + 1);  // the first holds the lock, in its API call
  REQUIRE(PQsendQuery(second.get(), ("UPDATE " + wt.table + " SET score = 2").c_str()) == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  CHECK(wt.requests().size() == seeded + 1);  // the second waits for the row, not the API

  Result a(PQgetResult(first.get()), &PQclear);
  while (PGresult* rest = PQgetResult(first.get())) PQclear(rest);
  Result b(PQgetResult(second.get()), &PQclear);
  while (PGresult* rest = PQgetResult(second.get())) PQclear(rest);
  auto both = Clock::now() - start;
  INFO(wt.context(b.get()));
  CHECK(cmdStatus(a.get()) == "UPDATE 1");
  CHECK(cmdStatus(b.get()) == "UPDATE 1");
  CHECK(both >= std::chrono::milliseconds(800));  // one API call after the other
  CHECK(wt.column("score", ids[0]) == "2");
  CHECK(field(recordOf(wt.customers(), ids[0]), "score") == "2");
}

TEST_CASE("write-through: with interception on, bad packets and long statements are handled",
          "[write_through]") {
  WriteThrough wt("bad_input", {"auth_type = trust\n", "", ""});
  SECTION("a malformed message: an error for that client, the others go on") {
    RawClient client(wt.pooler->port());
    client.logIn();
    char type = 0;
    std::string body;
    client.sendBytes(std::string("Q\0\0\0\2", 5));  // a length below the minimum
    REQUIRE(client.readMessage(type, body));
    CHECK(type == 'E');
    CHECK(client.closedByPeer());
    Conn conn = wt.connect();
    CHECK(queryValue(conn.get(), "SELECT 5") == "5");
  }
  SECTION("a statement of 2 MB arriving in pieces passes through") {
    Conn conn = wt.connect();
    std::string big(2 << 20, 'x');
    CHECK(queryValue(conn.get(), "SELECT length('" + big + "')") == std::to_string(big.size()));
    CHECK(queryValue(conn.get(), "SELECT 6") == "6");
  }
  SECTION("a long statement that names a synced table is refused, not passed through") {
    Conn conn = wt.connect();
    std::string sql =
        "INSERT INTO " + wt.table + " (name) VALUES ('" + std::string(100 * 1024, 'y') + "')";
    Result r = exec(conn.get(), sql);
    INFO(wt.context(r.get()));
    CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "54000");
    CHECK(wt.requests().empty());
    CHECK(wt.rowCount() == 0);
  }
}

TEST_CASE("write-through: asyncpg and psycopg 3 write synced tables in transaction pooling",
          "[write_through][drivers]") {
  WriteThrough wt("drivers", {"pool_mode = transaction\nauth_type = trust\n", "", ""});
  int status = 0;
  std::string out =
      runCommand("/usr/bin/python3 " + std::string(CLIENT_SCRIPTS_DIR) + "/synced_writes.py " +
                     std::to_string(wt.pooler->port()) + " " + wt.table + " 2>&1",
                 status);
  INFO(out << wt.context());
  CHECK(status == 0);
  REQUIRE(out.rfind("ok ", 0) == 0);
  // asyncpg: 1 kept + 3 deleted; psycopg: 1 + 2 pipelined. The table mirrors the API.
  std::vector<std::string> api_ids = sortedIds(wt.customers());
  CHECK(api_ids.size() == 4);
  CHECK(wt.tableIds() == api_ids);
}

TEST_CASE("write-through: a graceful shutdown waits for writes in flight",
          "[write_through][signals]") {
  WriteThrough wt("shutdown", {"pool_mode = transaction\n", "", ""});
  control(wt.api, "/_control/delay", R"({"ms":1000,"count":1})");
  Conn conn = wt.connect();
  REQUIRE(PQsendQuery(conn.get(), ("INSERT INTO " + wt.table + " (name) VALUES ('Ada')").c_str()) ==
          1);
  auto sent = Clock::now();
  while (wt.requests().empty() && Clock::now() - sent < std::chrono::seconds(2))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE_FALSE(wt.requests().empty());  // the API holds it now
  wt.pooler->signal(SIGINT);             // safe shutdown: no server link is in use
  auto status = wt.pooler->waitExit(std::chrono::seconds(5));
  INFO(wt.context());
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(Clock::now() - sent >= std::chrono::milliseconds(900));  // it waited for the API
  CHECK(wt.rowCount("name = 'Ada'") == 1);                       // and applied the answer
  CHECK(wt.customers().size() == 1);
}

TEST_CASE("write-through: a mistake in RETURNING is an error before the API sees anything",
          "[write_through]") {
  WriteThrough wt("bad_returning");
  Conn conn = wt.connect();
  Result r = exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('Ada') RETURNING nme");
  INFO(wt.context(r.get()));
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "42703");  // undefined column, as PostgreSQL
  CHECK(wt.requests().empty());
  CHECK(wt.rowCount() == 0);
  CHECK(queryValue(conn.get(), "SELECT 1") == "1");
}

TEST_CASE("write-through: a row locked elsewhere fails the write after api_timeout, API untouched",
          "[write_through]") {
  WriteThrough wt("locked_row");  // api_timeout = 2
  std::vector<std::string> ids = wt.seed({"Ada"});
  size_t seeded = wt.requests().size();
  Conn holder = connect(Sandbox::get().superuserConninfo());
  REQUIRE(PQresultStatus(exec(holder.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  REQUIRE(PQresultStatus(
              exec(holder.get(), "SELECT * FROM public." + wt.table + " FOR UPDATE").get()) ==
          PGRES_TUPLES_OK);
  Conn conn = wt.connect();
  auto start = Clock::now();
  Result r = exec(conn.get(), "UPDATE " + wt.table + " SET score = 1");
  auto took = Clock::now() - start;
  INFO(wt.context(r.get()));
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "55P03");  // lock_not_available
  CHECK(took < std::chrono::milliseconds(4500));
  CHECK(wt.requests().size() == seeded);
  REQUIRE(PQresultStatus(exec(holder.get(), "ROLLBACK").get()) == PGRES_COMMAND_OK);
  Result again = exec(conn.get(), "UPDATE " + wt.table + " SET score = 1");
  CHECK(cmdStatus(again.get()) == "UPDATE 1");
}

TEST_CASE("write-through: unqualified names resolve along the session's search_path",
          "[write_through]") {
  // sp_crm.sp_customers is synced; public.sp_customers is an ordinary table of the same name.
  ensureRole("writer", "writer-secret");
  ensureRole("sp_user", "sp-secret");
  superuserQuery("SET client_min_messages = warning; DROP SCHEMA IF EXISTS sp_crm CASCADE");
  superuserQuery("DROP TABLE IF EXISTS public.sp_customers");
  superuserQuery("CREATE SCHEMA sp_crm");
  for (const char* table : {"sp_crm.sp_customers", "public.sp_customers"})
    superuserQuery(std::string("CREATE TABLE ") + table +
                   " (id text PRIMARY KEY, name text NOT NULL, email text, plan text DEFAULT "
                   "'free', score int)");
  superuserQuery("GRANT USAGE ON SCHEMA sp_crm TO app, sp_user, writer");
  superuserQuery("GRANT SELECT ON sp_crm.sp_customers TO app, sp_user");
  superuserQuery("GRANT ALL ON sp_crm.sp_customers TO writer");
  superuserQuery("GRANT ALL ON public.sp_customers TO app, sp_user");
  superuserQuery("ALTER ROLE sp_user IN DATABASE app SET search_path = sp_crm, public");

  FakeApiProcess api(kApiKey);
  PoolerProcess pooler(PoolerConfig{
      "",
      "[apibouncer]\nwriter_user = writer\napi_timeout = 2\n[api.crm]\nplatform = http\n"
      "base_url = " +
          api.baseUrl() + "\napi_key = " + kApiKey +
          "\n[table.sp_crm.sp_customers]\ndatabase = app\napi = crm\nobject = customers\n",
      defaultUserlist() + "\"writer\" \"writer-secret\"\n\"sp_user\" \"sp-secret\"\n", true});
  auto start = Clock::now();
  while (!pooler.logContains("resolve along search_path") &&
         Clock::now() - start < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  INFO(pooler.log());
  REQUIRE(pooler.logContains("resolve along search_path"));

  // sp_user's role default puts sp_crm first: the synced table.
  Conn sp = connect(pooler.conninfo("sp_user", "sp-secret"));
  REQUIRE(PQstatus(sp.get()) == CONNECTION_OK);
  Result r = exec(sp.get(), "INSERT INTO sp_customers (name) VALUES ('synced') RETURNING id");
  INFO(PQresultErrorMessage(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(storedRecords(api, "customers").size() == 1);
  CHECK(superuserQuery("SELECT count(*) FROM sp_crm.sp_customers") == "1");

  // After SET search_path = public the same name is the ordinary table: no API call.
  REQUIRE(PQresultStatus(exec(sp.get(), "SET search_path = public").get()) == PGRES_COMMAND_OK);
  Result plain = exec(sp.get(), "INSERT INTO sp_customers (id, name) VALUES ('p1', 'plain')");
  INFO(PQresultErrorMessage(plain.get()));
  CHECK(PQresultStatus(plain.get()) == PGRES_COMMAND_OK);
  CHECK(superuserQuery("SELECT count(*) FROM public.sp_customers") == "1");
  REQUIRE(PQresultStatus(exec(sp.get(), "RESET search_path").get()) == PGRES_COMMAND_OK);
  Result back = exec(sp.get(), "UPDATE sp_customers SET score = 3");
  CHECK(cmdStatus(back.get()) == "UPDATE 1");
  CHECK(superuserQuery("SELECT score FROM sp_crm.sp_customers") == "3");  // synced again

  // app has no default: "$user", public finds the ordinary table.
  Conn app = connectOk(pooler);
  Result app_insert = exec(app.get(), "INSERT INTO sp_customers (id, name) VALUES ('p2', 'app')");
  CHECK(PQresultStatus(app_insert.get()) == PGRES_COMMAND_OK);
  CHECK(apiRequests(api).size() == 2);  // the INSERT and the UPDATE through sp_crm only
  superuserQuery("ALTER ROLE sp_user IN DATABASE app RESET search_path");
}

// ---- cancel, query_timeout and the write link's session --------------------------------------

namespace {

// Waits until the writer runs a statement on `table` that sleeps (seen in pg_stat_activity;
// other tests' writes run alongside).
bool writerSleepsOn(const std::string& table) {
  auto start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(5)) {
    if (superuserQuery("SELECT count(*) FROM pg_stat_activity WHERE usename = 'writer' AND "
                       "state = 'active' AND position('pg_sleep' in query) > 0 AND "
                       "position('" +
                       table + "' in query) > 0") == "1")
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void sendCancel(PGconn* conn) {
  PGcancel* cancel = PQgetCancel(conn);
  char errbuf[256];
  REQUIRE(PQcancel(cancel, errbuf, sizeof errbuf) == 1);
  PQfreeCancel(cancel);
}

// The next result of a query sent with PQsendQuery, and the NULL after it.
Result nextResult(PGconn* conn) {
  Result r(PQgetResult(conn), &PQclear);
  while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
  return r;
}

// A write that locks its rows with a slow expression: its staging runs ~30 s on the writer.
std::string slowUpdate(const WriteThrough& wt) {
  return "UPDATE " + wt.table + " SET score = 1 WHERE (SELECT true FROM pg_sleep(30))";
}

}  // namespace

TEST_CASE("write-through: a cancel request stops a write still locking its rows, API untouched",
          "[write_through][cancel]") {
  WriteThrough wt("cancel_before_api");
  wt.seed({"Ada"});
  size_t seeded = wt.requests().size();
  Conn conn = wt.connect();
  auto start = Clock::now();
  REQUIRE(PQsendQuery(conn.get(), slowUpdate(wt).c_str()) == 1);
  INFO(wt.context());
  REQUIRE(writerSleepsOn(wt.table));
  sendCancel(conn.get());
  Result r = nextResult(conn.get());
  INFO(wt.context(r.get()));
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "57014");
  CHECK(std::string(PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY)) ==
        "canceling statement due to user request");
  CHECK(Clock::now() - start < std::chrono::seconds(10));
  CHECK(wt.requests().size() == seeded);
  CHECK(wt.rowCount("score = 10") == 1);
  // The write link was rolled back (it holds no lock on the table) and serves the next write.
  CHECK(superuserQuery("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                       "WHERE c.relname = '" +
                       wt.table + "'") == "0");
  Result next = exec(conn.get(), "UPDATE " + wt.table + " SET score = 2");
  CHECK(cmdStatus(next.get()) == "UPDATE 1");
  CHECK(wt.requests().size() == seeded + 1);
}

TEST_CASE("write-through: a cancel request stops a write waiting for a write link",
          "[write_through][cancel]") {
  WriteThrough wt("cancel_waiting", {"", "", "write_pool_size = 1\n"});
  wt.seed({"Ada"});
  Conn holder = wt.connect();
  REQUIRE(PQsendQuery(holder.get(), slowUpdate(wt).c_str()) == 1);
  INFO(wt.context());
  REQUIRE(writerSleepsOn(wt.table));  // the one write link is taken
  Conn waiting = wt.connect();
  auto start = Clock::now();
  REQUIRE(PQsendQuery(waiting.get(), ("UPDATE " + wt.table + " SET score = 2").c_str()) == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  sendCancel(waiting.get());
  Result r = nextResult(waiting.get());
  INFO(wt.context(r.get()));
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "57014");
  CHECK(Clock::now() - start < std::chrono::seconds(5));
  sendCancel(holder.get());
  CHECK(errorField(nextResult(holder.get()).get(), PG_DIAG_SQLSTATE) == "57014");
  // The link the canceled write was promised went back to the pool.
  Result next = exec(waiting.get(), "UPDATE " + wt.table + " SET score = 3");
  CHECK(cmdStatus(next.get()) == "UPDATE 1");
  CHECK(wt.rowCount("score = 3") == 1);
}

TEST_CASE("write-through: query_timeout cancels a write still locking its rows",
          "[write_through][cancel]") {
  WriteThrough wt("query_timeout", {"query_timeout = 1\n", "", ""});
  wt.seed({"Ada"});
  size_t seeded = wt.requests().size();
  Conn conn = wt.connect();
  auto start = Clock::now();
  Result r = exec(conn.get(), slowUpdate(wt));
  INFO(wt.context(r.get()));
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "57014");
  CHECK(Clock::now() - start < std::chrono::seconds(10));
  CHECK(wt.requests().size() == seeded);
  CHECK(wt.rowCount("score = 10") == 1);
}

TEST_CASE("write-through: a cancel once the API has the request lets the write finish",
          "[write_through][cancel]") {
  WriteThrough wt("cancel_at_api", {"", "", "api_timeout = 10\n"});
  Conn conn = wt.connect();
  control(wt.api, "/_control/delay", R"({"ms":1500,"count":1})");
  REQUIRE(PQsendQuery(conn.get(), ("INSERT INTO " + wt.table + " (name) VALUES ('Ada')").c_str()) ==
          1);
  auto start = Clock::now();
  while (wt.requests().empty() && Clock::now() - start < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  INFO(wt.context());
  REQUIRE_FALSE(wt.requests().empty());
  sendCancel(conn.get());
  Result r = nextResult(conn.get());
  INFO(wt.context(r.get()));
  // Stopping now would leave the API with a record the table lacks.
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  CHECK(wt.customers().size() == 1);
  CHECK(wt.rowCount() == 1);
}

TEST_CASE("write-through: client_idle_timeout does not end a client waiting for its write",
          "[write_through]") {
  WriteThrough wt("idle_timeout", {"client_idle_timeout = 1\n", "", "api_timeout = 10\n"});
  Conn conn = wt.connect();
  control(wt.api, "/_control/delay", R"({"ms":2500,"count":1})");
  Result r = exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('Ada')");
  INFO(wt.context(r.get()));
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  CHECK(queryValue(conn.get(), "SELECT 1") == "1");
}

TEST_CASE(
    "write-through: a write runs with the client's DateStyle and TimeZone, nothing else "
    "an earlier write set",
    "[write_through]") {
  WriteThrough wt("session");
  std::vector<std::string> ids = wt.seed({"Ada"});
  Conn tokyo = wt.connect();
  REQUIRE(PQresultStatus(exec(tokyo.get(), "SET TimeZone = 'Asia/Tokyo'").get()) ==
          PGRES_COMMAND_OK);
  REQUIRE(PQresultStatus(exec(tokyo.get(), "SET DateStyle = 'SQL, DMY'").get()) ==
          PGRES_COMMAND_OK);
  const std::string instant = "'2024-03-01 12:00:00+00'::timestamptz";
  std::string expected = queryValue(tokyo.get(), "SELECT " + instant);
  REQUIRE(expected == "01/03/2024 21:00:00 JST");
  // This write also sets bytea_output for the rest of the writer's session, as any client
  // expression may.
  Result r = exec(tokyo.get(), "UPDATE " + wt.table + " SET score = 1 WHERE id = '" + ids[0] +
                                   "' AND set_config('bytea_output', 'escape', false) <> '' "
                                   "RETURNING " +
                                   instant);
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == expected);

  // Another client, PostgreSQL's defaults: its write answers as its own queries would.
  Conn other = wt.connect();
  std::string bytes = "'\\x41'::bytea";
  std::string own_time = queryValue(other.get(), "SELECT " + instant);
  REQUIRE(queryValue(other.get(), "SELECT " + bytes) == "\\x41");
  Result again = exec(other.get(),
                      "UPDATE " + wt.table + " SET score = 2 RETURNING " + instant + ", " + bytes);
  INFO(wt.context(again.get()));
  REQUIRE(PQresultStatus(again.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(again.get(), 0, 0)) == own_time);
  CHECK(std::string(PQgetvalue(again.get(), 0, 1)) == "\\x41");
}

TEST_CASE(
    "write-through: idle_transaction_timeout does not end a transaction waiting for its "
    "write",
    "[write_through]") {
  WriteThrough wt("idle_tx_timeout", {"idle_transaction_timeout = 1\n", "", "api_timeout = 10\n"});
  Conn conn = wt.connect();
  REQUIRE(PQresultStatus(exec(conn.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  control(wt.api, "/_control/delay", R"({"ms":2500,"count":1})");
  Result r = exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('Ada')");
  INFO(wt.context(r.get()));
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  CHECK(PQresultStatus(exec(conn.get(), "COMMIT").get()) == PGRES_COMMAND_OK);
}

TEST_CASE("write-through: of the tracked parameters a write takes those that shape values",
          "[write_through]") {
  // is_superuser is reported by the server, so tracked, but read-only: a write that tried to
  // SET it would fail. IntervalStyle shapes how the RETURNING row reads.
  WriteThrough wt("tracked", {"pool_mode = transaction\n"
                              "track_extra_parameters = is_superuser, IntervalStyle\n",
                              "", ""});
  Conn conn = wt.connect();
  REQUIRE(PQresultStatus(exec(conn.get(), "SET IntervalStyle = 'postgres_verbose'").get()) ==
          PGRES_COMMAND_OK);
  REQUIRE(queryValue(conn.get(), "SELECT interval '1 day'") == "@ 1 day");
  Result r = exec(conn.get(),
                  "INSERT INTO " + wt.table + " (name) VALUES ('Ada') RETURNING interval '1 day'");
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == "@ 1 day");
}

TEST_CASE(
    "write-through: a LATIN1 client's text reaches the API as UTF-8 and comes back in "
    "LATIN1",
    "[write_through]") {
  WriteThrough wt("latin1");
  Conn conn = connect(wt.pooler->conninfo() + " client_encoding=LATIN1");
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  REQUIRE(queryValue(conn.get(), "SHOW client_encoding") == "LATIN1");
  // 'Café' in LATIN1 (0xE9), in the query text and as a parameter.
  Result r =
      exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('Caf\xe9') RETURNING name");
  INFO(wt.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == "Caf\xe9");
  std::string id = superuserQuery("SELECT id FROM public." + wt.table);
  const char* values[] = {"Zo\xeb", id.c_str()};
  Result updated(PQexecParams(conn.get(),
                              ("UPDATE " + wt.table +
                               " SET email = $1 WHERE id = $2 RETURNING "
                               "email, name")
                                  .c_str(),
                              2, nullptr, values, nullptr, nullptr, 0),
                 &PQclear);
  INFO(wt.context(updated.get()));
  REQUIRE(PQresultStatus(updated.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(updated.get(), 0, 0)) == "Zo\xeb");
  CHECK(std::string(PQgetvalue(updated.get(), 0, 1)) == "Caf\xe9");
  // The API and the table hold UTF-8.
  std::vector<Record> customers = wt.customers();
  const Record& record = recordOf(customers, id);
  CHECK(field(record, "name") == "Caf\xc3\xa9");
  CHECK(field(record, "email") == "Zo\xc3\xab");
  CHECK(wt.column("name", id) == "Caf\xc3\xa9");
  CHECK(wt.column("email", id) == "Zo\xc3\xab");
}

TEST_CASE("write-through: a synced write after an extended-protocol COPY FROM STDIN",
          "[write_through]") {
  WriteThrough wt("after_copy", {"pool_mode = transaction\n", "", ""});
  superuserQuery(
      "DROP TABLE IF EXISTS public.wt_copy_plain; CREATE TABLE public.wt_copy_plain "
      "(x int)");
  superuserQuery("GRANT ALL ON public.wt_copy_plain TO app");
  Conn conn = wt.connect();
  CHECK(copyInExtended(conn.get(), "COPY public.wt_copy_plain FROM STDIN", "1\n") == "COPY 1");
  // The write's answer waits for every reply owed before it: none is, after the copy.
  auto start = Clock::now();
  Result r = exec(conn.get(), "INSERT INTO " + wt.table + " (name) VALUES ('Ada')");
  INFO(wt.context(r.get()));
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  CHECK(Clock::now() - start < std::chrono::seconds(5));
}
