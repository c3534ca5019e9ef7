// HubSpot CRM v3 (adapters-spec §2), the pieces the adapter is made of, internal to this
// folder: hubspot_request.cc builds a statement's one request, hubspot_errors.cc reads HubSpot's
// error bodies and rate-limit signals, hubspot_adapter.cc correlates results to rows.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/json_text.h"

namespace apibouncer::adapters::hubspot {

// HubSpot's batch endpoints take at most this many inputs.
constexpr size_t kMaxBatchInputs = 100;

// ---- requests (hubspot_request.cc) ----

std::variant<HttpRequest, ApiError> buildWriteRequest(std::string_view base_url,
                                                      const WriteRequest& request);
// Whether an INSERT goes to batch/create (not exactly one row) instead of the single create.
bool usesBatchCreate(const WriteRequest& request);
// The objectWriteTraceId of row `index` of a batch create: "<idempotency key>-<index>".
std::string writeTraceId(const WriteRequest& request, size_t index);
// A column's JSON text as a HubSpot property value (a JSON string), or nullopt if not JSON.
std::optional<std::string> propertyValue(std::string_view json);

// ---- errors and rate limits (hubspot_errors.cc) ----

// The whole request failed (a non-2xx answer, 207 excepted).
ApiError responseError(const WriteRequest& request, const HttpResponse& response);

// One entry of a batch answer's errors[], and the inputs it names.
struct BatchEntryError {
  ApiError error;
  std::vector<std::string> ids;        // context.ids (and a top-level "id")
  std::vector<std::string> trace_ids;  // objectWriteTraceId (top level or context)
};
// nullopt if the entry is not an object. http_status and request_id: the whole answer's.
std::optional<BatchEntryError> batchEntryError(std::string_view entry_json, Operation operation,
                                               int http_status, std::string_view request_id);

// The request id: the body's correlationId, else the x-hubspot-correlation-id header.
std::string correlationId(const JsonMembers* body, const HttpResponse& response);
// A 429 whose policyName is DAILY: the day's quota is spent.
bool isDailyLimit(const HttpResponse& response);
// How long a burst-limited request waits: Retry-After, else the rate-limit interval, else 1 s.
double burstWaitSeconds(const HttpResponse& response);
// X-HubSpot-RateLimit-Interval-Milliseconds in seconds, or 0.
double rateLimitIntervalSeconds(const HttpResponse& response);

// A string member's value ("" if absent or not a string).
std::string stringMember(const JsonMembers& members, std::string_view key);
// A JSON string or number as text ("123" and 123 both give 123); nullopt for anything else.
std::optional<std::string> idText(std::string_view json);

}  // namespace apibouncer::adapters::hubspot
