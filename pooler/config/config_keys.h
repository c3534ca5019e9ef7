// The declarative table of every [pgbouncer] key PgBouncer 1.25 knows: its type, default,
// where it lives in Settings, and whether apibouncer implements it. Drives parsing (and later
// SHOW CONFIG and SET).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "pooler/config/config.h"

namespace apibouncer::config {

enum class KeyType { kBool, kInt, kOctal, kSeconds, kString, kPoolMode, kAuthType, kSslMode };

struct KeyInfo {
  std::string_view name;
  KeyType type;
  std::variant<bool Settings::*, int Settings::*, double Settings::*, std::string Settings::*,
               PoolMode Settings::*, AuthType Settings::*>
      member;
  bool implemented;
};

std::span<const KeyInfo> allKeys();
const KeyInfo* findKey(std::string_view name);  // case-insensitive

// Parses `value` for `key` into `settings`. False with `reason` set if the value is bad.
bool applyKey(const KeyInfo& key, std::string_view value, Settings& settings, std::string& reason);
// The current value as text (for SHOW CONFIG and messages).
std::string valueText(const KeyInfo& key, const Settings& settings);

// Value parsers shared with the connection-string parser.
bool parseBool(std::string_view text, bool& out);
bool parseInt(std::string_view text, int& out);
bool parseSeconds(std::string_view text, double& out);

}  // namespace apibouncer::config
