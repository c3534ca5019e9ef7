#include "tools/fakeapi/store.h"

#include <optional>
#include <set>
#include <vector>

namespace fakeapi {
namespace {

using Alloc = rapidjson::Document::AllocatorType;

constexpr std::string_view kInvalidPrefix = "INVALID";

rapidjson::Value stringValue(std::string_view text, Alloc& alloc) {
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), alloc);
}

// Parses `body` and returns its array member `list_name`, or the 400 to answer.
std::optional<Reply> parseList(std::string_view body, std::string_view list_name,
                               rapidjson::Document& doc, const rapidjson::Value*& list) {
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) {
    return errorReply(400, "validation", "malformed JSON body", "malformed_json");
  }
  list = doc.IsObject() ? findMember(doc, list_name) : nullptr;
  if (list == nullptr || !list->IsArray()) {
    std::string message = "body must be an object with a \"" + std::string(list_name) + "\" array";
    return errorReply(400, "validation", message, "malformed_body", list_name);
  }
  return std::nullopt;
}

// Checks every record of a batch before anything is applied, so a refusal applies nothing.
std::optional<Reply> validateRecords(const rapidjson::Value& records, bool id_required) {
  for (const auto& record : records.GetArray()) {
    if (!record.IsObject()) {
      return errorReply(400, "validation", "each record must be an object", "malformed_body",
                        "records");
    }
    const rapidjson::Value* id = findMember(record, "id");
    if (id_required && (id == nullptr || !id->IsString())) {
      return errorReply(422, "validation", "id is required", "missing_id", "id");
    }
    for (const auto& member : record.GetObject()) {
      if (hasPrefix(member.value, kInvalidPrefix)) {
        std::string field(asStringView(member.name));
        return errorReply(422, "validation", field + " is invalid", "invalid_value", field);
      }
    }
  }
  return std::nullopt;
}

// `records` may be null: an object type never written to has no records.
rapidjson::Value* findRecord(rapidjson::Value* records, std::string_view id) {
  if (records == nullptr) return nullptr;
  for (auto& record : records->GetArray()) {
    const rapidjson::Value* record_id = findMember(record, "id");
    if (record_id != nullptr && record_id->IsString() && asStringView(*record_id) == id) {
      return &record;
    }
  }
  return nullptr;
}

Reply notFound(std::string_view object, std::string_view id) {
  return errorReply(404, "not_found",
                    std::string(object) + " " + std::string(id) + " does not exist", "not_found",
                    "id");
}

}  // namespace

rapidjson::Value& Store::recordsOf(std::string_view object) {
  if (rapidjson::Value* records = findMember(data_, object)) return *records;
  auto& alloc = data_.GetAllocator();
  data_.AddMember(stringValue(object, alloc), rapidjson::Value(rapidjson::kArrayType), alloc);
  return *findMember(data_, object);
}

std::string Store::nextId(std::string_view object) {
  auto it = last_id_.find(object);
  if (it == last_id_.end()) it = last_id_.emplace(std::string(object), 0).first;
  return std::string(object) + "_" + std::to_string(++it->second);
}

Reply Store::create(std::string_view object, std::string_view body) {
  rapidjson::Document request;
  const rapidjson::Value* records = nullptr;
  if (auto refusal = parseList(body, "records", request, records)) return *refusal;
  if (auto refusal = validateRecords(*records, /*id_required=*/false)) return *refusal;

  auto& alloc = data_.GetAllocator();
  rapidjson::Value& stored = recordsOf(object);
  rapidjson::Document response(rapidjson::kObjectType);
  rapidjson::Value created(rapidjson::kArrayType);
  for (const auto& record : records->GetArray()) {
    rapidjson::Value copy(rapidjson::kObjectType);
    // The server assigns ids; an id sent by the client is ignored, as real APIs tend to.
    copy.AddMember("id", stringValue(nextId(object), alloc), alloc);
    for (const auto& member : record.GetObject()) {
      if (asStringView(member.name) == "id") continue;
      copy.AddMember(rapidjson::Value(member.name, alloc), rapidjson::Value(member.value, alloc),
                     alloc);
    }
    created.PushBack(rapidjson::Value(copy, response.GetAllocator()), response.GetAllocator());
    stored.PushBack(copy, alloc);
  }
  response.AddMember("records", created, response.GetAllocator());
  return Reply{201, toJson(response)};
}

Reply Store::update(std::string_view object, std::string_view body) {
  rapidjson::Document request;
  const rapidjson::Value* records = nullptr;
  if (auto refusal = parseList(body, "records", request, records)) return *refusal;
  if (auto refusal = validateRecords(*records, /*id_required=*/true)) return *refusal;

  // Looked up, not created: a refused batch must not even add an empty object type.
  rapidjson::Value* stored = findMember(data_, object);
  std::vector<rapidjson::Value*> targets;
  for (const auto& record : records->GetArray()) {
    std::string_view id = asStringView(*findMember(record, "id"));
    rapidjson::Value* target = findRecord(stored, id);
    if (target == nullptr) return notFound(object, id);
    targets.push_back(target);
  }

  auto& alloc = data_.GetAllocator();
  for (size_t i = 0; i < targets.size(); ++i) {
    for (const auto& member : (*records)[static_cast<rapidjson::SizeType>(i)].GetObject()) {
      if (rapidjson::Value* existing = findMember(*targets[i], asStringView(member.name))) {
        existing->CopyFrom(member.value, alloc);
      } else {
        targets[i]->AddMember(rapidjson::Value(member.name, alloc),
                              rapidjson::Value(member.value, alloc), alloc);
      }
    }
  }
  // Merged copies are taken after all updates, so a record patched twice shows its final state.
  rapidjson::Document response(rapidjson::kObjectType);
  rapidjson::Value updated(rapidjson::kArrayType);
  for (rapidjson::Value* target : targets) {
    updated.PushBack(rapidjson::Value(*target, response.GetAllocator()), response.GetAllocator());
  }
  response.AddMember("records", updated, response.GetAllocator());
  return Reply{200, toJson(response)};
}

Reply Store::remove(std::string_view object, std::string_view body) {
  rapidjson::Document request;
  const rapidjson::Value* ids = nullptr;
  if (auto refusal = parseList(body, "ids", request, ids)) return *refusal;

  rapidjson::Value* stored = findMember(data_, object);
  std::set<std::string, std::less<>> doomed;
  for (const auto& id : ids->GetArray()) {
    if (!id.IsString()) {
      return errorReply(400, "validation", "ids must be strings", "malformed_body", "ids");
    }
    if (findRecord(stored, asStringView(id)) == nullptr) return notFound(object, asStringView(id));
    doomed.emplace(asStringView(id));
  }

  if (stored != nullptr) {
    for (auto it = stored->Begin(); it != stored->End();) {
      const rapidjson::Value* id = findMember(*it, "id");
      if (id != nullptr && id->IsString() && doomed.contains(asStringView(*id))) {
        it = stored->Erase(it);
      } else {
        ++it;
      }
    }
  }
  rapidjson::Document response(rapidjson::kObjectType);
  response.AddMember("deleted", rapidjson::Value(*ids, response.GetAllocator()),
                     response.GetAllocator());
  return Reply{200, toJson(response)};
}

std::string Store::dump() const {
  return toJson(data_);
}

void Store::clear() {
  // Swapped, not SetObject(): the old document's allocator is freed with it.
  rapidjson::Document empty(rapidjson::kObjectType);
  data_.Swap(empty);
  last_id_.clear();
}

}  // namespace fakeapi
