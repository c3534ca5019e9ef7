// The HubSpot dialect (adapters-spec §2): CRM v3 objects at /crm/v3/objects/{objectType} (single
// create, batch/create, batch/update, batch/archive, GET one) and the OAuth v3 token endpoint,
// over in-memory records with numeric-string ids. Like HubSpot: property values are stored as
// strings ("" clears a property, which then reads as null); batch results come back in reverse
// input order (HubSpot keeps no order, so clients must correlate by id or objectWriteTraceId);
// batch update is not atomic (207 with errors[].context.ids); batch create is all-or-none unless
// every input has a unique objectWriteTraceId (then 207); archive answers 204 even for unknown
// ids; batches over 100 inputs are refused. Every answer carries X-HubSpot-RateLimit-* headers
// (190 per 10 s; reported, not enforced: throttling comes from /_control/fail). The fake's own
// refusal rule: a string value containing INVALID gets HubSpot's VALIDATION_ERROR.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <variant>
#include <vector>

#include "tools/fakeapi/dialect.h"
#include "tools/fakeapi/json.h"

namespace fakeapi {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using Clock = std::chrono::steady_clock;

constexpr const char* kJson = "application/json;charset=utf-8";
constexpr size_t kBatchLimit = 100;
constexpr int kBurstMax = 190;
constexpr std::chrono::milliseconds kInterval{10000};
constexpr const char* kObjectPath = R"(/crm/v3/objects/([A-Za-z0-9_-]+))";

using Properties = std::map<std::string, std::string>;  // strings; "" is "no value"

// A record as HubSpot keeps it.
struct Record {
  std::string id;
  Properties properties;  // without "" values
  std::string created_at, updated_at;
};

// A refused input: what HubSpot says and the property it blames.
struct Refusal {
  std::string message;
  std::string code;
  std::string property;
};

void key(Writer& out, std::string_view name) {
  out.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}
void str(Writer& out, std::string_view text) {
  out.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}
void member(Writer& out, std::string_view name, std::string_view text) {
  key(out, name);
  str(out, text);
}

std::string nowIso() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  long ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03ldZ", text, ms);
  return out;
}

bool knownObjectType(std::string_view type) {
  static const std::set<std::string_view> kTypes = {"contacts", "companies",  "deals",  "tickets",
                                                    "products", "line_items", "quotes", "calls",
                                                    "emails",   "meetings",   "notes",  "tasks"};
  if (kTypes.contains(type)) return true;
  // Object type ids: 0-1 (contacts), 2-123456 (custom objects).
  return type.size() > 2 && (type[0] == '0' || type[0] == '2') && type[1] == '-' &&
         type.find_first_not_of("0123456789", 2) == std::string_view::npos;
}

// A request value as HubSpot stores it: strings as they are, numbers (parsed as strings) and
// booleans as their text, null as "" (clears). Objects and arrays do not deserialize.
std::optional<std::string> storedValue(const rapidjson::Value& value) {
  if (value.IsString()) return std::string(asStringView(value));
  if (value.IsBool()) return value.GetBool() ? "true" : "false";
  if (value.IsNull()) return std::string();
  return std::nullopt;
}

// application/x-www-form-urlencoded
std::map<std::string, std::string> parseForm(std::string_view body) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  auto decode = [&](std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '+') {
        out += ' ';
      } else if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
                 hex(text[i + 2]) >= 0) {
        out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
        i += 2;
      } else {
        out += text[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> form;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    form[decode(pair.substr(0, eq))] = decode(pair.substr(eq + 1));
  }
  return form;
}

class HubspotDialect final : public Dialect {
 public:
  std::string_view name() const override { return "hubspot"; }

  void route(httplib::Server& http, Gate& gate) override {
    auto api = [this, &gate](
                   void (HubspotDialect::*handler)(const httplib::Request&, httplib::Response&)) {
      return [this, &gate, handler](const httplib::Request& req, httplib::Response& res) {
        if (gate.intercept(req, res, [this](httplib::Response& out) { unauthorized(out); })) return;
        std::lock_guard lock(gate.mutex());
        rateHeaders(res);
        res.set_header("x-hubspot-correlation-id", nextCorrelationId());
        (this->*handler)(req, res);
      };
    };
    const std::string objects = kObjectPath;
    http.Post(objects, api(&HubspotDialect::createOne));
    http.Post(objects + "/batch/create", api(&HubspotDialect::batchCreate));
    http.Post(objects + "/batch/update", api(&HubspotDialect::batchUpdate));
    http.Post(objects + "/batch/archive", api(&HubspotDialect::batchArchive));
    http.Get(objects + "/([^/]+)", api(&HubspotDialect::readOne));
    http.Post("/oauth/v3/token",
              [this, &gate](const httplib::Request& req, httplib::Response& res) {
                if (gate.interceptUnauthenticated(req, res)) return;
                token(req, res, gate.tokens());
              });
  }

  // dump() and clear() run under the gate's mutex, like the handlers.
  std::string dump() const override {
    rapidjson::StringBuffer buffer;
    Writer out(buffer);
    out.StartObject();
    if (!records_.contains("contacts")) {
      key(out, "contacts");
      out.StartArray();
      out.EndArray();
    }
    for (const auto& [type, records] : records_) {
      key(out, type);
      out.StartArray();
      for (const auto& [number, record] : records) writeRecord(out, type, record);
      out.EndArray();
    }
    out.EndObject();
    return buffer.GetString();
  }

  void clear() override {
    records_.clear();
    window_count_ = 0;
  }

 private:
  using Records = std::map<unsigned long long, Record>;  // by id, so in creation order

  // ---- answers ----

  std::string nextCorrelationId() {
    char text[40];
    std::snprintf(text, sizeof text, "5f1e0c2a-0000-4000-8000-%012lu", ++correlations_);
    return text;
  }

  void unauthorized(httplib::Response& res) {
    res.status = 401;
    res.set_content(errorBody("Authentication credentials not found.", "INVALID_AUTHENTICATION"),
                    kJson);
  }

  void rateHeaders(httplib::Response& res) {
    auto now = Clock::now();
    if (now - window_start_ >= kInterval) {
      window_start_ = now;
      window_count_ = 0;
    }
    ++window_count_;
    res.set_header("X-HubSpot-RateLimit-Max", std::to_string(kBurstMax));
    res.set_header("X-HubSpot-RateLimit-Remaining",
                   std::to_string(std::max(0, kBurstMax - window_count_)));
    res.set_header("X-HubSpot-RateLimit-Interval-Milliseconds", std::to_string(kInterval.count()));
  }

  // {"status":"error","message","correlationId","category"[,"errors":[...]]}
  std::string errorBody(std::string_view message, std::string_view category,
                        const Refusal* refusal = nullptr) {
    rapidjson::StringBuffer buffer;
    Writer out(buffer);
    out.StartObject();
    member(out, "status", "error");
    member(out, "message", message);
    member(out, "correlationId", nextCorrelationId());
    member(out, "category", category);
    if (refusal) {
      key(out, "errors");
      out.StartArray();
      writeDetail(out, *refusal);
      out.EndArray();
    }
    out.EndObject();
    return buffer.GetString();
  }

  void writeDetail(Writer& out, const Refusal& refusal) const {
    out.StartObject();
    member(out, "message", refusal.message);
    member(out, "code", refusal.code);
    key(out, "context");
    out.StartObject();
    key(out, "propertyName");
    out.StartArray();
    str(out, refusal.property);
    out.EndArray();
    out.EndObject();
    out.EndObject();
  }

  // HubSpot's message for refused property values embeds them as JSON.
  static std::string propertyValuesMessage(const Refusal& refusal) {
    rapidjson::StringBuffer buffer;
    Writer out(buffer);
    out.StartArray();
    out.StartObject();
    key(out, "isValid");
    out.Bool(false);
    member(out, "message", refusal.message);
    member(out, "error", refusal.code);
    member(out, "name", refusal.property);
    out.EndObject();
    out.EndArray();
    return std::string("Property values were not valid: ") + buffer.GetString();
  }

  void fail(httplib::Response& res, int status, std::string_view message, std::string_view category,
            const Refusal* refusal = nullptr) {
    res.status = status;
    res.set_content(errorBody(message, category, refusal), kJson);
  }

  // A record as HubSpot shows it; a write's answer also lists the properties it cleared (`sent`
  // with "" values), as null.
  void writeRecord(Writer& out, std::string_view type, const Record& record,
                   const Properties* sent = nullptr, const std::string* trace_id = nullptr) const {
    bool contacts = type == "contacts";
    Properties shown = record.properties;
    if (sent != nullptr)
      for (const auto& [name, value] : *sent) shown.try_emplace(name, "");
    shown[contacts ? "createdate" : "hs_createdate"] = record.created_at;
    shown[contacts ? "lastmodifieddate" : "hs_lastmodifieddate"] = record.updated_at;
    shown["hs_object_id"] = record.id;
    out.StartObject();
    member(out, "id", record.id);
    key(out, "properties");
    out.StartObject();
    for (const auto& [name, value] : shown) {
      key(out, name);
      if (value.empty())
        out.Null();
      else
        str(out, value);
    }
    out.EndObject();
    member(out, "createdAt", record.created_at);
    member(out, "updatedAt", record.updated_at);
    key(out, "archived");
    out.Bool(false);
    if (trace_id) member(out, "objectWriteTraceId", *trace_id);
    out.EndObject();
  }

  // ---- reading requests ----

  // The request body, or a 400 already answered.
  bool parseBody(const httplib::Request& req, httplib::Response& res, rapidjson::Document& doc) {
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(
        req.body.data(), req.body.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      fail(res, 400,
           "Invalid input JSON on line 1, column " + std::to_string(doc.GetErrorOffset() + 1) +
               ": the body must be a JSON object",
           "VALIDATION_ERROR");
      return false;
    }
    return true;
  }

  // The properties of one input as stored, a refusal (a value containing INVALID), or why the
  // input cannot be read (an answer of 400 for the whole request).
  std::variant<Properties, Refusal, std::string> readProperties(const rapidjson::Value& input) {
    Properties properties;
    const rapidjson::Value* given = findMember(input, "properties");
    if (given == nullptr) return properties;
    if (!given->IsObject()) return std::string("properties must be an object of strings");
    for (const auto& item : given->GetObject()) {
      std::string name(asStringView(item.name));
      std::optional<std::string> value = storedValue(item.value);
      if (!value) return "Cannot deserialize the value of property " + name + " as a string";
      if (value->find("INVALID") != std::string::npos)
        return Refusal{"\"" + *value + "\" is not a valid value for property " + name,
                       "INVALID_PROPERTY_VALUE", name};
      properties[name] = *value;
    }
    return properties;
  }

  // inputs[] of a batch, or a 400 already answered.
  const rapidjson::Value* batchInputs(const rapidjson::Document& doc, httplib::Response& res) {
    const rapidjson::Value* inputs = findMember(doc, "inputs");
    if (inputs == nullptr || !inputs->IsArray()) {
      fail(res, 400, "Invalid input JSON: inputs must be an array", "VALIDATION_ERROR");
      return nullptr;
    }
    if (inputs->Size() > kBatchLimit) {
      fail(res, 400,
           "Batch input size " + std::to_string(inputs->Size()) + " exceeds the limit of " +
               std::to_string(kBatchLimit) + " inputs",
           "VALIDATION_ERROR");
      return nullptr;
    }
    for (const auto& input : inputs->GetArray()) {
      if (!input.IsObject()) {
        fail(res, 400, "Invalid input JSON: each input must be an object", "VALIDATION_ERROR");
        return nullptr;
      }
    }
    return inputs;
  }

  // The objectType of the path, or a 404 already answered.
  std::optional<std::string> objectType(const httplib::Request& req, httplib::Response& res) {
    std::string type = req.matches[1].str();
    if (knownObjectType(type)) return type;
    fail(res, 404, "Unable to infer object type from: " + type, "OBJECT_NOT_FOUND");
    return std::nullopt;
  }

  static std::optional<std::string> inputId(const rapidjson::Value& input) {
    const rapidjson::Value* id = findMember(input, "id");
    if (id == nullptr || !id->IsString() || id->GetStringLength() == 0) return std::nullopt;
    return std::string(asStringView(*id));
  }

  Record* find(const std::string& type, const std::string& id) {
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos || id.size() > 19)
      return nullptr;
    auto records = records_.find(type);
    if (records == records_.end()) return nullptr;
    auto it = records->second.find(std::stoull(id));
    return it == records->second.end() ? nullptr : &it->second;
  }

  Record& create(const std::string& type, const Properties& properties) {
    unsigned long long number = ++next_id_;
    Record& record = records_[type][number];
    record.id = std::to_string(number);
    record.created_at = record.updated_at = nowIso();
    for (const auto& [name, value] : properties)
      if (!value.empty()) record.properties[name] = value;
    return record;
  }

  // ---- handlers (under the gate's mutex) ----

  void createOne(const httplib::Request& req, httplib::Response& res) {
    auto type = objectType(req, res);
    rapidjson::Document doc;
    if (!type || !parseBody(req, res, doc)) return;
    auto properties = readProperties(doc);
    if (auto* shape = std::get_if<std::string>(&properties))
      return fail(res, 400, "Invalid input JSON: " + *shape, "VALIDATION_ERROR");
    if (auto* refusal = std::get_if<Refusal>(&properties))
      return fail(res, 400, propertyValuesMessage(*refusal), "VALIDATION_ERROR", refusal);
    const Properties& sent = std::get<Properties>(properties);
    Record& record = create(*type, sent);
    reply(res, 201, false, [&](Writer& out) { writeRecord(out, *type, record, &sent); });
  }

  void batchCreate(const httplib::Request& req, httplib::Response& res) {
    auto type = objectType(req, res);
    rapidjson::Document doc;
    if (!type || !parseBody(req, res, doc)) return;
    const rapidjson::Value* inputs = batchInputs(doc, res);
    if (inputs == nullptr) return;
    // Multi-status only when every input has its own objectWriteTraceId.
    std::vector<std::string> traces;
    std::set<std::string> unique;
    for (const auto& input : inputs->GetArray()) {
      const rapidjson::Value* trace = findMember(input, "objectWriteTraceId");
      traces.push_back(trace && trace->IsString() ? std::string(asStringView(*trace)) : "");
      if (!traces.back().empty()) unique.insert(traces.back());
    }
    bool multi_status = unique.size() == traces.size();
    std::vector<std::variant<Properties, Refusal, std::string>> read;
    for (const auto& input : inputs->GetArray()) {
      read.push_back(readProperties(input));
      if (auto* shape = std::get_if<std::string>(&read.back()))
        return fail(res, 400, "Invalid input JSON: " + *shape, "VALIDATION_ERROR");
      if (auto* refusal = std::get_if<Refusal>(&read.back()); refusal && !multi_status)
        return fail(res, 400, propertyValuesMessage(*refusal), "VALIDATION_ERROR", refusal);
    }
    std::vector<std::pair<const Record*, size_t>> created;  // and its input
    std::vector<std::pair<const Refusal*, const std::string*>> refused;
    for (size_t i = 0; i < read.size(); ++i) {
      if (auto* refusal = std::get_if<Refusal>(&read[i])) {
        refused.emplace_back(refusal, &traces[i]);
      } else {
        created.emplace_back(&create(*type, std::get<Properties>(read[i])), i);
      }
    }
    reply(res, refused.empty() ? 201 : 207, /*object=*/true, [&](Writer& out) {
      batchHeader(out);
      key(out, "results");
      out.StartArray();
      for (auto it = created.rbegin(); it != created.rend(); ++it)
        writeRecord(out, *type, *it->first, &std::get<Properties>(read[it->second]),
                    traces[it->second].empty() ? nullptr : &traces[it->second]);
      out.EndArray();
      if (!refused.empty()) {
        key(out, "numErrors");
        out.Uint(static_cast<unsigned>(refused.size()));
        key(out, "errors");
        out.StartArray();
        for (const auto& [refusal, trace] : refused)
          writeEntry(out, "VALIDATION_ERROR", propertyValuesMessage(*refusal), "objectWriteTraceId",
                     {*trace}, refusal);
        out.EndArray();
      }
    });
  }

  void batchUpdate(const httplib::Request& req, httplib::Response& res) {
    auto type = objectType(req, res);
    rapidjson::Document doc;
    if (!type || !parseBody(req, res, doc)) return;
    const rapidjson::Value* inputs = batchInputs(doc, res);
    if (inputs == nullptr) return;
    std::set<std::string> seen;
    for (const auto& input : inputs->GetArray()) {
      std::optional<std::string> id = inputId(input);
      if (!id)
        return fail(res, 400, "Invalid input JSON: every input needs an id", "VALIDATION_ERROR");
      if (!seen.insert(*id).second)
        return fail(res, 400, "Duplicate IDs found in batch input: [" + *id + "]",
                    "VALIDATION_ERROR");
      auto properties = readProperties(input);
      if (auto* shape = std::get_if<std::string>(&properties))
        return fail(res, 400, "Invalid input JSON: " + *shape, "VALIDATION_ERROR");
    }
    std::vector<std::pair<const Record*, Properties>> updated;
    std::vector<std::string> missing;
    std::vector<std::pair<Refusal, std::string>> refused;
    std::string now = nowIso();
    for (const auto& input : inputs->GetArray()) {
      std::string id = *inputId(input);
      Record* record = find(*type, id);
      if (record == nullptr) {
        missing.push_back(id);
        continue;
      }
      auto properties = readProperties(input);
      if (auto* refusal = std::get_if<Refusal>(&properties)) {
        refused.emplace_back(*refusal, id);
        continue;
      }
      for (const auto& [name, value] : std::get<Properties>(properties)) {
        if (value.empty())
          record->properties.erase(name);
        else
          record->properties[name] = value;
      }
      record->updated_at = now;
      updated.emplace_back(record, std::get<Properties>(std::move(properties)));
    }
    bool partial = !missing.empty() || !refused.empty();
    reply(res, partial ? 207 : 200, /*object=*/true, [&](Writer& out) {
      batchHeader(out);
      key(out, "results");
      out.StartArray();
      for (auto it = updated.rbegin(); it != updated.rend(); ++it)
        writeRecord(out, *type, *it->first, &it->second);
      out.EndArray();
      if (!partial) return;
      key(out, "numErrors");
      out.Uint(static_cast<unsigned>(refused.size() + (missing.empty() ? 0 : 1)));
      key(out, "errors");
      out.StartArray();
      if (!missing.empty())
        writeEntry(out, "OBJECT_NOT_FOUND",
                   "Could not get some " + upper(*type) +
                       " objects, they may be deleted or not exist. Check that ids are valid.",
                   "ids", missing, nullptr);
      for (const auto& [refusal, id] : refused)
        writeEntry(out, "VALIDATION_ERROR", propertyValuesMessage(refusal), "ids", {id}, &refusal);
      out.EndArray();
    });
  }

  void batchArchive(const httplib::Request& req, httplib::Response& res) {
    auto type = objectType(req, res);
    rapidjson::Document doc;
    if (!type || !parseBody(req, res, doc)) return;
    const rapidjson::Value* inputs = batchInputs(doc, res);
    if (inputs == nullptr) return;
    std::vector<std::string> ids;
    for (const auto& input : inputs->GetArray()) {
      std::optional<std::string> id = inputId(input);
      if (!id)
        return fail(res, 400, "Invalid input JSON: every input needs an id", "VALIDATION_ERROR");
      ids.push_back(*id);
    }
    for (const std::string& id : ids)
      if (const Record* record = find(*type, id)) records_[*type].erase(std::stoull(record->id));
    res.status = 204;  // also for ids HubSpot does not have
  }

  void readOne(const httplib::Request& req, httplib::Response& res) {
    auto type = objectType(req, res);
    if (!type) return;
    const Record* record = find(*type, req.matches[2].str());
    if (record == nullptr)
      return fail(res, 404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND");
    reply(res, 200, false, [&](Writer& out) { writeRecord(out, *type, *record); });
  }

  void token(const httplib::Request& req, httplib::Response& res, TokenAuthority& tokens) {
    std::map<std::string, std::string> form = parseForm(req.body);
    auto refuse = [&](std::string_view status, std::string_view message) {
      rapidjson::StringBuffer buffer;
      Writer out(buffer);
      out.StartObject();
      member(out, "status", status);
      member(out, "message", message);
      member(out, "correlationId", nextCorrelationId());
      out.EndObject();
      res.status = 400;
      res.set_content(buffer.GetString(), kJson);
    };
    if (form["grant_type"] != "refresh_token")
      return refuse("BAD_GRANT_TYPE", "grant_type must be refresh_token");
    TokenAuthority::Grant grant;
    switch (
        tokens.refresh(form["refresh_token"], form["client_id"], form["client_secret"], grant)) {
      case TokenAuthority::Refusal::kUnknownClient:
        return refuse("BAD_CLIENT_ID", "missing or unknown client id, or wrong client secret");
      case TokenAuthority::Refusal::kBadRefreshToken:
        return refuse("BAD_REFRESH_TOKEN", "missing or unknown refresh token");
      case TokenAuthority::Refusal::kNone:
        break;
    }
    reply(res, 200, /*object=*/true, [&](Writer& out) {
      member(out, "token_type", "bearer");
      member(out, "refresh_token", grant.refresh_token);
      member(out, "access_token", grant.access_token);
      key(out, "expires_in");
      out.Int64(grant.expires_in);
    });
  }

  // ---- writing answers ----

  // `body` writes the answer; object: inside a {} this opens and closes.
  template <class Body>
  void reply(httplib::Response& res, int status, bool object, Body&& body) {
    rapidjson::StringBuffer buffer;
    Writer out(buffer);
    if (object) out.StartObject();
    body(out);
    if (object) out.EndObject();
    res.status = status;
    res.set_content(buffer.GetString(), kJson);
  }

  void batchHeader(Writer& out) {
    std::string now = nowIso();
    member(out, "status", "COMPLETE");
    member(out, "requestedAt", now);
    member(out, "startedAt", now);
    member(out, "completedAt", now);
  }

  // {"status":"error","category","message","context":{<context_key>:[...]}[,"errors":[...]]}
  void writeEntry(Writer& out, std::string_view category, std::string_view message,
                  std::string_view context_key, const std::vector<std::string>& names,
                  const Refusal* refusal) {
    out.StartObject();
    member(out, "status", "error");
    member(out, "category", category);
    member(out, "message", message);
    key(out, "context");
    out.StartObject();
    key(out, context_key);
    out.StartArray();
    for (const std::string& name : names) str(out, name);
    out.EndArray();
    out.EndObject();
    if (refusal) {
      key(out, "errors");
      out.StartArray();
      writeDetail(out, *refusal);
      out.EndArray();
    }
    out.EndObject();
  }

  static std::string upper(std::string text) {
    if (text.ends_with('s')) text.pop_back();  // "contacts" -> "CONTACT"
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
  }

  // Under the gate's mutex:
  std::map<std::string, Records> records_;  // by objectType
  unsigned long long next_id_ = 100000;
  std::atomic<unsigned long> correlations_{0};  // also used by the token endpoint
  Clock::time_point window_start_ = Clock::now();
  int window_count_ = 0;
};

}  // namespace

std::unique_ptr<Dialect> makeHubspotDialect() {
  return std::make_unique<HubspotDialect>();
}

}  // namespace fakeapi
