// json_text (see json_text.h): validate with RapidJSON's iterative parser, then walk the text
// with a depth counter.
#include "adapters/json_text.h"

#include <rapidjson/document.h>

namespace apibouncer::adapters {
namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t skipSpace(std::string_view json, size_t pos) {
  while (pos < json.size() && isSpace(json[pos])) ++pos;
  return pos;
}

// Where the value starting at `pos` ends (the text is valid JSON).
size_t valueEnd(std::string_view json, size_t pos) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = pos; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        ++depth;
        break;
      case '}':
      case ']':
        if (depth == 0) return i;  // the container around a scalar closes
        if (--depth == 0) return i + 1;
        break;
      case ',':
        if (depth == 0) return i;
        break;
      default:
        if (depth == 0 && isSpace(c)) return i;
        break;
    }
  }
  return json.size();
}

bool valid(std::string_view json, rapidjson::Type expected) {
  rapidjson::Document doc;  // a memory pool: freeing it does not recurse either
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  return !doc.HasParseError() && doc.GetType() == expected;
}

// Walks the members (object) or elements (array) of a valid container.
template <class OnItem>
void walk(std::string_view json, bool object, OnItem&& on_item) {
  size_t pos = skipSpace(json, 0) + 1;  // past '{' or '['
  while (true) {
    pos = skipSpace(json, pos);
    if (pos >= json.size() || json[pos] == '}' || json[pos] == ']') return;
    std::string_view key;
    if (object) {
      size_t key_end = valueEnd(json, pos);
      key = json.substr(pos, key_end - pos);
      pos = skipSpace(json, key_end) + 1;  // past ':'
      pos = skipSpace(json, pos);
    }
    size_t end = valueEnd(json, pos);
    on_item(key, json.substr(pos, end - pos));
    pos = skipSpace(json, end);
    if (pos < json.size() && json[pos] == ',') ++pos;
  }
}

}  // namespace

std::optional<std::string> jsonStringValue(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsString()) return std::nullopt;
  return std::string(doc.GetString(), doc.GetStringLength());
}

std::optional<JsonMembers> jsonObjectMembers(std::string_view json) {
  if (!valid(json, rapidjson::kObjectType)) return std::nullopt;
  JsonMembers members;
  walk(json, true, [&](std::string_view key, std::string_view value) {
    members.emplace_back(jsonStringValue(key).value_or(std::string()), value);
  });
  return members;
}

std::optional<std::vector<std::string_view>> jsonArrayElements(std::string_view json) {
  if (!valid(json, rapidjson::kArrayType)) return std::nullopt;
  std::vector<std::string_view> elements;
  walk(json, false, [&](std::string_view, std::string_view value) { elements.push_back(value); });
  return elements;
}

const std::string_view* findMember(const JsonMembers& members, std::string_view key) {
  for (const auto& [name, value] : members)
    if (name == key) return &value;
  return nullptr;
}

}  // namespace apibouncer::adapters
