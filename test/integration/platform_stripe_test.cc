// Stripe end to end (adapters-spec §4): the real apibouncer, PostgreSQL and the fake API's
// Stripe dialect (tools/fakeapi/dialects/stripe.cc). One form-encoded request per row, each with
// its own Idempotency-Key; partial success (the rows Stripe took are committed, the statement
// fails for the others); a dropped connection resent under the same key; 429s retried; DELETE
// of what Stripe no longer has as a NOTICE; DELETE of what Stripe cannot delete refused.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakeapi_fixture.h"
#include "fixture.h"

using namespace itest;

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kKey = "sk_test_4eC39HqLyjWDarjtT1zdp7dc";

// A Stripe object as the fake holds it: members flattened to text (strings as they are).
using StripeObject = std::map<std::string, std::string>;

std::string field(const StripeObject& object, const std::string& name) {
  auto it = object.find(name);
  return it == object.end() ? "<absent>" : it->second;
}

struct LoggedRequest {
  std::string method, path, body, idempotency_key;  // key "" when none was sent
};

// A VALUES list of n customers: ('u1@example.com', 'User 1', '{"n": "1"}'), ...
std::string customerValues(int n, int invalid_row = 0) {
  std::string values;
  for (int i = 1; i <= n; ++i) {
    std::string name =
        i == invalid_row ? "INVALID " + std::to_string(i) : "User " + std::to_string(i);
    values += (i > 1 ? ", " : "") + std::string("('u") + std::to_string(i) + "@example.com', '" +
              name + "', '{\"n\": \"" + std::to_string(i) + "\"}')";
  }
  return values;
}

// Two synced tables on one fake Stripe: public.stripe_<suffix> (object customers) and
// public.stripe_<suffix>_prices (object prices), the role `writer`, and an apibouncer.
struct Stripe {
  explicit Stripe(const std::string& suffix)
      : table("stripe_" + suffix), prices(table + "_prices"), api(kKey) {
    ensureRole("writer", "writer-secret");
    createTable(table, "id text PRIMARY KEY, email text, name text, metadata jsonb");
    createTable(
        prices,
        "id text PRIMARY KEY, currency text, unit_amount int, product text, active boolean");
    std::string settings =
        "[apibouncer]\nwriter_user = writer\napi_timeout = 30\n"
        "[api.stripe]\nplatform = stripe\nbase_url = " +
        api.baseUrl() + "/v1\napi_key = " + kKey + "\n" + section(table, "customers") +
        section(prices, "prices");
    pooler = std::make_unique<PoolerProcess>(
        PoolerConfig{"", settings, defaultUserlist() + "\"writer\" \"writer-secret\"\n", true});
  }

  static void createTable(const std::string& name, const std::string& columns) {
    superuserQuery("SET client_min_messages = warning; DROP TABLE IF EXISTS public." + name);
    superuserQuery("CREATE TABLE public." + name + " (" + columns + ")");
    superuserQuery("GRANT SELECT ON public." + name + " TO app");
    superuserQuery("GRANT ALL ON public." + name + " TO writer");
  }

  static std::string section(const std::string& name, const std::string& object) {
    return "[table.public." + name + "]\ndatabase = app\napi = stripe\nobject = " + object +
           "\nprimary_key = id\n";
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

  int rowCount(const std::string& where = "true", const std::string& of = "") const {
    return std::stoi(superuserQuery("SELECT count(*) FROM public." + (of.empty() ? table : of) +
                                    " WHERE " + where));
  }
  std::string column(const std::string& expression, const std::string& id,
                     const std::string& of = "") const {
    return superuserQuery("SELECT coalesce((" + expression + ")::text, '<null>') FROM public." +
                          (of.empty() ? table : of) + " WHERE id = '" + id + "'");
  }
  std::set<std::string> tableIds() const {
    std::string joined =
        superuserQuery("SELECT coalesce(string_agg(id, ','), '') FROM public." + table);
    std::set<std::string> ids;
    std::stringstream in(joined);
    for (std::string id; std::getline(in, id, ',');) ids.insert(id);
    return ids;
  }

  // What the fake Stripe holds: {"customers":[...], "prices":[...]}.
  std::vector<StripeObject> objects(const char* kind = "customers") const {
    std::string body = apiGet(api, "/_control/dialect/stripe");
    INFO(body);
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsObject());
    std::vector<StripeObject> out;
    auto list = doc.FindMember(kind);
    if (list == doc.MemberEnd()) return out;
    REQUIRE(list->value.IsArray());
    for (const auto& item : list->value.GetArray()) {
      StripeObject object;
      for (const auto& m : item.GetObject())
        object[std::string(m.name.GetString(), m.name.GetStringLength())] = jsonText(m.value);
      out.push_back(std::move(object));
    }
    return out;
  }
  std::map<std::string, StripeObject> customersById() const {
    std::map<std::string, StripeObject> byId;
    for (auto& customer : objects()) byId[field(customer, "id")] = customer;
    return byId;
  }

  std::vector<LoggedRequest> requests() const {
    std::string body = apiGet(api, "/_control/requests");
    INFO(body);
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsArray());
    std::vector<LoggedRequest> out;
    for (const auto& entry : doc.GetArray()) {
      LoggedRequest request;
      request.method = jsonText(entry["method"]);
      request.path = jsonText(entry["path"]);
      request.body = jsonText(entry["body"]);  // form bodies are not JSON: kept as strings
      if (entry["idempotency_key"].IsString())
        request.idempotency_key = jsonText(entry["idempotency_key"]);
      out.push_back(std::move(request));
    }
    return out;
  }

  std::string table, prices;
  FakeApiProcess api;
  std::unique_ptr<PoolerProcess> pooler;
};

}  // namespace

TEST_CASE("stripe: 100-row INSERT, UPDATE and DELETE are 100 requests each, a key per row",
          "[platform][stripe]") {
  Stripe stripe("hundred");
  Conn conn = stripe.connect();

  Result inserted = exec(conn.get(), "INSERT INTO " + stripe.table +
                                         " (email, name, metadata) VALUES " + customerValues(100));
  INFO(stripe.context(inserted.get()));
  REQUIRE(PQresultStatus(inserted.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(inserted.get()) == "INSERT 0 100");
  std::map<std::string, StripeObject> customers = stripe.customersById();
  REQUIRE(customers.size() == 100);
  std::set<std::string> ids = stripe.tableIds();
  REQUIRE(ids.size() == 100);
  for (const std::string& id : ids) {
    INFO(id);
    CHECK(id.rfind("cus_", 0) == 0);
    REQUIRE(customers.count(id) == 1);
    CHECK(stripe.column("email", id) == field(customers[id], "email"));
    CHECK(stripe.column("metadata->>'n'", id) ==
          stripe.column("split_part(email, '@', 1)", id).substr(1));
  }
  std::vector<LoggedRequest> requests = stripe.requests();
  REQUIRE(requests.size() == 100);
  std::set<std::string> keys;
  for (const LoggedRequest& request : requests) {
    CHECK(request.method == "POST");
    CHECK(request.path == "/v1/customers");
    CHECK(contains(request.body, "metadata[n]="));
    CHECK_FALSE(request.idempotency_key.empty());
    keys.insert(request.idempotency_key);
  }
  CHECK(keys.size() == 100);

  Result updated = exec(conn.get(), "UPDATE " + stripe.table +
                                        " SET name = name || ' (vip)', metadata = "
                                        "'{\"tier\": \"vip\"}'");
  INFO(stripe.context(updated.get()));
  REQUIRE(PQresultStatus(updated.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(updated.get()) == "UPDATE 100");
  customers = stripe.customersById();
  REQUIRE(customers.size() == 100);
  for (const auto& [id, customer] : customers) {
    INFO(id);
    CHECK(contains(field(customer, "name"), " (vip)"));
    // Stripe merges metadata; the table takes Stripe's answer, so both keys are there.
    CHECK(stripe.column("metadata->>'tier'", id) == "vip");
    CHECK(stripe.column("metadata->>'n'", id) != "<null>");
    CHECK(stripe.column("name", id) == field(customer, "name"));
  }
  requests = stripe.requests();
  REQUIRE(requests.size() == 200);
  std::set<std::string> paths;
  keys.clear();
  for (size_t i = 100; i < 200; ++i) {
    CHECK(requests[i].method == "POST");
    CHECK_FALSE(contains(requests[i].body, "email"));  // only the SET columns
    keys.insert(requests[i].idempotency_key);
    paths.insert(requests[i].path);
  }
  CHECK(keys.size() == 100);
  for (const std::string& id : ids) CHECK(paths.count("/v1/customers/" + id) == 1);

  Result deleted = exec(conn.get(), "DELETE FROM " + stripe.table);
  INFO(stripe.context(deleted.get()));
  REQUIRE(PQresultStatus(deleted.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(deleted.get()) == "DELETE 100");
  CHECK(stripe.objects().empty());
  CHECK(stripe.rowCount() == 0);
  requests = stripe.requests();
  REQUIRE(requests.size() == 300);
  paths.clear();
  for (size_t i = 200; i < 300; ++i) {
    CHECK(requests[i].method == "DELETE");
    paths.insert(requests[i].path);
  }
  for (const std::string& id : ids) CHECK(paths.count("/v1/customers/" + id) == 1);
}

TEST_CASE("stripe: 101 rows are 54000 and nothing is sent", "[platform][stripe]") {
  Stripe stripe("limit");
  Conn conn = stripe.connect();
  Result r = exec(conn.get(), "INSERT INTO " + stripe.table + " (email, name, metadata) VALUES " +
                                  customerValues(101));
  INFO(stripe.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "54000");

  // 101 rows already mirrored: UPDATE and DELETE of all of them are refused the same way.
  superuserQuery("INSERT INTO public." + stripe.table +
                 " SELECT 'cus_seed' || g, 'u' || g || '@example.com', 'User ' || g FROM "
                 "generate_series(1, 101) g");
  for (const std::string& sql :
       {"UPDATE " + stripe.table + " SET name = 'x'", "DELETE FROM " + stripe.table}) {
    Result refused = exec(conn.get(), sql);
    INFO(sql << "\n" << stripe.context(refused.get()));
    REQUIRE(PQresultStatus(refused.get()) == PGRES_FATAL_ERROR);
    CHECK(errorField(refused.get(), PG_DIAG_SQLSTATE) == "54000");
  }
  CHECK(stripe.requests().empty());
  CHECK(stripe.rowCount() == 101);
  CHECK(stripe.rowCount("name = 'x'") == 0);
}

TEST_CASE("stripe: a refused row is 23514 with Stripe's message", "[platform][stripe]") {
  Stripe stripe("refused");
  Conn conn = stripe.connect();
  Result r = exec(conn.get(), "INSERT INTO " + stripe.table +
                                  " (email, name) VALUES ('ada@example.com', 'xINVALIDx')");
  INFO(stripe.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "23514");
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY),
                 "Invalid value for name: 'xINVALIDx' is not accepted."));
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_DETAIL), "400"));
  CHECK(stripe.rowCount() == 0);
  CHECK(stripe.objects().empty());
  CHECK(stripe.requests().size() == 1);
  CHECK(queryValue(conn.get(), "SELECT 'still here'") == "still here");
}

TEST_CASE("stripe: partial success keeps the rows Stripe took and fails for the refused one",
          "[platform][stripe]") {
  Stripe stripe("partial");
  Conn conn = stripe.connect();
  Result r = exec(conn.get(), "INSERT INTO " + stripe.table + " (email, name, metadata) VALUES " +
                                  customerValues(3, 2));
  INFO(stripe.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "23514");
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY), "INVALID 2"));

  std::map<std::string, StripeObject> customers = stripe.customersById();
  std::set<std::string> ids = stripe.tableIds();
  REQUIRE(customers.size() == 2);
  REQUIRE(ids.size() == 2);
  std::set<std::string> names;
  for (const std::string& id : ids) {
    INFO(id);
    CHECK(id.rfind("cus_", 0) == 0);
    REQUIRE(customers.count(id) == 1);
    CHECK(stripe.column("name", id) == field(customers[id], "name"));
    names.insert(stripe.column("name", id));
  }
  CHECK(names == std::set<std::string>{"User 1", "User 3"});
  CHECK(stripe.rowCount("name LIKE 'INVALID%'") == 0);
  CHECK(stripe.requests().size() == 3);
}

TEST_CASE("stripe: a dropped connection is resent under the same key, one customer results",
          "[platform][stripe]") {
  Stripe stripe("dropped");
  Conn conn = stripe.connect();
  control(stripe.api, "/_control/drop", R"({"count":1})");
  Result r = exec(conn.get(), "INSERT INTO " + stripe.table +
                                  " (email, name) VALUES ('ada@example.com', 'Ada') RETURNING id");
  INFO(stripe.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  REQUIRE(PQntuples(r.get()) == 1);
  std::string id = PQgetvalue(r.get(), 0, 0);
  std::vector<StripeObject> customers = stripe.objects();
  REQUIRE(customers.size() == 1);
  CHECK(field(customers[0], "id") == id);
  CHECK(stripe.column("name", id) == "Ada");
  std::vector<LoggedRequest> requests = stripe.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].path == "/v1/customers");
  CHECK(requests[1].path == "/v1/customers");
  CHECK_FALSE(requests[0].idempotency_key.empty());
  CHECK(requests[1].idempotency_key == requests[0].idempotency_key);
  CHECK(requests[1].body == requests[0].body);
}

TEST_CASE("stripe: a storm of 429s is waited out within api_timeout", "[platform][stripe]") {
  Stripe stripe("storm");
  Conn conn = stripe.connect();
  control(stripe.api, "/_control/fail",
          R"({"count":3,"status":429,"retry_after":1,"body":{"error":{"type":)"
          R"("invalid_request_error","code":"rate_limit","message":"Too many requests"}}})");
  auto start = Clock::now();
  Result r = exec(conn.get(), "INSERT INTO " + stripe.table +
                                  " (email, name) VALUES ('ada@example.com', 'Ada') RETURNING id");
  auto elapsed = Clock::now() - start;
  INFO(stripe.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  std::string id = PQgetvalue(r.get(), 0, 0);
  CHECK(id.rfind("cus_", 0) == 0);
  CHECK(elapsed >= std::chrono::milliseconds(2500));  // three Retry-After: 1 waits
  CHECK(elapsed < std::chrono::seconds(25));
  std::vector<StripeObject> customers = stripe.objects();
  REQUIRE(customers.size() == 1);
  CHECK(field(customers[0], "id") == id);
  std::vector<LoggedRequest> requests = stripe.requests();
  REQUIRE(requests.size() == 4);
  for (const LoggedRequest& request : requests)
    CHECK(request.idempotency_key == requests[0].idempotency_key);
}

TEST_CASE("stripe: deleting a customer Stripe no longer has succeeds with a NOTICE",
          "[platform][stripe]") {
  Stripe stripe("gone");
  superuserQuery("INSERT INTO public." + stripe.table +
                 " (id, email, name) VALUES ('cus_gone', 'gone@example.com', 'Gone')");
  std::vector<Notice> notices;
  Conn conn = stripe.connect();
  PQsetNoticeReceiver(conn.get(), collectNotice, &notices);
  Result r = exec(conn.get(), "DELETE FROM " + stripe.table + " WHERE id = 'cus_gone'");
  INFO(stripe.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(r.get()) == "DELETE 1");
  CHECK(stripe.rowCount() == 0);
  bool told = false;
  for (const Notice& notice : notices) {
    INFO(notice.severity << " " << notice.message);
    told |= notice.severity == "NOTICE" && contains(notice.message, "cus_gone");
  }
  CHECK(told);
  std::vector<LoggedRequest> requests = stripe.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "DELETE");
  CHECK(requests[0].path == "/v1/customers/cus_gone");

  SECTION("while updating it is 40001") {
    superuserQuery("INSERT INTO public." + stripe.table +
                   " (id, email, name) VALUES ('cus_gone2', 'gone@example.com', 'Gone')");
    Result update =
        exec(conn.get(), "UPDATE " + stripe.table + " SET name = 'Back' WHERE id = 'cus_gone2'");
    INFO(stripe.context(update.get()));
    REQUIRE(PQresultStatus(update.get()) == PGRES_FATAL_ERROR);
    CHECK(errorField(update.get(), PG_DIAG_SQLSTATE) == "40001");
    CHECK(contains(errorField(update.get(), PG_DIAG_MESSAGE_PRIMARY), "No such customer"));
  }
}

TEST_CASE("stripe: a price is archived with active = false; DELETE is 0A000, nothing sent",
          "[platform][stripe]") {
  Stripe stripe("prices");
  Conn conn = stripe.connect();
  Result created = exec(conn.get(), "INSERT INTO " + stripe.prices +
                                        " (currency, unit_amount, product) VALUES ('usd', 500, "
                                        "'prod_x') RETURNING id, active");
  INFO(stripe.context(created.get()));
  REQUIRE(PQresultStatus(created.get()) == PGRES_TUPLES_OK);
  std::string id = PQgetvalue(created.get(), 0, 0);
  CHECK(id.rfind("price_", 0) == 0);
  CHECK(std::string(PQgetvalue(created.get(), 0, 1)) == "t");  // Stripe's default, applied
  const size_t sent = stripe.requests().size();

  Result removed = exec(conn.get(), "DELETE FROM " + stripe.prices);
  INFO(stripe.context(removed.get()));
  REQUIRE(PQresultStatus(removed.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(removed.get(), PG_DIAG_SQLSTATE) == "0A000");
  CHECK(contains(errorField(removed.get(), PG_DIAG_MESSAGE_PRIMARY), "active = false"));
  CHECK(stripe.requests().size() == sent);
  CHECK(stripe.rowCount("true", stripe.prices) == 1);

  Result archived = exec(conn.get(), "UPDATE " + stripe.prices + " SET active = false");
  INFO(stripe.context(archived.get()));
  REQUIRE(PQresultStatus(archived.get()) == PGRES_COMMAND_OK);
  std::vector<StripeObject> prices = stripe.objects("prices");
  REQUIRE(prices.size() == 1);
  CHECK(field(prices[0], "active") == "false");
  CHECK(field(prices[0], "unit_amount") == "500");
  CHECK(stripe.column("active", id, stripe.prices) == "false");
}
