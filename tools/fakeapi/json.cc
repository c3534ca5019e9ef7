#include "tools/fakeapi/json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <utility>

namespace fakeapi {

std::string toJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

namespace {

rapidjson::Value stringValue(std::string_view text, rapidjson::Document::AllocatorType& alloc) {
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), alloc);
}

}  // namespace

std::string errorJson(std::string_view type, std::string_view message, std::string_view code,
                      std::string_view field) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& alloc = doc.GetAllocator();
  rapidjson::Value error(rapidjson::kObjectType);
  error.AddMember("type", stringValue(type, alloc), alloc);
  error.AddMember("message", stringValue(message, alloc), alloc);
  if (!code.empty()) error.AddMember("code", stringValue(code, alloc), alloc);
  if (!field.empty()) error.AddMember("field", stringValue(field, alloc), alloc);
  doc.AddMember("error", error, alloc);
  return toJson(doc);
}

Reply errorReply(int status, std::string_view type, std::string_view message, std::string_view code,
                 std::string_view field) {
  return Reply{status, errorJson(type, message, code, field)};
}

const rapidjson::Value* findMember(const rapidjson::Value& object, std::string_view name) {
  // Compares through a string key, never GenericValue::operator== (it recurses under C++20).
  rapidjson::Value key(rapidjson::StringRef(name.data(), name.size()));
  auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

rapidjson::Value* findMember(rapidjson::Value& object, std::string_view name) {
  return const_cast<rapidjson::Value*>(findMember(std::as_const(object), name));
}

std::string_view asStringView(const rapidjson::Value& string_value) {
  return std::string_view(string_value.GetString(), string_value.GetStringLength());
}

bool hasPrefix(const rapidjson::Value& value, std::string_view prefix) {
  return value.IsString() && asStringView(value).starts_with(prefix);
}

}  // namespace fakeapi
