// The generic HTTP adapter: the one request each operation becomes, and how answers and
// errors (including garbage) are read back.
#include <catch2/catch.hpp>

#include "adapters/adapter.h"

using namespace apibouncer::adapters;

namespace {

std::string headerOf(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers)
    if (key == name) return value;
  return {};
}

HttpRequest build(const Adapter& adapter, const WriteRequest& request) {
  auto built = adapter.buildRequest(request);
  REQUIRE(std::holds_alternative<HttpRequest>(built));
  return std::get<HttpRequest>(built);
}

WriteRequest insertTwo() {
  WriteRequest request;
  request.operation = Operation::kInsert;
  request.object = "customer";
  request.rows = {Row{"", {{"name", "\"Ada \\\"A\\\"\""}, {"age", "36"}}},
                  Row{"", {{"name", "null"}}}};
  request.idempotency_key = "stmt-1";
  return request;
}

}  // namespace

TEST_CASE("insert, update and delete each become one request", "[adapters]") {
  auto adapter = makeGenericHttpAdapter("http://api.test/v1");
  HttpRequest insert = build(*adapter, insertTwo());
  CHECK(insert.method == "POST");
  CHECK(insert.url == "http://api.test/v1/customer");
  CHECK(insert.body == "{\"records\":[{\"name\":\"Ada \\\"A\\\"\",\"age\":36},{\"name\":null}]}");
  // The access token is ApiClient's business (OAuth may renew it): never in the codec's request.
  CHECK(headerOf(insert, "Authorization").empty());
  CHECK(insert.path_template == "POST /{object}");
  CHECK(headerOf(insert, "Idempotency-Key") == "stmt-1");
  CHECK(headerOf(insert, "Content-Type") == "application/json");

  WriteRequest update{Operation::kUpdate, "customer", {Row{"cus_1", {{"name", "\"B\""}}}}, "k"};
  HttpRequest patch = build(*adapter, update);
  CHECK(patch.method == "PATCH");
  CHECK(patch.body == "{\"records\":[{\"id\":\"cus_1\",\"name\":\"B\"}]}");

  WriteRequest remove{Operation::kDelete, "customer", {Row{"cus_1", {}}, Row{"cus_2", {}}}, "k"};
  HttpRequest del = build(*adapter, remove);
  CHECK(del.method == "DELETE");
  CHECK(del.body == "{\"ids\":[\"cus_1\",\"cus_2\"]}");

  WriteRequest no_id{Operation::kDelete, "customer", {Row{}}, "k"};
  auto refused = adapter->buildRequest(no_id);
  REQUIRE(std::holds_alternative<ApiError>(refused));
  CHECK(std::get<ApiError>(refused).field == "id");
}

TEST_CASE("the API's rows come back with ids and normalized fields", "[adapters]") {
  auto adapter = makeGenericHttpAdapter("http://api.test");
  HttpResponse response{201, {}, R"({"records":[{"id":"cus_1","name":"ADA","age":36},
                                                {"id":"cus_2","name":null}]})"};
  WriteResult result = adapter->parseResponse(insertTwo(), response);
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 2);
  CHECK(result.rows[0].id == "cus_1");
  CHECK(result.rows[0].fields == Fields{{"name", "\"ADA\""}, {"age", "36"}});
  CHECK(result.rows[1].fields == Fields{{"name", "null"}});
}

TEST_CASE("API errors are classified with message, code, field and request id", "[adapters]") {
  auto adapter = makeGenericHttpAdapter("http://api.test");
  HttpResponse refused{422,
                       {{"x-request-id", "req_9"}},
                       R"({"error":{"type":"validation","message":"email is invalid",
                                    "code":"invalid_value","field":"email"}})"};
  WriteResult result = adapter->parseResponse(insertTwo(), refused);
  REQUIRE_FALSE(result.ok);
  CHECK(result.error.error_class == ErrorClass::kValidation);
  CHECK(result.error.message == "email is invalid");
  CHECK(result.error.code == "invalid_value");
  CHECK(result.error.field == "email");
  CHECK(result.error.request_id == "req_9");
  CHECK(result.error.http_status == 422);

  HttpResponse limited{429, {{"retry-after", "3"}}, "too many"};  // not JSON at all
  result = adapter->parseResponse(insertTwo(), limited);
  CHECK(result.error.error_class == ErrorClass::kRateLimited);
  CHECK(result.error.retry_after_seconds == 3.0);
  CHECK(result.error.message == "HTTP 429");

  for (auto [status, expected] :
       {std::pair{401, ErrorClass::kAuth}, std::pair{403, ErrorClass::kForbidden},
        std::pair{404, ErrorClass::kNotFound}, std::pair{409, ErrorClass::kConflict},
        std::pair{503, ErrorClass::kUnavailable}}) {
    HttpResponse response{status, {}, "{}"};
    CHECK(adapter->parseResponse(insertTwo(), response).error.error_class == expected);
  }
}

TEST_CASE("a 2xx the adapter cannot read is contract drift, never success", "[adapters]") {
  auto adapter = makeGenericHttpAdapter("http://api.test");
  for (const char* body : {"", "not json", "[]", R"({"records":[{"id":"a"}]})",
                           R"({"records":[{"name":"x"},{"id":"b"}]})", R"({"records":"nope"})"}) {
    INFO(body);
    WriteResult result = adapter->parseResponse(insertTwo(), HttpResponse{200, {}, body});
    CHECK_FALSE(result.ok);
    CHECK(result.error.error_class == ErrorClass::kBadResponse);
  }
  WriteRequest remove{Operation::kDelete, "customer", {Row{"a", {}}}, "k"};
  CHECK(adapter->parseResponse(remove, HttpResponse{200, {}, R"({"deleted":["a"]})"}).ok);
  CHECK_FALSE(adapter->parseResponse(remove, HttpResponse{200, {}, R"({"deleted":[]})"}).ok);
}

TEST_CASE("the API's values reach the table as written, numbers a double cannot hold included",
          "[adapters]") {
  auto adapter = makeGenericHttpAdapter("http://api.test");
  HttpResponse response{
      201, {}, R"({"records":[{"id":12345678901234567890123,"balance":1.50,"tags":[ "a" ]},
                              {"id":"cus_2","meta":{"deep":{"er":[1,2]}}}]})"};
  WriteResult result = adapter->parseResponse(insertTwo(), response);
  REQUIRE(result.ok);
  CHECK(result.rows[0].id == "12345678901234567890123");
  CHECK(result.rows[0].fields == Fields{{"balance", "1.50"}, {"tags", R"([ "a" ])"}});
  CHECK(result.rows[1].fields == Fields{{"meta", R"({"deep":{"er":[1,2]}})"}});
}

TEST_CASE("a deeply nested answer is read without exhausting the stack", "[adapters]") {
  auto adapter = makeGenericHttpAdapter("http://api.test");
  std::string deep = std::string(200000, '[') + std::string(200000, ']');
  HttpResponse nested{201, {}, R"({"records":[{"id":"a","x":)" + deep + R"(},{"id":"b"}]})"};
  WriteResult result = adapter->parseResponse(insertTwo(), nested);
  REQUIRE(result.ok);
  CHECK(result.rows[0].fields.front().second.size() == deep.size());
  HttpResponse error{422, {}, R"({"error":)" + deep + "}"};
  CHECK_FALSE(adapter->parseResponse(insertTwo(), error).ok);
}
