// Parsing and validating apibouncer's own ini sections (see sync_config.h).
#include "interceptor/sync_config.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace apibouncer::interceptor {
namespace {

struct PlatformInfo {
  Platform platform;
  std::string_view name;
  RowLimits limits;
  int batch_max;  // the API's own ceiling for one request (0: none), which max_* cannot pass
};
// Rows per statement (insert / update / delete), from each API's batch limits. HubSpot inserts
// default to 1 because batch creates come back in no particular order (adapters-spec §2).
constexpr PlatformInfo kPlatforms[] = {
    {Platform::kStripe, "stripe", {100, 100, 100}, 0},
    {Platform::kSalesforce, "salesforce", {200, 200, 200}, 200},
    {Platform::kHubspot, "hubspot", {1, 100, 100}, 100},
    {Platform::kAirtable, "airtable", {10, 10, 10}, 10},
    {Platform::kGithub, "github", {100, 100, 100}, 0},
    {Platform::kHttp, "http", {100, 100, 100}, 0},
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Reads one section, remembering where each value came from for errors.
class SectionReader {
 public:
  SectionReader(const RawSection& section, SyncConfigError& error)
      : section_(section), error_(error) {}

  bool fail(std::string_view key, std::string reason) {
    auto it = section_.entries.find(std::string(key));
    error_ = SyncConfigError{it != section_.entries.end() ? it->second.file : section_.file,
                             it != section_.entries.end() ? it->second.line : section_.line,
                             section_.name, std::string(key), std::move(reason)};
    return false;
  }
  // Refuses keys not in `known` (a typo must not silently leave a table unprotected).
  bool onlyKeys(std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : section_.entries) {
      bool found = false;
      for (std::string_view k : known) found |= key == k;
      if (!found) return fail(key, "unknown key");
    }
    return true;
  }
  const std::string* get(std::string_view key) const {
    auto it = section_.entries.find(std::string(key));
    return it == section_.entries.end() ? nullptr : &it->second.value;
  }
  bool required(std::string_view key, std::string& out) {
    const std::string* value = get(key);
    if (value == nullptr || value->empty()) return fail(key, "is required");
    out = *value;
    return true;
  }
  bool positiveInt(std::string_view key, int& out, int min = 1) {
    const std::string* value = get(key);
    if (value == nullptr) return true;
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(value->c_str(), &end, 10);
    if (errno != 0 || end == value->c_str() || *end != '\0' || v < min || v > 1000000)
      return fail(key, "must be an integer from " + std::to_string(min) + " to 1000000");
    out = static_cast<int>(v);
    return true;
  }
  bool seconds(std::string_view key, double& out) {
    const std::string* value = get(key);
    if (value == nullptr) return true;
    char* end = nullptr;
    double v = std::strtod(value->c_str(), &end);
    if (end == value->c_str() || *end != '\0' || !(v > 0) || v > 86400)
      return fail(key, "must be a number of seconds above 0");
    out = v;
    return true;
  }

 private:
  const RawSection& section_;
  SyncConfigError& error_;
};

// "25/s", "100/m", "1000/h" (also "/min", "/sec", "/hour").
bool parseRate(std::string_view text, double& per_second) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  std::string count(trim(text.substr(0, slash)));
  std::string_view unit = trim(text.substr(slash + 1));
  char* end = nullptr;
  double n = std::strtod(count.c_str(), &end);
  if (count.empty() || *end != '\0' || !(n > 0)) return false;
  if (unit == "s" || unit == "sec" || unit == "second")
    per_second = n;
  else if (unit == "m" || unit == "min" || unit == "minute")
    per_second = n / 60.0;
  else if (unit == "h" || unit == "hour")
    per_second = n / 3600.0;
  else
    return false;
  return true;
}

bool parseApi(const RawSection& raw, ApiConfig& api, const SecretReader& read_secret,
              SyncConfigError& error) {
  SectionReader in(raw, error);
  api.name = raw.name.substr(4);
  if (api.name.empty()) return in.fail("", "section [api.NAME] needs a name");
  if (!in.onlyKeys({"platform", "base_url", "api_key", "rate_limit", "client_id", "client_secret",
                    "refresh_token", "token_url", "token_file"}))
    return false;
  std::string platform;
  if (!in.required("platform", platform)) return false;
  bool known = false;
  for (const auto& info : kPlatforms)
    if (info.name == platform) {
      api.platform = info.platform;
      known = true;
    }
  if (!known)
    return in.fail("platform", "must be stripe, salesforce, hubspot, airtable, github or http");
  if (!in.required("base_url", api.base_url)) return false;
  if (!api.base_url.starts_with("http://") && !api.base_url.starts_with("https://"))
    return in.fail("base_url", "must start with http:// or https://");
  while (api.base_url.ends_with('/')) api.base_url.pop_back();
  for (auto [key, out] : {std::pair{"api_key", &api.api_key},
                          {"client_id", &api.client_id},
                          {"client_secret", &api.client_secret},
                          {"refresh_token", &api.refresh_token},
                          {"token_url", &api.token_url}}) {
    const std::string* spec = in.get(key);
    if (spec == nullptr) continue;
    std::string reason;
    auto secret = read_secret(*spec, reason);
    if (!secret) return in.fail(key, reason);
    *out = *secret;
  }
  if (const std::string* rate = in.get("rate_limit");
      rate != nullptr && !parseRate(*rate, api.rate_limit_per_second))
    return in.fail("rate_limit", "must look like 25/s, 100/m or 1000/h");
  if (const std::string* file = in.get("token_file")) api.token_file = *file;
  // OAuth is on when a refresh token is given; it then needs where and as whom to refresh.
  if (!api.refresh_token.empty()) {
    if (api.token_url.empty())
      return in.fail("refresh_token", "needs token_url (the platform's OAuth token endpoint)");
    if (!api.token_url.starts_with("http://") && !api.token_url.starts_with("https://"))
      return in.fail("token_url", "must start with http:// or https://");
    if (api.client_id.empty()) return in.fail("refresh_token", "needs client_id");
  } else if (!api.token_url.empty() || !api.token_file.empty()) {
    return in.fail(api.token_url.empty() ? "token_file" : "token_url",
                   "only means something with refresh_token (OAuth)");
  }
  return true;
}

bool parseColumnMap(std::string_view text, TableConfig& table) {
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view pair = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (pair.empty()) continue;
    size_t colon = pair.find(':');
    if (colon == std::string_view::npos) return false;
    std::string_view column = trim(pair.substr(0, colon)), field = trim(pair.substr(colon + 1));
    if (column.empty() || field.empty()) return false;
    table.column_map.emplace_back(column, field);
  }
  return true;
}

bool parseTable(const RawSection& raw, const SyncConfig& config,
                const std::set<std::string>& databases, TableConfig& table,
                SyncConfigError& error) {
  SectionReader in(raw, error);
  std::string_view name = std::string_view(raw.name).substr(6);
  size_t dot = name.find('.');
  table.schema = dot == std::string_view::npos ? "public" : std::string(name.substr(0, dot));
  table.table = std::string(dot == std::string_view::npos ? name : name.substr(dot + 1));
  if (table.schema.empty() || table.table.empty() || table.table.find('.') != std::string::npos)
    return in.fail("", "section must be [table.SCHEMA.TABLE] or [table.TABLE]");
  if (!in.onlyKeys({"database", "api", "object", "primary_key", "column_map", "max_insert",
                    "max_update", "max_delete"}))
    return false;
  if (!in.required("database", table.database) || !in.required("api", table.api) ||
      !in.required("object", table.object))
    return false;
  if (!databases.contains(table.database) && !databases.contains("*"))
    return in.fail("database", "no [databases] entry named '" + table.database + "'");
  auto api = config.apis.find(table.api);
  if (api == config.apis.end()) return in.fail("api", "no [api." + table.api + "] section");
  if (const std::string* pk = in.get("primary_key")) {
    if (pk->empty()) return in.fail("primary_key", "must name a column");
    table.primary_key = *pk;
  }
  if (const std::string* map = in.get("column_map"); map && !parseColumnMap(*map, table))
    return in.fail("column_map", "must look like column:field, column:field");
  table.limits = defaultRowLimits(api->second.platform);
  if (!in.positiveInt("max_insert", table.limits.insert) ||
      !in.positiveInt("max_update", table.limits.update) ||
      !in.positiveInt("max_delete", table.limits.del))
    return false;
  for (const auto& info : kPlatforms) {
    if (info.platform != api->second.platform || info.batch_max == 0) continue;
    for (auto [key, value] : {std::pair{"max_insert", table.limits.insert},
                              {"max_update", table.limits.update},
                              {"max_delete", table.limits.del}})
      if (value > info.batch_max)
        return in.fail(key, std::string(info.name) + " takes at most " +
                                std::to_string(info.batch_max) + " rows in one request");
  }
  return true;
}

}  // namespace

std::string_view platformName(Platform platform) {
  for (const auto& info : kPlatforms)
    if (info.platform == platform) return info.name;
  return "http";
}

RowLimits defaultRowLimits(Platform platform) {
  for (const auto& info : kPlatforms)
    if (info.platform == platform) return info.limits;
  return {};
}

const TableConfig* SyncConfig::findTable(std::string_view schema, std::string_view table) const {
  if (schema.empty()) schema = "public";
  for (const auto& t : tables)
    if (t.table == table && t.schema == schema) return &t;
  return nullptr;
}

std::string SyncConfigError::message() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": [" + section + "]";
  if (!key.empty()) out += " key '" + key + "'";
  return out + ": " + reason;
}

std::optional<std::string> readSecret(std::string_view spec, std::string& error) {
  if (spec.starts_with("env:")) {
    std::string name(spec.substr(4));
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      error = "environment variable " + name + " is not set";
      return std::nullopt;
    }
    return std::string(value);
  }
  if (spec.starts_with("file:")) {
    std::string path(spec.substr(5));
    std::ifstream in(path);
    if (!in) {
      error = "cannot read " + path;
      return std::nullopt;
    }
    std::stringstream contents;
    contents << in.rdbuf();
    std::string secret = contents.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    return secret;
  }
  return std::string(spec);
}

std::variant<SyncConfig, SyncConfigError> parseSyncConfig(const std::vector<RawSection>& sections,
                                                          const std::set<std::string>& databases,
                                                          const SecretReader& read_secret) {
  SyncConfig config;
  SyncConfigError error;
  // [apibouncer] and the APIs first: tables refer to both.
  for (const RawSection& raw : sections) {
    if (raw.name == "apibouncer") {
      SectionReader in(raw, error);
      if (!in.onlyKeys({"writer_user", "write_pool_size", "api_timeout", "metrics_port"}) ||
          !in.positiveInt("write_pool_size", config.settings.write_pool_size) ||
          !in.seconds("api_timeout", config.settings.api_timeout) ||
          !in.positiveInt("metrics_port", config.settings.metrics_port, 0))
        return error;
      if (const std::string* writer = in.get("writer_user")) config.settings.writer_user = *writer;
    } else if (raw.name.starts_with("api.")) {
      ApiConfig api;
      if (!parseApi(raw, api, read_secret, error)) return error;
      config.apis[api.name] = std::move(api);
    }
  }
  for (const RawSection& raw : sections) {
    if (!raw.name.starts_with("table.")) continue;
    TableConfig table;
    if (!parseTable(raw, config, databases, table, error)) return error;
    if (config.findTable(table.schema, table.table) != nullptr)
      return SyncConfigError{raw.file, raw.line, raw.name, "", "table configured twice"};
    config.tables.push_back(std::move(table));
  }
  if (!config.tables.empty() && config.settings.writer_user.empty()) {
    for (const RawSection& raw : sections)
      if (raw.name == "apibouncer")
        return SyncConfigError{raw.file, raw.line, raw.name, "writer_user",
                               "is required when tables are synced"};
    return SyncConfigError{"", 0, "apibouncer", "writer_user",
                           "is required when tables are synced (add an [apibouncer] section)"};
  }
  return config;
}

}  // namespace apibouncer::interceptor
