// apibouncer's own configuration sections, read from the same ini as PgBouncer's:
//   [apibouncer]           writer_user, write_pool_size, api_timeout, metrics_port
//   [api.NAME]             platform, base_url, api_key (env:NAME | file:PATH | literal),
//                          rate_limit (N/s, N/m, N/h), and OAuth: client_id, client_secret,
//                          refresh_token, token_url, token_file
//   [table.SCHEMA.TABLE]   database, api, object, primary_key, column_map, max_insert,
//                          max_update, max_delete
// Pure: the pooler hands over the raw sections (with file and line for every value) and gets
// back a validated SyncConfig or the first error, with file, line, section and key.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace apibouncer::interceptor {

struct RawValue {
  std::string value;
  std::string file;
  int line = 0;
};
struct RawSection {
  std::string name;  // "apibouncer", "api.stripe", "table.public.customers"
  std::string file;
  int line = 0;                             // where the section's first key is
  std::map<std::string, RawValue> entries;  // lower-case key -> value
};

enum class Platform { kStripe, kSalesforce, kHubspot, kAirtable, kGithub, kHttp };
std::string_view platformName(Platform platform);

// Rows one statement may write in one API request.
struct RowLimits {
  int insert = 100, update = 100, del = 100;
};
RowLimits defaultRowLimits(Platform platform);

struct ApiConfig {
  std::string name;
  Platform platform = Platform::kHttp;
  std::string base_url;
  std::string api_key;               // resolved secret ("" if none)
  double rate_limit_per_second = 0;  // 0: unlimited
  // OAuth refresh-token flow (Salesforce, HubSpot, Airtable, GitHub App user tokens): on when
  // refresh_token is set. token_file keeps a rotated refresh token across restarts.
  std::string client_id, client_secret, refresh_token, token_url, token_file;
  bool operator==(const ApiConfig&) const = default;
};

struct TableConfig {
  std::string schema, table;  // as PostgreSQL folds them (unquoted names are lower case)
  std::string database;       // a [databases] entry
  std::string api;            // an [api.NAME]
  std::string object;         // the API's object type
  std::string primary_key = "id";
  std::vector<std::pair<std::string, std::string>> column_map;  // column -> API field
  RowLimits limits;
};

struct InterceptorSettings {
  std::string writer_user;
  int write_pool_size = 4;
  double api_timeout = 15.0;  // seconds, retries included
  int metrics_port = 0;
};

struct SyncConfig {
  InterceptorSettings settings;
  std::map<std::string, ApiConfig> apis;
  std::vector<TableConfig> tables;
  bool empty() const { return tables.empty(); }
  // The synced table `schema.table`; an empty schema matches the table in "public".
  const TableConfig* findTable(std::string_view schema, std::string_view table) const;
};

struct SyncConfigError {
  std::string file;
  int line = 0;
  std::string section, key, reason;
  std::string message() const;  // "file:line: [section] key 'k': reason"
};

// Reads a secret: "env:NAME", "file:PATH" or the literal itself. nullopt with `error` set if
// the variable or file is missing.
using SecretReader =
    std::function<std::optional<std::string>(std::string_view spec, std::string& error)>;
std::optional<std::string> readSecret(std::string_view spec, std::string& error);

// `databases` are the [databases] names (a table may name any of them, or any name if "*"
// is one of them).
std::variant<SyncConfig, SyncConfigError> parseSyncConfig(
    const std::vector<RawSection>& sections, const std::set<std::string>& databases,
    const SecretReader& read_secret = readSecret);

}  // namespace apibouncer::interceptor
