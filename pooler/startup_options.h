// The "options" startup parameter (libpq's options= and PGOPTIONS), read the way PostgreSQL
// splits it: words separated by blanks, a backslash keeping the next character (a blank, say)
// in the word. Of PostgreSQL's command-line switches only settings are taken, as PgBouncer
// takes them: "-c name=value", "-cname=value" and "--name=value".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace apibouncer {

struct StartupOption {
  std::string name;  // '-' read as '_', as PostgreSQL does ("statement-timeout")
  std::string value;
};

// The settings in `text` in order; nullopt if it holds anything else (another switch, a
// setting without '=').
std::optional<std::vector<StartupOption>> parseStartupOptions(std::string_view text);

}  // namespace apibouncer
