// Reading libpg_query's JSON parse tree with RapidJSON, shared by the classifier and the
// search_path reader. RapidJSON 1.1's operator== recurses forever under C++20 (deps-notes):
// members are found by name and strings compared as string_view only.
#pragma once

#include <rapidjson/document.h>

#include <string_view>

namespace apibouncer::interceptor::parse_tree {

using Json = rapidjson::Value;

inline const Json* member(const Json& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}
inline std::string_view text(const Json* value) {
  if (value == nullptr || !value->IsString()) return {};
  return {value->GetString(), value->GetStringLength()};
}
inline bool nonEmptyArray(const Json* value) {
  return value != nullptr && value->IsArray() && !value->Empty();
}

}  // namespace apibouncer::interceptor::parse_tree
