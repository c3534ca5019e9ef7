// CopyInSyncs: which Syncs the server ignores around COPY FROM STDIN, for every order in which
// a client may send the copy, and for a COPY that never started.
#include <catch2/catch.hpp>

#include "pooler/copy_in_syncs.h"
#include "pooler/reply_counter.h"
#include "pooler/wire/frontend.h"

using namespace apibouncer;
namespace fe = apibouncer::wire::fe;

TEST_CASE("CopyInSyncs: the Syncs of a COPY FROM STDIN are taken back", "[copy]") {
  CopyInSyncs copy;
  SECTION("libpq: Execute and Sync, then the copy once the server asked for it") {
    for (char type : {fe::kParse, fe::kBind, fe::kDescribe, fe::kExecute, fe::kSync})
      CHECK(copy.see(type));
    CHECK(copy.onCopyIn() == 1);
    CHECK_FALSE(copy.see(fe::kSync));  // during the copy: ignored by the server
    CHECK_FALSE(copy.see(fe::kFlush));
    CHECK(copy.see(fe::kCopyData));
    CHECK(copy.see(fe::kCopyDone));
    CHECK(copy.see(fe::kSync));  // after it: answered
    CHECK(copy.see(fe::kFlush));
  }
  SECTION("a client that sends the copy before the server's answer") {
    for (char type : {fe::kExecute, fe::kSync, fe::kCopyData, fe::kCopyDone, fe::kSync})
      CHECK(copy.see(type));
    CHECK(copy.onCopyIn() == 1);  // only the Sync before CopyDone
    CHECK(copy.see(fe::kSync));
  }
  SECTION("a simple-protocol COPY owes its own ReadyForQuery") {
    copy.see(fe::kQuery);
    CHECK(copy.onCopyIn() == 0);
    CHECK_FALSE(copy.see(fe::kSync));
    CHECK(copy.see(fe::kCopyFail));
    CHECK(copy.see(fe::kSync));
  }
  SECTION("copy data after a COPY that failed before starting changes nothing") {
    for (char type : {fe::kExecute, fe::kSync, fe::kCopyData, fe::kCopyDone, fe::kSync})
      CHECK(copy.see(type));
    CHECK(copy.see(fe::kExecute));  // the next statement starts a new count
    CHECK(copy.see(fe::kSync));
    CHECK(copy.onCopyIn() == 1);
  }
}

TEST_CASE("ReplyCounter: a COPY FROM STDIN in the extended protocol settles", "[copy]") {
  ReplyCounter replies;
  for (char type : {'P', 'B', 'D', 'E', 'S'}) replies.sent(type);
  for (char type : {'1', '2', 'n', 'G'}) replies.received(type);
  for (char type : {'d', 'c', 'S'}) replies.sent(type);
  CHECK_FALSE(replies.settled());
  replies.received('C');
  CHECK_FALSE(replies.settled());  // its ReadyForQuery is still owed
  replies.received('Z');
  CHECK(replies.settled());

  SECTION("the copy sent before the server asked for it") {
    for (char type : {'P', 'B', 'E', 'S', 'd', 'c', 'S'}) replies.sent(type);
    for (char type : {'1', '2', 'G', 'C'}) replies.received(type);
    CHECK_FALSE(replies.settled());
    replies.received('Z');
    CHECK(replies.settled());
  }
}
