// Prepared statement tracking, the pure parts: the chunk editor, the reply tracker, the
// statement registry and per-link LRU, and the client-side rewriting of statement names,
// under every way the network may split the bytes.
#include <catch2/catch.hpp>

#include <string>

#include "pooler/chunk_editor.h"
#include "pooler/prepared_relay.h"
#include "pooler/prepared_statements.h"
#include "pooler/reply_tracker.h"
#include "pooler/wire/frontend.h"
#include "pooler/wire/writer.h"

using namespace apibouncer;

namespace {

std::string definitionOf(std::string_view sql) {
  return std::string(sql) + std::string("\0\0\0", 3);  // query, NUL, zero parameter types
}

// A statement known to servers as `server_name`, outside any registry.
StatementRef statementOf(std::string_view server_name, std::string_view sql) {
  return std::make_shared<const PreparedStatement>(
      PreparedStatement{std::string(server_name), definitionOf(sql)});
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string text(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// One client on one link: relays a client stream cut into `chunk`-byte pieces.
struct Relay {
  StatementRegistry& registry;
  ServerStatementCache* cache;  // the link's; a client may move to another link
  ReplyTracker& replies;
  PreparedRelay relay{registry};
  MessageScanner scanner;
  ClientRequests requests;
  size_t capacity = 200;
  int ready_owed = 0;  // ReadyForQuery the server owes, over all chunks

  Relay(StatementRegistry& r, ServerStatementCache* c, ReplyTracker& t)
      : registry(r), cache(c), replies(t) {}

  // Returns what went to the server; `to_client` gets the pooler's answers.
  std::string send(const std::string& stream, size_t chunk, std::string& to_client) {
    std::string to_server, buffer;
    for (size_t pos = 0; pos < stream.size(); pos += chunk) {
      std::string piece = stream.substr(pos, chunk);
      auto outcome = relay.relay(bytes(piece), scanner, {*cache, replies, capacity}, requests,
                                 buffer, to_client);
      REQUIRE(outcome.scan.status == MessageScanner::Result::Status::kDone);
      requests = outcome.requests;
      ready_owed += requests.expected_ready;
      to_server += text(outcome.to_server);
    }
    return to_server;
  }
};

// A new client on a new link, with a registry of its own.
struct FreshRelay {
  StatementRegistry registry;
  ServerStatementCache cache;
  ReplyTracker replies;
  Relay client{registry, &cache, replies};
  std::string to_client;

  std::string send(const std::string& stream, size_t chunk) {
    return client.send(stream, chunk, to_client);
  }
  std::string serverName(std::string_view sql) {
    return registry.intern(definitionOf(sql))->server_name;
  }
};

}  // namespace

TEST_CASE("chunk editor: untouched chunks pass without a copy", "[prepared]") {
  ChunkEditor editor;
  std::string out, chunk = "abcdef";
  editor.begin(bytes(chunk), out);
  auto result = editor.finish(chunk.size());
  CHECK(result.data() == bytes(chunk).data());
  CHECK(text(result) == "abcdef");
}

TEST_CASE("chunk editor: cuts and inserts, also across chunks", "[prepared]") {
  ChunkEditor editor;
  std::string out;
  std::string first = "keep-CUT";
  editor.begin(bytes(first), out);
  editor.cutFrom(4);  // "-CUT" and the next chunk's "MORE" go
  CHECK(text(editor.finish(first.size())) == "keep");
  std::string second = "MORE|tail";
  editor.begin(bytes(second), out);
  editor.resumeAt(4);
  editor.insert(5, "[new]");
  CHECK(text(editor.finish(second.size())) == "|[new]tail");
  std::string third = "xyz";
  editor.begin(bytes(third), out);
  editor.cutFrom(1);
  editor.uncut();  // changed its mind: nothing was edited, no copy
  auto result = editor.finish(third.size());
  CHECK(result.data() == bytes(third).data());
}

TEST_CASE("reply tracker: pooler answers go out in request order", "[prepared]") {
  using R = ReplyTracker::Request;
  ReplyTracker tracker;
  std::string out;
  tracker.expect(R::kBind);
  tracker.answer(wire::parseComplete(), "s");
  tracker.expect(R::kExecute);
  tracker.expect(R::kSync);
  tracker.takeReady(out);
  CHECK(out.empty());  // the Bind's answer comes first
  CHECK_FALSE(tracker.onReplyStart('2'));
  tracker.onReplyEnd('2', out);
  CHECK(out == wire::parseComplete());
  out.clear();
  for (char type : std::string("DDC")) {
    CHECK_FALSE(tracker.onReplyStart(type));
    tracker.onReplyEnd(type, out);
  }
  CHECK(tracker.size() == 1);
  tracker.onReplyStart('Z');
  tracker.onReplyEnd('Z', out);
  CHECK(tracker.empty());
  CHECK(out.empty());
}

TEST_CASE("reply tracker: the pooler's own Parse is answered to nobody", "[prepared]") {
  using R = ReplyTracker::Request;
  ReplyTracker tracker;
  PreparedStatement statement{"apibouncer_1", definitionOf("SELECT 1")};
  tracker.expectParse(&statement, "");  // injected for a Bind
  tracker.expect(R::kBind);
  CHECK(tracker.onReplyStart('1'));  // swallowed
  std::string out;
  tracker.onReplyEnd('1', out);
  CHECK_FALSE(tracker.onReplyStart('2'));
  tracker.onReplyEnd('2', out);
  CHECK(tracker.empty());
  CHECK_FALSE(tracker.hasUndos());
}

TEST_CASE("reply tracker: an error skips to Sync and reports Parses that never happened",
          "[prepared]") {
  using R = ReplyTracker::Request;
  ReplyTracker tracker;
  PreparedStatement statement{"apibouncer_2", definitionOf("SELECT 2")};
  tracker.expect(R::kBind);
  tracker.expectParse(&statement, "two");
  tracker.answer(wire::parseComplete(), "again");
  tracker.expect(R::kExecute);
  tracker.expect(R::kSync);
  std::string out;
  CHECK_FALSE(tracker.onReplyStart('E'));  // errors always reach the client
  tracker.onReplyEnd('E', out);
  CHECK(out.empty());          // no ParseComplete after an error
  CHECK(tracker.size() == 1);  // only the Sync is left
  // The Parse of "two" did not happen, nor did "again" (whose statement the link does have).
  using Kind = ReplyTracker::Undo::Kind;
  auto undos = tracker.takeUndos();
  REQUIRE(undos.size() == 3);
  CHECK((undos[0].kind == Kind::kNotOnLink && undos[0].statement == &statement));
  CHECK((undos[1].kind == Kind::kForgetName && undos[1].client_name == "two"));
  CHECK((undos[2].kind == Kind::kForgetName && undos[2].client_name == "again"));
  tracker.onReplyStart('Z');
  tracker.onReplyEnd('Z', out);
  CHECK(tracker.empty());
}

TEST_CASE("reply tracker: an eviction skipped after an error is reported, one answered is not",
          "[prepared]") {
  using R = ReplyTracker::Request;
  ReplyTracker tracker;
  auto kept = statementOf("apibouncer_3", "SELECT 3");
  auto closed = statementOf("apibouncer_4", "SELECT 4");
  tracker.expectEviction(closed);
  tracker.expect(R::kSync);
  std::string out;
  CHECK(tracker.onReplyStart('3'));  // the pooler's Close: swallowed
  tracker.onReplyEnd('3', out);
  tracker.onReplyStart('Z');
  tracker.onReplyEnd('Z', out);
  CHECK_FALSE(tracker.hasUndos());

  tracker.expect(R::kExecute);
  tracker.expectEviction(kept);
  tracker.expect(R::kSync);
  tracker.onReplyStart('E');
  tracker.onReplyEnd('E', out);
  auto undos = tracker.takeUndos();
  REQUIRE(undos.size() == 1);
  CHECK(undos[0].kind == ReplyTracker::Undo::Kind::kOnLink);
  CHECK(undos[0].kept == kept);  // the server still has it
}

TEST_CASE("reply tracker: a client's Close voided by an error gives its name back", "[prepared]") {
  using R = ReplyTracker::Request;
  ReplyTracker tracker;
  auto statement = statementOf("apibouncer_5", "SELECT 5");
  tracker.expect(R::kExecute);
  tracker.answerClose("mine", statement);
  tracker.expect(R::kSync);
  std::string out;
  tracker.onReplyStart('E');
  tracker.onReplyEnd('E', out);
  CHECK(out.empty());  // no CloseComplete
  auto undos = tracker.takeUndos();
  REQUIRE(undos.size() == 1);
  CHECK(undos[0].kind == ReplyTracker::Undo::Kind::kRestoreName);
  CHECK(undos[0].client_name == "mine");
  CHECK(undos[0].kept == statement);

  tracker.onReplyStart('Z');
  tracker.onReplyEnd('Z', out);
  tracker.answerClose("mine", statement);  // nothing owed before it: answered at once
  tracker.takeReady(out);
  CHECK(out == wire::closeComplete());
  CHECK_FALSE(tracker.hasUndos());
}

TEST_CASE("reply tracker: one undo per statement and name, the first void request's",
          "[prepared]") {
  using R = ReplyTracker::Request;
  using Kind = ReplyTracker::Undo::Kind;
  ReplyTracker tracker;
  auto s = statementOf("apibouncer_6", "SELECT 6");
  auto t = statementOf("apibouncer_7", "SELECT 7");
  // The failing Execute, then s prepared (new to the link), then closed and prepared again
  // for a Bind; t evicted, and prepared again behind the Sync.
  tracker.expect(R::kExecute);
  tracker.expectParse(s.get(), "s");
  tracker.expectEviction(s);
  tracker.expectParse(s.get(), "");
  tracker.expectEviction(t);
  tracker.expect(R::kSync);
  tracker.expectParse(t.get(), "");
  tracker.expect(R::kSync);
  std::string out;
  tracker.onReplyStart('E');
  tracker.onReplyEnd('E', out);
  // s as before its first Parse: not on the link, the name unknown. t is left to the Parse
  // still queued.
  auto undos = tracker.takeUndos();
  REQUIRE(undos.size() == 2);
  CHECK((undos[0].kind == Kind::kNotOnLink && undos[0].statement == s.get()));
  CHECK((undos[1].kind == Kind::kForgetName && undos[1].client_name == "s"));
  tracker.onReplyStart('Z');
  tracker.onReplyEnd('Z', out);
  // That Parse is void too: t is as before the first void request, still on the link (the
  // server skipped the Close that evicted it).
  tracker.onReplyStart('E');
  tracker.onReplyEnd('E', out);
  undos = tracker.takeUndos();
  REQUIRE(undos.size() == 1);
  CHECK((undos[0].kind == Kind::kOnLink && undos[0].kept == t));
}

TEST_CASE("reply tracker: a Close before a Parse again passes an undo on only if void too",
          "[prepared]") {
  using R = ReplyTracker::Request;
  using Kind = ReplyTracker::Undo::Kind;
  ReplyTracker tracker;
  auto b = statementOf("apibouncer_8", "SELECT 8");
  // Batch 1 evicts b; batch 2, sent before its answers, needs b again: Close, then Parse.
  tracker.expect(R::kExecute);
  tracker.expectEviction(b);
  tracker.expect(R::kSync);
  CHECK(tracker.evictionPending(b.get()));
  tracker.expectReclose(b.get());
  tracker.expectParse(b.get(), "");
  tracker.expect(R::kBind);
  tracker.expect(R::kSync);
  std::string out;
  tracker.onReplyStart('E');  // batch 1 fails first: its eviction never happened
  tracker.onReplyEnd('E', out);
  CHECK_FALSE(tracker.hasUndos());  // left to batch 2's Close of b
  CHECK_FALSE(tracker.evictionPending(b.get()));
  tracker.onReplyStart('Z');
  tracker.onReplyEnd('Z', out);
  CHECK(tracker.onReplyStart('3'));  // that Close ran: b is gone from the server
  tracker.onReplyEnd('3', out);
  tracker.onReplyStart('E');  // and the Parse of b failed
  tracker.onReplyEnd('E', out);
  auto undos = tracker.takeUndos();
  REQUIRE(undos.size() == 1);
  CHECK((undos[0].kind == Kind::kNotOnLink && undos[0].statement == b.get()));
}

TEST_CASE("reply tracker: a simple query's error still ends with ReadyForQuery", "[prepared]") {
  ReplyTracker tracker;
  tracker.expect(ReplyTracker::Request::kSimpleQuery);
  std::string out;
  tracker.onReplyStart('E');
  tracker.onReplyEnd('E', out);
  CHECK(tracker.size() == 1);
  tracker.onReplyStart('Z');
  tracker.onReplyEnd('Z', out);
  CHECK(tracker.empty());
}

TEST_CASE("registry: one server name per definition while anyone holds it", "[prepared]") {
  StatementRegistry registry;
  StatementRef a = registry.intern(definitionOf("SELECT 1"));
  StatementRef b = registry.intern(definitionOf("SELECT 1"));
  StatementRef c = registry.intern(definitionOf("SELECT 2"));
  CHECK(a == b);
  CHECK(a->server_name != c->server_name);
  CHECK(registry.size() == 2);
  std::string old_name = c->server_name;
  c.reset();
  CHECK(registry.size() == 1);  // nobody holds "SELECT 2" any more
  CHECK(registry.intern(definitionOf("SELECT 2"))->server_name != old_name);
}

TEST_CASE("server cache: least recently used statements are closed first", "[prepared]") {
  StatementRegistry registry;
  ServerStatementCache cache;
  StatementRef s1 = registry.intern("1"), s2 = registry.intern("2"), s3 = registry.intern("3");
  CHECK(cache.add(s1, 2).empty());
  CHECK(cache.add(s2, 2).empty());
  CHECK(cache.touch(s1.get()));  // s2 is now the oldest
  auto evicted = cache.add(s3, 2);
  REQUIRE(evicted.size() == 1);
  CHECK(evicted[0] == s2);
  CHECK_FALSE(cache.touch(s2.get()));
  cache.remove(s1.get());
  CHECK(cache.size() == 1);
}

TEST_CASE("relay: statement names are rewritten however the bytes are split", "[prepared]") {
  std::string stream =
      wire::parse("a", "SELECT 1") + wire::bind("portal", "a") + wire::execute() + wire::sync();
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    FreshRelay run;
    std::string to_server = run.send(stream, chunk);
    std::string name = run.serverName("SELECT 1");
    INFO("chunk " << chunk);
    CHECK(to_server == wire::parse(name, "SELECT 1") + wire::bind("portal", name) +
                           wire::execute() + wire::sync());
    CHECK(run.to_client.empty());
    CHECK(run.replies.size() == 4);
    CHECK(run.client.ready_owed == 1);
    CHECK_FALSE(run.client.requests.extended_open);
  }
}

// Unnamed statements and portals pass as they came (most are let through without being held
// back whole); named statements among them are still rewritten, and every request is still
// owed its reply in order.
TEST_CASE("relay: unnamed statements pass untouched next to named ones, however split",
          "[prepared]") {
  std::string unnamed = wire::parse("", "SELECT 2") + wire::bind("", "") + wire::describe('P', "") +
                        wire::execute() + wire::describe('S', "") + wire::close('S', "") +
                        wire::close('P', "portal");
  std::string stream = unnamed + wire::parse("a", "SELECT 1") + wire::bind("portal", "a") +
                       wire::describe('S', "a") + unnamed + wire::sync();
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    FreshRelay run;
    std::string to_server = run.send(stream, chunk);
    std::string name = run.serverName("SELECT 1");
    INFO("chunk " << chunk);
    CHECK(to_server == unnamed + wire::parse(name, "SELECT 1") + wire::bind("portal", name) +
                           wire::describe('S', name) + unnamed + wire::sync());
    CHECK(run.to_client.empty());
    CHECK(run.replies.size() == 2 * 7 + 3 + 1);
    CHECK(run.client.ready_owed == 1);
  }
}

TEST_CASE("relay: a statement the link has is answered by the pooler", "[prepared]") {
  StatementRegistry registry;
  ServerStatementCache cache;
  ReplyTracker replies;
  Relay first{registry, &cache, replies};
  std::string to_client;
  first.send(wire::parse("a", "SELECT 1") + wire::sync(), 64, to_client);
  replies.clear();  // as if the server had answered
  Relay second{registry, &cache, replies};
  std::string to_server = second.send(
      wire::parse("b", "SELECT 1") + wire::bind("portal", "b") + wire::sync(), 3, to_client);
  std::string name = registry.intern(definitionOf("SELECT 1"))->server_name;
  CHECK(to_server == wire::bind("portal", name) + wire::sync());
  CHECK(to_client == wire::parseComplete());  // nothing was owed before it
  // Close: the pooler answers and the statement stays on the link for others.
  to_client.clear();
  CHECK(second.send(wire::close('S', "b") + wire::sync(), 5, to_client) == wire::sync());
  CHECK(replies.size() == 4);  // Bind, Sync, CloseComplete (waits its turn), Sync
  CHECK(to_client.empty());
  CHECK(cache.size() == 1);
}

TEST_CASE("relay: a Bind on a link without the statement prepares it first", "[prepared]") {
  StatementRegistry registry;
  ServerStatementCache cache_one, cache_two;
  ReplyTracker replies;
  Relay client{registry, &cache_one, replies};
  std::string to_client;
  client.send(wire::parse("a", "SELECT 1") + wire::sync(), 64, to_client);
  client.cache = &cache_two;  // the client's next transaction runs on another link
  std::string name = registry.intern(definitionOf("SELECT 1"))->server_name;
  CHECK(client.send(wire::bind("portal", "a") + wire::execute() + wire::sync(), 7, to_client) ==
        wire::parse(name, "SELECT 1") + wire::bind("portal", name) + wire::execute() +
            wire::sync());
  CHECK(cache_two.size() == 1);
}

TEST_CASE("mayDropAllStatements: any mention of DEALLOCATE or DISCARD, in any case", "[prepared]") {
  CHECK(mayDropAllStatements("DEALLOCATE ALL"));
  CHECK(mayDropAllStatements("deallocate prepare all"));
  CHECK(mayDropAllStatements("  Discard All;"));
  CHECK(mayDropAllStatements("SELECT 1 /* discard */"));  // errs on the side of yes
  CHECK_FALSE(mayDropAllStatements("SELECT 1"));
  CHECK_FALSE(mayDropAllStatements("SELECT 'd', 'deal', 'discar'"));
  CHECK_FALSE(mayDropAllStatements(""));
  StatementRegistry registry;
  CHECK(registry.intern(definitionOf("DISCARD ALL"))->may_drop_all);
  CHECK_FALSE(registry.intern(definitionOf("SELECT 1"))->may_drop_all);
}

TEST_CASE("deallocatedName: one statement's DEALLOCATE, folded as PostgreSQL does", "[prepared]") {
  CHECK(deallocatedName("DEALLOCATE _pg3_0") == "_pg3_0");
  CHECK(deallocatedName("  deallocate prepare Foo ; ") == "foo");
  CHECK(deallocatedName("DEALLOCATE \"Foo\"\"x\"") == "Foo\"x");
  CHECK(deallocatedName("DEALLOCATE \"all\"") == "all");
  CHECK(deallocatedName("Deallocate\n\tq$1") == "q$1");
  CHECK_FALSE(deallocatedName("DEALLOCATE ALL"));
  CHECK_FALSE(deallocatedName("deallocate prepare all"));
  CHECK_FALSE(deallocatedName("DEALLOCATE a; SELECT 1"));
  CHECK_FALSE(deallocatedName("DEALLOCATE a b"));
  CHECK_FALSE(deallocatedName("DEALLOCATE"));
  CHECK_FALSE(deallocatedName("DEALLOCATEa"));
  CHECK_FALSE(deallocatedName("DEALLOCATE \"unterminated"));
  CHECK_FALSE(deallocatedName("SELECT 1"));
}

TEST_CASE("relay: a SQL DEALLOCATE of a client's statement runs on the pooler's own",
          "[prepared]") {
  FreshRelay x;
  // Split over reads, the unnamed Parse is read whole all the same.
  x.send(wire::parse("z", "SELECT 9") + wire::sync(), 1000);
  x.replies.clear();
  std::string own =
      wire::close('S', "apibouncer_deallocate") + wire::parse("apibouncer_deallocate", "SELECT 1");
  CHECK(x.send(wire::parse("", "DEALLOCATE z") + wire::sync(), 5) ==
        own + wire::parse("", "DEALLOCATE apibouncer_deallocate") + wire::sync());
  x.replies.clear();
  x.send(wire::parse("a", "SELECT 1") + wire::sync(), 1000);
  x.replies.clear();
  CHECK(x.send(wire::query("DEALLOCATE a"), 1000) ==
        own + wire::query("DEALLOCATE apibouncer_deallocate"));
  CHECK_FALSE(x.replies.dropAllPossible());
  // The client no longer has "a": its Bind goes as it came (the server says it does not exist).
  CHECK(x.send(wire::bind("", "a") + wire::sync(), 1000) == wire::bind("", "a") + wire::sync());
  x.replies.clear();
  // The extended protocol (psycopg 3 in pipeline mode): the unnamed Parse is rewritten.
  x.send(wire::parse("b", "SELECT 1") + wire::sync(), 1000);
  x.replies.clear();
  CHECK(x.send(wire::parse("", "deallocate b") + wire::bind("", "") + wire::execute(), 1000) ==
        own + wire::parse("", "DEALLOCATE apibouncer_deallocate") + wire::bind("", "") +
            wire::execute());
  // Not a statement of the client's, or not the only command: as it came.
  x.replies.clear();
  x.send(wire::parse("c", "SELECT 1") + wire::sync(), 1000);
  x.replies.clear();
  for (const char* sql : {"DEALLOCATE nobody", "DEALLOCATE c; SELECT 1"})
    CHECK(x.send(wire::query(sql), 1000) == wire::query(sql));
  // With replies owed the link's state is unknown: the server answers.
  CHECK(x.send(wire::query("DEALLOCATE c"), 1000) == wire::query("DEALLOCATE c"));
}

TEST_CASE("relay: behind a possible drop-all, statements the link had are prepared again",
          "[prepared]") {
  for (size_t chunk : {3, 7, 1000}) {
    FreshRelay x;
    x.send(wire::parse("a", "SELECT 1") + wire::sync(), chunk);
    x.replies.clear();  // as if the server had answered
    std::string name = x.serverName("SELECT 1");
    // A query that cannot drop anything leaves the pooler's knowledge as it is. One split
    // over reads cannot be read whole, so it counts as a possible drop: "b" is prepared again.
    bool whole = chunk == 1000;
    std::string sent =
        x.send(wire::query("SELECT 2") + wire::parse("b", "SELECT 1") + wire::sync(), chunk);
    CHECK(sent == wire::query("SELECT 2") +
                      (whole ? "" : wire::close('S', name) + wire::parse(name, "SELECT 1")) +
                      wire::sync());
    CHECK(x.replies.dropAllPossible() == !whole);
    x.replies.clear();
    x.to_client.clear();
    // Behind DEALLOCATE ALL the name "a" is free again, and the statement may be gone from
    // the link: each use closes it and prepares it again. Only the client's own Parse gets
    // its answer through; the ParseComplete waits for the server's.
    std::string stream = wire::query("deallocate all") + wire::parse("a", "SELECT 1") +
                         wire::bind("", "b") + wire::sync();
    std::string again = wire::close('S', name) + wire::parse(name, "SELECT 1");
    CHECK(x.send(stream, chunk) ==
          wire::query("deallocate all") + again + again + wire::bind("", name) + wire::sync());
    CHECK(x.to_client.empty());
    CHECK(x.replies.dropAllPossible());
    x.replies.clear();
    CHECK_FALSE(x.replies.dropAllPossible());
    // An unnamed Parse of a drop, then a Bind of a statement whose query is one.
    x.send(wire::parse("drop", "DISCARD ALL") + wire::sync(), chunk);
    x.replies.clear();
    CHECK(x.send(wire::parse("", "SELECT 3") + wire::sync(), chunk) ==
          wire::parse("", "SELECT 3") + wire::sync());
    CHECK_FALSE(x.replies.dropAllPossible());  // read whole, even when split
    x.replies.clear();
    x.send(wire::parse("", "Discard All") + wire::sync(), chunk);
    CHECK(x.replies.dropAllPossible());
    x.replies.clear();
    x.send(wire::bind("", "drop") + wire::execute() + wire::sync(), chunk);
    CHECK(x.replies.dropAllPossible());
  }
}

TEST_CASE("reply tracker: a drop-all keeps what the requests behind it prepared", "[prepared]") {
  using R = ReplyTracker::Request;
  StatementRegistry registry;
  StatementRef old_one = registry.intern(definitionOf("SELECT 1"));
  StatementRef evicted = registry.intern(definitionOf("SELECT 2"));
  StatementRef fresh = registry.intern(definitionOf("SELECT 3"));
  ReplyTracker tracker;
  tracker.expect(R::kSimpleQuery);  // the DEALLOCATE ALL
  tracker.mayDropAll();
  tracker.expectEviction(evicted);
  tracker.expectParse(fresh.get(), "mine");
  tracker.answerClose("gone", old_one);  // a name the drop already took
  tracker.answerClose("mine", fresh);    // one prepared behind the drop
  tracker.expect(R::kExecute);
  tracker.expect(R::kSync);
  auto kept = tracker.onDropAll();
  CHECK(kept.on_link == std::vector<const PreparedStatement*>{fresh.get()});
  CHECK(kept.client_names == std::vector<std::string_view>{"mine"});
  std::string out;
  tracker.onReplyStart('Z');  // the query's end
  tracker.onReplyEnd('Z', out);
  tracker.onReplyEnd('Z', out);
  tracker.onReplyStart('E');  // voids the rest up to Sync
  tracker.onReplyEnd('E', out);
  // Neither the evicted statement nor the name "gone" come back. "mine" was prepared and
  // closed in the void stretch: it ends as before its Parse, unknown.
  using Kind = ReplyTracker::Undo::Kind;
  auto undos = tracker.takeUndos();
  REQUIRE(undos.size() == 2);
  CHECK((undos[0].kind == Kind::kNotOnLink && undos[0].statement == fresh.get()));
  CHECK((undos[1].kind == Kind::kForgetName && undos[1].client_name == "mine"));
  CHECK(tracker.dropAllPossible());
  tracker.onReplyStart('Z');
  tracker.onReplyEnd('Z', out);
  CHECK(tracker.empty());
  CHECK_FALSE(tracker.dropAllPossible());
}

TEST_CASE("retainOnly: the link and the client keep just what is named", "[prepared]") {
  StatementRegistry registry;
  StatementRef s1 = registry.intern("1"), s2 = registry.intern("2"), s3 = registry.intern("3");
  ServerStatementCache cache;
  for (const StatementRef& s : {s1, s2, s3}) cache.add(s, 10);
  const PreparedStatement* keep[] = {s2.get()};
  cache.retainOnly(keep);
  CHECK(cache.size() == 1);
  CHECK(cache.touch(s2.get()));
  CHECK_FALSE(cache.touch(s1.get()));
  cache.retainOnly({});
  CHECK(cache.size() == 0);
  ClientStatements names;
  names.add("a", s1);
  names.add("b", s2);
  std::string_view kept[] = {"b", "c"};
  names.retainOnly(kept);
  CHECK(names.size() == 1);
  CHECK(names.find("b") != nullptr);
}

TEST_CASE("reply tracker: simple queries and Syncs alone need no reply editing", "[prepared]") {
  using R = ReplyTracker::Request;
  ReplyTracker tracker;
  tracker.expect(R::kSimpleQuery);
  tracker.expect(R::kSync);
  CHECK(tracker.onlyReadyTerminated());
  tracker.onReadyForQuery();
  CHECK(tracker.size() == 1);
  tracker.expect(R::kBind);
  CHECK_FALSE(tracker.onlyReadyTerminated());
  tracker.onReplyStart('Z');  // the Sync's
  std::string out;
  tracker.onReplyEnd('Z', out);
  CHECK_FALSE(tracker.onlyReadyTerminated());  // the Bind is still owed
  tracker.onReplyStart('2');
  tracker.onReplyEnd('2', out);
  CHECK(tracker.onlyReadyTerminated());
  tracker.answer(wire::parseComplete(), "s");
  CHECK_FALSE(tracker.onlyReadyTerminated());
  tracker.takeReady(out);
  CHECK(tracker.onlyReadyTerminated());
  CHECK(tracker.empty());
}

// COPY FROM STDIN (copy_in_syncs_test.cc has the cases): the Sync libpq sends with the
// Execute is taken back when the server announces the copy, and one during it is not counted.
TEST_CASE("ClientRequests: Syncs during COPY FROM STDIN are not counted", "[prepared]") {
  namespace fe = wire::fe;
  ClientRequests requests;
  for (char type : {fe::kParse, fe::kBind, fe::kDescribe, fe::kExecute, fe::kSync})
    CHECK(requests.see(type));
  CHECK(requests.expected_ready == 1);
  CHECK(requests.copy.onCopyIn() == 1);
  CHECK_FALSE(requests.see(fe::kSync));
  CHECK(requests.see(fe::kCopyDone));
  CHECK(requests.see(fe::kSync));
  CHECK(requests.expected_ready == 2);  // the chunk's count; the link took 1 back
  CHECK_FALSE(requests.extended_open);
}
