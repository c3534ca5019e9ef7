// `apibouncer --guard-sql CONFIG`: the SQL that makes writes to synced tables go through
// apibouncer only. Every role but writer_user loses INSERT, UPDATE, DELETE and TRUNCATE on
// them; writer_user gets what the write-through needs. Run it as the tables' owner or a
// superuser. A table's owner could still write directly, so the SQL hands ownership to
// writer_user (the sync that fills the tables then runs as that role too).
#pragma once

#include <set>
#include <string>

#include "interceptor/sync_config.h"

namespace apibouncer::interceptor {

// `pool_roles`: every role the config lets clients log in as (server users of the pools), so
// the SQL names them even where they got privileges by GRANT rather than through PUBLIC.
std::string guardSql(const SyncConfig& config, const std::set<std::string>& pool_roles);

// Quotes an SQL identifier when it needs quoting ("My Table", "select").
std::string quoteIdentifier(const std::string& name);
// Quotes a string literal for standard_conforming_strings = on (PostgreSQL's default).
std::string quoteLiteral(const std::string& text);

}  // namespace apibouncer::interceptor
