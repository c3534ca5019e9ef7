// The adapters' HTTP client against the fake API: answers, retries only where nothing was
// applied, one deadline, the rate limit, and a loop that keeps running meanwhile.
#include <httplib.h>
#include <uv.h>
#include <catch2/catch.hpp>

#include <chrono>

#include "adapters/http/http_client.h"
#include "fakeapi_fixture.h"
#include "fixture.h"

using namespace itest;
using apibouncer::adapters::HttpClient;
using apibouncer::adapters::HttpOutcome;
using apibouncer::adapters::HttpRequest;
using Failure = HttpOutcome::Failure;

namespace {

struct Loop {
  uv_loop_t loop;
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);  // let closing handles finish
    uv_loop_close(&loop);
  }
};

HttpRequest insertCustomer(const std::string& base_url, const std::string& name = "Ada") {
  HttpRequest request;
  request.method = "POST";
  request.url = base_url + "/customer";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = "{\"records\":[{\"name\":\"" + name + "\"}]}";
  request.path_template = "POST /{object}";
  return request;
}

// Sends one request and runs the loop until its answer.
HttpOutcome sendAndWait(uv_loop_t* loop, HttpClient& client, HttpRequest request,
                        double timeout_seconds) {
  HttpOutcome result;
  bool done = false;
  client.send(std::move(request), timeout_seconds, [&](HttpOutcome outcome) {
    result = std::move(outcome);
    done = true;
  });
  while (!done) uv_run(loop, UV_RUN_ONCE);
  return result;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("http client: an answer comes back with status, headers and body", "[http_client]") {
  FakeApiProcess api;
  Loop loop;
  {
    HttpClient client(&loop.loop, 0);
    HttpOutcome outcome = sendAndWait(&loop.loop, client, insertCustomer(api.baseUrl()), 5);
    INFO(outcome.message << api.output());
    REQUIRE(outcome.failure == Failure::kNone);
    REQUIRE(outcome.response);
    CHECK(outcome.response->status == 201);
    CHECK(outcome.response->body.find("\"id\"") != std::string::npos);
    CHECK(outcome.attempts == 1);
    bool has_request_id = false;
    for (const auto& [name, value] : outcome.response->headers)
      has_request_id |= name == "x-request-id" && !value.empty();
    CHECK(has_request_id);
  }
}

TEST_CASE("http client: 503 with Retry-After is retried, other errors are not", "[http_client]") {
  FakeApiProcess api;
  Loop loop;
  {
    HttpClient client(&loop.loop, 0);
    control(api, "/_control/fail", R"({"count":1,"status":503,"retry_after":1})");
    auto start = std::chrono::steady_clock::now();
    HttpOutcome outcome = sendAndWait(&loop.loop, client, insertCustomer(api.baseUrl()), 5);
    REQUIRE(outcome.response);
    CHECK(outcome.response->status == 201);
    CHECK(outcome.attempts == 2);
    CHECK(secondsSince(start) >= 0.9);
    // A 500 may have been applied: it is the caller's to judge, never retried here.
    control(api, "/_control/fail", R"({"count":1,"status":500})");
    outcome = sendAndWait(&loop.loop, client, insertCustomer(api.baseUrl()), 5);
    REQUIRE(outcome.response);
    CHECK(outcome.response->status == 500);
    CHECK(outcome.attempts == 1);
    // Retry-After beyond the deadline: the 429 is the answer.
    control(api, "/_control/fail", R"({"count":1,"status":429,"retry_after":30})");
    outcome = sendAndWait(&loop.loop, client, insertCustomer(api.baseUrl()), 2);
    REQUIRE(outcome.response);
    CHECK(outcome.response->status == 429);
  }
}

TEST_CASE("http client: an API nobody listens on is retried until the deadline", "[http_client]") {
  Loop loop;
  {
    HttpClient client(&loop.loop, 0);
    auto start = std::chrono::steady_clock::now();
    RefusingPort nobody;
    std::string nowhere = "http://127.0.0.1:" + std::to_string(nobody.port());
    HttpOutcome outcome = sendAndWait(&loop.loop, client, insertCustomer(nowhere), 0.8);
    CHECK(outcome.failure == Failure::kUnreachable);
    CHECK_FALSE(outcome.maybe_applied);
    CHECK(outcome.attempts >= 2);
    CHECK(secondsSince(start) < 2.0);
  }
}

TEST_CASE("http client: a slow API hits the deadline and may have applied the write",
          "[http_client]") {
  FakeApiProcess api;
  Loop loop;
  {
    HttpClient client(&loop.loop, 0);
    control(api, "/_control/delay", R"({"ms":3000,"count":1})");
    // The loop keeps running while the request waits.
    uv_timer_t ticker;
    int ticks = 0;
    uv_timer_init(&loop.loop, &ticker);
    ticker.data = &ticks;
    uv_timer_start(
        &ticker, [](uv_timer_t* t) { ++*static_cast<int*>(t->data); }, 20, 20);
    auto start = std::chrono::steady_clock::now();
    HttpOutcome outcome = sendAndWait(&loop.loop, client, insertCustomer(api.baseUrl()), 0.5);
    uv_close(reinterpret_cast<uv_handle_t*>(&ticker), nullptr);
    CHECK(outcome.failure == Failure::kTimeout);
    CHECK(outcome.maybe_applied);
    CHECK(secondsSince(start) < 2.0);
    CHECK(ticks >= 10);
  }
}

TEST_CASE("http client: a dropped connection may have applied the write", "[http_client]") {
  FakeApiProcess api;
  Loop loop;
  {
    HttpClient client(&loop.loop, 0);
    control(api, "/_control/drop", R"({"count":1})");
    HttpOutcome outcome = sendAndWait(&loop.loop, client, insertCustomer(api.baseUrl()), 3);
    INFO(outcome.message);
    CHECK(outcome.failure == Failure::kConnectionLost);
    CHECK(outcome.maybe_applied);
    CHECK(outcome.attempts == 1);
  }
}

TEST_CASE("http client: rate_limit spaces requests out", "[http_client]") {
  FakeApiProcess api;
  Loop loop;
  {
    HttpClient client(&loop.loop, 2.0);  // 2 per second, a burst of 2
    int done = 0;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 4; ++i)
      client.send(insertCustomer(api.baseUrl(), "n" + std::to_string(i)), 5,
                  [&](HttpOutcome outcome) {
                    CHECK(outcome.response);
                    ++done;
                  });
    while (done < 4) uv_run(&loop.loop, UV_RUN_ONCE);
    CHECK(secondsSince(start) >= 0.9);  // the 4th waited about a second
    CHECK(client.inFlight() == 0);
  }
}

TEST_CASE("http client: a resend-safe request goes again after a dropped connection",
          "[http_client]") {
  FakeApiProcess api;
  Loop loop;
  {
    HttpClient client(&loop.loop, 0);
    control(api, "/_control/drop", R"({"count":1})");
    HttpRequest request = insertCustomer(api.baseUrl());
    request.resend_safe = true;  // e.g. an Idempotency-Key the API deduplicates
    HttpOutcome outcome = sendAndWait(&loop.loop, client, std::move(request), 5);
    INFO(outcome.message);
    REQUIRE(outcome.response);
    CHECK(outcome.response->status == 201);
    CHECK(outcome.attempts == 2);
    CHECK(outcome.retries == 1);
  }
}

TEST_CASE("http client: the adapter's advice decides retries and pauses the whole API",
          "[http_client]") {
  FakeApiProcess api;
  Loop loop;
  {
    HttpClient client(&loop.loop, 0);
    // A 429 without Retry-After: the default rule would not retry it; this platform's advice
    // says "retry after 0.3 s, and everyone else wait 1 s" (like Airtable's penalty).
    control(api, "/_control/fail", R"({"count":1,"status":429,"body":"{}"})");
    auto advise = [](const HttpRequest&, const apibouncer::adapters::HttpResponse& response) {
      apibouncer::adapters::RetryAdvice advice;
      if (response.status == 429) {
        advice.retry = true;
        advice.after_seconds = 0.3;
        advice.pause_api_seconds = 1.0;
      }
      return advice;
    };
    auto start = std::chrono::steady_clock::now();
    int done = 0;
    double first_done = 0, second_done = 0;
    client.send(insertCustomer(api.baseUrl(), "a"), 5, advise, [&](HttpOutcome outcome) {
      CHECK(outcome.response);
      CHECK(outcome.retries == 1);
      first_done = secondsSince(start);
      ++done;
    });
    // Sent once the first has been refused: it queues behind the pause.
    while (apiGet(api, "/_control/requests").find("\"a\"") == std::string::npos)
      uv_run(&loop.loop, UV_RUN_NOWAIT);
    while (secondsSince(start) < 0.1) uv_run(&loop.loop, UV_RUN_NOWAIT);
    client.send(insertCustomer(api.baseUrl(), "b"), 5, advise, [&](HttpOutcome outcome) {
      CHECK(outcome.response);
      second_done = secondsSince(start);
      ++done;
    });
    while (done < 2) uv_run(&loop.loop, UV_RUN_ONCE);
    CHECK(first_done >= 0.3);
    CHECK(second_done >= 0.9);  // held back by the pause, though the bucket had room
  }
}
