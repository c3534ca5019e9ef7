// parseStartupOptions: the "options" startup parameter split as PostgreSQL splits it.
#include "pooler/startup_options.h"

#include <catch2/catch.hpp>

using apibouncer::parseStartupOptions;

namespace {

// "name=value" for each setting, or "refused".
std::vector<std::string> settingsOf(std::string_view text) {
  auto options = parseStartupOptions(text);
  if (!options) return {"refused"};
  std::vector<std::string> out;
  for (const auto& option : *options) out.push_back(option.name + "=" + option.value);
  return out;
}

}  // namespace

TEST_CASE("startup options: -c settings in their three spellings", "[startup_options]") {
  CHECK(settingsOf("") == std::vector<std::string>{});
  CHECK(settingsOf("  ") == std::vector<std::string>{});
  CHECK(settingsOf("-c TimeZone=UTC") == std::vector<std::string>{"TimeZone=UTC"});
  CHECK(settingsOf("-cTimeZone=UTC --DateStyle=ISO") ==
        std::vector<std::string>{"TimeZone=UTC", "DateStyle=ISO"});
  CHECK(settingsOf("\t-c  search_path=a,b\n-c application_name=") ==
        std::vector<std::string>{"search_path=a,b", "application_name="});
  CHECK(settingsOf("-c statement-timeout=5s") == std::vector<std::string>{"statement_timeout=5s"});
  CHECK(settingsOf("-c a=b=c") == std::vector<std::string>{"a=b=c"});
}

TEST_CASE("startup options: a backslash keeps the next character in the word",
          "[startup_options]") {
  CHECK(settingsOf("-c search_path=a,\\ b") == std::vector<std::string>{"search_path=a, b"});
  CHECK(settingsOf("-c application_name=C:\\\\app") ==
        std::vector<std::string>{"application_name=C:\\app"});
  CHECK(settingsOf("-c application_name=x\\") == std::vector<std::string>{"application_name=x"});
}

TEST_CASE("startup options: anything but settings is refused", "[startup_options]") {
  CHECK(settingsOf("-X") == std::vector<std::string>{"refused"});
  CHECK(settingsOf("-c") == std::vector<std::string>{"refused"});
  CHECK(settingsOf("-c TimeZone") == std::vector<std::string>{"refused"});
  CHECK(settingsOf("-c =UTC") == std::vector<std::string>{"refused"});
  CHECK(settingsOf("TimeZone=UTC") == std::vector<std::string>{"refused"});
  CHECK(settingsOf("-c TimeZone=UTC -B 100") == std::vector<std::string>{"refused"});
}
