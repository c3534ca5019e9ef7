// What a client sees when an API write does not go through: the adapter's classified error
// (transport failures included: unreachable, timed out, no answer), as a PostgreSQL error with a
// SQLSTATE its driver already understands (adapters-spec §7), the API's own message, a DETAIL with
// the facts (platform, HTTP status, API code and field, request id) and a HINT where the user can
// act.
#pragma once

#include <string>
#include <string_view>

#include "adapters/adapter.h"

namespace apibouncer::interceptor {

struct PgError {
  std::string sqlstate, message, detail, hint;
};

// Which write failed, for the message: "<platform> rejected <OPERATION> on <table>: ...".
struct WriteContext {
  std::string_view platform;  // "stripe", "http", ...
  std::string_view api_name;  // the [api.NAME] section, for hints
  std::string_view table;     // schema.table
  adapters::Operation operation = adapters::Operation::kInsert;
};

PgError describeApiError(const adapters::ApiError& error, const WriteContext& write);
// The API accepted the write but the database did not take it: distinct, never auto-retried.
PgError reachedApiNotDatabase(const WriteContext& write, std::string_view api_ids,
                              std::string_view database_error);

}  // namespace apibouncer::interceptor
