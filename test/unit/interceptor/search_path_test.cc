// search_path: reading a setting's value and SET statements, and how the classifier resolves
// unqualified names with it.
#include <catch2/catch.hpp>

#include "interceptor/classifier.h"
#include "interceptor/search_path.h"

using namespace apibouncer::interceptor;
using Schemas = std::vector<std::string>;

TEST_CASE("a search_path value: quoting, case folding and $user", "[search_path]") {
  CHECK(parseSearchPath("\"$user\", public", "app") == Schemas{"app", "public"});
  CHECK(parseSearchPath("CRM,  \"Mixed\"\"Case\" ,public", "u") ==
        Schemas{"crm", "Mixed\"Case", "public"});
  CHECK(parseSearchPath("", "u").empty());
  CHECK(parseSearchPath(kDefaultSearchPath, "bob") == Schemas{"bob", "public"});
}

TEST_CASE("SET, RESET and SET LOCAL of search_path", "[search_path]") {
  auto set = searchPathChange("SET search_path TO crm, public");
  REQUIRE(set);
  REQUIRE(*set);
  CHECK(**set == Schemas{"crm", "public"});
  auto quoted = searchPathChange("set SESSION search_path = \"$user\", \"Odd\"");
  REQUIRE((quoted && *quoted));
  CHECK(**quoted == Schemas{"$user", "Odd"});
  for (const char* reset : {"RESET search_path", "SET search_path TO DEFAULT"}) {
    auto change = searchPathChange(reset);
    INFO(reset);
    REQUIRE(change);
    CHECK_FALSE(*change);  // back to the role's default
  }
  CHECK_FALSE(searchPathChange("SET LOCAL search_path = crm"));  // ends with the transaction
  CHECK_FALSE(searchPathChange("SELECT 1"));
  CHECK_FALSE(searchPathChange("SELECT current_setting('search_path')"));
  auto last = searchPathChange("SET search_path = a; SET search_path = b");
  REQUIRE((last && *last));
  CHECK(**last == Schemas{"b"});
}

TEST_CASE("unqualified names resolve along the search_path, first relation wins", "[search_path]") {
  SyncConfig config;
  TableConfig crm;
  crm.schema = "crm";
  crm.table = "customers";
  config.tables.push_back(crm);
  Classifier classifier(config);
  const char* sql = "INSERT INTO customers (name) VALUES ('x')";
  using Kind = Classification::Kind;

  CHECK(classifier.classify(sql).kind == Kind::kPassThrough);  // default: public only
  NameResolution crm_first;
  crm_first.search_path = {"crm", "public"};
  Classification found = classifier.classify(sql, crm_first);
  REQUIRE(found.kind == Kind::kSyncedWrite);
  CHECK(found.writes.front().table->schema == "crm");

  std::set<QualifiedName> relations = {{"crm", "customers"}, {"app", "customers"}};
  NameResolution shadowed;
  shadowed.search_path = {"app", "crm"};
  shadowed.relations = &relations;
  CHECK(classifier.classify(sql, shadowed).kind == Kind::kPassThrough);  // app.customers
  NameResolution missing_first;
  missing_first.search_path = {"nothing_here", "crm"};
  missing_first.relations = &relations;
  CHECK(classifier.classify(sql, missing_first).kind == Kind::kSyncedWrite);
  // Qualified names do not depend on the path.
  CHECK(classifier.classify("DELETE FROM crm.customers", shadowed).kind == Kind::kSyncedWrite);
}
