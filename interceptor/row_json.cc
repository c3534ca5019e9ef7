// row_json: values stay the text PostgreSQL or the API wrote (adapters/json_text.h); RapidJSON
// only validates and escapes.
#include "interceptor/row_json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "adapters/json_text.h"

namespace apibouncer::interceptor {
std::optional<JsonObject> splitJsonObject(std::string_view json) {
  auto members = adapters::jsonObjectMembers(json);
  if (!members) return std::nullopt;
  JsonObject object;
  for (auto& [key, value] : *members) object.emplace_back(std::move(key), std::string(value));
  return object;
}

std::string jsonIdText(std::string_view json_value) {
  if (auto text = adapters::jsonStringValue(json_value)) return *text;
  return std::string(json_value);
}

std::string jsonString(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string joinJsonRows(const std::vector<JsonObject>& rows) {
  std::string out = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) out += ',';
    out += '{';
    for (size_t j = 0; j < rows[i].size(); ++j) {
      if (j > 0) out += ',';
      out += jsonString(rows[i][j].first);
      out += ':';
      out += rows[i][j].second;
    }
    out += '}';
  }
  return out + "]";
}

void setJsonMember(JsonObject& object, std::string_view key, std::string value) {
  for (auto& [name, existing] : object)
    if (name == key) {
      existing = std::move(value);
      return;
    }
  object.emplace_back(std::string(key), std::move(value));
}

const std::string* findJsonMember(const JsonObject& object, std::string_view key) {
  for (const auto& [name, value] : object)
    if (name == key) return &value;
  return nullptr;
}

}  // namespace apibouncer::interceptor
