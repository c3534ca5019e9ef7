// Sends the adapters' HTTP requests on the libuv loop through libcurl's multi-socket
// interface: the loop keeps serving clients while an API call is in flight. One client per
// upstream API, which owns that API's rate limit (a token bucket, plus pauses the API asks
// for). It retries only where a resend cannot apply a write twice: the connection was refused
// or the name did not resolve (nothing sent), the adapter's advice says the answer means "not
// applied, come back later", or the connection broke under a request marked resend_safe.
// Every attempt shares one deadline (api_timeout, retries included). Callbacks run on the loop.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "adapters/adapter.h"

namespace apibouncer::adapters {

struct HttpOutcome {
  enum class Failure {
    kNone,            // `response` holds the API's answer (any status)
    kUnreachable,     // never connected: nothing was sent
    kTimeout,         // the deadline passed; `maybe_applied` says whether it was sent
    kConnectionLost,  // sent, then the connection broke: it may have been applied
  };
  Failure failure = Failure::kNone;
  bool maybe_applied = false;
  std::optional<HttpResponse> response;
  std::string message;  // curl's words for a failure
  int attempts = 0;
  int retries = 0;         // attempts after the first
  uint64_t waited_ms = 0;  // held back by the rate limit, pauses and retry delays
};

class HttpClient {
 public:
  using Done = std::function<void(HttpOutcome)>;
  // Decides whether a response means "send again later" (the adapter's platform rules).
  using Advisor = std::function<RetryAdvice(const HttpRequest&, const HttpResponse&)>;

  HttpClient(uv_loop_t* loop, double rate_limit_per_second);
  ~HttpClient();  // pending requests are dropped without their callbacks
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Without an advisor: 429/503 with Retry-After are retried.
  void send(HttpRequest request, double timeout_seconds, Done done);
  void send(HttpRequest request, double timeout_seconds, Advisor advise, Done done);
  size_t inFlight() const { return in_flight_; }
  uv_loop_t* loop() const { return loop_; }

 private:
  struct Transfer;
  struct Socket;
  static int onSocket(void* easy, int fd, int what, void* userp, void* socketp);
  static int onTimer(void* multi, long timeout_ms, void* userp);
  static void onPoll(uv_poll_t* handle, int status, int events);
  static void onTimeout(uv_timer_t* timer);
  static void onWaitOver(uv_timer_t* timer);
  void start(Transfer* transfer);
  void checkDone();
  void finish(Transfer* transfer, int curl_code);
  void retryLater(Transfer* transfer, uint64_t delay_ms);
  void complete(Transfer* transfer, HttpOutcome outcome);
  uint64_t takeRateToken();  // ms to wait before the next request may start

  uv_loop_t* loop_;
  void* multi_;  // CURLM*
  uv_timer_t* timer_;
  double rate_per_ms_;
  double tokens_ = 1;
  uint64_t tokens_at_ms_ = 0;
  uint64_t pause_until_ms_ = 0;  // the API asked every request to wait until then
  size_t in_flight_ = 0;
  std::unordered_set<Transfer*> transfers_;
};

}  // namespace apibouncer::adapters
