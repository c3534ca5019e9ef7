// Stripe's error answers, {"error":{"type","code","message","param",...}} with the Request-Id
// header, read into an ApiError classified per adapters-spec §7. Pure.
#pragma once

#include <string>

#include "adapters/adapter.h"

namespace apibouncer::adapters::stripe {

struct StripeError {
  ApiError error;
  std::string type;  // invalid_request_error, card_error, idempotency_error, api_error, ...
  // 404 resource_missing naming the request's own id (param "id" or none): the object is gone.
  bool object_missing = false;
};

StripeError readError(const HttpResponse& response, Operation operation);

// The Request-Id header, else the req_... in the body's request_log_url, else "".
std::string requestId(const HttpResponse& response, std::string_view request_log_url = {});

// A 429 for one busy object (code lock_timeout), not the account's rate limit.
bool isLockTimeout(const HttpResponse& response);

// Stripe's "wait this long" for a 429 or 409: Retry-After, else 1 s.
double backoffSeconds(const HttpResponse& response);

}  // namespace apibouncer::adapters::stripe
