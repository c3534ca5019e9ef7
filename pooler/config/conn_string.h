// Parses [databases] and [users] values: space-separated key=value pairs, values optionally
// single-quoted with '' as an escaped quote (PgBouncer's libpq-like syntax).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pooler/config/config.h"

namespace apibouncer::config {

// Splits into (key, value) pairs. False with `reason` on a missing '=' or unterminated quote.
bool splitConnString(std::string_view text, std::vector<std::pair<std::string, std::string>>& out,
                     std::string& reason);

// `error_key` names the offending key when parsing fails.
bool parseDatabaseEntry(std::string_view name, std::string_view value, DatabaseConfig& out,
                        std::string& error_key, std::string& reason);
bool parseUserEntry(std::string_view name, std::string_view value, UserConfig& out,
                    std::string& error_key, std::string& reason);
// A [peers] line: `name` is the peer_id (1..16383), `value` host=, port=, pool_size=.
bool parsePeerEntry(std::string_view name, std::string_view value, PeerConfig& out,
                    std::string& error_key, std::string& reason);

}  // namespace apibouncer::config
