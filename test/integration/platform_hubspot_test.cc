// HubSpot end to end (adapters-spec §2): the real apibouncer, PostgreSQL and the fake API's
// HubSpot dialect (tools/fakeapi/dialects/hubspot.cc), which answers batches in reverse order
// so only correlation by id can put HubSpot's values on the right rows. INSERT takes one row
// (the single create), UPDATE and DELETE up to 100 (batch/update, batch/archive); batch update
// is not atomic, so a 207 leaves the accepted rows applied in both places; OAuth v3 refresh on
// an expired token; burst 429s retried, the DAILY limit not.
#include <httplib.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fakeapi_fixture.h"
#include "fixture.h"

using namespace itest;

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kAppToken = "pat-na1-11111111-2222-3333-4444-555555555555";
constexpr const char* kObjects = "/crm/v3/objects/contacts";
constexpr const char* kBurstBody =
    R"({"status":"error","message":"You have reached your ten_secondly_rolling limit.",)"
    R"("errorType":"RATE_LIMIT","correlationId":"c0ffee00-0000-4000-8000-000000000001",)"
    R"("policyName":"TEN_SECONDLY_ROLLING","groupName":"private-app"})";
constexpr const char* kDailyBody =
    R"({"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT",)"
    R"("correlationId":"c0ffee00-0000-4000-8000-000000000002","policyName":"DAILY",)"
    R"("groupName":"private-app"})";

const rapidjson::Value* member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

rapidjson::Document parsed(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.c_str());
  INFO(text);
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

// A contact as the fake HubSpot shows it: its id and properties (null as "<null>").
struct Contact {
  std::string id;
  std::map<std::string, std::string> properties;
  std::string property(const std::string& name) const {
    auto it = properties.find(name);
    return it == properties.end() ? "<absent>" : it->second;
  }
};

Contact toContact(const rapidjson::Value& record) {
  Contact contact;
  if (const rapidjson::Value* id = member(record, "id")) contact.id = jsonText(*id);
  if (const rapidjson::Value* properties = member(record, "properties");
      properties && properties->IsObject())
    for (const auto& item : properties->GetObject())
      contact.properties[item.name.GetString()] =
          item.value.IsNull() ? "<null>" : jsonText(item.value);
  return contact;
}

std::map<std::string, Contact> contacts(const FakeApiProcess& api) {
  rapidjson::Document doc = parsed(apiGet(api, "/_control/dialect/hubspot"));
  std::map<std::string, Contact> by_id;
  const rapidjson::Value* list = member(doc, "contacts");
  REQUIRE((list && list->IsArray()));
  for (const auto& record : list->GetArray()) {
    Contact contact = toContact(record);
    by_id[contact.id] = contact;
  }
  return by_id;
}

// A request the fake received: method, path, and its body's inputs[] (or properties).
struct LoggedRequest {
  std::string method, path;
  size_t inputs = 0;
  std::map<std::string, std::string> properties;  // a single create's
};

std::vector<LoggedRequest> apiRequests(const FakeApiProcess& api) {
  rapidjson::Document doc = parsed(apiGet(api, "/_control/requests"));
  REQUIRE(doc.IsArray());
  std::vector<LoggedRequest> requests;
  for (const auto& entry : doc.GetArray()) {
    LoggedRequest request;
    request.method = jsonText(*member(entry, "method"));
    request.path = jsonText(*member(entry, "path"));
    if (const rapidjson::Value* body = member(entry, "body")) {
      if (const rapidjson::Value* inputs = member(*body, "inputs"); inputs && inputs->IsArray())
        request.inputs = inputs->Size();
      request.properties = toContact(*body).properties;
    }
    requests.push_back(std::move(request));
  }
  return requests;
}

size_t countPath(const std::vector<LoggedRequest>& requests, const std::string& path) {
  size_t count = 0;
  for (const LoggedRequest& request : requests) count += request.path == path ? 1 : 0;
  return count;
}

long tokenRefreshes(const FakeApiProcess& api) {
  rapidjson::Document doc = parsed(apiGet(api, "/_control/oauth"));
  const rapidjson::Value* refreshes = member(doc, "refreshes");
  REQUIRE((refreshes && refreshes->IsInt64()));
  return static_cast<long>(refreshes->GetInt64());
}

bool numericId(const std::string& id) {
  return !id.empty() && id.find_first_not_of("0123456789") == std::string::npos;
}

// public.hs_<suffix>(id, email, firstname) synced to the fake HubSpot's contacts, with HubSpot's
// default limits (INSERT 1, UPDATE/DELETE 100). OAuth: client cid/cs and refresh token rt-1
// against the fake's /oauth/v3/token, the app token then unknown to the fake.
struct HubspotSync {
  explicit HubspotSync(const std::string& suffix, bool oauth = false)
      : table("hs_" + suffix), api(kAppToken) {
    ensureRole("writer", "writer-secret");
    superuserQuery("SET client_min_messages = warning; DROP TABLE IF EXISTS public." + table);
    superuserQuery("CREATE TABLE public." + table +
                   " (id text PRIMARY KEY, email text, firstname text)");
    superuserQuery("GRANT SELECT ON public." + table + " TO app");
    superuserQuery("GRANT ALL ON public." + table + " TO writer");
    std::string auth = std::string("api_key = ") + kAppToken + "\n";
    if (oauth) {
      control(
          api, "/_control/oauth",
          R"({"refresh_token":"rt-1","client_id":"cid","client_secret":"cs","expires_in":1800})");
      auth = "client_id = cid\nclient_secret = cs\nrefresh_token = rt-1\ntoken_url = " +
             api.baseUrl() + "/oauth/v3/token\n";
    }
    std::string settings =
        "[apibouncer]\nwriter_user = writer\napi_timeout = 20\n[api.hs]\n"
        "platform = hubspot\nbase_url = " +
        api.baseUrl() + "\n" + auth + "[table.public." + table +
        "]\ndatabase = app\napi = hs\nobject = contacts\nprimary_key = id\n";
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

  // Contacts in both the fake HubSpot and the table, as after a sync, made through the fake's
  // batch/create (100 a request; results come back reversed, matched by objectWriteTraceId).
  // Contact i: email seed<i>@x, firstname Seed<i>. Returns the ids in order.
  std::vector<std::string> seed(int count) const {
    std::vector<std::string> ids;
    for (int first = 0; first < count; first += 100) {
      int last = std::min(count, first + 100);
      std::string body = R"({"inputs":[)";
      for (int i = first; i < last; ++i)
        body += std::string(i > first ? "," : "") + R"({"properties":{"email":"seed)" +
                std::to_string(i) + R"(@x","firstname":"Seed)" + std::to_string(i) +
                R"("},"objectWriteTraceId":")" + std::to_string(i) + "\"}";
      body += "]}";
      httplib::Client client("127.0.0.1", api.port());
      client.set_connection_timeout(std::chrono::seconds(5));
      client.set_read_timeout(std::chrono::seconds(10));
      auto res = client.Post(std::string(kObjects) + "/batch/create",
                             {{"Authorization", std::string("Bearer ") + kAppToken}}, body,
                             "application/json");
      REQUIRE(res);
      INFO(res->body);
      REQUIRE(res->status == 201);
      rapidjson::Document doc = parsed(res->body);
      std::map<int, std::string> by_trace;
      for (const auto& result : member(doc, "results")->GetArray())
        by_trace[std::stoi(jsonText(*member(result, "objectWriteTraceId")))] =
            jsonText(*member(result, "id"));
      REQUIRE(by_trace.size() == static_cast<size_t>(last - first));
      std::string values;
      for (const auto& [i, id] : by_trace) {
        ids.push_back(id);
        values += (values.empty() ? "('" : ", ('") + id + "', 'seed" + std::to_string(i) +
                  "@x', 'Seed" + std::to_string(i) + "')";
      }
      superuserQuery("INSERT INTO public." + table + " VALUES " + values);
    }
    return ids;
  }

  std::string table;
  FakeApiProcess api;
  std::unique_ptr<PoolerProcess> pooler;
};

}  // namespace

TEST_CASE("hubspot: INSERT of one row gets HubSpot's id; two rows is 54000, nothing sent",
          "[platform][hubspot]") {
  HubspotSync hs("insert");
  Conn conn = hs.connect();
  Result r = exec(conn.get(), "INSERT INTO " + hs.table +
                                  " (email, firstname) VALUES ('ada@x', 'Ada') RETURNING id");
  INFO(hs.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  std::string id = PQgetvalue(r.get(), 0, 0);
  CHECK(numericId(id));
  auto held = contacts(hs.api);
  REQUIRE(held.size() == 1);
  REQUIRE(held.count(id) == 1);
  CHECK(held[id].property("email") == "ada@x");
  CHECK(held[id].property("firstname") == "Ada");
  CHECK(held[id].property("hs_object_id") == id);
  CHECK(hs.column("email", id) == "ada@x");
  CHECK(hs.column("firstname", id) == "Ada");
  std::vector<LoggedRequest> requests = apiRequests(hs.api);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].path == kObjects);
  CHECK(requests[0].properties.at("email") == "ada@x");

  Result two = exec(conn.get(), "INSERT INTO " + hs.table +
                                    " (email, firstname) VALUES ('b@x', 'B'), ('c@x', 'C')");
  INFO(hs.context(two.get()));
  REQUIRE(PQresultStatus(two.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(two.get(), PG_DIAG_SQLSTATE) == "54000");
  CHECK(apiRequests(hs.api).size() == 1);
  CHECK(hs.rowCount() == 1);
  CHECK(queryValue(conn.get(), "SELECT 'still here'") == "still here");
}

TEST_CASE("hubspot: UPDATE and DELETE of 100 rows are one request each; 101 is 54000",
          "[platform][hubspot]") {
  HubspotSync hs("hundred");
  std::vector<std::string> ids = hs.seed(101);
  const std::string spare = ids.back();
  const size_t seeded = apiRequests(hs.api).size();
  Conn conn = hs.connect();

  Result all = exec(conn.get(), "UPDATE " + hs.table + " SET firstname = 'Everyone'");
  INFO(hs.context(all.get()));
  REQUIRE(PQresultStatus(all.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(all.get(), PG_DIAG_SQLSTATE) == "54000");
  CHECK(apiRequests(hs.api).size() == seeded);

  // Each row gets its own value: HubSpot's answer (in reverse order) is applied to the table,
  // so a row matched to the wrong result would show another row's name.
  Result updated = exec(conn.get(), "UPDATE " + hs.table + " SET firstname = 'New-' || id " +
                                        "WHERE id <> '" + spare + "'");
  INFO(hs.context(updated.get()));
  REQUIRE(PQresultStatus(updated.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(updated.get()) == "UPDATE 100");
  auto held = contacts(hs.api);
  REQUIRE(held.size() == 101);
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    CHECK(held[ids[i]].property("firstname") == "New-" + ids[i]);
    CHECK(held[ids[i]].property("email") == "seed" + std::to_string(i) + "@x");
    CHECK(hs.column("firstname", ids[i]) == "New-" + ids[i]);
  }
  CHECK(held[spare].property("firstname") == "Seed100");
  CHECK(hs.column("firstname", spare) == "Seed100");
  std::vector<LoggedRequest> requests = apiRequests(hs.api);
  REQUIRE(requests.size() == seeded + 1);
  CHECK(requests.back().path == std::string(kObjects) + "/batch/update");
  CHECK(requests.back().inputs == 100);

  Result too_many = exec(conn.get(), "DELETE FROM " + hs.table);
  INFO(hs.context(too_many.get()));
  REQUIRE(PQresultStatus(too_many.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(too_many.get(), PG_DIAG_SQLSTATE) == "54000");
  CHECK(apiRequests(hs.api).size() == seeded + 1);
  CHECK(hs.rowCount() == 101);

  Result deleted = exec(conn.get(), "DELETE FROM " + hs.table + " WHERE id <> '" + spare + "'");
  INFO(hs.context(deleted.get()));
  REQUIRE(PQresultStatus(deleted.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(deleted.get()) == "DELETE 100");
  held = contacts(hs.api);
  CHECK(held.size() == 1);
  CHECK(held.count(spare) == 1);
  CHECK(hs.rowCount() == 1);
  requests = apiRequests(hs.api);
  REQUIRE(requests.size() == seeded + 2);
  CHECK(requests.back().path == std::string(kObjects) + "/batch/archive");
  CHECK(requests.back().inputs == 100);
}

TEST_CASE("hubspot: a refused value is 23514 with HubSpot's message, nothing applied",
          "[platform][hubspot]") {
  HubspotSync hs("validation");
  Conn conn = hs.connect();
  Result r = exec(conn.get(), "INSERT INTO " + hs.table +
                                  " (email, firstname) VALUES ('ada@x', 'INVALID name')");
  INFO(hs.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "23514");
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY),
                 "\"INVALID name\" is not a valid value for property firstname"));
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_DETAIL), "400"));
  CHECK(hs.rowCount() == 0);
  CHECK(contacts(hs.api).empty());
  CHECK(apiRequests(hs.api).size() == 1);
  CHECK(queryValue(conn.get(), "SELECT 'still here'") == "still here");
}

TEST_CASE("hubspot: a 207 batch update keeps the accepted rows, in HubSpot and the table",
          "[platform][hubspot]") {
  HubspotSync hs("partial");
  std::vector<std::string> ids = hs.seed(3);
  Conn conn = hs.connect();
  Result r = exec(conn.get(), "UPDATE " + hs.table + " SET firstname = CASE WHEN id = '" + ids[1] +
                                  "' THEN 'INVALID' ELSE firstname || '-2' END");
  INFO(hs.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "23514");
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_DETAIL), ids[1]));
  auto held = contacts(hs.api);
  CHECK(held[ids[0]].property("firstname") == "Seed0-2");
  CHECK(held[ids[1]].property("firstname") == "Seed1");
  CHECK(held[ids[2]].property("firstname") == "Seed2-2");
  CHECK(hs.column("firstname", ids[0]) == "Seed0-2");
  CHECK(hs.column("firstname", ids[1]) == "Seed1");
  CHECK(hs.column("firstname", ids[2]) == "Seed2-2");
  std::vector<LoggedRequest> requests = apiRequests(hs.api);
  CHECK(requests.back().path == std::string(kObjects) + "/batch/update");
  CHECK(requests.back().inputs == 3);
  CHECK(countPath(requests, std::string(kObjects) + "/batch/update") == 1);
}

TEST_CASE("hubspot: UPDATE of a contact HubSpot no longer has is 40001; DELETE just goes through",
          "[platform][hubspot]") {
  HubspotSync hs("gone");
  std::vector<std::string> ids = hs.seed(2);
  httplib::Client client("127.0.0.1", hs.api.port());
  auto res = client.Post(std::string(kObjects) + "/batch/archive",
                         {{"Authorization", std::string("Bearer ") + kAppToken}},
                         R"({"inputs":[{"id":")" + ids[0] + R"("}]})", "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 204);
  Conn conn = hs.connect();
  Result updated =
      exec(conn.get(), "UPDATE " + hs.table + " SET firstname = 'X' WHERE id = '" + ids[0] + "'");
  INFO(hs.context(updated.get()));
  REQUIRE(PQresultStatus(updated.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(updated.get(), PG_DIAG_SQLSTATE) == "40001");
  CHECK(contacts(hs.api).size() == 1);

  Result deleted = exec(conn.get(), "DELETE FROM " + hs.table);
  INFO(hs.context(deleted.get()));
  REQUIRE(PQresultStatus(deleted.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(deleted.get()) == "DELETE 2");
  CHECK(hs.rowCount() == 0);
  CHECK(contacts(hs.api).empty());
}

TEST_CASE("hubspot: an access token that expires mid-run is refreshed once, the write goes on",
          "[platform][hubspot]") {
  HubspotSync hs("oauth", /*oauth=*/true);
  Conn conn = hs.connect();
  Result first = exec(conn.get(), "INSERT INTO " + hs.table +
                                      " (email, firstname) VALUES ('ada@x', 'Ada') RETURNING id");
  INFO(hs.context(first.get()));
  REQUIRE(PQresultStatus(first.get()) == PGRES_TUPLES_OK);
  CHECK(tokenRefreshes(hs.api) == 1);

  control(hs.api, "/_control/oauth/expire", "{}");
  Result second = exec(conn.get(), "INSERT INTO " + hs.table +
                                       " (email, firstname) VALUES ('bob@x', 'Bob') RETURNING id");
  INFO(hs.context(second.get()));
  REQUIRE(PQresultStatus(second.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(second.get()) == "INSERT 0 1");
  CHECK(tokenRefreshes(hs.api) == 2);
  std::string id = PQgetvalue(second.get(), 0, 0);
  CHECK(hs.column("firstname", id) == "Bob");
  CHECK(contacts(hs.api).size() == 2);
  std::vector<LoggedRequest> requests = apiRequests(hs.api);
  CHECK(countPath(requests, "/oauth/v3/token") == 2);
  CHECK(countPath(requests, kObjects) == 3);  // the one refused with the expired token, resent
}

TEST_CASE("hubspot: a storm of burst 429s is waited out and the write goes through",
          "[platform][hubspot]") {
  HubspotSync hs("burst");
  Conn conn = hs.connect();
  control(hs.api, "/_control/fail",
          std::string(R"({"count":3,"status":429,"retry_after":1,"body":)") + kBurstBody + "}");
  auto start = Clock::now();
  Result r = exec(conn.get(), "INSERT INTO " + hs.table +
                                  " (email, firstname) VALUES ('ada@x', 'Ada') RETURNING id");
  auto elapsed = Clock::now() - start;
  INFO(hs.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  CHECK(elapsed >= std::chrono::milliseconds(2500));  // three waits of Retry-After: 1
  CHECK(hs.column("firstname", PQgetvalue(r.get(), 0, 0)) == "Ada");
  CHECK(contacts(hs.api).size() == 1);
  CHECK(countPath(apiRequests(hs.api), kObjects) == 4);
}

TEST_CASE("hubspot: the DAILY limit is 53400 after one request, never retried",
          "[platform][hubspot]") {
  HubspotSync hs("daily");
  Conn conn = hs.connect();
  control(hs.api, "/_control/fail",
          std::string(R"({"count":3,"status":429,"retry_after":1,"body":)") + kDailyBody + "}");
  Result r = exec(conn.get(), "INSERT INTO " + hs.table + " (email) VALUES ('ada@x')");
  INFO(hs.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "53400");
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY), "daily limit"));
  CHECK(apiRequests(hs.api).size() == 1);
  CHECK(hs.rowCount() == 0);
  CHECK(contacts(hs.api).empty());
}
