// Stripe's request bodies: JSON text (a column's to_jsonb value) as
// application/x-www-form-urlencoded pairs with bracketed nesting, the way Stripe's own SDKs write
// them: `name=Ada`, `metadata[plan]=pro`, `items[0][price]=price_1`. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace apibouncer::adapters::stripe {

// Deeper values are refused: Stripe's deepest parameters nest about six levels.
inline constexpr int kMaxFormDepth = 32;

enum class EmptyValues {
  kSend,  // null, {} and [] become `key=`: Stripe's "unset" (update)
  kOmit,  // they are left out: nothing to set (create)
};

// Appends the pairs for API field `name` holding JSON text `json` to `body` ('&'-separated),
// in document order: strings as their contents, numbers as written, true/false, nested members
// and elements as name[key] and name[index]. Iterative: no input depth reaches the C++ stack.
// Returns a message (nothing appended) if `json` is not JSON, nests deeper than kMaxFormDepth,
// or holds a number beyond 1e308 (RapidJSON validates the text and cannot; Stripe takes none).
std::optional<std::string> appendFormField(std::string& body, std::string_view name,
                                           std::string_view json, EmptyValues empty);

}  // namespace apibouncer::adapters::stripe
