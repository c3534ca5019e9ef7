// The README's per-platform samples (etc/platforms/*.ini) are real configuration: each one,
// %included into a PgBouncer-style ini, loads (apibouncer --guard-sql reads the whole config,
// secrets included) and yields the guard SQL for its table.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "fixture.h"

using namespace itest;

TEST_CASE("platform samples in etc/platforms load as they are", "[platform][samples]") {
  struct Sample {
    const char* file;
    const char* table;
  };
  for (Sample sample :
       {Sample{"stripe.ini", "stripe_customers"}, Sample{"salesforce.ini", "sf_accounts"},
        Sample{"hubspot.ini", "hs_contacts"}, Sample{"airtable.ini", "at_tasks"},
        Sample{"github.ini", "gh_issues"}}) {
    DYNAMIC_SECTION(sample.file) {
      char dir_template[] = "/tmp/apibouncer-sample-XXXXXX";
      REQUIRE(mkdtemp(dir_template) != nullptr);
      std::string dir = dir_template;
      {
        std::ofstream users(dir + "/userlist.txt");
        users << "\"app\" \"app-secret\"\n\"apibouncer_writer\" \"w\"\n";
        std::ofstream ini(dir + "/apibouncer.ini");
        ini << "[databases]\napp = host=127.0.0.1 port=5432 dbname=app\n"
            << "[pgbouncer]\nlisten_port = 6432\nauth_file = " << dir << "/userlist.txt\n"
            << "[apibouncer]\nwriter_user = apibouncer_writer\n"
            << "%include " << SAMPLE_CONFIG_DIR << "/platforms/" << sample.file << "\n";
      }
      // The samples read their secrets from the environment, as a deployment would.
      std::string env;
      for (const char* name : {"STRIPE_SECRET_KEY", "SF_CLIENT_ID", "SF_CLIENT_SECRET",
                               "SF_REFRESH_TOKEN", "HUBSPOT_CLIENT_ID", "HUBSPOT_CLIENT_SECRET",
                               "HUBSPOT_REFRESH_TOKEN", "AIRTABLE_CLIENT_ID",
                               "AIRTABLE_CLIENT_SECRET", "AIRTABLE_REFRESH_TOKEN", "GITHUB_TOKEN"})
        env += std::string(name) + "=sample-secret ";
      int status = -1;
      std::string out =
          runCommand(env + poolerBinary() + " --guard-sql " + dir + "/apibouncer.ini", status);
      INFO(out);
      CHECK(status == 0);
      CHECK(out.find(std::string("public.") + sample.table) != std::string::npos);
      CHECK(out.find("sample-secret") == std::string::npos);
      std::remove((dir + "/apibouncer.ini").c_str());
      std::remove((dir + "/userlist.txt").c_str());
      std::remove(dir.c_str());
    }
  }
}
