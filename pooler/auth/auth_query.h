// auth_query: the SQL that looks up a user's secret (its $1 bound to the user name as a
// literal) and the reading of its answer. Pure: the query runs on a server link elsewhere.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooler/auth/auth_file.h"

namespace apibouncer::auth {

// `query` with every $1 replaced by `user` as an escaped string literal (E'...'), which reads
// the same whatever standard_conforming_strings says. The query runs as simple Query, so
// there is nothing else to bind.
std::string bindAuthQuery(std::string_view query, std::string_view user);

// The answer's first row: (user name, secret). No row: the user is unknown. A NULL or empty
// secret (no password, or rolvaliduntil passed): no secret either — the login then fails
// as a wrong password would, without saying which it was.
std::optional<Secret> secretFromAuthQueryRow(const std::vector<std::optional<std::string>>& row);

}  // namespace apibouncer::auth
