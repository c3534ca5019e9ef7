// Salesforce end to end (adapters-spec §3): the real apibouncer, PostgreSQL and the fake API's
// Salesforce dialect (tools/fakeapi/dialects/salesforce.cc). One sObject Collections request
// with allOrNone=true per statement of up to 200 rows, so a refused record leaves both the API
// and the table untouched; Salesforce's error codes as SQLSTATEs; OAuth refreshed on a 401
// (Salesforce says no expires_in); REQUEST_LIMIT_EXCEEDED never retried, UNABLE_TO_LOCK_ROW
// retried.
#include <httplib.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>
#include <chrono>
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
constexpr const char* kSessionKey = "00DRM0000000001!AQ4AQsessionkey";
constexpr const char* kApiPath = "/services/data/v62.0/composite/sobjects";
constexpr const char* kLockedBody =
    R"([{"id":null,"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW",)"
    R"("message":"unable to obtain exclusive access to this record","fields":[]}]}])";
constexpr const char* kLimitBody =
    R"([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])";

const rapidjson::Value* member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// A record as the fake Salesforce shows it, fields flattened to text (strings as they are).
using SfRecord = std::map<std::string, std::string>;

std::string field(const SfRecord& record, const std::string& name) {
  auto it = record.find(name);
  return it == record.end() ? "<absent>" : it->second;
}

SfRecord toRecord(const rapidjson::Value& object) {
  SfRecord record;
  if (object.IsObject())
    for (const auto& item : object.GetObject())
      record[item.name.GetString()] = jsonText(item.value);
  return record;
}

// The fake's dump as text (to compare before and after) and as Account records.
std::string accountsDump(const FakeApiProcess& api) {
  return apiGet(api, "/_control/dialect/salesforce");
}

std::vector<SfRecord> accounts(const FakeApiProcess& api) {
  std::string body = accountsDump(api);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.c_str());
  INFO(body);
  REQUIRE_FALSE(doc.HasParseError());
  std::vector<SfRecord> records;
  if (const rapidjson::Value* list = member(doc, "Account"); list && list->IsArray())
    for (const auto& record : list->GetArray()) records.push_back(toRecord(record));
  return records;
}

const SfRecord* findAccount(const std::vector<SfRecord>& records, const std::string& id) {
  for (const SfRecord& record : records)
    if (field(record, "Id") == id) return &record;
  return nullptr;
}

// A request the fake received: the path keeps its query (DELETE ?ids=..); body records flattened.
struct LoggedRequest {
  std::string method, path;
  std::vector<SfRecord> records;
  std::string all_or_none;  // the body's allOrNone, as JSON text
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
      if (const rapidjson::Value* flag = member(*body, "allOrNone"))
        request.all_or_none = jsonText(*flag);
      if (const rapidjson::Value* records = member(*body, "records"); records && records->IsArray())
        for (const auto& record : records->GetArray()) request.records.push_back(toRecord(record));
    }
    requests.push_back(std::move(request));
  }
  return requests;
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

bool looksLikeAccountId(const std::string& id) {
  return std::regex_match(id, std::regex("001[A-Za-z0-9]{15}"));
}

// ('Acc0', 'Tech'), ('Acc1', 'Tech'), ...
std::string valuesOf(int count, const std::string& prefix) {
  std::string values;
  for (int i = 0; i < count; ++i)
    values += (i ? ", ('" : "('") + prefix + std::to_string(i) + "', 'Tech')";
  return values;
}

struct SyncOptions {
  bool oauth = false;  // client_id/secret + refresh_token rt-1 instead of the session key
};

// public.sf_<suffix>(id, name, industry, region) synced to the fake Salesforce's Account
// objects; region maps to Region, a field Account does not have (for 42703).
struct SalesforceSync {
  explicit SalesforceSync(const std::string& suffix, SyncOptions options = {})
      : table("sf_" + suffix), api(kSessionKey) {
    ensureRole("writer", "writer-secret");
    superuserQuery("SET client_min_messages = warning; DROP TABLE IF EXISTS public." + table);
    superuserQuery("CREATE TABLE public." + table +
                   " (id text PRIMARY KEY, name text, industry text, region text)");
    superuserQuery("GRANT SELECT ON public." + table + " TO app");
    superuserQuery("GRANT ALL ON public." + table + " TO writer");
    std::string auth = std::string("api_key = ") + kSessionKey + "\n";
    if (options.oauth) {
      control(api, "/_control/oauth",
              R"({"refresh_token":"rt-1","client_id":"cid","client_secret":"cs"})");
      auth = "client_id = cid\nclient_secret = cs\nrefresh_token = rt-1\ntoken_url = " +
             api.baseUrl() + "/services/oauth2/token\n";
    }
    std::string settings =
        "[apibouncer]\nwriter_user = writer\napi_timeout = 15\n[api.sf]\nplatform = salesforce\n"
        "base_url = " +
        api.baseUrl() + "/services/data/v62.0\n" + auth + "[table.public." + table +
        "]\ndatabase = app\napi = sf\nobject = Account\nprimary_key = id\n"
        "column_map = name:Name, industry:Industry, region:Region\n";
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
  // The table as text, to compare before and after a refused statement.
  std::string tableText() const {
    return superuserQuery(
        "SELECT coalesce(string_agg(id || '|' || coalesce(name, '') || '|' || "
        "coalesce(industry, ''), ';' ORDER BY id), '') FROM public." +
        table);
  }

  // Accounts that exist in both the fake Salesforce and the table, as after a sync, created
  // through the fake's own API (200 per request). Returns their ids in order.
  std::vector<std::string> seed(int count, const std::string& prefix = "Seed") const {
    std::vector<std::string> ids;
    for (int first = 0; first < count; first += 200) {
      std::string body = R"({"allOrNone":true,"records":[)";
      for (int i = first; i < std::min(count, first + 200); ++i)
        body += std::string(i > first ? "," : "") + R"({"attributes":{"type":"Account"},"Name":")" +
                prefix + std::to_string(i) + R"(","Industry":"Tech"})";
      body += "]}";
      httplib::Client client("127.0.0.1", api.port());
      client.set_connection_timeout(std::chrono::seconds(5));
      client.set_read_timeout(std::chrono::seconds(10));
      auto res = client.Post(kApiPath, {{"Authorization", std::string("Bearer ") + kSessionKey}},
                             body, "application/json");
      REQUIRE(res);
      INFO(res->body);
      REQUIRE(res->status == 200);
      rapidjson::Document doc;
      doc.Parse<rapidjson::kParseIterativeFlag>(res->body.c_str());
      REQUIRE(doc.IsArray());
      std::string values;
      for (const auto& result : doc.GetArray()) {
        REQUIRE(jsonText(*member(result, "success")) == "true");
        ids.push_back(jsonText(*member(result, "id")));
        int i = static_cast<int>(ids.size()) - 1;
        values += (values.empty() ? "('" : ", ('") + ids.back() + "', '" + prefix +
                  std::to_string(i) + "', 'Tech')";
      }
      superuserQuery("INSERT INTO public." + table + " (id, name, industry) VALUES " + values);
    }
    return ids;
  }

  std::string table;
  FakeApiProcess api;
  std::unique_ptr<PoolerProcess> pooler;
};

}  // namespace

TEST_CASE("salesforce: INSERT, UPDATE and DELETE of 200 rows are one request each",
          "[platform][salesforce]") {
  SalesforceSync sf("two_hundred");
  Conn conn = sf.connect();

  Result inserted = exec(conn.get(), "INSERT INTO " + sf.table + " (name, industry) VALUES " +
                                         valuesOf(200, "Acc") + " RETURNING id, name");
  INFO(sf.context(inserted.get()));
  REQUIRE(PQresultStatus(inserted.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(inserted.get()) == "INSERT 0 200");
  REQUIRE(PQntuples(inserted.get()) == 200);
  std::vector<SfRecord> records = accounts(sf.api);
  REQUIRE(records.size() == 200);
  for (int i = 0; i < 200; ++i) {
    std::string id = PQgetvalue(inserted.get(), i, 0);
    CHECK(looksLikeAccountId(id));
    // Results map to rows by position: row i got the account holding row i's name.
    const SfRecord* record = findAccount(records, id);
    REQUIRE(record != nullptr);
    CHECK(field(*record, "Name") == "Acc" + std::to_string(i));
    CHECK(field(*record, "Industry") == "Tech");
    CHECK(sf.column("name", id) == "Acc" + std::to_string(i));
  }
  std::vector<LoggedRequest> requests = apiRequests(sf.api);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].path == kApiPath);
  CHECK(requests[0].all_or_none == "true");
  REQUIRE(requests[0].records.size() == 200);
  CHECK(field(requests[0].records[0], "attributes") == R"({"type":"Account"})");
  CHECK(field(requests[0].records[0], "Name") == "Acc0");

  Result updated = exec(conn.get(), "UPDATE " + sf.table + " SET industry = 'Energy'");
  INFO(sf.context(updated.get()));
  REQUIRE(PQresultStatus(updated.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(updated.get()) == "UPDATE 200");
  for (const SfRecord& record : accounts(sf.api)) {
    CHECK(field(record, "Industry") == "Energy");
    CHECK(field(record, "Name").starts_with("Acc"));  // PATCH left the other fields alone
  }
  CHECK(sf.rowCount("industry = 'Energy'") == 200);
  requests = apiRequests(sf.api);
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].method == "PATCH");
  CHECK(requests[1].path == kApiPath);
  CHECK(requests[1].all_or_none == "true");
  REQUIRE(requests[1].records.size() == 200);
  for (const SfRecord& sent : requests[1].records) {
    CHECK(looksLikeAccountId(field(sent, "id")));
    CHECK(field(sent, "Industry") == "Energy");
    CHECK(sent.size() == 3);  // attributes, id, Industry: only what the statement sets
  }

  Result deleted = exec(conn.get(), "DELETE FROM " + sf.table);
  INFO(sf.context(deleted.get()));
  REQUIRE(PQresultStatus(deleted.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(deleted.get()) == "DELETE 200");
  CHECK(accounts(sf.api).empty());
  CHECK(sf.rowCount() == 0);
  requests = apiRequests(sf.api);
  REQUIRE(requests.size() == 3);
  CHECK(requests[2].method == "DELETE");
  CHECK(requests[2].path.starts_with(std::string(kApiPath) + "?ids=001"));
  CHECK(contains(requests[2].path, "&allOrNone=true"));
  for (const SfRecord& record : records) CHECK(contains(requests[2].path, field(record, "Id")));
}

TEST_CASE("salesforce: 201 rows is 54000 before anything is sent", "[platform][salesforce]") {
  SalesforceSync sf("over_limit");
  std::vector<std::string> ids = sf.seed(201);
  const size_t seeded = apiRequests(sf.api).size();
  const std::string before = accountsDump(sf.api);
  Conn conn = sf.connect();
  for (const std::string& sql :
       {"INSERT INTO " + sf.table + " (name, industry) VALUES " + valuesOf(201, "Over"),
        "UPDATE " + sf.table + " SET industry = 'Energy'", "DELETE FROM " + sf.table}) {
    Result r = exec(conn.get(), sql);
    INFO(sql << "\n" << sf.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
    CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "54000");
  }
  CHECK(apiRequests(sf.api).size() == seeded);
  CHECK(accountsDump(sf.api) == before);
  CHECK(sf.rowCount() == 201);
  CHECK(sf.rowCount("industry = 'Tech'") == 201);
}

TEST_CASE("salesforce: Salesforce's refusals become the matching SQLSTATEs",
          "[platform][salesforce]") {
  SalesforceSync sf("refusals");
  Conn conn = sf.connect();
  struct Case {
    std::string values, sqlstate, message;
  };
  const Case cases[] = {
      // A validation rule (FIELD_CUSTOM_VALIDATION_EXCEPTION): a CHECK the API owns.
      {"(name) VALUES ('INVALID corp')", "23514", "must not contain INVALID"},
      {"(name, industry) VALUES (NULL, 'Tech')", "23502", "Required fields are missing"},
      {"(name, region) VALUES ('Acme', 'EMEA')", "42703", "No such column 'Region'"},
  };
  size_t sent = 0;
  for (const Case& c : cases) {
    Result r = exec(conn.get(), "INSERT INTO " + sf.table + " " + c.values);
    INFO(c.values << "\n" << sf.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
    CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == c.sqlstate);
    CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY), c.message));
    CHECK(apiRequests(sf.api).size() == ++sent);  // it did reach the API
  }
  CHECK(sf.rowCount() == 0);
  CHECK(accounts(sf.api).empty());
  CHECK(queryValue(conn.get(), "SELECT 'still here'") == "still here");
}

TEST_CASE("salesforce: one refused record leaves the API and the table untouched (allOrNone)",
          "[platform][salesforce]") {
  SalesforceSync sf("all_or_none");
  std::vector<std::string> ids = sf.seed(3);  // Seed0, Seed1, Seed2, all Tech
  const std::string api_before = accountsDump(sf.api);
  const std::string table_before = sf.tableText();
  const size_t seeded = apiRequests(sf.api).size();
  Conn conn = sf.connect();

  SECTION("a 3-row INSERT") {
    Result r = exec(conn.get(), "INSERT INTO " + sf.table +
                                    " (name, industry) VALUES ('New0', 'Tech'), "
                                    "('New1', 'INVALID industry'), ('New2', 'Tech')");
    INFO(sf.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
    CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "23514");
    CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY), "Industry"));
    std::vector<LoggedRequest> requests = apiRequests(sf.api);
    REQUIRE(requests.size() == seeded + 1);
    CHECK(requests.back().method == "POST");
    CHECK(requests.back().records.size() == 3);
  }
  SECTION("a 3-row UPDATE") {
    Result r = exec(conn.get(), "UPDATE " + sf.table +
                                    " SET industry = CASE name WHEN 'Seed1' THEN 'INVALID' "
                                    "ELSE 'Retail' END");
    INFO(sf.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
    CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "23514");
    std::vector<LoggedRequest> requests = apiRequests(sf.api);
    REQUIRE(requests.size() == seeded + 1);
    CHECK(requests.back().method == "PATCH");
    CHECK(requests.back().records.size() == 3);
  }
  CHECK(accountsDump(sf.api) == api_before);
  CHECK(sf.tableText() == table_before);
  CHECK(queryValue(conn.get(), "SELECT 'still here'") == "still here");
}

TEST_CASE("salesforce: deleting accounts Salesforce no longer has", "[platform][salesforce]") {
  SalesforceSync sf("gone");
  std::vector<std::string> ids = sf.seed(2);
  // Deleted in Salesforce since the last sync: a well-formed id the fake does not hold.
  const std::string gone = "001RM9999999999";
  superuserQuery("INSERT INTO public." + sf.table + " VALUES ('" + gone + "', 'Gone', 'Tech')");
  Conn conn = sf.connect();
  std::vector<Notice> notices;
  PQsetNoticeReceiver(conn.get(), collectNotice, &notices);

  SECTION("only the gone one: deleted locally, with a notice") {
    Result r = exec(conn.get(), "DELETE FROM " + sf.table + " WHERE name = 'Gone'");
    INFO(sf.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
    CHECK(cmdStatus(r.get()) == "DELETE 1");
    REQUIRE(notices.size() == 1);
    CHECK(contains(notices[0].message, gone));
    CHECK(sf.rowCount() == 2);
    CHECK(accounts(sf.api).size() == 2);
  }
  SECTION("with others: allOrNone rolled them back, so only the gone one goes; a re-run works") {
    Result r = exec(conn.get(), "DELETE FROM " + sf.table);
    INFO(sf.context(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
    CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "40001");
    CHECK(sf.rowCount("id = '" + gone + "'") == 0);
    CHECK(sf.rowCount() == 2);
    CHECK(accounts(sf.api).size() == 2);

    Result again = exec(conn.get(), "DELETE FROM " + sf.table);
    INFO(sf.context(again.get()));
    REQUIRE(PQresultStatus(again.get()) == PGRES_COMMAND_OK);
    CHECK(cmdStatus(again.get()) == "DELETE 2");
    CHECK(sf.rowCount() == 0);
    CHECK(accounts(sf.api).empty());
  }
}

TEST_CASE("salesforce: an expired session is refreshed once and the write goes through",
          "[platform][salesforce]") {
  SalesforceSync sf("oauth", {true});
  Conn conn = sf.connect();
  Result first =
      exec(conn.get(), "INSERT INTO " + sf.table + " (name) VALUES ('Before') RETURNING id");
  INFO(sf.context(first.get()));
  REQUIRE(PQresultStatus(first.get()) == PGRES_TUPLES_OK);
  CHECK(looksLikeAccountId(PQgetvalue(first.get(), 0, 0)));
  const long refreshes = tokenRefreshes(sf.api);
  CHECK(refreshes >= 1);  // the session key is not configured: only an OAuth token gets in
  const size_t before = apiRequests(sf.api).size();

  control(sf.api, "/_control/oauth/expire", "{}");
  Result second =
      exec(conn.get(), "INSERT INTO " + sf.table + " (name) VALUES ('After') RETURNING id");
  INFO(sf.context(second.get()));
  REQUIRE(PQresultStatus(second.get()) == PGRES_TUPLES_OK);
  std::string id = PQgetvalue(second.get(), 0, 0);
  CHECK(sf.column("name", id) == "After");
  REQUIRE(findAccount(accounts(sf.api), id) != nullptr);
  CHECK(tokenRefreshes(sf.api) == refreshes + 1);

  // The refused attempt, one refresh, the resend.
  std::vector<LoggedRequest> requests = apiRequests(sf.api);
  REQUIRE(requests.size() == before + 3);
  CHECK(requests[before].path == kApiPath);
  CHECK(requests[before + 1].method == "POST");
  CHECK(requests[before + 1].path == "/services/oauth2/token");
  CHECK(requests[before + 2].path == kApiPath);
  CHECK(sf.rowCount() == 2);
}

TEST_CASE("salesforce: REQUEST_LIMIT_EXCEEDED is 53400 after exactly one request",
          "[platform][salesforce]") {
  SalesforceSync sf("quota");
  Conn conn = sf.connect();
  control(sf.api, "/_control/fail",
          std::string(R"({"count":3,"status":403,"body":)") + kLimitBody + "}");
  Result r = exec(conn.get(), "INSERT INTO " + sf.table + " (name) VALUES ('Acme')");
  INFO(sf.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "53400");
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY), "TotalRequests Limit exceeded"));
  CHECK(apiRequests(sf.api).size() == 1);  // never retried
  CHECK(sf.rowCount() == 0);
  CHECK(accounts(sf.api).empty());
}

TEST_CASE("salesforce: UNABLE_TO_LOCK_ROW is retried and the write goes through",
          "[platform][salesforce]") {
  SalesforceSync sf("locked");
  std::vector<std::string> ids = sf.seed(1);
  const size_t seeded = apiRequests(sf.api).size();
  Conn conn = sf.connect();
  control(sf.api, "/_control/fail",
          std::string(R"({"count":1,"status":200,"body":)") + kLockedBody + "}");
  auto start = Clock::now();
  Result r = exec(conn.get(), "UPDATE " + sf.table + " SET industry = 'Energy'");
  auto elapsed = Clock::now() - start;
  INFO(sf.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(r.get()) == "UPDATE 1");
  CHECK(elapsed >= std::chrono::milliseconds(900));  // Salesforce's lock: back off, then resend
  CHECK(sf.column("industry", ids[0]) == "Energy");
  std::vector<SfRecord> records = accounts(sf.api);
  REQUIRE(records.size() == 1);
  CHECK(field(records[0], "Industry") == "Energy");
  std::vector<LoggedRequest> requests = apiRequests(sf.api);
  REQUIRE(requests.size() == seeded + 2);
  CHECK(requests[seeded].method == "PATCH");
  CHECK(requests[seeded + 1].method == "PATCH");
}
