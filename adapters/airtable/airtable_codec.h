// What the Airtable codec's files share: reading Airtable's error bodies into an ApiError, and
// the base64 its OAuth token request needs. Private to adapters/airtable/.
#pragma once

#include <string>
#include <string_view>

#include "adapters/adapter.h"

namespace apibouncer::adapters::airtable {

// Airtable answers a 429 with no Retry-After and locks the base for 30 s; retrying sooner
// extends the lock (adapters-spec §1, "Rate limits").
constexpr double kRateLimitPauseSeconds = 30;
// Records per create, update or delete request.
constexpr size_t kMaxRecords = 10;

// A non-2xx answer as an ApiError: {"error":{"type","message"}}, {"error":"NOT_FOUND"},
// {"errors":[{"error","message"}]} (429) or no JSON at all, classified per adapters-spec §1/§7.
ApiError parseError(const WriteRequest& request, const HttpResponse& response);

// RFC 4648 base64 with padding.
std::string base64Encode(std::string_view bytes);

}  // namespace apibouncer::adapters::airtable
