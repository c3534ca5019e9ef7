#include "tools/fakeapi/request_log.h"

#include <rapidjson/document.h>

#include "tools/fakeapi/json.h"

namespace fakeapi {
namespace {

rapidjson::Value stringValue(const std::string& text, rapidjson::Document::AllocatorType& alloc) {
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), alloc);
}

}  // namespace

void RequestLog::append(std::string method, std::string path, std::string body,
                        std::optional<std::string> idempotency_key) {
  std::lock_guard lock(mutex_);
  entries_.push_back(
      Entry{std::move(method), std::move(path), std::move(body), std::move(idempotency_key)});
}

namespace {

// Copying and writing a parsed body recurse once per nesting level: a hostile body nested
// thousands deep is shown as the string it was instead.
bool shallowEnoughToEmbed(const std::string& json) {
  constexpr int kMaxDepth = 64;
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

}  // namespace

std::string RequestLog::dump() {
  rapidjson::Document doc(rapidjson::kArrayType);
  auto& alloc = doc.GetAllocator();
  std::lock_guard lock(mutex_);
  for (const Entry& entry : entries_) {
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("method", stringValue(entry.method, alloc), alloc);
    item.AddMember("path", stringValue(entry.path, alloc), alloc);
    rapidjson::Document body;
    if (shallowEnoughToEmbed(entry.body))
      body.Parse<rapidjson::kParseIterativeFlag>(entry.body.data(), entry.body.size());
    if (!shallowEnoughToEmbed(entry.body) || body.HasParseError()) {
      item.AddMember("body", stringValue(entry.body, alloc), alloc);
    } else {
      item.AddMember("body", rapidjson::Value(body, alloc), alloc);
    }
    if (entry.idempotency_key) {
      item.AddMember("idempotency_key", stringValue(*entry.idempotency_key, alloc), alloc);
    } else {
      item.AddMember("idempotency_key", rapidjson::Value(rapidjson::kNullType), alloc);
    }
    doc.PushBack(item, alloc);
  }
  return toJson(doc);
}

void RequestLog::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

}  // namespace fakeapi
