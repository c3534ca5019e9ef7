// row_json: RapidJSON, iterative parsing (no recursion on deep input), no operator== (deps-notes).
#include "interceptor/row_json.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace apibouncer::interceptor {
namespace {

std::string serialize(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::optional<JsonObject> splitJsonObject(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  JsonObject object;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it)
    object.emplace_back(std::string(it->name.GetString(), it->name.GetStringLength()),
                        serialize(it->value));
  return object;
}

std::string jsonIdText(std::string_view json_value) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json_value.data(), json_value.size());
  if (!doc.HasParseError() && doc.IsString())
    return std::string(doc.GetString(), doc.GetStringLength());
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
