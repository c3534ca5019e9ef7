// The JSON glue between PostgreSQL and the adapters: a staged row (to_jsonb text) split into
// column -> JSON value text, API ids as text, and rows joined back into the JSON array the
// apply statement reads with jsonb_populate_recordset. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apibouncer::interceptor {

using JsonObject = std::vector<std::pair<std::string, std::string>>;  // key -> JSON text

// The members of a JSON object, values as written; nullopt if not a valid object.
std::optional<JsonObject> splitJsonObject(std::string_view json);
// A JSON value as an API id: a string's contents, anything else as written ("42").
std::string jsonIdText(std::string_view json_value);
// `text` as a JSON string literal.
std::string jsonString(std::string_view text);
// [{"k": v, ...}, ...] from objects whose values are JSON text already.
std::string joinJsonRows(const std::vector<JsonObject>& rows);
// Sets `key` in `object` (replacing, or appending when absent).
void setJsonMember(JsonObject& object, std::string_view key, std::string value);
const std::string* findJsonMember(const JsonObject& object, std::string_view key);

}  // namespace apibouncer::interceptor
