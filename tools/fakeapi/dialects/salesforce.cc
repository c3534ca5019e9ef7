// The Salesforce dialect of the fake API (adapters-spec §3): sObject Collections create, update
// and delete (POST/PATCH/DELETE /services/data/vNN.0/composite/sobjects, at most 200 records,
// allOrNone honoured both ways), the OAuth refresh-token endpoint (POST /services/oauth2/token),
// Salesforce's error arrays, 18-character ids with their checksum, and Sforce-Limit-Info on
// every REST answer. Deterministic refusals: a string containing INVALID fails its record with
// FIELD_CUSTOM_VALIDATION_EXCEPTION; Account needs Name and Contact LastName
// (REQUIRED_FIELD_MISSING); text over 255 characters is STRING_TOO_LONG; an id it does not hold
// is ENTITY_IS_DELETED (MALFORMED_ID when it is no Salesforce id).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tools/fakeapi/dialect.h"
#include "tools/fakeapi/json.h"

namespace fakeapi {
namespace {

constexpr const char* kJson = "application/json;charset=UTF-8";
constexpr const char* kCollectionsPath = R"(/services/data/(v\d+\.\d)/composite/sobjects)";
constexpr size_t kMaxRecords = 200;
constexpr const char* kRolledBackMessage =
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header";

// ---- small text helpers ---------------------------------------------------------------------

std::string quote(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return {buffer.GetString(), buffer.GetSize()};
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool isName(std::string_view name) {
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '_') return false;
  return true;
}

std::string urlDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() &&
               std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parseForm(std::string_view body) {
  std::map<std::string, std::string> form;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    size_t eq = pair.find('=');
    form[urlDecode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : urlDecode(pair.substr(eq + 1));
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
  }
  return form;
}

std::string base64(std::string_view bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    size_t have = std::min<size_t>(3, bytes.size() - i);
    uint32_t chunk = 0;
    for (size_t k = 0; k < 3; ++k)
      chunk = chunk << 8 | (k < have ? static_cast<uint8_t>(bytes[i + k]) : 0);
    for (size_t k = 0; k < 4; ++k) out += k <= have ? kAlphabet[(chunk >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

// ---- Salesforce ids -------------------------------------------------------------------------

// The 3-character suffix that makes a 15-character id case-insensitively unique.
std::string idChecksum(std::string_view id15) {
  static const char* kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
  std::string suffix;
  for (size_t chunk = 0; chunk < 3; ++chunk) {
    int flags = 0;
    for (size_t i = 0; i < 5; ++i)
      if (std::isupper(static_cast<unsigned char>(id15[chunk * 5 + i]))) flags |= 1 << i;
    suffix += kChars[flags];
  }
  return suffix;
}

// The 15-character form of a well-formed id, or nullopt (MALFORMED_ID).
std::optional<std::string> id15(std::string_view id) {
  if (id.size() != 15 && id.size() != 18) return std::nullopt;
  for (unsigned char c : id)
    if (!std::isalnum(c)) return std::nullopt;
  std::string shortId(id.substr(0, 15));
  if (id.size() == 18 && lower(id.substr(15)) != lower(idChecksum(shortId))) return std::nullopt;
  return shortId;
}

struct ObjectType {
  std::string_view name, key_prefix, required;
  std::vector<std::string_view> fields;  // empty: any field
};

const std::vector<ObjectType>& objectTypes() {
  static const std::vector<ObjectType> types = {
      {"Account",
       "001",
       "Name",
       {"Name", "Industry", "Type", "Phone", "Website", "Description", "NumberOfEmployees",
        "AnnualRevenue", "BillingCity", "BillingCountry", "ParentId", "OwnerId", "Rating",
        "AccountNumber"}},
      {"Contact",
       "003",
       "LastName",
       {"FirstName", "LastName", "Email", "Phone", "Title", "AccountId", "OwnerId", "Description"}},
      {"Lead", "00Q", "", {}},
      {"Opportunity", "006", "", {}},
      {"Case", "500", "", {}},
  };
  return types;
}

// Standard types above, any custom object (Name__c); nullopt: INVALID_TYPE.
std::optional<ObjectType> objectType(std::string_view name) {
  for (const ObjectType& type : objectTypes())
    if (type.name == name) return type;
  if (isName(name) && name.size() > 3 && name.substr(name.size() - 3) == "__c")
    return ObjectType{name, "a00", "", {}};
  return std::nullopt;
}

bool hasField(const ObjectType& type, std::string_view field) {
  if (type.fields.empty() || (field.size() > 3 && field.substr(field.size() - 3) == "__c"))
    return true;
  for (std::string_view known : type.fields)
    if (lower(known) == lower(field)) return true;
  return false;
}

// ---- answers --------------------------------------------------------------------------------

struct Failure {
  std::string code, message;
  std::vector<std::string> fields;
};

// {"statusCode","message","fields"} in a record's errors; {"message","errorCode","fields"} when
// the whole request is refused.
std::string errorsJson(const Failure& failure, bool request_level) {
  std::string fields = "[";
  for (size_t i = 0; i < failure.fields.size(); ++i)
    fields += (i ? "," : "") + quote(failure.fields[i]);
  fields += "]";
  if (request_level)
    return "{\"message\":" + quote(failure.message) + ",\"errorCode\":" + quote(failure.code) +
           ",\"fields\":" + fields + "}";
  return "{\"statusCode\":" + quote(failure.code) + ",\"message\":" + quote(failure.message) +
         ",\"fields\":" + fields + "}";
}

// A request-level refusal: [{"message","errorCode","fields"}].
Reply requestError(int status, std::string code, std::string message) {
  return Reply{status,
               "[" + errorsJson(Failure{std::move(code), std::move(message), {}}, true) + "]"};
}

std::string successJson(const std::string& id) {
  return "{\"id\":" + quote(id) + ",\"success\":true,\"errors\":[]}";
}

std::string failureJson(const Failure& failure) {
  return "{\"success\":false,\"errors\":[" + errorsJson(failure, false) + "]}";
}

std::string rolledBackJson() {
  return "{\"id\":null,\"success\":false,\"errors\":[" +
         errorsJson(Failure{"ALL_OR_NONE_OPERATION_ROLLED_BACK", kRolledBackMessage, {}}, false) +
         "]}";
}

// ---- the records ----------------------------------------------------------------------------

struct Field {
  std::string name;  // as first written
  std::string json;
};

struct Record {
  std::string type, id, url;
  std::vector<Field> fields;

  void set(std::string_view name, std::string json) {
    for (Field& field : fields)
      if (lower(field.name) == lower(name)) {
        field.json = std::move(json);
        return;
      }
    fields.push_back(Field{std::string(name), std::move(json)});
  }
};

// One record of a create/update body, checked but not applied yet.
struct Pending {
  std::optional<Failure> failure;
  std::string key;  // update: the 15-character id
  std::vector<Field> fields;
};

class SalesforceDialect final : public Dialect {
 public:
  std::string_view name() const override { return "salesforce"; }

  void route(httplib::Server& http, Gate& gate) override {
    http.Post(kCollectionsPath, [this, &gate](const httplib::Request& req, httplib::Response& res) {
      handleRest(req, res, gate, [&] { return save(req, false); });
    });
    http.Patch(kCollectionsPath,
               [this, &gate](const httplib::Request& req, httplib::Response& res) {
                 handleRest(req, res, gate, [&] { return save(req, true); });
               });
    http.Delete(kCollectionsPath,
                [this, &gate](const httplib::Request& req, httplib::Response& res) {
                  handleRest(req, res, gate, [&] { return remove(req); });
                });
    http.Post(
        "/services/oauth2/token", [&gate](const httplib::Request& req, httplib::Response& res) {
          if (gate.interceptUnauthenticated(req, res)) return;
          Reply reply = token(req, gate.tokens());
          res.status = reply.status;
          res.set_header("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private");
          res.set_content(reply.body, kJson);
        });
  }

  std::string dump() const override {
    std::lock_guard lock(mutex_);
    std::map<std::string, std::string> by_type{{"Account", ""}};
    for (const std::string& key : order_) {
      const Record& record = records_.at(key);
      std::string& list = by_type[record.type];
      list += (list.empty() ? "" : ",") + recordJson(record);
    }
    std::string out = "{";
    for (const auto& [type, list] : by_type)
      out += (out.size() > 1 ? "," : "") + quote(type) + ":[" + list + "]";
    return out + "}";
  }

  void clear() override {
    std::lock_guard lock(mutex_);
    records_.clear();
    order_.clear();
    api_usage_ = 0;
  }

 private:
  template <class Handle>
  void handleRest(const httplib::Request& req, httplib::Response& res, Gate& gate, Handle handle) {
    res.set_header("Sforce-Limit-Info", "api-usage=" + std::to_string(++api_usage_) + "/100000");
    auto unauthorized = [](httplib::Response& r) {
      r.status = 401;
      r.set_header("WWW-Authenticate", "Token");
      r.set_content(
          R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])", kJson);
    };
    if (gate.intercept(req, res, unauthorized)) return;
    Reply reply;
    {
      std::lock_guard gate_lock(gate.mutex());
      std::lock_guard lock(mutex_);
      reply = handle();
    }
    res.status = reply.status;
    res.set_content(reply.body, kJson);
  }

  // POST (create) or PATCH (update) {"allOrNone":..,"records":[{"attributes":{"type":..},..}]}.
  Reply save(const httplib::Request& req, bool update) {
    std::string content_type = req.get_header_value("Content-Type");
    if (lower(content_type).rfind("application/json", 0) != 0)
      return requestError(
          415, "UNSUPPORTED_MEDIA_TYPE",
          "Content-Type header specified in HTTP request is not supported: " + content_type);
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(req.body.data(), req.body.size());
    if (doc.HasParseError() || !doc.IsObject())
      return requestError(400, "JSON_PARSER_ERROR", "The request body is not a JSON object");
    const rapidjson::Value* all_or_none = findMember(doc, "allOrNone");
    const rapidjson::Value* records = findMember(doc, "records");
    if ((all_or_none != nullptr && !all_or_none->IsBool()) || records == nullptr ||
        !records->IsArray())
      return requestError(400, "JSON_PARSER_ERROR",
                          "Expected {\"allOrNone\":boolean,\"records\":[...]}");
    if (records->Size() > kMaxRecords)
      return requestError(400, "EXCEEDED_ID_LIMIT",
                          "record limit reached. cannot submit more than 200 records into this "
                          "call");
    std::vector<Pending> pending;
    std::vector<ObjectType> types;
    for (const rapidjson::Value& record : records->GetArray()) {
      std::optional<Reply> refused = readRecord(record, update, pending, types);
      if (refused) return *refused;
    }
    bool atomic = all_or_none != nullptr && all_or_none->GetBool();
    std::string version = req.matches[1].str();
    std::vector<std::string> ids(pending.size());
    if (!anyFailure(pending) || !atomic) {
      for (size_t i = 0; i < pending.size(); ++i) {
        if (pending[i].failure) continue;
        ids[i] = update ? applyUpdate(pending[i]) : applyCreate(types[i], version, pending[i]);
      }
    }
    std::string body = "[";
    for (size_t i = 0; i < pending.size(); ++i) {
      body += i ? "," : "";
      if (pending[i].failure) {
        body += failureJson(*pending[i].failure);
      } else {
        body += ids[i].empty() ? rolledBackJson() : successJson(ids[i]);
      }
    }
    return Reply{200, body + "]"};
  }

  // Checks one record; a request-level problem (type, field names, value shapes) is the Reply.
  std::optional<Reply> readRecord(const rapidjson::Value& record, bool update,
                                  std::vector<Pending>& pending, std::vector<ObjectType>& types) {
    const rapidjson::Value* attributes =
        record.IsObject() ? findMember(record, "attributes") : nullptr;
    const rapidjson::Value* type_name =
        attributes != nullptr && attributes->IsObject() ? findMember(*attributes, "type") : nullptr;
    if (type_name == nullptr || !type_name->IsString())
      return requestError(400, "INVALID_INPUT",
                          "Each record must specify its sObject type in attributes.type");
    std::optional<ObjectType> type = objectType(asStringView(*type_name));
    if (!type)
      return requestError(
          400, "INVALID_TYPE",
          "sObject type '" + std::string(asStringView(*type_name)) + "' is not supported.");
    Pending entry;
    std::optional<std::string> given_id;
    for (const auto& member : record.GetObject()) {
      std::string field(asStringView(member.name));
      if (field == "attributes") continue;
      if (!isName(field) || (lower(field) != "id" && !hasField(*type, field)))
        return requestError(
            400, "INVALID_FIELD",
            "No such column '" + field + "' on sobject of type " + std::string(type->name));
      if (member.value.IsObject() || member.value.IsArray())
        return requestError(400, "JSON_PARSER_ERROR",
                            "Cannot deserialize instance of " + field + " from a JSON " +
                                (member.value.IsObject() ? "object" : "array"));
      if (lower(field) == "id") {
        given_id = member.value.IsString() ? std::string(asStringView(member.value)) : "";
        continue;
      }
      entry.fields.push_back(Field{field, toJson(member.value)});
    }
    entry.failure = update ? checkUpdate(*type, given_id, entry) : checkCreate(given_id);
    if (!entry.failure) entry.failure = checkValues(*type, entry.fields, update);
    pending.push_back(std::move(entry));
    types.push_back(*type);
    return std::nullopt;
  }

  static std::optional<Failure> checkCreate(const std::optional<std::string>& id) {
    if (id)
      return Failure{
          "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", {"Id"}};
    return std::nullopt;
  }

  std::optional<Failure> checkUpdate(const ObjectType& type, const std::optional<std::string>& id,
                                     Pending& entry) const {
    if (!id || id->empty())
      return Failure{"MISSING_ARGUMENT", "Id not specified in an update call", {}};
    std::optional<std::string> key = id15(*id);
    if (!key) return Failure{"MALFORMED_ID", "malformed id " + *id, {}};
    auto found = records_.find(*key);
    if (found == records_.end()) return Failure{"ENTITY_IS_DELETED", "entity is deleted", {}};
    if (found->second.type != type.name)
      return Failure{"MALFORMED_ID",
                     std::string(type.name) + " ID: id value of incorrect type: " + *id,
                     {"Id"}};
    entry.key = *key;
    return std::nullopt;
  }

  // The org's rules: the required field (a create must set it, nothing may empty it), then
  // INVALID anywhere and text lengths.
  static std::optional<Failure> checkValues(const ObjectType& type,
                                            const std::vector<Field>& fields, bool update) {
    bool required_seen = false, required_empty = false;
    for (const Field& field : fields) {
      if (type.required.empty() || lower(field.name) != lower(type.required)) continue;
      required_seen = true;
      required_empty = required_empty || field.json == "null" || field.json == "\"\"";
    }
    if (!type.required.empty() && (update ? required_empty : !required_seen || required_empty))
      return Failure{"REQUIRED_FIELD_MISSING",
                     "Required fields are missing: [" + std::string(type.required) + "]",
                     {std::string(type.required)}};
    for (const Field& field : fields) {
      rapidjson::Document value;
      value.Parse(field.json.c_str());
      if (!value.IsString()) continue;
      std::string_view text = asStringView(value);
      if (text.find("INVALID") != std::string_view::npos)
        return Failure{"FIELD_CUSTOM_VALIDATION_EXCEPTION",
                       field.name + " must not contain INVALID",
                       {field.name}};
      size_t limit = lower(field.name) == "description" ? 32000 : 255;
      if (text.size() > limit)
        return Failure{"STRING_TOO_LONG",
                       std::string(type.name) + " " + field.name +
                           ": data value too large: " + std::string(text.substr(0, 40)) +
                           "... (max length=" + std::to_string(limit) + ")",
                       {field.name}};
    }
    return std::nullopt;
  }

  static bool anyFailure(const std::vector<Pending>& pending) {
    for (const Pending& entry : pending)
      if (entry.failure) return true;
    return false;
  }

  std::string applyCreate(const ObjectType& type, const std::string& version, Pending& entry) {
    char digits[16];
    std::snprintf(digits, sizeof digits, "%010llu", static_cast<unsigned long long>(++last_id_));
    std::string key = std::string(type.key_prefix) + "RM" + digits;
    Record record{std::string(type.name),
                  key + idChecksum(key),
                  "/services/data/" + version + "/sobjects/" + std::string(type.name) + "/",
                  {}};
    record.url += record.id;
    for (Field& field : entry.fields) record.set(field.name, std::move(field.json));
    records_.emplace(key, std::move(record));
    order_.push_back(key);
    return records_.at(key).id;
  }

  std::string applyUpdate(Pending& entry) {
    Record& record = records_.at(entry.key);
    for (Field& field : entry.fields) record.set(field.name, std::move(field.json));
    return record.id;
  }

  // DELETE ?ids=a,b&allOrNone=true
  Reply remove(const httplib::Request& req) {
    std::string list = req.get_param_value("ids");
    if (list.empty()) return requestError(400, "MISSING_ARGUMENT", "The ids parameter is required");
    std::vector<std::string> ids;
    for (size_t start = 0;;) {
      size_t comma = list.find(',', start);
      ids.push_back(list.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (ids.size() > kMaxRecords)
      return requestError(400, "EXCEEDED_ID_LIMIT",
                          "record limit reached. cannot submit more than 200 records into this "
                          "call");
    bool atomic = lower(req.get_param_value("allOrNone")) == "true";
    std::vector<std::optional<Failure>> failures;
    std::vector<std::string> keys;
    for (const std::string& id : ids) {
      std::optional<std::string> key = id15(id);
      keys.push_back(key.value_or(""));
      if (!key)
        failures.push_back(Failure{"MALFORMED_ID", "malformed id " + id, {}});
      else if (records_.count(*key) == 0)
        failures.push_back(Failure{"ENTITY_IS_DELETED", "entity is deleted", {}});
      else
        failures.push_back(std::nullopt);
    }
    bool any = false;
    for (const auto& failure : failures) any = any || failure.has_value();
    std::string body = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
      body += i ? "," : "";
      if (failures[i]) {
        body += failureJson(*failures[i]);
      } else if (any && atomic) {
        body += rolledBackJson();
      } else {
        auto found = records_.find(keys[i]);
        body += successJson(found != records_.end() ? found->second.id : ids[i]);
        if (found != records_.end()) records_.erase(found);
        std::erase(order_, keys[i]);
      }
    }
    return Reply{200, body + "]"};
  }

  // POST /services/oauth2/token, form body: grant_type=refresh_token&refresh_token=..
  static Reply token(const httplib::Request& req, TokenAuthority& tokens) {
    auto form = parseForm(req.body);
    if (form["grant_type"] != "refresh_token")
      return Reply{
          400,
          R"({"error":"unsupported_grant_type","error_description":"grant type not supported"})"};
    std::string client_id = form["client_id"], client_secret = form["client_secret"];
    TokenAuthority::Grant grant;
    switch (tokens.refresh(form["refresh_token"], client_id, client_secret, grant)) {
      case TokenAuthority::Refusal::kUnknownClient:
        return Reply{
            400, R"({"error":"invalid_client","error_description":"invalid client credentials"})"};
      case TokenAuthority::Refusal::kBadRefreshToken:
        return Reply{
            400, R"({"error":"invalid_grant","error_description":"expired access/refresh token"})"};
      case TokenAuthority::Refusal::kNone:
        break;
    }
    std::string instance = "http://" + req.get_header_value("Host");
    std::string issued_at = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    std::string id = instance + "/id/00DRM0000000001MAA/005RM0000000001YAA";
    std::string body = "{\"access_token\":" + quote(grant.access_token);
    if (grant.refresh_token != form["refresh_token"])
      body += ",\"refresh_token\":" + quote(grant.refresh_token);  // rotation only
    body += ",\"signature\":" +
            quote(base64(std::to_string(std::hash<std::string>{}(id + issued_at)))) +
            ",\"scope\":\"refresh_token api\",\"instance_url\":" + quote(instance) +
            ",\"id\":" + quote(id) +
            ",\"token_type\":\"Bearer\",\"issued_at\":" + quote(issued_at) + "}";
    return Reply{200, body};
  }

  static std::string recordJson(const Record& record) {
    std::string out = "{\"attributes\":{\"type\":" + quote(record.type) +
                      ",\"url\":" + quote(record.url) + "},\"Id\":" + quote(record.id);
    for (const Field& field : record.fields) out += "," + quote(field.name) + ":" + field.json;
    return out + "}";
  }

  mutable std::mutex mutex_;               // records_, order_; taken after gate.mutex() in handlers
  std::map<std::string, Record> records_;  // by 15-character id
  std::vector<std::string> order_;         // creation order
  uint64_t last_id_ = 0;
  std::atomic<long> api_usage_{0};
};

}  // namespace

std::unique_ptr<Dialect> makeSalesforceDialect() {
  return std::make_unique<SalesforceDialect>();
}

}  // namespace fakeapi
