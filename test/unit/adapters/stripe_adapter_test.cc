// The Stripe adapter: the one request each row becomes (URL, method, headers, form body
// byte-exact against golden/stripe/*.form), how Stripe's documented answers and errors
// (golden/stripe/*.json) are read back and classified, the retry advice, and garbage.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "adapters/adapter.h"

using namespace apibouncer::adapters;

namespace {

const std::string kBase = "https://api.stripe.com/v1";

std::string golden(const std::string& name) {
  std::ifstream in(std::string(APIBOUNCER_TEST_DATA_DIR) + "/golden/stripe/" + name,
                   std::ios::binary);
  INFO("golden file " << name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string headerOf(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers)
    if (key == name) return value;
  return "<absent>";
}

HttpRequest build(const WriteRequest& request) {
  auto built = makeStripeAdapter(kBase)->buildRequest(request);
  if (auto* error = std::get_if<ApiError>(&built)) FAIL("refused: " << error->message);
  return std::get<HttpRequest>(built);
}

ApiError refusal(const WriteRequest& request) {
  auto built = makeStripeAdapter(kBase)->buildRequest(request);
  REQUIRE(std::holds_alternative<ApiError>(built));
  return std::get<ApiError>(built);
}

WriteRequest one(Operation operation, std::string object, std::string id, Fields fields,
                 std::string key = "stmt-7-0") {
  return WriteRequest{
      operation, std::move(object), {Row{std::move(id), std::move(fields)}}, std::move(key)};
}

// A customer INSERT as the interceptor builds it from to_jsonb values (jsonb's key order).
WriteRequest insertCustomer() {
  return one(Operation::kInsert, "customers", "",
             {{"email", R"("ada@example.com")"},
              {"name", R"("Ada Lovelace")"},
              {"description", R"("Café & co.=+")"},
              {"phone", "null"},
              {"balance", "-1250"},
              {"tax_exempt", R"("none")"},
              {"metadata", R"({"gone": null, "plan": "pro", "seats": 12, "trial": true})"},
              {"address", R"({"city": "Paris", "line1": "1 Rue de Rivoli", "country": "FR"})"},
              {"shipping", "{}"},
              {"preferred_locales", R"(["fr", "en"])"}});
}

WriteResult parse(const WriteRequest& request, int status, const std::string& body,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
  return makeStripeAdapter(kBase)->parseResponse(request, HttpResponse{status, headers, body});
}

WriteRequest updateCustomer() {
  return one(Operation::kUpdate, "customers", "cus_NffrFeUfNV2Hib", {{"name", R"("Jenny")"}});
}

WriteRequest deleteCustomer() {
  return one(Operation::kDelete, "customers", "cus_NffrFeUfNV2Hib", {});
}

RetryAdvice advise(int status, std::vector<std::pair<std::string, std::string>> headers,
                   const std::string& body = "{}", bool resend_safe = true) {
  HttpRequest request;
  request.method = "POST";
  request.resend_safe = resend_safe;
  return makeStripeAdapter(kBase)->adviseRetry(request, HttpResponse{status, headers, body});
}

std::string nested(size_t depth, const std::string& inner = "") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

}  // namespace

// ---- requests -------------------------------------------------------------------------------

TEST_CASE("stripe: INSERT is a form POST to /v1/{object} with the row's idempotency key",
          "[adapters][stripe]") {
  auto adapter = makeStripeAdapter(kBase);
  CHECK(adapter->platform() == "stripe");
  CHECK(adapter->oneRequestPerRow());
  HttpRequest http = build(insertCustomer());
  CHECK(http.method == "POST");
  CHECK(http.url == "https://api.stripe.com/v1/customers");
  CHECK(http.path_template == "POST /v1/customers");
  // Nulls and empty containers are left out of a create: nothing to set.
  CHECK(http.body == golden("insert_customer.form"));
  CHECK(headerOf(http, "Content-Type") == "application/x-www-form-urlencoded");
  CHECK(headerOf(http, "Stripe-Version") == "2025-04-30.basil");
  CHECK(headerOf(http, "Accept") == "application/json");
  CHECK(headerOf(http, "Idempotency-Key") == "stmt-7-0");
  CHECK(headerOf(http, "Authorization") == "<absent>");  // ApiClient's job
  CHECK(http.resend_safe);

  SECTION("the same row always gives the same bytes (Stripe compares them on replay)") {
    CHECK(build(insertCustomer()).body == http.body);
  }
  SECTION("without an idempotency key a resend could create twice") {
    WriteRequest request = insertCustomer();
    request.idempotency_key.clear();
    HttpRequest no_key = build(request);
    CHECK(headerOf(no_key, "Idempotency-Key") == "<absent>");
    CHECK_FALSE(no_key.resend_safe);
  }
  SECTION("a trailing slash on base_url is not doubled") {
    auto built = makeStripeAdapter("http://127.0.0.1:4242/v1/")->buildRequest(insertCustomer());
    REQUIRE(std::holds_alternative<HttpRequest>(built));
    CHECK(std::get<HttpRequest>(built).url == "http://127.0.0.1:4242/v1/customers");
  }
}

TEST_CASE("stripe: UPDATE posts only the SET fields to /v1/{object}/{id}; null unsets",
          "[adapters][stripe]") {
  HttpRequest http = build(one(Operation::kUpdate, "customers", "cus_NffrFeUfNV2Hib",
                               {{"email", "null"},
                                {"name", R"("Ada L.")"},
                                {"metadata", R"({"plan": "enterprise", "old_key": null})"},
                                {"address", "null"}}));
  CHECK(http.method == "POST");
  CHECK(http.url == "https://api.stripe.com/v1/customers/cus_NffrFeUfNV2Hib");
  CHECK(http.path_template == "POST /v1/customers/{id}");
  CHECK(http.body == golden("update_customer.form"));
  CHECK(headerOf(http, "Idempotency-Key") == "stmt-7-0");
  CHECK(http.resend_safe);

  SECTION("nested arrays of objects, empty arrays, false") {
    HttpRequest sub = build(one(
        Operation::kUpdate, "subscriptions", "sub_1",
        {{"customer", R"("cus_NffrFeUfNV2Hib")"},
         {"items", R"([{"price": "price_1MowQULkdIwHu7ixraBm864M", "quantity": 2},)"
                   R"( {"price": "price_1MowQVLkdIwHu7ixeRlqHVzs", "metadata": {"seat": "a b"},)"
                   R"( "tax_rates": ["txr_1"]}])"},
         {"collection_method", R"("charge_automatically")"},
         {"days_until_due", "null"},
         {"cancel_at_period_end", "false"},
         {"default_tax_rates", "[]"}}));
    CHECK(sub.body == golden("update_subscription.form"));
  }
  SECTION("an id is one escaped path segment") {
    HttpRequest odd = build(one(Operation::kUpdate, "customers", "a b/c?d", {}));
    CHECK(odd.url == "https://api.stripe.com/v1/customers/a%20b%2Fc%3Fd");
    CHECK(odd.body.empty());  // nothing to change: Stripe answers with the object
  }
  SECTION("values reach Stripe as written: numbers a double cannot hold, escapes, NUL") {
    HttpRequest values = build(one(Operation::kUpdate, "customers", "cus_1",
                                   {{"balance", "12345678901234567890123"},
                                    {"metadata", R"({"ratio": 1.50, "big": -1E+300})"},
                                    {"name", R"("Ada \"A\" \u00e9\u0000!")"},
                                    {"metadata[one key]", R"("v")"}}));
    CHECK(values.body ==
          "balance=12345678901234567890123&metadata[ratio]=1.50&metadata[big]=-1E%2B300"
          "&name=Ada+%22A%22+%C3%A9%00%21&metadata[one+key]=v");
  }
}

TEST_CASE("stripe: DELETE where Stripe has one; others are 0A000 with what to do instead",
          "[adapters][stripe]") {
  HttpRequest http = build(deleteCustomer());
  CHECK(http.method == "DELETE");
  CHECK(http.url == "https://api.stripe.com/v1/customers/cus_NffrFeUfNV2Hib");
  CHECK(http.path_template == "DELETE /v1/customers/{id}");
  CHECK(http.body.empty());
  CHECK(headerOf(http, "Idempotency-Key") == "<absent>");  // Stripe ignores it on DELETE
  CHECK(headerOf(http, "Content-Type") == "<absent>");
  CHECK(headerOf(http, "Stripe-Version") == "2025-04-30.basil");
  CHECK(http.resend_safe);  // idempotent by nature

  for (const char* object : {"products", "coupons", "plans", "invoiceitems", "webhook_endpoints",
                             "terminal/locations"}) {
    INFO(object);
    CHECK(build(one(Operation::kDelete, object, "x_1", {})).method == "DELETE");
  }
  ApiError price = refusal(one(Operation::kDelete, "prices", "price_1", {}));
  CHECK(price.error_class == ErrorClass::kUnsupported);
  CHECK_THAT(price.message, Catch::Contains("prices") && Catch::Contains("active = false"));
  ApiError intent = refusal(one(Operation::kDelete, "payment_intents", "pi_1", {}));
  CHECK(intent.error_class == ErrorClass::kUnsupported);
  CHECK_THAT(intent.message, Catch::Contains("cancel"));
  CHECK(refusal(one(Operation::kDelete, "charges", "ch_1", {})).error_class ==
        ErrorClass::kUnsupported);
}

TEST_CASE("stripe: what cannot be sent is refused before anything is sent", "[adapters][stripe]") {
  ApiError no_id = refusal(one(Operation::kUpdate, "customers", "", {{"name", R"("x")"}}));
  CHECK(no_id.error_class == ErrorClass::kValidation);
  CHECK(no_id.field == "id");
  CHECK(refusal(one(Operation::kDelete, "customers", "", {})).field == "id");

  WriteRequest two = insertCustomer();
  two.rows.push_back(two.rows.front());
  CHECK(refusal(two).error_class == ErrorClass::kUnsupported);
  WriteRequest none = insertCustomer();
  none.rows.clear();
  CHECK(refusal(none).error_class == ErrorClass::kUnsupported);

  for (const char* object : {"", "Customers", "../admin", "customers/", "/customers",
                             "customers//x", "customers?x=1", "cus tomers"}) {
    INFO("object: " << object);
    CHECK(refusal(one(Operation::kInsert, object, "", {})).error_class ==
          ErrorClass::kUnknownObject);
  }

  ApiError not_json = refusal(one(Operation::kInsert, "customers", "", {{"name", "{oops"}}));
  CHECK(not_json.error_class == ErrorClass::kValidation);
  CHECK(not_json.field == "name");
  // RapidJSON validates the text and stops at 1e308; no Stripe parameter goes near.
  ApiError huge = refusal(one(Operation::kInsert, "customers", "", {{"balance", "1e400"}}));
  CHECK(huge.error_class == ErrorClass::kValidation);
  CHECK_THAT(huge.message, Catch::Contains("1e308"));
}

TEST_CASE("stripe: nesting is encoded without recursion, and capped at 32 levels",
          "[adapters][stripe]") {
  HttpRequest ok = build(one(Operation::kUpdate, "customers", "cus_1", {{"a", nested(32, "1")}}));
  std::string key = "a";
  for (int i = 0; i < 32; ++i) key += "[0]";
  CHECK(ok.body == key + "=1");

  ApiError deep = refusal(one(Operation::kUpdate, "customers", "cus_1",
                              {{"name", R"("kept?")"}, {"a", nested(33, "1")}}));
  CHECK(deep.error_class == ErrorClass::kValidation);
  CHECK(deep.field == "a");
  CHECK_THAT(deep.message, Catch::Contains("32"));

  // 50,000 levels: parsed iteratively, refused, no crash.
  ApiError deeper = refusal(one(Operation::kInsert, "customers", "", {{"a", nested(50000)}}));
  CHECK(deeper.error_class == ErrorClass::kValidation);
  std::string objects;
  for (int i = 0; i < 50000; ++i) objects += "{\"k\":";
  objects += "1" + std::string(50000, '}');
  CHECK(refusal(one(Operation::kInsert, "customers", "", {{"a", objects}})).error_class ==
        ErrorClass::kValidation);
  // Unbalanced garbage just as deep is "not JSON".
  CHECK(refusal(one(Operation::kInsert, "customers", "", {{"a", std::string(50000, '[')}}))
            .error_class == ErrorClass::kValidation);
}

TEST_CASE(
    "stripe: an idempotency key over Stripe's 255 characters is shortened the same way "
    "every time",
    "[adapters][stripe]") {
  std::string long_key(300, 'k');
  HttpRequest first = build(one(Operation::kInsert, "customers", "", {}, long_key + "-0"));
  HttpRequest again = build(one(Operation::kInsert, "customers", "", {}, long_key + "-0"));
  HttpRequest other = build(one(Operation::kInsert, "customers", "", {}, long_key + "-1"));
  std::string key = headerOf(first, "Idempotency-Key");
  CHECK(key.size() == 255);
  CHECK(key.substr(0, 200) == long_key.substr(0, 200));
  CHECK(key == headerOf(again, "Idempotency-Key"));
  CHECK(key != headerOf(other, "Idempotency-Key"));
  std::string exact(255, 'e');
  CHECK(headerOf(build(one(Operation::kInsert, "customers", "", {}, exact)), "Idempotency-Key") ==
        exact);
}

// ---- answers --------------------------------------------------------------------------------

TEST_CASE("stripe: the answer is the whole object: its id and every other member as a field",
          "[adapters][stripe]") {
  WriteResult result =
      parse(insertCustomer(), 200, golden("customer.json"), {{"request-id", "req_abc"}});
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 1);
  const RowResult& row = result.rows[0];
  CHECK(row.outcome == RowOutcome::kApplied);
  CHECK(row.id == "cus_NffrFeUfNV2Hib");
  REQUIRE(row.fields.size() == 21);
  CHECK(row.fields[0] == std::pair<std::string, std::string>{"object", R"("customer")"});
  CHECK(row.fields[1] == std::pair<std::string, std::string>{"address", "null"});
  CHECK(row.fields[2] == std::pair<std::string, std::string>{"balance", "0"});
  CHECK(row.fields[3] == std::pair<std::string, std::string>{"created", "1680893993"});
  CHECK(row.fields[9] ==
        std::pair<std::string, std::string>{"email", R"("jennyrosen@example.com")"});
  CHECK(row.fields[13] ==
        std::pair<std::string, std::string>{"metadata", "{\n    \"plan\": \"pro\"\n  }"});
  CHECK(row.fields[17] == std::pair<std::string, std::string>{"preferred_locales", "[]"});
  for (const auto& field : row.fields) CHECK(field.first != "id");

  SECTION("numbers a double cannot hold stay as written") {
    WriteResult exact = parse(insertCustomer(), 200,
                              R"({"id":"cus_1","balance":12345678901234567890123,"x":1.50})");
    REQUIRE(exact.ok);
    CHECK(exact.rows[0].fields == Fields{{"balance", "12345678901234567890123"}, {"x", "1.50"}});
  }
  SECTION("an UPDATE's answer is the updated object") {
    WriteResult updated = parse(updateCustomer(), 200, golden("customer.json"));
    REQUIRE(updated.ok);
    CHECK(updated.rows[0].id == "cus_NffrFeUfNV2Hib");
    CHECK(updated.rows[0].fields.size() == 21);
  }
  SECTION("an UPDATE answered for another object is contract drift") {
    WriteResult other =
        parse(one(Operation::kUpdate, "customers", "cus_other", {}), 200, golden("customer.json"));
    CHECK_FALSE(other.ok);
    CHECK(other.error.error_class == ErrorClass::kBadResponse);
  }
}

TEST_CASE("stripe: DELETE answers {id, object, deleted: true}", "[adapters][stripe]") {
  WriteResult result = parse(deleteCustomer(), 200, golden("customer_deleted.json"));
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 1);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[0].id == "cus_NffrFeUfNV2Hib");
  CHECK(result.rows[0].notice.empty());
  for (const char* body : {R"({"id":"cus_NffrFeUfNV2Hib","object":"customer"})",
                           R"({"id":"cus_NffrFeUfNV2Hib","deleted":false})",
                           R"({"id":"cus_NffrFeUfNV2Hib","deleted":"true"})",
                           R"({"id":"cus_other","deleted":true})"}) {
    INFO(body);
    WriteResult bad = parse(deleteCustomer(), 200, body);
    CHECK_FALSE(bad.ok);
    CHECK(bad.error.error_class == ErrorClass::kBadResponse);
  }
}

TEST_CASE("stripe: deleting what Stripe no longer has succeeds with a notice",
          "[adapters][stripe]") {
  WriteResult result = parse(deleteCustomer(), 404, golden("error_resource_missing.json"),
                             {{"request-id", "req_gone"}});
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 1);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[0].id == "cus_NffrFeUfNV2Hib");
  CHECK_THAT(result.rows[0].notice, Catch::Contains("cus_NffrFeUfNV2Hib") &&
                                        Catch::Contains("No such customer") &&
                                        Catch::Contains("req_gone"));
  // A missing *referenced* object is no such thing.
  WriteResult reference = parse(deleteCustomer(), 400, golden("error_reference_missing.json"));
  CHECK_FALSE(reference.ok);
  CHECK(reference.error.error_class == ErrorClass::kBadReference);
  // Nor is an unknown route.
  WriteResult route = parse(deleteCustomer(), 404, golden("error_unrecognized_url.json"));
  CHECK_FALSE(route.ok);
  CHECK(route.error.error_class == ErrorClass::kUnsupported);
}

TEST_CASE("stripe: every documented error is classified, with Stripe's words and request id",
          "[adapters][stripe]") {
  struct Case {
    const char* file;
    int status;
    Operation operation;
    ErrorClass expected;
    const char* code;
    const char* field;
  };
  const Case cases[] = {
      {"error_resource_missing.json", 404, Operation::kUpdate, ErrorClass::kNotFound,
       "resource_missing", "id"},
      {"error_reference_missing.json", 400, Operation::kInsert, ErrorClass::kBadReference,
       "resource_missing", "product"},
      {"error_reference_missing.json", 400, Operation::kUpdate, ErrorClass::kBadReference,
       "resource_missing", "product"},
      {"error_parameter_missing.json", 400, Operation::kInsert, ErrorClass::kRequiredField,
       "parameter_missing", "name"},
      {"error_parameter_unknown.json", 400, Operation::kUpdate, ErrorClass::kUnknownField,
       "parameter_unknown", "nickname"},
      {"error_email_invalid.json", 400, Operation::kInsert, ErrorClass::kInvalidValue,
       "email_invalid", "email"},
      {"error_parameter_invalid_integer.json", 400, Operation::kUpdate, ErrorClass::kInvalidValue,
       "parameter_invalid_integer", "balance"},
      {"error_validation.json", 400, Operation::kInsert, ErrorClass::kValidation,
       "invalid_request_error", "name"},
      {"error_resource_already_exists.json", 400, Operation::kInsert, ErrorClass::kDuplicate,
       "resource_already_exists", "id"},
      {"error_card_declined.json", 402, Operation::kInsert, ErrorClass::kValidation,
       "card_declined", ""},
      {"error_idempotency_mismatch.json", 400, Operation::kInsert, ErrorClass::kConflict,
       "idempotency_error", ""},
      {"error_idempotency_in_use.json", 409, Operation::kInsert, ErrorClass::kConflict,
       "idempotency_key_in_use", ""},
      {"error_lock_timeout.json", 429, Operation::kUpdate, ErrorClass::kLocked, "lock_timeout", ""},
      {"error_rate_limit.json", 429, Operation::kInsert, ErrorClass::kRateLimited, "rate_limit",
       ""},
      {"error_auth.json", 401, Operation::kInsert, ErrorClass::kAuth, "invalid_request_error", ""},
      {"error_permission.json", 403, Operation::kUpdate, ErrorClass::kForbidden,
       "invalid_request_error", ""},
      {"error_api.json", 500, Operation::kInsert, ErrorClass::kUnavailable, "api_error", ""},
      {"error_unrecognized_url.json", 404, Operation::kInsert, ErrorClass::kUnknownObject,
       "invalid_request_error", ""},
  };
  for (const Case& c : cases) {
    INFO(c.file << " HTTP " << c.status);
    std::string body = golden(c.file);
    WriteRequest request = c.operation == Operation::kInsert   ? insertCustomer()
                           : c.operation == Operation::kUpdate ? updateCustomer()
                                                               : deleteCustomer();
    WriteResult result = parse(request, c.status, body, {{"request-id", "req_7"}});
    REQUIRE_FALSE(result.ok);
    CHECK(result.rows.empty());
    CHECK(result.error.error_class == c.expected);
    CHECK(result.error.http_status == c.status);
    CHECK(result.error.code == c.code);
    CHECK(result.error.field == c.field);
    CHECK(result.error.request_id == "req_7");
    CHECK_FALSE(result.error.message.empty());
    CHECK(body.find(result.error.message) != std::string::npos);  // Stripe's own words
  }
}

TEST_CASE("stripe: request id, Retry-After and server errors", "[adapters][stripe]") {
  SECTION("without the Request-Id header, the id in request_log_url") {
    WriteResult result = parse(updateCustomer(), 404, golden("error_resource_missing.json"));
    CHECK(result.error.request_id == "req_Fm3Q1rBGG7xYQf");
  }
  SECTION("429 and 409 wait Retry-After, else Stripe's 1 s") {
    CHECK(parse(insertCustomer(), 429, golden("error_rate_limit.json"), {{"retry-after", "4"}})
              .error.retry_after_seconds == 4.0);
    CHECK(parse(insertCustomer(), 429, golden("error_rate_limit.json")).error.retry_after_seconds ==
          1.0);
    CHECK(parse(insertCustomer(), 409, golden("error_idempotency_in_use.json"))
              .error.retry_after_seconds == 1.0);
    CHECK(parse(insertCustomer(), 400, golden("error_validation.json")).error.retry_after_seconds ==
          0.0);
  }
  SECTION("gateways and outages without a Stripe body") {
    for (int status : {500, 502, 503, 504}) {
      INFO(status);
      WriteResult result = parse(insertCustomer(), status, "<html>Bad Gateway</html>");
      REQUIRE_FALSE(result.ok);
      CHECK(result.error.error_class == ErrorClass::kUnavailable);
      CHECK(result.error.http_status == status);
      CHECK_THAT(result.error.message, Catch::Contains(std::to_string(status)));
    }
  }
  SECTION("a 4xx whose body is not Stripe's shape still fails with the status's class") {
    for (const char* body : {"", "nope", "[]", R"({"error":"invalid_grant"})", R"({"error":[1]})",
                             R"({"error":{"type":7,"message":null}})"}) {
      INFO(body);
      WriteResult result = parse(updateCustomer(), 400, body);
      REQUIRE_FALSE(result.ok);
      CHECK(result.error.error_class == ErrorClass::kValidation);
      CHECK_FALSE(result.error.message.empty());
    }
    CHECK(parse(updateCustomer(), 401, "").error.error_class == ErrorClass::kAuth);
    CHECK(parse(updateCustomer(), 403, "x").error.error_class == ErrorClass::kForbidden);
    CHECK(parse(updateCustomer(), 404, "x").error.error_class == ErrorClass::kNotFound);
    // Without resource_missing a 404 DELETE is not taken for "already gone".
    CHECK_FALSE(parse(deleteCustomer(), 404, "x").ok);
  }
}

TEST_CASE("stripe: a 2xx the adapter cannot read is contract drift, never success",
          "[adapters][stripe]") {
  for (const char* body :
       {"", "not json", "[]", "\"cus_1\"", "{}", R"({"id":42})", R"({"id":null})", R"({"id":""})",
        R"({"object":"customer"})", R"({"id":"cus_1")", R"({"id":"cus_1"} trailing)"}) {
    INFO(body);
    WriteResult result = parse(insertCustomer(), 200, body, {{"request-id", "req_9"}});
    CHECK_FALSE(result.ok);
    CHECK(result.rows.empty());
    CHECK(result.error.error_class == ErrorClass::kBadResponse);
    CHECK(result.error.request_id == "req_9");
  }
  SECTION("a WriteRequest that is not one row cannot be correlated") {
    WriteRequest two = insertCustomer();
    two.rows.push_back(two.rows.front());
    CHECK(parse(two, 200, golden("customer.json")).error.error_class == ErrorClass::kBadResponse);
    WriteRequest none = insertCustomer();
    none.rows.clear();
    CHECK(parse(none, 200, golden("customer.json")).error.error_class == ErrorClass::kBadResponse);
    CHECK(parse(none, 404, golden("error_resource_missing.json")).error.error_class ==
          ErrorClass::kBadResponse);
  }
}

TEST_CASE("stripe: 50,000 levels of nesting in an answer do not crash", "[adapters][stripe]") {
  std::string deep = nested(50000);
  WriteResult kept = parse(insertCustomer(), 200, R"({"id":"cus_1","x":)" + deep + "}");
  REQUIRE(kept.ok);
  CHECK(kept.rows[0].fields.front().second.size() == deep.size());
  CHECK(parse(insertCustomer(), 200, deep).error.error_class == ErrorClass::kBadResponse);
  CHECK(parse(insertCustomer(), 200, std::string(50000, '[')).error.error_class ==
        ErrorClass::kBadResponse);
  CHECK(parse(insertCustomer(), 200, std::string(50000, '{')).error.error_class ==
        ErrorClass::kBadResponse);
  WriteResult error = parse(insertCustomer(), 400, R"({"error":)" + deep + "}");
  CHECK_FALSE(error.ok);
  CHECK(error.error.error_class == ErrorClass::kValidation);
  WriteResult error_object =
      parse(insertCustomer(), 400, R"({"error":{"type":"x","message":)" + deep + "}}");
  CHECK_FALSE(error_object.ok);
  CHECK(parse(deleteCustomer(), 404, R"({"error":{"code":)" + deep + "}}").ok == false);
}

// ---- retries --------------------------------------------------------------------------------

TEST_CASE("stripe: retry advice follows Stripe-Should-Retry, 429, 409 and the key",
          "[adapters][stripe]") {
  SECTION("429 rate_limit: every request backs off") {
    RetryAdvice plain = advise(429, {}, golden("error_rate_limit.json"));
    CHECK(plain.retry);
    CHECK(plain.after_seconds == 1.0);
    CHECK(plain.pause_api_seconds == 1.0);
    RetryAdvice told = advise(429, {{"retry-after", "3"}}, golden("error_rate_limit.json"));
    CHECK(told.after_seconds == 3.0);
    CHECK(told.pause_api_seconds == 3.0);
    // Rate limiting refuses before anything runs: safe without a key too.
    CHECK(advise(429, {}, "garbage", false).retry);
  }
  SECTION("429 lock_timeout: only this object is busy") {
    RetryAdvice lock =
        advise(429, {{"stripe-should-retry", "true"}}, golden("error_lock_timeout.json"));
    CHECK(lock.retry);
    CHECK(lock.after_seconds == 1.0);
    CHECK(lock.pause_api_seconds == 0.0);
  }
  SECTION("Stripe-Should-Retry: false wins") {
    CHECK_FALSE(advise(429, {{"stripe-should-retry", "false"}, {"retry-after", "1"}}).retry);
    CHECK_FALSE(advise(409, {{"stripe-should-retry", "false"}}).retry);
    CHECK_FALSE(advise(503, {{"stripe-should-retry", "false"}, {"retry-after", "2"}}).retry);
  }
  SECTION("409: the same key still in flight") {
    RetryAdvice conflict = advise(409, {}, golden("error_idempotency_in_use.json"));
    CHECK(conflict.retry);
    CHECK(conflict.after_seconds == 1.0);
    CHECK(conflict.pause_api_seconds == 0.0);
    CHECK_FALSE(advise(409, {}, "{}", false).retry);
  }
  SECTION("500 only on Stripe's word: otherwise the key replays the same 500") {
    CHECK_FALSE(advise(500, {}, golden("error_api.json")).retry);
    RetryAdvice told = advise(500, {{"stripe-should-retry", "true"}}, golden("error_api.json"));
    CHECK(told.retry);
    CHECK(told.after_seconds == 1.0);
  }
  SECTION("gateway errors with a key; without one only 503 + Retry-After") {
    for (int status : {502, 503, 504}) {
      INFO(status);
      CHECK(advise(status, {}, "").retry);
      CHECK_FALSE(advise(status, {}, "", false).retry);
    }
    RetryAdvice after = advise(503, {{"retry-after", "2"}}, "", false);
    CHECK(after.retry);
    CHECK(after.after_seconds == 2.0);
  }
  SECTION("refusals and successes are final") {
    CHECK_FALSE(advise(400, {}, golden("error_validation.json")).retry);
    CHECK_FALSE(advise(402, {}, golden("error_card_declined.json")).retry);
    CHECK_FALSE(advise(404, {}, golden("error_resource_missing.json")).retry);
    CHECK_FALSE(advise(401, {}, golden("error_auth.json")).retry);
    CHECK_FALSE(advise(200, {{"stripe-should-retry", "true"}}, golden("customer.json")).retry);
    CHECK(advise(400, {{"stripe-should-retry", "true"}}).retry);  // Stripe's word
  }
  SECTION("a 401 asks for a token refresh; Stripe keys do not refresh") {
    auto adapter = makeStripeAdapter(kBase);
    CHECK(adapter->tokenRejected(HttpResponse{401, {}, golden("error_auth.json")}));
    CHECK_FALSE(adapter->tokenRejected(HttpResponse{403, {}, golden("error_permission.json")}));
  }
}
