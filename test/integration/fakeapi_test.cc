// The fake API (tools/fakeapi) itself: the adapter contract it serves and the faults it injects.
// Other API-sync tests rely on these behaviours. Needs no PostgreSQL.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "fakeapi_fixture.h"
#include "fixture.h"

namespace {

using itest::contains;
using itest::FakeApiProcess;

constexpr const char* kJson = "application/json";

httplib::Client clientFor(const FakeApiProcess& api) {
  httplib::Client client("127.0.0.1", api.port());
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(5));
  return client;
}

std::string storeOf(const FakeApiProcess& api) {
  return apiGet(api, "/_control/store");
}

// Two users: users_1 (ada) and users_2 (bob).
void insertTwoUsers(httplib::Client& client) {
  auto res =
      client.Post("/users", R"({"records":[{"name":"ada","age":36},{"name":"bob"}]})", kJson);
  REQUIRE(res);
  REQUIRE(res->status == 201);
}

}  // namespace

TEST_CASE("fakeapi: insert returns server ids in request order and stores the records",
          "[fakeapi]") {
  FakeApiProcess api;
  auto client = clientFor(api);
  auto res =
      client.Post("/users", R"({"records":[{"name":"ada","age":36},{"name":"bob"}]})", kJson);
  REQUIRE(res);
  CHECK(res->status == 201);
  CHECK(res->get_header_value("Content-Type") == kJson);
  CHECK(res->get_header_value("X-Request-Id").starts_with("req_"));
  CHECK(res->body ==
        R"({"records":[{"id":"users_1","name":"ada","age":36},{"id":"users_2","name":"bob"}]})");
  CHECK(storeOf(api) ==
        R"({"users":[{"id":"users_1","name":"ada","age":36},{"id":"users_2","name":"bob"}]})");

  // Ids count per object type.
  res = client.Post("/orders", R"({"records":[{"total":5}]})", kJson);
  REQUIRE(res);
  CHECK(res->body == R"({"records":[{"id":"orders_1","total":5}]})");
}

TEST_CASE("fakeapi: PATCH merges fields into the stored record", "[fakeapi]") {
  FakeApiProcess api;
  auto client = clientFor(api);
  insertTwoUsers(client);
  auto res =
      client.Patch("/users", R"({"records":[{"id":"users_1","age":37,"city":"London"}]})", kJson);
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == R"({"records":[{"id":"users_1","name":"ada","age":37,"city":"London"}]})");
  CHECK(storeOf(api) == R"({"users":[{"id":"users_1","name":"ada","age":37,"city":"London"},)"
                        R"({"id":"users_2","name":"bob"}]})");
}

TEST_CASE("fakeapi: DELETE removes the records", "[fakeapi]") {
  FakeApiProcess api;
  auto client = clientFor(api);
  insertTwoUsers(client);
  auto res = client.Delete("/users", R"({"ids":["users_1"]})", kJson);
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == R"({"deleted":["users_1"]})");
  CHECK(storeOf(api) == R"({"users":[{"id":"users_2","name":"bob"}]})");

  res = client.Delete("/users", R"({"ids":["users_2","users_1"]})", kJson);
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(contains(res->body, R"("type":"not_found")"));
  CHECK(storeOf(api) == R"({"users":[{"id":"users_2","name":"bob"}]})");
}

TEST_CASE("fakeapi: a value starting with INVALID is refused with its field, nothing applied",
          "[fakeapi]") {
  FakeApiProcess api;
  auto client = clientFor(api);
  insertTwoUsers(client);
  const std::string before = storeOf(api);

  auto res = client.Post("/users", R"({"records":[{"name":"cy"},{"name":"INVALID cy"}]})", kJson);
  REQUIRE(res);
  CHECK(res->status == 422);
  CHECK(res->body ==
        R"({"error":{"type":"validation","message":"name is invalid","code":"invalid_value",)"
        R"("field":"name"}})");
  res = client.Patch("/users", R"({"records":[{"id":"users_1","city":"INVALID"}]})", kJson);
  REQUIRE(res);
  CHECK(res->status == 422);
  CHECK(contains(res->body, R"("field":"city")"));
  CHECK(storeOf(api) == before);

  res = client.Post("/users", "{not json", kJson);
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(contains(res->body, R"("type":"validation")"));
}

TEST_CASE("fakeapi: PATCH of an unknown id is 404 not_found and applies nothing", "[fakeapi]") {
  FakeApiProcess api;
  auto client = clientFor(api);
  insertTwoUsers(client);
  const std::string before = storeOf(api);
  auto res = client.Patch(
      "/users", R"({"records":[{"id":"users_1","age":99},{"id":"users_404","age":1}]})", kJson);
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(contains(res->body, R"("type":"not_found")"));
  CHECK(contains(res->body, R"("message":)"));
  CHECK(storeOf(api) == before);
}

TEST_CASE("fakeapi: an API key is required when configured", "[fakeapi]") {
  FakeApiProcess api("sekret");
  auto client = clientFor(api);
  const std::string body = R"({"records":[{"name":"ada"}]})";

  auto res = client.Post("/users", body, kJson);
  REQUIRE(res);
  CHECK(res->status == 401);
  CHECK(contains(res->body, R"("type":"auth")"));

  res = client.Post("/users", {{"Authorization", "Bearer wrong"}}, body, kJson);
  REQUIRE(res);
  CHECK(res->status == 401);

  res = client.Post("/users", {{"Authorization", "Bearer sekret"}}, body, kJson);
  REQUIRE(res);
  CHECK(res->status == 201);
  // Control endpoints stay open, so tests need no key to inspect.
  CHECK(storeOf(api) == R"({"users":[{"id":"users_1","name":"ada"}]})");
}

TEST_CASE("fakeapi: a repeated Idempotency-Key replays the first response", "[fakeapi]") {
  FakeApiProcess api;
  auto client = clientFor(api);
  const httplib::Headers headers = {{"Idempotency-Key", "batch-1"}};
  const std::string body = R"({"records":[{"name":"ada"}]})";

  auto first = client.Post("/users", headers, body, kJson);
  REQUIRE(first);
  CHECK(first->status == 201);
  auto again = client.Post("/users", headers, body, kJson);
  REQUIRE(again);
  CHECK(again->status == first->status);
  CHECK(again->body == first->body);
  CHECK(storeOf(api) == R"({"users":[{"id":"users_1","name":"ada"}]})");

  auto other = client.Post("/users", {{"Idempotency-Key", "batch-2"}}, body, kJson);
  REQUIRE(other);
  CHECK(other->body == R"({"records":[{"id":"users_2","name":"ada"}]})");
}

TEST_CASE("fakeapi: /_control/fail answers the next requests with the given status", "[fakeapi]") {
  FakeApiProcess api;
  auto client = clientFor(api);
  control(api, "/_control/fail", R"({"count":2,"status":503,"retry_after":1})");
  const std::string body = R"({"records":[{"name":"ada"}]})";

  for (int attempt = 1; attempt <= 2; ++attempt) {
    auto res = client.Post("/users", body, kJson);
    REQUIRE(res);
    CHECK(res->status == 503);
    CHECK(res->get_header_value("Retry-After") == "1");
    CHECK(contains(res->body, R"("type":"unavailable")"));
  }
  CHECK(storeOf(api) == "{}");

  auto res = client.Post("/users", body, kJson);
  REQUIRE(res);
  CHECK(res->status == 201);
  CHECK_FALSE(res->has_header("Retry-After"));

  SECTION("with a custom body") {
    control(
        api, "/_control/fail",
        R"({"count":1,"status":429,"body":{"error":{"type":"rate_limited","message":"slow"}}})");
    res = client.Post("/users", body, kJson);
    REQUIRE(res);
    CHECK(res->status == 429);
    CHECK(res->body == R"({"error":{"type":"rate_limited","message":"slow"}})");
  }
}

TEST_CASE("fakeapi: /_control/delay holds the next requests", "[fakeapi]") {
  FakeApiProcess api;
  auto client = clientFor(api);
  control(api, "/_control/delay", R"({"ms":300,"count":1})");

  auto start = std::chrono::steady_clock::now();
  auto res = client.Post("/users", R"({"records":[{"name":"ada"}]})", kJson);
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(res);
  CHECK(res->status == 201);
  CHECK(elapsed >= std::chrono::milliseconds(300));
}

TEST_CASE("fakeapi: /_control/drop closes the connection without a response", "[fakeapi]") {
  FakeApiProcess api;
  control(api, "/_control/drop", R"({"count":1})");
  auto client = clientFor(api);
  auto res = client.Post("/users", R"({"records":[{"name":"ada"}]})", kJson);
  REQUIRE_FALSE(res);
  CHECK(res.error() == httplib::Error::Read);
  CHECK(storeOf(api) == "{}");

  res = client.Post("/users", R"({"records":[{"name":"ada"}]})", kJson);
  REQUIRE(res);
  CHECK(res->status == 201);
}

TEST_CASE("fakeapi: /_control/requests logs the non-control requests; reset clears all",
          "[fakeapi]") {
  FakeApiProcess api;
  auto client = clientFor(api);
  insertTwoUsers(client);
  auto res = client.Delete("/users", {{"Idempotency-Key", "k1"}}, R"({"ids":["users_9"]})", kJson);
  REQUIRE(res);
  CHECK(res->status == 404);
  res = client.Post("/users", "not json", kJson);
  REQUIRE(res);

  res = client.Get("/_control/requests");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body ==
        R"([{"method":"POST","path":"/users","body":{"records":[{"name":"ada","age":36},)"
        R"({"name":"bob"}]},"idempotency_key":null},)"
        R"({"method":"DELETE","path":"/users","body":{"ids":["users_9"]},"idempotency_key":"k1"},)"
        R"({"method":"POST","path":"/users","body":"not json","idempotency_key":null}])");

  control(api, "/_control/reset", "{}");
  CHECK(storeOf(api) == "{}");
  res = client.Get("/_control/requests");
  REQUIRE(res);
  CHECK(res->body == "[]");
  // Ids start again after a reset.
  res = client.Post("/users", R"({"records":[{"name":"cy"}]})", kJson);
  REQUIRE(res);
  CHECK(res->body == R"({"records":[{"id":"users_1","name":"cy"}]})");
}
