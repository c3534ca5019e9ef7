// JSON members and elements as the text they were written with: an API's 12345678901234567890
// or a numeric column's 1.50 reach the other side unchanged (a parse into doubles and back
// would not), and nothing here recurses, so no nesting depth can exhaust the stack. RapidJSON
// (iterative mode) validates the text first.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apibouncer::adapters {

using JsonMembers = std::vector<std::pair<std::string, std::string_view>>;  // key -> raw value

// The members of the JSON object `json`, or nullopt if it is not a valid JSON object.
std::optional<JsonMembers> jsonObjectMembers(std::string_view json);
// The elements of the JSON array `json`, or nullopt if it is not a valid JSON array.
std::optional<std::vector<std::string_view>> jsonArrayElements(std::string_view json);
// A JSON string's contents (unescaped), or nullopt if `json` is not a JSON string.
std::optional<std::string> jsonStringValue(std::string_view json);
const std::string_view* findMember(const JsonMembers& members, std::string_view key);

}  // namespace apibouncer::adapters
