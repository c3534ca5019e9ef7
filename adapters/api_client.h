// One upstream API ([api.NAME]) as the interceptor sees it: write(request) -> one WriteResult.
// It builds the adapter's request(s), adds the access token (TokenSource), sends them on the
// loop (HttpClient: deadline, rate limit, the adapter's retry advice), refreshes the token and
// resends once when the API refuses it, parses the answers, merges one-request-per-row
// platforms' results, logs one line per request and keeps the counters SHOW APIS reports.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/http/http_client.h"
#include "adapters/token_source.h"

namespace apibouncer::adapters {

struct ApiSettings {
  std::string name;  // the [api.NAME]
  std::string api_key;
  OAuthSettings oauth;
  double rate_limit_per_second = 0;
  // One-request-per-row platforms: at most this many of a statement's requests at once.
  int row_concurrency = 10;
};

struct ApiStats {
  uint64_t requests = 0;      // HTTP requests answered or failed (retries count once each)
  uint64_t failed = 0;        // answered with a non-2xx status, or no answer
  uint64_t retries = 0;       // resends (rate limits, lost connections, token refresh)
  uint64_t rate_limited = 0;  // answers with status 429 (or the platform's equivalent)
  uint64_t token_refreshes = 0;
  uint64_t total_ms = 0;      // summed latency, retries and waits included
  uint64_t throttled_ms = 0;  // of which spent waiting (rate limit, Retry-After, pauses)
  // The statements' errors by kind (a statement counts once, with its first error).
  uint64_t errors_refused = 0;      // the API refused the data (validation, duplicate, ...)
  uint64_t errors_auth = 0;         // credentials or permissions
  uint64_t errors_throttled = 0;    // rate limit or quota
  uint64_t errors_upstream = 0;     // the API failed (5xx, unreadable answer)
  uint64_t errors_transport = 0;    // unreachable, timed out, no answer
  uint64_t p50_ms = 0, p99_ms = 0;  // over the last 1024 requests
  int last_status = 0;
  size_t in_flight = 0;
  std::string token_state;  // "api key", "oauth: valid 1740 s", "oauth: no token (...)"
};

class ApiClient {
 public:
  using Logger = std::function<void(bool warning, const std::string& line)>;
  using Done = std::function<void(WriteResult)>;

  ApiClient(uv_loop_t* loop, std::unique_ptr<Adapter> adapter, ApiSettings settings, Logger logger);
  ~ApiClient();  // pending requests are dropped without their callbacks
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // Transport failures come back as errors too: kUnreachable, kTimedOut, kOutcomeUnknown.
  void write(WriteRequest request, double timeout_seconds, Done done);
  const Adapter& adapter() const { return *adapter_; }
  const std::string& name() const { return settings_.name; }
  ApiStats stats() const;
  size_t inFlight() const { return http_->inFlight(); }

 private:
  struct Batch;
  void sendOne(std::shared_ptr<Batch> batch, size_t index, bool after_refresh);
  void onAnswer(std::shared_ptr<Batch> batch, size_t index, bool after_refresh,
                const std::string& token, const HttpRequest& request, uint64_t started,
                HttpOutcome outcome);
  void settle(std::shared_ptr<Batch> batch, size_t index, WriteResult result);
  void logRequest(const HttpRequest& request, const HttpOutcome& outcome, uint64_t elapsed_ms,
                  const std::string& request_id);

  uv_loop_t* loop_;
  std::unique_ptr<Adapter> adapter_;
  ApiSettings settings_;
  Logger logger_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<TokenSource> tokens_;
  void countError(const ApiError& error);
  ApiStats stats_;
  std::vector<uint32_t> latencies_ms_;  // ring of the last kLatencyWindow requests
  size_t next_latency_ = 0;
  // Cleared by the destructor: callbacks still queued in the token source check it.
  std::shared_ptr<bool> alive_;
};

}  // namespace apibouncer::adapters
