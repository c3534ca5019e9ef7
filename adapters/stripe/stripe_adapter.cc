// The Stripe adapter (adapters-spec §4): one request per row, since Stripe has no batch
// endpoint. INSERT is POST {base}/{object}, UPDATE POST {base}/{object}/{id} with only the SET
// fields, DELETE is DELETE {base}/{object}/{id} where Stripe has one (stripe_objects.h). Bodies
// are form-encoded (stripe_form.h); every POST carries the row's Idempotency-Key, so a resend is
// replayed, never applied twice. Answers are the whole object; errors stripe_errors.h.
#include <cstdint>
#include <string_view>

#include "adapters/adapter.h"
#include "adapters/json_text.h"
#include "adapters/stripe/stripe_errors.h"
#include "adapters/stripe/stripe_form.h"
#include "adapters/stripe/stripe_objects.h"

namespace apibouncer::adapters {
namespace {

constexpr std::string_view kStripeVersion = "2025-04-30.basil";
constexpr size_t kMaxIdempotencyKey = 255;  // Stripe's limit

ApiError refusal(ErrorClass error_class, std::string message, std::string field = {}) {
  ApiError error;
  error.error_class = error_class;
  error.message = std::move(message);
  error.field = std::move(field);
  return error;
}

// An id as one path segment: unreserved characters as they are, everything else %XX.
std::string pathEscape(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Stripe refuses keys over 255 characters: a longer one keeps its head and gets a hash of the
// whole as its tail, so it stays deterministic (a resend reuses it) and distinct.
std::string idempotencyKey(std::string_view key) {
  if (key.size() <= kMaxIdempotencyKey) return std::string(key);
  uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (unsigned char c : key) hash = (hash ^ c) * 1099511628211ull;
  static const char* kHex = "0123456789abcdef";
  std::string tail = "-";
  for (int shift = 60; shift >= 0; shift -= 4) tail += kHex[(hash >> shift) & 15];
  return std::string(key.substr(0, kMaxIdempotencyKey - tail.size())) + tail;
}

class StripeAdapter final : public Adapter {
 public:
  explicit StripeAdapter(std::string base_url) : base_url_(std::move(base_url)) {}

  std::string_view platform() const override { return "stripe"; }
  bool oneRequestPerRow() const override { return true; }

  std::variant<HttpRequest, ApiError> buildRequest(const WriteRequest& request) const override {
    if (request.rows.size() != 1)
      return refusal(ErrorClass::kUnsupported,
                     "Stripe has no batch endpoint: one row per request, got " +
                         std::to_string(request.rows.size()));
    if (!stripe::validObjectPath(request.object))
      return refusal(ErrorClass::kUnknownObject,
                     "\"" + request.object + "\" is not a Stripe object path (e.g. customers)");
    const Row& row = request.rows.front();
    const bool insert = request.operation == Operation::kInsert;
    if (!insert && row.id.empty())
      return refusal(ErrorClass::kValidation, "a row to change in Stripe has no id", "id");

    HttpRequest http;
    http.url = base_url_ + "/" + request.object;
    http.path_template = "/v1/" + request.object;
    if (!insert) {
      http.url += "/" + pathEscape(row.id);
      http.path_template += "/{id}";
    }
    http.headers = {{"Stripe-Version", std::string(kStripeVersion)},
                    {"Accept", "application/json"}};
    if (request.operation == Operation::kDelete) {
      if (!stripe::deletable(request.object))
        return refusal(ErrorClass::kUnsupported, stripe::whyNotDeletable(request.object));
      http.method = "DELETE";
      http.resend_safe = true;  // deleting twice leaves the same state
    } else {
      http.method = "POST";
      auto empty = insert ? stripe::EmptyValues::kOmit : stripe::EmptyValues::kSend;
      for (const auto& [field, value] : row.fields)
        if (auto problem = stripe::appendFormField(http.body, field, value, empty))
          return refusal(ErrorClass::kValidation, *problem, field);
      http.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      if (!request.idempotency_key.empty())
        http.headers.emplace_back("Idempotency-Key", idempotencyKey(request.idempotency_key));
      // Stripe replays a known key's answer instead of applying the request again.
      http.resend_safe = !request.idempotency_key.empty();
    }
    http.path_template = http.method + " " + http.path_template;
    return http;
  }

  WriteResult parseResponse(const WriteRequest& request,
                            const HttpResponse& response) const override {
    WriteResult result;
    if (request.rows.size() != 1) {
      result.error = badResponse(response, "Stripe answers one row per request");
      return result;
    }
    const Row& row = request.rows.front();
    if (response.status < 200 || response.status >= 300) return failed(request, response);
    auto object = jsonObjectMembers(response.body);
    if (!object) {
      result.error = badResponse(response, "Stripe's answer is not a JSON object");
      return result;
    }
    const std::string_view* id_text = findMember(*object, "id");
    std::string id = id_text ? jsonStringValue(*id_text).value_or(std::string()) : std::string();
    if (id.empty()) {
      result.error = badResponse(response, "Stripe's answer has no id");
      return result;
    }
    if (request.operation != Operation::kInsert && id != row.id) {
      result.error = badResponse(response, "Stripe answered for " + id + ", not " + row.id);
      return result;
    }
    RowResult applied;
    applied.id = std::move(id);
    if (request.operation == Operation::kDelete) {
      const std::string_view* deleted = findMember(*object, "deleted");
      if (deleted == nullptr || *deleted != "true") {
        result.error = badResponse(response, "Stripe's answer to a DELETE does not say deleted");
        return result;
      }
    } else {
      for (const auto& [name, value] : *object)
        if (name != "id") applied.fields.emplace_back(name, std::string(value));
    }
    result.rows.push_back(std::move(applied));
    result.ok = true;
    return result;
  }

  RetryAdvice adviseRetry(const HttpRequest& request, const HttpResponse& response) const override {
    RetryAdvice advice;
    if (response.status >= 200 && response.status < 300) return advice;
    std::string should_retry = responseHeader(response, "stripe-should-retry");
    if (should_retry == "false") return advice;  // Stripe knows a resend cannot succeed
    bool retry =
        should_retry == "true" ||
        // Refused before the idempotency layer: nothing was applied.
        response.status == 429 ||
        // The same key still in flight; gateway errors, which the key makes safe to resend.
        (request.resend_safe && (response.status == 409 || response.status == 502 ||
                                 response.status == 503 || response.status == 504));
    // A 500 is not resent without Stripe's word: its idempotency layer replays the same 500.
    if (!retry) return Adapter::adviseRetry(request, response);
    advice.retry = true;
    advice.after_seconds = stripe::backoffSeconds(response);
    // Stripe's rate limit is per account: every request backs off. A lock_timeout is one
    // object's.
    if (response.status == 429 && !stripe::isLockTimeout(response))
      advice.pause_api_seconds = advice.after_seconds;
    return advice;
  }

 private:
  static ApiError badResponse(const HttpResponse& response, std::string message) {
    ApiError error = refusal(ErrorClass::kBadResponse, std::move(message));
    error.http_status = response.status;
    error.request_id = stripe::requestId(response);
    return error;
  }

  static WriteResult failed(const WriteRequest& request, const HttpResponse& response) {
    WriteResult result;
    stripe::StripeError stripe_error = stripe::readError(response, request.operation);
    const Row& row = request.rows.front();
    if (request.operation == Operation::kDelete && stripe_error.object_missing) {
      // Deleting is idempotent: the goal state is reached (adapters-spec §7).
      RowResult gone;
      gone.id = row.id;
      gone.notice = "Stripe has no " + request.object + " " + row.id + " any more (" +
                    stripe_error.error.message + "); the row was deleted here only";
      if (!stripe_error.error.request_id.empty())
        gone.notice += " (request id " + stripe_error.error.request_id + ")";
      result.rows.push_back(std::move(gone));
      result.ok = true;
      return result;
    }
    result.error = std::move(stripe_error.error);
    return result;
  }

  std::string base_url_;
};

}  // namespace

std::unique_ptr<Adapter> makeStripeAdapter(std::string base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  return std::make_unique<StripeAdapter>(std::move(base_url));
}

}  // namespace apibouncer::adapters
