// The Airtable dialect (adapters-spec §1): POST/PATCH/DELETE /v0/{baseId}/{tableId} over
// in-memory records (any base, any table; records are kept per table), Airtable's bodies, its
// limit of 10 records a request, its error shapes, and its OAuth token endpoint
// POST /oauth2/v1/token with rotating refresh tokens (TokenAuthority).
//
// Deterministic refusals: a string value containing "INVALID" is refused with 422
// INVALID_VALUE_FOR_COLUMN naming the field; an id the table does not hold fails the whole
// request with 404 NOT_FOUND. Nothing of a refused request is written. Empty values ("", false,
// [], null) clear the field and are left out of every answer, as Airtable does.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tools/fakeapi/dialect.h"
#include "tools/fakeapi/json.h"

namespace fakeapi {
namespace {

constexpr const char* kJson = "application/json";
constexpr size_t kMaxRecords = 10;
// Deeper request bodies are refused before anything walks them (rapidjson's writer recurses).
constexpr int kMaxDepth = 64;

using Fields = std::vector<std::pair<std::string, std::string>>;  // name -> JSON text

struct Record {
  std::string id;
  std::string created_time;
  Fields fields;  // never an empty value
};

std::string quote(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return {buffer.GetString(), buffer.GetSize()};
}

Reply airtableError(int status, std::string_view type, std::string_view message) {
  return Reply{status, errorJson(type, message)};  // {"error":{"type","message"}}
}

Reply invalidRequest() {
  return airtableError(422, "INVALID_REQUEST_UNKNOWN",
                       "Invalid request: parameter validation failed. Check your request data.");
}

Reply invalidRecords() {
  return airtableError(422, "INVALID_RECORDS",
                       "You must provide an array of up to 10 record objects, each with a "
                       "\"fields\" object (and an \"id\" to update)");
}

void unauthorized(httplib::Response& res) {
  res.status = 401;
  res.set_content(
      R"({"error":{"type":"AUTHENTICATION_REQUIRED","message":"Authentication required"}})", kJson);
}

int nestingDepth(std::string_view json) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

bool isEmptyValue(const rapidjson::Value& value) {
  return value.IsNull() || value.IsFalse() || (value.IsString() && value.GetStringLength() == 0) ||
         (value.IsArray() && value.Empty());
}

bool refusedValue(const rapidjson::Value& value) {
  auto refused = [](const rapidjson::Value& v) {
    return v.IsString() && asStringView(v).find("INVALID") != std::string_view::npos;
  };
  if (refused(value)) return true;
  if (value.IsArray())
    for (const auto& item : value.GetArray())
      if (refused(item)) return true;
  return false;
}

// "rec" and 14 letters or digits, unique per counter value: its first 11 digits are an
// invertible mix of the counter in base 62 (62^11 > 2^64), the last 3 another mix of it.
std::string recordId(std::uint64_t counter) {
  static constexpr char kDigits[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::uint64_t x = counter * 0x9E3779B97F4A7C15ULL;
  x ^= x >> 29;
  std::uint64_t tail = (counter + 0x632BE59BD9B4E019ULL) * 0xBF58476D1CE4E5B9ULL;
  std::string id = "rec";
  for (int i = 0; i < 11; ++i, x /= 62) id += kDigits[x % 62];
  for (int i = 0; i < 3; ++i, tail /= 62) id += kDigits[(tail >> 20) % 62];
  return id;
}

std::string nowIso8601() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03dZ", text, static_cast<int>(millis));
  return out;
}

std::string recordJson(const Record& record) {
  std::string out = "{\"id\":" + quote(record.id) +
                    ",\"createdTime\":" + quote(record.created_time) + ",\"fields\":{";
  for (size_t i = 0; i < record.fields.size(); ++i)
    out += (i ? "," : "") + quote(record.fields[i].first) + ":" + record.fields[i].second;
  return out + "}}";
}

// Sets each field of `fields` (an object) on `record`; an empty value clears the field.
void applyFields(Record& record, const rapidjson::Value& fields) {
  for (const auto& member : fields.GetObject()) {
    std::string name(asStringView(member.name));
    auto it = std::find_if(record.fields.begin(), record.fields.end(),
                           [&](const auto& field) { return field.first == name; });
    if (isEmptyValue(member.value)) {
      if (it != record.fields.end()) record.fields.erase(it);
    } else if (it != record.fields.end()) {
      it->second = toJson(member.value);
    } else {
      record.fields.emplace_back(name, toJson(member.value));
    }
  }
}

// A create or update body, checked as Airtable checks it.
struct WriteBody {
  rapidjson::Document doc;
  const rapidjson::Value* records = nullptr;
};

std::optional<Reply> readWriteBody(std::string_view body, bool update, WriteBody& out) {
  if (nestingDepth(body) > kMaxDepth) return invalidRequest();
  out.doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (out.doc.HasParseError())
    return airtableError(400, "INVALID_REQUEST_BODY", "Could not parse request body");
  if (!out.doc.IsObject()) return invalidRequest();
  for (const auto& member : out.doc.GetObject()) {
    std::string_view key = asStringView(member.name);
    if (key == "records") continue;
    if ((key == "typecast" || key == "returnFieldsByFieldId") && member.value.IsBool()) continue;
    return invalidRequest();  // performUpsert, unknown keys, non-boolean flags
  }
  out.records = findMember(out.doc, "records");
  if (!out.records || !out.records->IsArray() || out.records->Empty() ||
      out.records->Size() > kMaxRecords)
    return invalidRecords();
  for (const auto& record : out.records->GetArray()) {
    if (!record.IsObject()) return invalidRecords();
    for (const auto& member : record.GetObject()) {
      std::string_view key = asStringView(member.name);
      if (key != "fields" && !(update && key == "id")) return invalidRequest();
    }
    const rapidjson::Value* fields = findMember(record, "fields");
    const rapidjson::Value* id = findMember(record, "id");
    if (!fields || !fields->IsObject() || (update && (!id || !id->IsString())))
      return invalidRecords();
  }
  for (const auto& record : out.records->GetArray())
    for (const auto& member : findMember(record, "fields")->GetObject())
      if (refusedValue(member.value))
        return airtableError(
            422, "INVALID_VALUE_FOR_COLUMN",
            "Field " + quote(asStringView(member.name)) + " cannot accept the provided value");
  return std::nullopt;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string formDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    int high = i + 2 < text.size() ? hexDigit(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? hexDigit(text[i + 2]) : -1;
    if (text[i] == '%' && high >= 0 && low >= 0) {
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

// application/x-www-form-urlencoded: key -> value (the last one wins).
std::map<std::string, std::string> parseForm(std::string_view body) {
  std::map<std::string, std::string> form;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    size_t eq = pair.find('=');
    form[formDecode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : formDecode(pair.substr(eq + 1));
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
  }
  return form;
}

std::optional<std::string> base64Decode(std::string_view text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    size_t value = kAlphabet.find(c);
    if (value == std::string::npos) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return out;
}

Reply oauthError(int status, std::string_view error, std::string_view description) {
  return Reply{status,
               "{\"error\":" + quote(error) + ",\"error_description\":" + quote(description) + "}"};
}

// POST /oauth2/v1/token: grant_type=refresh_token&refresh_token=..., the client by HTTP Basic
// (client_id:client_secret) or, without a secret, client_id in the body.
Reply refreshToken(TokenAuthority& tokens, const httplib::Request& req) {
  if (req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) != 0)
    return oauthError(400, "invalid_request", "the body must be application/x-www-form-urlencoded");
  const std::map<std::string, std::string> form = parseForm(req.body);
  auto get = [&form](const char* key) {
    auto it = form.find(key);
    return it == form.end() ? std::string() : it->second;
  };
  if (get("grant_type") != "refresh_token")
    return oauthError(400, "unsupported_grant_type", "grant_type must be refresh_token");
  if (get("refresh_token").empty())
    return oauthError(400, "invalid_request", "refresh_token is missing");
  if (form.count("client_secret"))
    return oauthError(400, "invalid_request", "a client secret goes in the Authorization header");
  std::string client_id = get("client_id"), client_secret;
  std::string authorization = req.get_header_value("Authorization");
  if (authorization.rfind("Basic ", 0) == 0) {
    if (form.count("client_id"))
      return oauthError(400, "invalid_request", "client_id is in both the header and the body");
    std::optional<std::string> pair = base64Decode(authorization.substr(6));
    size_t colon = pair ? pair->find(':') : std::string::npos;
    if (colon == std::string::npos)
      return oauthError(401, "invalid_client", "malformed HTTP Basic credentials");
    client_id = pair->substr(0, colon);
    client_secret = pair->substr(colon + 1);
  }
  if (client_id.empty()) return oauthError(400, "invalid_request", "client_id is missing");
  TokenAuthority::Grant grant;
  switch (tokens.refresh(get("refresh_token"), client_id, client_secret, grant)) {
    case TokenAuthority::Refusal::kUnknownClient:
      return oauthError(401, "invalid_client", "client authentication failed");
    case TokenAuthority::Refusal::kBadRefreshToken:
      return oauthError(400, "invalid_grant", "The refresh token is invalid or has expired");
    case TokenAuthority::Refusal::kNone:
      break;
  }
  return Reply{200, "{\"access_token\":" + quote(grant.access_token) +
                        ",\"refresh_token\":" + quote(grant.refresh_token) +
                        ",\"token_type\":\"Bearer\",\"scope\":\"data.records:read "
                        "data.records:write\",\"expires_in\":" +
                        std::to_string(grant.expires_in) + ",\"refresh_expires_in\":5184000}"};
}

class AirtableDialect final : public Dialect {
 public:
  std::string_view name() const override { return "airtable"; }

  void route(httplib::Server& http, Gate& gate) override {
    const char* table_path = R"(/v0/([^/]+)/([^/]+))";
    using Handler = Reply (AirtableDialect::*)(const std::string&, const httplib::Request&);
    auto handle = [this, &gate](Handler handler) {
      return [this, &gate, handler](const httplib::Request& req, httplib::Response& res) {
        if (gate.intercept(req, res, unauthorized)) return;
        std::lock_guard lock(gate.mutex());
        Reply reply = (this->*handler)(req.matches[2].str(), req);
        res.status = reply.status;
        res.set_content(reply.body, kJson);
      };
    };
    http.Post(table_path, handle(&AirtableDialect::create));
    http.Patch(table_path, handle(&AirtableDialect::update));
    http.Delete(table_path, handle(&AirtableDialect::remove));
    http.Post("/oauth2/v1/token", [&gate](const httplib::Request& req, httplib::Response& res) {
      if (gate.interceptUnauthenticated(req, res)) return;
      Reply reply = refreshToken(gate.tokens(), req);
      res.status = reply.status;
      res.set_content(reply.body, kJson);
    });
  }

  std::string dump() const override {
    std::string out = "{";
    for (const auto& [table, records] : tables_) {
      out += (out.size() > 1 ? "," : "") + quote(table) + ":[";
      for (size_t i = 0; i < records.size(); ++i) out += (i ? "," : "") + recordJson(records[i]);
      out += "]";
    }
    return out + "}";
  }

  void clear() override { tables_.clear(); }

 private:
  Reply create(const std::string& table, const httplib::Request& req) {
    WriteBody body;
    if (auto refused = readWriteBody(req.body, false, body)) return *refused;
    std::vector<Record>& records = tables_[table];
    std::string out = "{\"records\":[";
    for (const auto& sent : body.records->GetArray()) {
      Record record{recordId(++created_), nowIso8601(), {}};
      applyFields(record, *findMember(sent, "fields"));
      out += (out.back() == '[' ? "" : ",") + recordJson(record);
      records.push_back(std::move(record));
    }
    return Reply{200, out + "]}"};
  }

  Reply update(const std::string& table, const httplib::Request& req) {
    WriteBody body;
    if (auto refused = readWriteBody(req.body, true, body)) return *refused;
    std::vector<Record>& records = tables_[table];
    std::vector<Record*> targets;
    for (const auto& sent : body.records->GetArray()) {
      Record* record = find(records, asStringView(*findMember(sent, "id")));
      if (!record)
        return airtableError(
            404, "NOT_FOUND",
            "Could not find record " + std::string(asStringView(*findMember(sent, "id"))));
      targets.push_back(record);
    }
    std::string out = "{\"records\":[";
    for (size_t i = 0; i < targets.size(); ++i) {
      applyFields(*targets[i], *findMember(body.records->GetArray()[i], "fields"));
      out += (i ? "," : "") + recordJson(*targets[i]);
    }
    return Reply{200, out + "]}"};
  }

  // DELETE ?records[]=recA&records[]=recB
  Reply remove(const std::string& table, const httplib::Request& req) {
    std::vector<std::string> ids;
    for (const auto& [key, value] : req.params) {
      if (key != "records[]") return invalidRequest();
      ids.push_back(value);
    }
    if (ids.empty() || ids.size() > kMaxRecords) return invalidRecords();
    std::vector<Record>& records = tables_[table];
    for (const std::string& id : ids)
      if (!find(records, id)) return Reply{404, R"({"error":"NOT_FOUND"})"};
    std::string out = "{\"records\":[";
    for (size_t i = 0; i < ids.size(); ++i) {
      std::erase_if(records, [&](const Record& record) { return record.id == ids[i]; });
      out += (i ? "," : "") + std::string("{\"id\":") + quote(ids[i]) + ",\"deleted\":true}";
    }
    return Reply{200, out + "]}"};
  }

  static Record* find(std::vector<Record>& records, std::string_view id) {
    for (Record& record : records)
      if (record.id == id) return &record;
    return nullptr;
  }

  std::map<std::string, std::vector<Record>> tables_;  // under gate.mutex()
  std::uint64_t created_ = 0;
};

}  // namespace

std::unique_ptr<Dialect> makeAirtableDialect() {
  return std::make_unique<AirtableDialect>();
}

}  // namespace fakeapi
