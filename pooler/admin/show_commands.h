// The rows of each admin console SHOW, from the pooler's live state: PgBouncer 1.25's column
// names, order and types (doc/usage.md, src/admin.c), plus apibouncer's APIS and SYNCED_TABLES.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pooler/admin/result_set.h"

namespace apibouncer {
class Pooler;
}

namespace apibouncer::admin {

// `what` is the SHOW argument in any case ("pools", "STATS", ...); nullopt if unknown.
// HELP is not a result set (see helpMessage).
std::optional<ResultSet> showRows(Pooler& pooler, std::string_view what);

// SHOW HELP: a NOTICE listing the commands, then CommandComplete (no rows).
std::string helpMessage();

// SHOW client_encoding / datestyle / ...: the fixed values PgBouncer fakes for drivers that
// ask. nullopt if `name` is not one of them.
std::optional<ResultSet> fakeParameter(std::string_view name);
bool isFakeParameter(std::string_view name);

// Whether SET (and SHOW CONFIG's "changeable") may change `key` on a running pooler: keys
// bound to sockets or the process identity need a restart.
bool changeableOnline(std::string_view key);

}  // namespace apibouncer::admin
