// ReplyCounter: which answers the server still owes per exchange (extended-protocol messages
// up to their Sync, or one simple Query), through pipelining, errors and data rows.
#include <catch2/catch.hpp>

#include <string_view>

#include "pooler/reply_counter.h"

using apibouncer::ReplyCounter;

namespace {

void sendAll(ReplyCounter& counter, std::string_view types) {
  for (char type : types) counter.sent(type);
}

void receiveAll(ReplyCounter& counter, std::string_view types) {
  for (char type : types) counter.received(type);
}

}  // namespace

TEST_CASE("An empty reply counter is settled and not failed", "[reply_counter]") {
  ReplyCounter counter;
  CHECK(counter.settled());
  CHECK_FALSE(counter.failed());
  // Replies with nothing outstanding change nothing.
  receiveAll(counter, "12TCDZ");
  CHECK(counter.settled());
  CHECK_FALSE(counter.failed());
}

TEST_CASE("Parse, Bind, Describe portal owe one answer each", "[reply_counter]") {
  ReplyCounter counter;
  sendAll(counter, "PBD");
  CHECK_FALSE(counter.settled());

  SECTION("answered by RowDescription") {
    counter.received('1');
    CHECK_FALSE(counter.settled());
    counter.received('2');
    CHECK_FALSE(counter.settled());
    counter.received('T');
    CHECK(counter.settled());
  }
  SECTION("answered by NoData") {
    receiveAll(counter, "12");
    CHECK_FALSE(counter.settled());
    counter.received('n');
    CHECK(counter.settled());
  }
  CHECK_FALSE(counter.failed());
}

TEST_CASE("Messages without an answer of their own owe nothing", "[reply_counter]") {
  ReplyCounter counter;
  sendAll(counter, "Hdc");  // Flush, CopyData, CopyDone
  CHECK(counter.settled());
  sendAll(counter, "PH");
  CHECK_FALSE(counter.settled());
  counter.received('1');
  CHECK(counter.settled());
}

TEST_CASE("Describe statement: ParameterDescription does not count, RowDescription does",
          "[reply_counter]") {
  ReplyCounter counter;
  sendAll(counter, "PD");
  counter.received('1');
  CHECK_FALSE(counter.settled());
  counter.received('t');  // ParameterDescription
  CHECK_FALSE(counter.settled());
  counter.received('T');
  CHECK(counter.settled());
}

TEST_CASE("Close, Execute, EmptyQuery and PortalSuspended answers count", "[reply_counter]") {
  ReplyCounter counter;
  sendAll(counter, "CEEB");
  receiveAll(counter, "3");
  CHECK_FALSE(counter.settled());
  receiveAll(counter, "I");
  CHECK_FALSE(counter.settled());
  receiveAll(counter, "s");
  CHECK_FALSE(counter.settled());
  receiveAll(counter, "2");
  CHECK(counter.settled());
}

TEST_CASE("Data rows from the server do not count as completions", "[reply_counter]") {
  ReplyCounter counter;
  sendAll(counter, "PBE");
  receiveAll(counter, "12DDDDD");
  CHECK_FALSE(counter.settled());
  receiveAll(counter, "NS");  // notices and parameter status do not count either
  CHECK_FALSE(counter.settled());
  counter.received('C');
  CHECK(counter.settled());
}

TEST_CASE("A pipelined synced exchange must end with its ReadyForQuery", "[reply_counter]") {
  ReplyCounter counter;
  sendAll(counter, "PBES");  // closed exchange
  sendAll(counter, "PB");    // open exchange
  CHECK_FALSE(counter.settled());

  receiveAll(counter, "12DDC");
  CHECK_FALSE(counter.settled());  // its ReadyForQuery is still owed
  counter.received('Z');
  CHECK_FALSE(counter.settled());  // the open exchange's Parse and Bind are owed
  counter.received('1');
  CHECK_FALSE(counter.settled());
  counter.received('2');
  CHECK(counter.settled());
  CHECK_FALSE(counter.failed());
}

TEST_CASE("Answers go to the oldest exchange, not the open one", "[reply_counter]") {
  ReplyCounter counter;
  sendAll(counter, "PBES");
  sendAll(counter, "P");
  // Even if the first exchange's answers and more arrive, without its Z nothing is settled.
  receiveAll(counter, "12C1");
  CHECK_FALSE(counter.settled());
  counter.received('Z');
  CHECK_FALSE(counter.settled());  // the '1' above was not credited to the open exchange
  counter.received('1');
  CHECK(counter.settled());
}

TEST_CASE("An error in the open exchange fails it and clears what it owes", "[reply_counter]") {
  ReplyCounter counter;
  sendAll(counter, "PBDE");
  counter.received('E');
  CHECK(counter.failed());
  CHECK(counter.settled());

  // Its Sync closes it: no longer the open exchange, so neither failed nor settled until Z.
  counter.sent('S');
  CHECK_FALSE(counter.failed());
  CHECK_FALSE(counter.settled());
  counter.received('Z');
  CHECK(counter.settled());
  CHECK_FALSE(counter.failed());
}

TEST_CASE("An error after some answers clears the rest", "[reply_counter]") {
  ReplyCounter counter;
  sendAll(counter, "PBE");
  receiveAll(counter, "12");
  CHECK_FALSE(counter.failed());
  counter.received('E');
  CHECK(counter.failed());
  CHECK(counter.settled());
}

TEST_CASE("An error in an earlier synced exchange does not fail the open one", "[reply_counter]") {
  ReplyCounter counter;
  sendAll(counter, "PBES");
  sendAll(counter, "PB");
  counter.received('E');
  CHECK_FALSE(counter.failed());
  CHECK_FALSE(counter.settled());
  counter.received('Z');
  CHECK_FALSE(counter.failed());
  CHECK_FALSE(counter.settled());
  receiveAll(counter, "12");
  CHECK(counter.settled());
  CHECK_FALSE(counter.failed());
}

TEST_CASE("A simple Query is settled only by its ReadyForQuery", "[reply_counter]") {
  ReplyCounter counter;
  counter.sent('Q');
  CHECK_FALSE(counter.settled());
  receiveAll(counter, "TDDDC");
  CHECK_FALSE(counter.settled());
  receiveAll(counter, "TC");  // a multi-statement query
  CHECK_FALSE(counter.settled());
  counter.received('Z');
  CHECK(counter.settled());
  CHECK_FALSE(counter.failed());
}

TEST_CASE("A simple Query error still waits for ReadyForQuery", "[reply_counter]") {
  ReplyCounter counter;
  counter.sent('Q');
  counter.received('E');
  CHECK_FALSE(counter.settled());
  CHECK_FALSE(counter.failed());  // the Query is a closed exchange, not the open one
  counter.received('Z');
  CHECK(counter.settled());
  CHECK_FALSE(counter.failed());
}

TEST_CASE("Pipelined simple Queries each need their own ReadyForQuery", "[reply_counter]") {
  ReplyCounter counter;
  sendAll(counter, "QQ");
  receiveAll(counter, "TDCZ");
  CHECK_FALSE(counter.settled());
  receiveAll(counter, "CZ");
  CHECK(counter.settled());
}

TEST_CASE("A Query's answers do not leak into the extended exchange after it", "[reply_counter]") {
  ReplyCounter counter;
  counter.sent('Q');
  sendAll(counter, "PB");
  receiveAll(counter, "TDC");  // the Query's 'C' must not pay for the Parse
  counter.received('Z');
  CHECK_FALSE(counter.settled());
  counter.received('1');
  CHECK_FALSE(counter.settled());
  counter.received('2');
  CHECK(counter.settled());
}

TEST_CASE("A function call is its own closed exchange", "[reply_counter]") {
  ReplyCounter counter;
  counter.sent('F');
  CHECK_FALSE(counter.settled());
  counter.received('V');
  CHECK_FALSE(counter.settled());
  counter.received('Z');
  CHECK(counter.settled());
}

TEST_CASE("A lone Sync waits for its ReadyForQuery", "[reply_counter]") {
  ReplyCounter counter;
  counter.sent('S');
  CHECK_FALSE(counter.settled());
  counter.received('Z');
  CHECK(counter.settled());
}
