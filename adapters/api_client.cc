#include "adapters/api_client.h"

#include <algorithm>

namespace apibouncer::adapters {
namespace {

// Where each platform puts its request id (the adapters read it from bodies too).
constexpr const char* kRequestIdHeaders[] = {"request-id", "x-request-id", "x-github-request-id",
                                             "x-hubspot-correlation-id", "sforce-request-id"};

std::string requestIdOf(const HttpResponse& response) {
  for (const char* name : kRequestIdHeaders) {
    std::string value = responseHeader(response, name);
    if (!value.empty()) return value;
  }
  return {};
}

WriteResult failed(ErrorClass error_class, std::string message, int http_status = 0) {
  WriteResult result;
  result.error.error_class = error_class;
  result.error.message = std::move(message);
  result.error.http_status = http_status;
  return result;
}

WriteResult transportFailure(const HttpOutcome& outcome) {
  using Failure = HttpOutcome::Failure;
  ErrorClass error_class = ErrorClass::kOutcomeUnknown;
  if (outcome.failure == Failure::kUnreachable) error_class = ErrorClass::kUnreachable;
  if (outcome.failure == Failure::kTimeout && !outcome.maybe_applied)
    error_class = ErrorClass::kTimedOut;
  std::string message = outcome.message;
  if (outcome.attempts > 1) message += " (" + std::to_string(outcome.attempts) + " attempts)";
  return failed(error_class, std::move(message));
}

// A request row the API may or may not have: the answer never came, or it was a 500.
bool outcomeUnknown(const ApiError& error) {
  return error.error_class == ErrorClass::kOutcomeUnknown ||
         error.error_class == ErrorClass::kBadResponse ||
         (error.error_class == ErrorClass::kUnavailable && error.http_status == 500);
}

}  // namespace

struct ApiClient::Batch {
  std::vector<WriteRequest> parts;  // one per HTTP request
  std::vector<WriteResult> results;
  size_t started = 0, settled = 0;
  uint64_t deadline_ms = 0;
  Done done;
};

ApiClient::ApiClient(uv_loop_t* loop, std::unique_ptr<Adapter> adapter, ApiSettings settings,
                     Logger logger)
    : loop_(loop),
      adapter_(std::move(adapter)),
      settings_(std::move(settings)),
      logger_(std::move(logger)),
      http_(std::make_unique<HttpClient>(loop, settings_.rate_limit_per_second)),
      tokens_(std::make_unique<TokenSource>(settings_.name, settings_.api_key, settings_.oauth,
                                            *http_, *adapter_, logger_)) {}

// The token source goes first: its waiting callbacks point into this client.
ApiClient::~ApiClient() {
  tokens_.reset();
  http_.reset();
}

ApiStats ApiClient::stats() const {
  ApiStats stats = stats_;
  stats.token_refreshes = static_cast<uint64_t>(tokens_->refreshes());
  stats.in_flight = http_->inFlight();
  stats.token_state = tokens_->describe();
  if (!latencies_ms_.empty()) {
    std::vector<uint32_t> sorted = latencies_ms_;
    std::sort(sorted.begin(), sorted.end());
    auto at = [&](double q) { return sorted[static_cast<size_t>(q * (sorted.size() - 1))]; };
    stats.p50_ms = at(0.50);
    stats.p99_ms = at(0.99);
  }
  return stats;
}

void ApiClient::countError(const ApiError& error) {
  switch (error.error_class) {
    case ErrorClass::kAuth:
    case ErrorClass::kForbidden:
      ++stats_.errors_auth;
      break;
    case ErrorClass::kRateLimited:
    case ErrorClass::kQuotaExhausted:
      ++stats_.errors_throttled;
      break;
    case ErrorClass::kUnavailable:
    case ErrorClass::kBadResponse:
      ++stats_.errors_upstream;
      break;
    case ErrorClass::kUnreachable:
    case ErrorClass::kTimedOut:
    case ErrorClass::kOutcomeUnknown:
      ++stats_.errors_transport;
      break;
    default:
      ++stats_.errors_refused;
      break;
  }
}

void ApiClient::write(WriteRequest request, double timeout_seconds, Done done) {
  auto batch = std::make_shared<Batch>();
  batch->deadline_ms = uv_now(loop_) + static_cast<uint64_t>(timeout_seconds * 1000);
  batch->done = std::move(done);
  if (adapter_->oneRequestPerRow()) {
    // No batch endpoint: one request per row, each with its own idempotency key derived from
    // the statement's, so a resend of any of them is deduplicated by the API.
    for (size_t i = 0; i < request.rows.size(); ++i) {
      WriteRequest part;
      part.operation = request.operation;
      part.object = request.object;
      part.idempotency_key = request.idempotency_key + "-" + std::to_string(i);
      part.rows.push_back(std::move(request.rows[i]));
      batch->parts.push_back(std::move(part));
    }
  } else {
    batch->parts.push_back(std::move(request));
  }
  if (batch->parts.empty()) {  // nothing to send (no rows): nothing can fail
    WriteResult nothing;
    nothing.ok = true;
    batch->done(std::move(nothing));
    return;
  }
  batch->results.resize(batch->parts.size());
  size_t first =
      std::min(batch->parts.size(), static_cast<size_t>(std::max(1, settings_.row_concurrency)));
  for (size_t i = 0; i < first; ++i) sendOne(batch, batch->started++, false);
}

void ApiClient::sendOne(std::shared_ptr<Batch> batch, size_t index, bool after_refresh) {
  uint64_t now = uv_now(loop_);
  if (now >= batch->deadline_ms) {
    settle(batch, index, failed(ErrorClass::kTimedOut, "api_timeout passed before sending"));
    return;
  }
  double remaining = static_cast<double>(batch->deadline_ms - now) / 1000.0;
  auto built = adapter_->buildRequest(batch->parts[index]);
  if (auto* error = std::get_if<ApiError>(&built)) {
    WriteResult refused;
    refused.error = *error;
    settle(batch, index, std::move(refused));
    return;
  }
  tokens_->get(remaining, [this, batch, index, after_refresh,
                           request = std::move(std::get<HttpRequest>(built))](
                              bool ok, const std::string& token, const ApiError& error) mutable {
    if (!ok) {
      WriteResult refused;
      refused.error = error;
      settle(batch, index, std::move(refused));
      return;
    }
    uint64_t now = uv_now(loop_);
    if (now >= batch->deadline_ms) {
      settle(batch, index, failed(ErrorClass::kTimedOut, "api_timeout passed before sending"));
      return;
    }
    if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
    HttpRequest sent = request;  // kept for the log line and a resend after a refresh
    http_->send(
        std::move(request), static_cast<double>(batch->deadline_ms - now) / 1000.0,
        [this](const HttpRequest& r, const HttpResponse& response) {
          return adapter_->adviseRetry(r, response);
        },
        [this, batch, index, after_refresh, token, sent = std::move(sent),
         now](HttpOutcome outcome) mutable {
          onAnswer(batch, index, after_refresh, token, sent, now, std::move(outcome));
        });
  });
}

void ApiClient::onAnswer(std::shared_ptr<Batch> batch, size_t index, bool after_refresh,
                         const std::string& token, const HttpRequest& request, uint64_t started,
                         HttpOutcome outcome) {
  uint64_t elapsed = uv_now(loop_) - started;
  ++stats_.requests;
  stats_.retries += static_cast<uint64_t>(outcome.retries);
  stats_.total_ms += elapsed;
  stats_.throttled_ms += outcome.waited_ms;
  constexpr size_t kLatencyWindow = 1024;
  uint32_t latency = static_cast<uint32_t>(std::min<uint64_t>(elapsed, UINT32_MAX));
  if (latencies_ms_.size() < kLatencyWindow)
    latencies_ms_.push_back(latency);
  else
    latencies_ms_[next_latency_] = latency;
  next_latency_ = (next_latency_ + 1) % kLatencyWindow;
  if (outcome.failure != HttpOutcome::Failure::kNone || !outcome.response) {
    ++stats_.failed;
    stats_.last_status = 0;
    logRequest(request, outcome, elapsed, {});
    settle(batch, index, transportFailure(outcome));
    return;
  }
  const HttpResponse& response = *outcome.response;
  stats_.last_status = response.status;
  if (response.status < 200 || response.status >= 300) ++stats_.failed;
  if (response.status == 429) ++stats_.rate_limited;
  logRequest(request, outcome, elapsed, requestIdOf(response));
  if (tokens_->usesOAuth() && !after_refresh && adapter_->tokenRejected(response)) {
    // Expired or revoked early: one refresh, one resend. A second refusal is the answer.
    ++stats_.retries;
    tokens_->rejected(token);
    sendOne(batch, index, true);
    return;
  }
  WriteResult result = adapter_->parseResponse(batch->parts[index], response);
  if (!result.ok && result.error.request_id.empty())
    result.error.request_id = requestIdOf(response);
  if (!result.ok && result.error.http_status == 0) result.error.http_status = response.status;
  settle(batch, index, std::move(result));
}

void ApiClient::logRequest(const HttpRequest& request, const HttpOutcome& outcome,
                           uint64_t elapsed_ms, const std::string& request_id) {
  std::string line = "api " + settings_.name + " (" + std::string(adapter_->platform()) +
                     "): " + request.path_template + " -> ";
  if (outcome.response)
    line += std::to_string(outcome.response->status);
  else
    line += "no answer (" + outcome.message + ")";
  line += " in " + std::to_string(elapsed_ms) + " ms";
  if (outcome.retries > 0) line += ", " + std::to_string(outcome.retries) + " retries";
  if (!request_id.empty()) line += ", request id " + request_id;
  bool trouble = !outcome.response || outcome.response->status >= 400;
  logger_(trouble, line);
}

void ApiClient::settle(std::shared_ptr<Batch> batch, size_t index, WriteResult result) {
  batch->results[index] = std::move(result);
  ++batch->settled;
  if (batch->started < batch->parts.size()) sendOne(batch, batch->started++, false);
  if (batch->settled < batch->parts.size()) return;
  if (batch->parts.size() == 1 && !adapter_->oneRequestPerRow()) {
    if (!batch->results[0].ok) countError(batch->results[0].error);
    batch->done(std::move(batch->results[0]));
    return;
  }
  // One request per row: each row's own outcome; the statement's error is the first row's that
  // did not apply.
  WriteResult merged;
  merged.ok = true;
  bool any_applied = false, any_unknown = false;
  for (WriteResult& part : batch->results) {
    RowResult row;
    if (part.ok && part.rows.size() == 1) {
      row = std::move(part.rows[0]);
    } else if (!part.ok && part.rows.size() == 1) {
      row = std::move(part.rows[0]);
    } else {
      row.error = part.ok ? ApiError{ErrorClass::kBadResponse,
                                     0,
                                     "the API's answer does not hold the row",
                                     {},
                                     {},
                                     {},
                                     0}
                          : part.error;
      bool not_sent = row.error.error_class == ErrorClass::kUnreachable ||
                      row.error.error_class == ErrorClass::kTimedOut;
      row.outcome = outcomeUnknown(row.error) ? RowOutcome::kUnknown
                    : not_sent                ? RowOutcome::kNotApplied
                                              : RowOutcome::kRefused;
    }
    if (row.outcome == RowOutcome::kApplied) {
      any_applied = true;
    } else {
      if (merged.ok) merged.error = row.error;
      merged.ok = false;
      any_unknown = any_unknown || row.outcome == RowOutcome::kUnknown;
    }
    merged.rows.push_back(std::move(row));
  }
  // Nothing applied and nothing in doubt: the statement failed as a whole.
  if (!merged.ok && !any_applied && !any_unknown) merged.rows.clear();
  if (!merged.ok) countError(merged.error);
  batch->done(std::move(merged));
}

}  // namespace apibouncer::adapters
