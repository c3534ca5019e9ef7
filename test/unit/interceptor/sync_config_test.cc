// apibouncer's own ini sections: what loads, and the file:line errors for what does not.
#include <catch2/catch.hpp>

#include "interceptor/sync_config.h"

using namespace apibouncer::interceptor;

namespace {

RawSection section(std::string name, std::map<std::string, std::string> entries, int line = 10) {
  RawSection raw{std::move(name), "app.ini", line, {}};
  int n = line;
  for (auto& [key, value] : entries) raw.entries[key] = RawValue{value, "app.ini", ++n};
  return raw;
}

std::vector<RawSection> validSections() {
  return {
      section("apibouncer", {{"writer_user", "writer"}, {"api_timeout", "5"}}),
      section("api.stripe", {{"platform", "stripe"},
                             {"base_url", "http://127.0.0.1:9999/"},
                             {"api_key", "sk_test_literal"},
                             {"rate_limit", "25/s"}}),
      section("table.public.stripe_customer", {{"database", "app"},
                                               {"api", "stripe"},
                                               {"object", "customer"},
                                               {"column_map", "full_name:name, mail:email"}}),
      section(
          "table.contacts",
          {{"database", "app"}, {"api", "stripe"}, {"object", "contact"}, {"max_insert", "3"}})};
}

SyncConfigError errorOf(const std::vector<RawSection>& sections) {
  auto parsed = parseSyncConfig(sections, {"app"});
  REQUIRE(std::holds_alternative<SyncConfigError>(parsed));
  return std::get<SyncConfigError>(parsed);
}

}  // namespace

TEST_CASE("a full sync config loads with platform limits and overrides", "[sync_config]") {
  auto parsed = parseSyncConfig(validSections(), {"app"});
  REQUIRE(std::holds_alternative<SyncConfig>(parsed));
  const SyncConfig& config = std::get<SyncConfig>(parsed);
  CHECK(config.settings.writer_user == "writer");
  CHECK(config.settings.api_timeout == 5.0);
  const ApiConfig& api = config.apis.at("stripe");
  CHECK(api.platform == Platform::kStripe);
  CHECK(api.base_url == "http://127.0.0.1:9999");  // trailing slash dropped
  CHECK(api.api_key == "sk_test_literal");
  CHECK(api.rate_limit_per_second == 25.0);
  const TableConfig* customer = config.findTable("public", "stripe_customer");
  REQUIRE(customer != nullptr);
  CHECK(customer->primary_key == "id");
  CHECK(customer->limits.insert == 100);
  REQUIRE(customer->column_map.size() == 2);
  CHECK(customer->column_map[0] == std::pair<std::string, std::string>{"full_name", "name"});
  const TableConfig* contacts = config.findTable("", "contacts");  // [table.TABLE] is public
  REQUIRE(contacts != nullptr);
  CHECK(contacts->limits.insert == 3);
  CHECK(contacts->limits.update == 100);
  CHECK(config.findTable("other", "contacts") == nullptr);
}

TEST_CASE("each platform has the documented row limits", "[sync_config]") {
  auto limits = [](Platform p) {
    RowLimits l = defaultRowLimits(p);
    return std::vector<int>{l.insert, l.update, l.del};
  };
  CHECK(limits(Platform::kAirtable) == std::vector<int>{10, 10, 10});
  CHECK(limits(Platform::kHubspot) == std::vector<int>{1, 100, 100});
  CHECK(limits(Platform::kSalesforce) == std::vector<int>{200, 200, 200});
  CHECK(limits(Platform::kStripe) == std::vector<int>{100, 100, 100});
  CHECK(limits(Platform::kGithub) == std::vector<int>{100, 100, 100});
}

TEST_CASE("sync config errors name file, line, section and key", "[sync_config]") {
  auto sections = validSections();
  sections[2].entries["api"].value = "nope";
  SyncConfigError error = errorOf(sections);
  CHECK(error.section == "table.public.stripe_customer");
  CHECK(error.key == "api");
  CHECK(error.message().find("app.ini:") == 0);
  CHECK(error.reason == "no [api.nope] section");

  sections = validSections();
  sections[1].entries["bogus"] = RawValue{"1", "app.ini", 42};
  error = errorOf(sections);
  CHECK(error.line == 42);
  CHECK(error.reason == "unknown key");

  sections = validSections();
  sections[1].entries["platform"].value = "myspace";
  CHECK(errorOf(sections).key == "platform");

  sections = validSections();
  sections[3].entries["max_insert"].value = "0";
  CHECK(errorOf(sections).key == "max_insert");

  sections = validSections();
  sections[3].entries["database"].value = "elsewhere";
  CHECK(errorOf(sections).reason == "no [databases] entry named 'elsewhere'");

  sections = validSections();
  sections[1].entries["rate_limit"].value = "fast";
  CHECK(errorOf(sections).key == "rate_limit");

  sections = validSections();
  sections.erase(sections.begin());  // no [apibouncer]: nobody to write as
  CHECK(errorOf(sections).key == "writer_user");
}

TEST_CASE("secrets come from env:, file: or the literal", "[sync_config]") {
  std::string error;
  ::setenv("APIBOUNCER_TEST_SECRET", "from-env", 1);
  CHECK(readSecret("env:APIBOUNCER_TEST_SECRET", error) == std::optional<std::string>("from-env"));
  CHECK_FALSE(readSecret("env:APIBOUNCER_TEST_MISSING", error));
  CHECK(error == "environment variable APIBOUNCER_TEST_MISSING is not set");
  CHECK_FALSE(readSecret("file:/nonexistent/secret", error));
  CHECK(readSecret("plain", error) == std::optional<std::string>("plain"));
  auto sections = validSections();
  sections[1].entries["api_key"].value = "env:APIBOUNCER_TEST_MISSING";
  CHECK(errorOf(sections).key == "api_key");
}

TEST_CASE("OAuth needs its token endpoint and client, and nothing else means OAuth",
          "[sync_config]") {
  auto with = [](std::map<std::string, std::string> keys) {
    auto sections = validSections();
    for (auto& [key, value] : keys) sections[1].entries[key] = RawValue{value, "app.ini", 40};
    return sections;
  };
  auto parsed = parseSyncConfig(with({{"refresh_token", "rt-1"},
                                      {"client_id", "cid"},
                                      {"client_secret", "cs"},
                                      {"token_url", "https://login.example/token"},
                                      {"token_file", "/var/lib/apibouncer/stripe.token"}}),
                                {"app"});
  REQUIRE(std::holds_alternative<SyncConfig>(parsed));
  const ApiConfig& api = std::get<SyncConfig>(parsed).apis.at("stripe");
  CHECK(api.refresh_token == "rt-1");
  CHECK(api.token_file == "/var/lib/apibouncer/stripe.token");

  SyncConfigError no_url = errorOf(with({{"refresh_token", "rt-1"}, {"client_id", "cid"}}));
  CHECK(no_url.key == "refresh_token");
  CHECK(no_url.reason.find("token_url") != std::string::npos);
  SyncConfigError no_client =
      errorOf(with({{"refresh_token", "rt-1"}, {"token_url", "https://login.example/token"}}));
  CHECK(no_client.reason.find("client_id") != std::string::npos);
  SyncConfigError bad_url = errorOf(
      with({{"refresh_token", "rt-1"}, {"client_id", "cid"}, {"token_url", "login.example"}}));
  CHECK(bad_url.key == "token_url");
  SyncConfigError stray = errorOf(with({{"token_file", "/tmp/x"}}));
  CHECK(stray.key == "token_file");
  CHECK(stray.reason.find("refresh_token") != std::string::npos);
}

TEST_CASE("max_* cannot pass what the platform takes in one request", "[sync_config]") {
  auto airtable = [](std::string max_update) {
    auto sections = validSections();
    sections[1].entries["platform"] = RawValue{"airtable", "app.ini", 11};
    sections[2].entries["max_update"] = RawValue{std::move(max_update), "app.ini", 30};
    sections.pop_back();  // the second table keeps the defaults
    return sections;
  };
  auto parsed = parseSyncConfig(airtable("5"), {"app"});
  REQUIRE(std::holds_alternative<SyncConfig>(parsed));
  CHECK(std::get<SyncConfig>(parsed).findTable("public", "stripe_customer")->limits.update == 5);
  SyncConfigError error = errorOf(airtable("11"));
  CHECK(error.key == "max_update");
  CHECK(error.reason == "airtable takes at most 10 rows in one request");
}
