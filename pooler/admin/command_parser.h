// Parsing one admin console query as PgBouncer's admin.c does with its three regexes:
// `WORD [WORD] [;]` and `SET key =|TO value [;]`. A WORD is [0-9a-z_]+ (any case) or a
// "double-quoted" name; a SET value is a WORD or a 'single-quoted' string. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace apibouncer::admin {

struct ParsedCommand {
  enum class Kind { kCommand, kSet };
  Kind kind = Kind::kCommand;
  std::string verb;   // kCommand: lower case ("show", "pause", ...)
  std::string arg;    // kCommand: the optional argument, unquoted, case kept
  std::string key;    // kSet
  std::string value;  // kSet, unquoted
};

// nullopt when the text matches neither form (the console answers "invalid command").
std::optional<ParsedCommand> parseCommand(std::string_view query);

}  // namespace apibouncer::admin
