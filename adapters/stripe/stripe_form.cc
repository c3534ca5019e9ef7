// JSON text to Stripe form pairs (stripe_form.h). RapidJSON parses iteratively and keeps numbers
// as the text they were written with; the walk keeps its own stack of open containers.
#include "adapters/stripe/stripe_form.h"

#include <rapidjson/document.h>

#include <vector>

#include "adapters/adapter.h"

namespace apibouncer::adapters::stripe {
namespace {

using Value = rapidjson::Value;

constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;

// A top-level field name: escaped, but brackets stay literal so a column mapped to
// `metadata[plan]` sets that one key, as Stripe's SDKs write it.
std::string escapeName(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '[' || c == ']')
      out += c;
    else
      out += formEscape(std::string_view(&c, 1));
  }
  return out;
}

bool emptyContainer(const Value& value) {
  return (value.IsObject() && value.MemberCount() == 0) || (value.IsArray() && value.Empty());
}

// One open object or array: the next member or element to write, and the key's length at it.
struct Frame {
  const Value* container;
  rapidjson::SizeType next;
  size_t key_size;
};

class Encoder {
 public:
  Encoder(std::string& body, EmptyValues empty) : body_(body), empty_(empty) {}

  // Writes `value` under `key`; a non-empty container is opened instead (false: too deep).
  bool put(const Value& value, std::string& key, std::vector<Frame>& open) {
    if ((value.IsObject() || value.IsArray()) && !emptyContainer(value)) {
      if (open.size() >= static_cast<size_t>(kMaxFormDepth)) return false;
      open.push_back(Frame{&value, 0, key.size()});
      return true;
    }
    if (value.IsNull() || emptyContainer(value)) {
      if (empty_ == EmptyValues::kSend) pair(key, {});
    } else if (value.IsBool()) {
      pair(key, value.GetBool() ? "true" : "false");
    } else {  // a string, or a number kept as its text
      pair(key, formEscape(std::string_view(value.GetString(), value.GetStringLength())));
    }
    return true;
  }

 private:
  void pair(const std::string& key, std::string_view value) {
    if (!body_.empty()) body_ += '&';
    body_ += key;
    body_ += '=';
    body_ += value;
  }

  std::string& body_;
  EmptyValues empty_;
};

}  // namespace

std::optional<std::string> appendFormField(std::string& body, std::string_view name,
                                           std::string_view json, EmptyValues empty) {
  rapidjson::Document doc;  // a memory pool: freeing it does not recurse
  doc.Parse<kParseFlags>(json.data(), json.size());
  if (doc.GetParseError() == rapidjson::kParseErrorNumberTooBig)
    return "the value of " + std::string(name) +
           " holds a number beyond 1e308, more than any Stripe parameter takes";
  if (doc.HasParseError()) return "the value of " + std::string(name) + " is not valid JSON";
  const std::string too_deep = "the value of " + std::string(name) + " nests deeper than " +
                               std::to_string(kMaxFormDepth) + " levels, more than Stripe accepts";

  const size_t rollback = body.size();  // a value refused halfway leaves body as it was
  Encoder encoder(body, empty);
  std::string key = escapeName(name);
  std::vector<Frame> open;
  auto refuse = [&] {
    body.resize(rollback);
    return too_deep;
  };
  if (!encoder.put(doc, key, open)) return refuse();
  while (!open.empty()) {
    Frame& frame = open.back();
    const Value& container = *frame.container;
    rapidjson::SizeType size = container.IsObject() ? container.MemberCount() : container.Size();
    if (frame.next == size) {
      open.pop_back();
      continue;
    }
    key.resize(frame.key_size);
    key += '[';
    const Value* child = nullptr;
    if (container.IsObject()) {
      const auto& member = *(container.MemberBegin() + frame.next);
      key += formEscape(std::string_view(member.name.GetString(), member.name.GetStringLength()));
      child = &member.value;
    } else {
      key += std::to_string(frame.next);
      child = &container[frame.next];
    }
    key += ']';
    ++frame.next;  // `frame` may dangle once put() opens a child
    if (!encoder.put(*child, key, open)) return refuse();
  }
  return std::nullopt;
}

}  // namespace apibouncer::adapters::stripe
