// The one GraphQL request a GitHub write becomes: every row is an aliased mutation (rN) whose
// input travels in `variables` ($iN), so values go as the JSON text PostgreSQL wrote and enums
// (state) are coerced by GitHub from JSON strings; nothing is escaped into GraphQL literals.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "adapters/adapter.h"

namespace apibouncer::adapters::github {

// {base_url}/graphql; GitHub Enterprise Server's REST base ".../api/v3" becomes ".../api/graphql".
std::string graphqlUrl(std::string_view base_url);

// {"query":"mutation($i0:T!,..){r0:m(input:$i0){..} ..}","variables":{"i0":{..},..}}, or why
// the request cannot be expressed (nothing is sent then).
std::variant<std::string, ApiError> mutationBody(const WriteRequest& request);

}  // namespace apibouncer::adapters::github
