// Airtable end to end (adapters-spec §1): the real apibouncer, PostgreSQL and the fake API's
// Airtable dialect (tools/fakeapi/dialects/airtable.cc). One request per statement of up to
// 10 rows, Airtable's refusals as SQLSTATEs, empty values coming back as NULL, OAuth with
// rotating refresh tokens that survive a restart through token_file, and the 30 s lock of a 429.
#include <httplib.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "fakeapi_fixture.h"
#include "fixture.h"

using namespace itest;

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kPat = "patTEST.0123456789abcdef";
constexpr const char* kTable = "tblTasks";

const rapidjson::Value* member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// A record as the fake Airtable holds it: fields flattened to text (strings as they are).
struct AirtableRecord {
  std::string id;
  std::map<std::string, std::string> fields;
  std::string field(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? "<absent>" : it->second;
  }
};

AirtableRecord toRecord(const rapidjson::Value& object) {
  AirtableRecord record;
  if (const rapidjson::Value* id = member(object, "id")) record.id = jsonText(*id);
  if (const rapidjson::Value* fields = member(object, "fields"); fields && fields->IsObject())
    for (const auto& field : fields->GetObject())
      record.fields[field.name.GetString()] = jsonText(field.value);
  return record;
}

std::vector<AirtableRecord> airtableRecords(const FakeApiProcess& api) {
  std::string body = apiGet(api, "/_control/dialect/airtable");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.c_str());
  INFO(body);
  REQUIRE_FALSE(doc.HasParseError());
  std::vector<AirtableRecord> records;
  if (const rapidjson::Value* table = member(doc, kTable); table && table->IsArray())
    for (const auto& record : table->GetArray()) records.push_back(toRecord(record));
  return records;
}

const AirtableRecord* findRecord(const std::vector<AirtableRecord>& records,
                                 const std::string& id) {
  for (const AirtableRecord& record : records)
    if (record.id == id) return &record;
  return nullptr;
}

// A request the fake API received: the path keeps its query; body records flattened.
struct LoggedRequest {
  std::string method, path;
  std::vector<AirtableRecord> records;
  std::string body;  // as JSON text
};

std::vector<LoggedRequest> apiRequests(const FakeApiProcess& api) {
  std::string text = apiGet(api, "/_control/requests");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.c_str());
  INFO(text);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsArray());
  std::vector<LoggedRequest> requests;
  for (const auto& entry : doc.GetArray()) {
    LoggedRequest request;
    request.method = jsonText(*member(entry, "method"));
    request.path = jsonText(*member(entry, "path"));
    if (const rapidjson::Value* body = member(entry, "body")) {
      request.body = jsonText(*body);
      if (const rapidjson::Value* records = member(*body, "records"); records && records->IsArray())
        for (const auto& record : records->GetArray()) request.records.push_back(toRecord(record));
    }
    requests.push_back(std::move(request));
  }
  return requests;
}

std::vector<LoggedRequest> writesOnly(const std::vector<LoggedRequest>& requests) {
  std::vector<LoggedRequest> writes;
  for (const LoggedRequest& request : requests)
    if (request.path.starts_with("/v0/")) writes.push_back(request);
  return writes;
}

long tokenRefreshes(const FakeApiProcess& api) {
  std::string body = apiGet(api, "/_control/oauth");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.c_str());
  const rapidjson::Value* refreshes = member(doc, "refreshes");
  INFO(body);
  REQUIRE((refreshes && refreshes->IsInt64()));
  return static_cast<long>(refreshes->GetInt64());
}

std::string readWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool looksLikeRecordId(const std::string& id) {
  return std::regex_match(id, std::regex("rec[A-Za-z0-9]{14}"));
}

std::string valuesOf(int count, const std::string& prefix, const std::string& status = "Todo") {
  std::string values;
  for (int i = 0; i < count; ++i)
    values += (i ? ", ('" : "('") + prefix + std::to_string(i) + "', '" + status + "', true)";
  return values;
}

struct SyncOptions {
  // The [api.at] auth lines, given the fake API's base URL; default: its PAT as api_key.
  std::function<std::string(const std::string& api_url)> auth;
  std::string apibouncer_settings = "api_timeout = 10\n";
  // Runs once the fake API is up, before apibouncer starts (e.g. to register OAuth clients).
  std::function<void(const FakeApiProcess&)> before_start;
};

// public.at_<suffix>(id, name, status, done) synced to the fake Airtable table tblTasks of
// base appTEST; columns map to Airtable-style field names (Name, Status, Done).
struct AirtableSync {
  explicit AirtableSync(const std::string& suffix, SyncOptions options = {})
      : table("at_" + suffix), api(kPat) {
    ensureRole("writer", "writer-secret");
    superuserQuery("SET client_min_messages = warning; DROP TABLE IF EXISTS public." + table);
    superuserQuery("CREATE TABLE public." + table +
                   " (id text PRIMARY KEY, name text, status text, done boolean)");
    superuserQuery("GRANT SELECT ON public." + table + " TO app");
    superuserQuery("GRANT ALL ON public." + table + " TO writer");
    std::string auth =
        options.auth ? options.auth(api.baseUrl()) : std::string("api_key = ") + kPat + "\n";
    settings = "[apibouncer]\nwriter_user = writer\n" + options.apibouncer_settings +
               "[api.at]\nplatform = airtable\nbase_url = " + api.baseUrl() + "/v0/appTEST\n" +
               auth + "[table.public." + table + "]\ndatabase = app\napi = at\nobject = " + kTable +
               "\nprimary_key = id\ncolumn_map = name:Name, status:Status, done:Done\n";
    if (options.before_start) options.before_start(api);
    start();
  }

  // Starts apibouncer, stopping the one running first (a restart).
  void start() {
    pooler.reset();
    pooler = std::make_unique<PoolerProcess>(
        PoolerConfig{"", settings, defaultUserlist() + "\"writer\" \"writer-secret\"\n", true});
  }

  Conn connect() const { return connectOk(*pooler); }

  std::string context(const PGresult* result = nullptr) const {
    std::string text;
    if (result != nullptr)
      text += std::string("result: ") + PQresStatus(PQresultStatus(result)) + " " +
              cmdStatus(result) + " " + PQresultErrorMessage(result) + "\n";
    std::string log = pooler->log();
    if (log.size() > 4000) log = "..." + log.substr(log.size() - 4000);
    return text + "pooler log:\n" + log + "\nfake API output:\n" + api.output();
  }

  int rowCount(const std::string& where = "true") const {
    return std::stoi(superuserQuery("SELECT count(*) FROM public." + table + " WHERE " + where));
  }
  std::string column(const std::string& column, const std::string& id) const {
    return superuserQuery("SELECT coalesce(" + column + "::text, '<null>') FROM public." + table +
                          " WHERE id = '" + id + "'");
  }
  std::vector<std::string> tableIds() const {
    std::string joined =
        superuserQuery("SELECT coalesce(string_agg(id, ',' ORDER BY id), '') FROM public." + table);
    std::vector<std::string> ids;
    std::stringstream in(joined);
    for (std::string id; std::getline(in, id, ',');) ids.push_back(id);
    return ids;
  }

  // Records that exist in both the fake Airtable and the table, as after a sync. Returns ids.
  std::vector<std::string> seed(int count, const std::string& prefix = "Seed") const {
    std::vector<std::string> ids;
    for (int first = 0; first < count; first += 10) {
      std::string body = "{\"records\":[";
      for (int i = first; i < std::min(count, first + 10); ++i)
        body += std::string(i > first ? "," : "") + "{\"fields\":{\"Name\":\"" + prefix +
                std::to_string(i) + "\",\"Status\":\"Todo\",\"Done\":true}}";
      body += "]}";
      httplib::Client client("127.0.0.1", api.port());
      client.set_connection_timeout(std::chrono::seconds(5));
      auto res =
          client.Post(std::string("/v0/appTEST/") + kTable,
                      {{"Authorization", std::string("Bearer ") + kPat}}, body, "application/json");
      REQUIRE(res);
      INFO(res->body);
      REQUIRE(res->status == 200);
      rapidjson::Document doc;
      doc.Parse<rapidjson::kParseIterativeFlag>(res->body.c_str());
      const rapidjson::Value* records = member(doc, "records");
      REQUIRE((records && records->IsArray()));
      for (const auto& record : records->GetArray()) {
        AirtableRecord created = toRecord(record);
        ids.push_back(created.id);
        superuserQuery("INSERT INTO public." + table + " VALUES ('" + created.id + "', '" +
                       created.field("Name") + "', 'Todo', true)");
      }
    }
    return ids;
  }

  std::string table;
  std::string settings;
  FakeApiProcess api;
  std::unique_ptr<PoolerProcess> pooler;
};

}  // namespace

TEST_CASE("airtable: INSERT, UPDATE and DELETE of 10 rows are one request each",
          "[platform][airtable]") {
  AirtableSync at("ten");
  Conn conn = at.connect();

  Result inserted = exec(conn.get(), "INSERT INTO " + at.table + " (name, status, done) VALUES " +
                                         valuesOf(10, "Task") + " RETURNING id, name");
  INFO(at.context(inserted.get()));
  REQUIRE(PQresultStatus(inserted.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(inserted.get()) == "INSERT 0 10");
  REQUIRE(PQntuples(inserted.get()) == 10);
  std::vector<AirtableRecord> records = airtableRecords(at.api);
  REQUIRE(records.size() == 10);
  for (int i = 0; i < 10; ++i) {
    std::string id = PQgetvalue(inserted.get(), i, 0);
    CHECK(looksLikeRecordId(id));
    // Results map to rows by position: row i got the record holding row i's name.
    const AirtableRecord* record = findRecord(records, id);
    REQUIRE(record != nullptr);
    CHECK(record->field("Name") == PQgetvalue(inserted.get(), i, 1));
    CHECK(record->field("Status") == "Todo");
    CHECK(record->field("Done") == "true");
    CHECK(at.column("name", id) == "Task" + std::to_string(i));
    CHECK(at.column("done", id) == "true");
  }
  std::vector<LoggedRequest> requests = apiRequests(at.api);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].path == "/v0/appTEST/tblTasks");
  CHECK(requests[0].records.size() == 10);
  CHECK(contains(requests[0].body, "\"typecast\":false"));

  Result updated = exec(conn.get(), "UPDATE " + at.table + " SET status = 'Done'");
  INFO(at.context(updated.get()));
  REQUIRE(PQresultStatus(updated.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(updated.get()) == "UPDATE 10");
  for (const AirtableRecord& record : airtableRecords(at.api)) {
    CHECK(record.field("Status") == "Done");
    CHECK(record.field("Name").starts_with("Task"));  // PATCH left the other fields alone
  }
  CHECK(at.rowCount("status = 'Done'") == 10);
  requests = apiRequests(at.api);
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].method == "PATCH");
  CHECK(requests[1].path == "/v0/appTEST/tblTasks");
  REQUIRE(requests[1].records.size() == 10);
  for (const AirtableRecord& sent : requests[1].records) {
    CHECK(looksLikeRecordId(sent.id));
    CHECK(sent.fields == std::map<std::string, std::string>{{"Status", "Done"}});
  }

  std::vector<std::string> ids = at.tableIds();
  Result deleted = exec(conn.get(), "DELETE FROM " + at.table);
  INFO(at.context(deleted.get()));
  REQUIRE(PQresultStatus(deleted.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(deleted.get()) == "DELETE 10");
  CHECK(airtableRecords(at.api).empty());
  CHECK(at.rowCount() == 0);
  requests = apiRequests(at.api);
  REQUIRE(requests.size() == 3);
  CHECK(requests[2].method == "DELETE");
  CHECK(requests[2].path.starts_with("/v0/appTEST/tblTasks?records%5B%5D="));
  for (const std::string& id : ids) CHECK(contains(requests[2].path, "records%5B%5D=" + id));
}

TEST_CASE("airtable: 11 rows is 54000 before anything is sent", "[platform][airtable]") {
  AirtableSync at("eleven");
  Conn conn = at.connect();
  Result r = exec(conn.get(), "INSERT INTO " + at.table + " (name, status, done) VALUES " +
                                  valuesOf(11, "Task"));
  INFO(at.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "54000");

  // Eleven rows already in the table (the API is never asked, so it need not hold them).
  for (int i = 0; i < 11; ++i)
    superuserQuery("INSERT INTO public." + at.table + " VALUES ('rec" + std::to_string(i) +
                   "AAAAAAAAAAAAA', 'n', 'Todo', true)");
  for (const std::string& sql :
       {"UPDATE " + at.table + " SET status = 'Done'", "DELETE FROM " + at.table}) {
    Result over = exec(conn.get(), sql);
    INFO(sql << "\n" << at.context(over.get()));
    REQUIRE(PQresultStatus(over.get()) == PGRES_FATAL_ERROR);
    CHECK(errorField(over.get(), PG_DIAG_SQLSTATE) == "54000");
  }
  CHECK(apiRequests(at.api).empty());
  CHECK(at.rowCount() == 11);
  CHECK(at.rowCount("status = 'Todo'") == 11);
}

TEST_CASE("airtable: a value Airtable refuses is 22023 with its message, nothing written",
          "[platform][airtable]") {
  AirtableSync at("invalid");
  std::vector<std::string> ids = at.seed(2);
  Conn conn = at.connect();

  Result r = exec(conn.get(), "INSERT INTO " + at.table +
                                  " (name, status, done) VALUES ('ok', 'Todo', true), "
                                  "('fine', 'INVALID option', true)");
  INFO(at.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "22023");  // INVALID_VALUE_FOR_COLUMN
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY),
                 "Field \"Status\" cannot accept the provided value"));
  std::string detail = errorField(r.get(), PG_DIAG_MESSAGE_DETAIL);
  CHECK(contains(detail, "422"));
  CHECK(contains(detail, "INVALID_VALUE_FOR_COLUMN"));
  CHECK(at.rowCount() == 2);
  CHECK(airtableRecords(at.api).size() == 2);  // all or nothing: not even the first row

  Result u =
      exec(conn.get(), "UPDATE " + at.table + " SET name = 'INVALID' WHERE id = '" + ids[0] + "'");
  INFO(at.context(u.get()));
  REQUIRE(PQresultStatus(u.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(u.get(), PG_DIAG_SQLSTATE) == "22023");
  CHECK(at.column("name", ids[0]) == "Seed0");
  CHECK(findRecord(airtableRecords(at.api), ids[0])->field("Name") == "Seed0");
  CHECK(writesOnly(apiRequests(at.api)).size() == 3);  // the seed, and one request each
  CHECK(queryValue(conn.get(), "SELECT 'still here'") == "still here");
}

TEST_CASE("airtable: a field set to '' or false comes back NULL, as Airtable leaves it out",
          "[platform][airtable]") {
  AirtableSync at("empty");
  std::vector<std::string> ids = at.seed(1);
  Conn conn = at.connect();

  Result r = exec(conn.get(), "UPDATE " + at.table + " SET status = '', done = false WHERE id = '" +
                                  ids[0] + "' RETURNING name, status, done");
  INFO(at.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  REQUIRE(PQntuples(r.get()) == 1);
  CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == "Seed0");
  CHECK(PQgetisnull(r.get(), 0, 1));
  CHECK(PQgetisnull(r.get(), 0, 2));
  CHECK(at.column("status", ids[0]) == "<null>");
  CHECK(at.column("done", ids[0]) == "<null>");
  CHECK(at.column("name", ids[0]) == "Seed0");
  std::vector<AirtableRecord> stored = airtableRecords(at.api);
  const AirtableRecord* record = findRecord(stored, ids[0]);
  REQUIRE(record != nullptr);
  CHECK(record->field("Status") == "<absent>");
  CHECK(record->field("Done") == "<absent>");
  CHECK(record->field("Name") == "Seed0");
  LoggedRequest patch = writesOnly(apiRequests(at.api)).back();
  REQUIRE(patch.records.size() == 1);
  CHECK(patch.records[0].fields ==
        std::map<std::string, std::string>{{"Status", ""}, {"Done", "false"}});

  Result inserted = exec(conn.get(), "INSERT INTO " + at.table +
                                         " (name, status, done) VALUES ('New', '', false) "
                                         "RETURNING id");
  INFO(at.context(inserted.get()));
  REQUIRE(PQresultStatus(inserted.get()) == PGRES_TUPLES_OK);
  std::string id = PQgetvalue(inserted.get(), 0, 0);
  CHECK(at.column("name", id) == "New");
  CHECK(at.column("status", id) == "<null>");
  CHECK(at.column("done", id) == "<null>");
}

TEST_CASE("airtable: a DELETE naming a record Airtable no longer has deletes nothing (40001)",
          "[platform][airtable]") {
  AirtableSync at("gone");
  std::vector<std::string> ids = at.seed(2);
  httplib::Client client("127.0.0.1", at.api.port());
  auto gone = client.Delete("/v0/appTEST/tblTasks?records%5B%5D=" + ids[0],
                            {{"Authorization", std::string("Bearer ") + kPat}});
  REQUIRE(gone);
  REQUIRE(gone->status == 200);
  Conn conn = at.connect();
  Result r = exec(conn.get(), "DELETE FROM " + at.table);
  INFO(at.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "40001");
  std::vector<AirtableRecord> records = airtableRecords(at.api);
  REQUIRE(records.size() == 1);  // Airtable refused the whole request
  CHECK(records[0].id == ids[1]);
}

TEST_CASE("airtable: an expired OAuth token is refreshed, and the rotated one survives a restart",
          "[platform][airtable]") {
  char dir_template[] = "/tmp/apibouncer-airtable-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  const std::string token_file = dir + "/airtable.refresh_token";
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir};

  SyncOptions options;
  options.auth = [&](const std::string& api_url) {
    return "client_id = cid\nclient_secret = cs\nrefresh_token = rt-1\ntoken_url = " + api_url +
           "/oauth2/v1/token\ntoken_file = " + token_file + "\n";
  };
  options.before_start = [](const FakeApiProcess& api) {
    control(api, "/_control/oauth",
            R"({"refresh_token":"rt-1","client_id":"cid","client_secret":"cs",)"
            R"("expires_in":3600,"rotate":true})");
  };
  AirtableSync at("oauth", options);
  auto insertOne = [&](const std::string& name) {
    Conn conn = at.connect();
    Result r = exec(conn.get(), "INSERT INTO " + at.table + " (name, status, done) VALUES ('" +
                                    name + "', 'Todo', true)");
    INFO(at.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
    CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  };

  insertOne("first");
  CHECK(tokenRefreshes(at.api) == 1);
  std::vector<LoggedRequest> requests = apiRequests(at.api);
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].path == "/oauth2/v1/token");
  CHECK(requests[1].path == "/v0/appTEST/tblTasks");
  CHECK(readWholeFile(token_file).find("rt-rotated-1") != std::string::npos);

  control(at.api, "/_control/oauth/expire", "{}");
  insertOne("second");  // 401, one refresh, the same request again
  CHECK(tokenRefreshes(at.api) == 2);
  requests = apiRequests(at.api);
  REQUIRE(requests.size() == 5);
  CHECK(requests[2].path == "/v0/appTEST/tblTasks");
  CHECK(requests[3].path == "/oauth2/v1/token");
  CHECK(requests[4].path == "/v0/appTEST/tblTasks");
  CHECK(readWholeFile(token_file).find("rt-rotated-2") != std::string::npos);

  // A new process: the config's rt-1 is dead, the rotated token in token_file is not.
  at.start();
  insertOne("third");
  CHECK(tokenRefreshes(at.api) == 3);
  CHECK(readWholeFile(token_file).find("rt-rotated-3") != std::string::npos);
  CHECK(airtableRecords(at.api).size() == 3);
  CHECK(at.rowCount() == 3);
}

TEST_CASE("airtable: a 429 is 53000 saying retry after 30 s, with one request sent",
          "[platform][airtable]") {
  SyncOptions options;
  options.apibouncer_settings = "api_timeout = 2\n";
  AirtableSync at("rate_limited", options);
  Conn conn = at.connect();
  control(at.api, "/_control/fail",
          R"({"count":1,"status":429,"body":{"errors":[{"error":"RATE_LIMIT_REACHED",)"
          R"("message":"Rate limit exceeded. Please try again later"}]}})");
  auto started = Clock::now();
  Result r = exec(conn.get(), "INSERT INTO " + at.table + " (name) VALUES ('Ada')");
  auto elapsed = Clock::now() - started;
  INFO(at.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "53000");
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_HINT), "30 s"));
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY), "Rate limit exceeded"));
  CHECK(elapsed < std::chrono::seconds(15));  // gave up: waiting 30 s would pass api_timeout
  CHECK(apiRequests(at.api).size() == 1);
  CHECK(airtableRecords(at.api).empty());
  CHECK(at.rowCount() == 0);
}
