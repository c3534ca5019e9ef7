// MessageScanner: message boundaries across arbitrary chunking, capture, stop and limits.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pooler/message_scanner.h"

using apibouncer::MessageScanner;

namespace {

std::string message(char type, const std::string& body) {
  std::string out(1, type);
  uint32_t len = static_cast<uint32_t>(body.size() + 4);
  out += static_cast<char>(len >> 24);
  out += static_cast<char>(len >> 16);
  out += static_cast<char>(len >> 8);
  out += static_cast<char>(len);
  return out + body;
}

struct Recorder {
  std::string seen_types;
  std::vector<std::pair<char, std::string>> captured;
  char stop_at = 0;
  std::string capture_types = "ZS";
  MessageScanner::Action onType(char type) {
    seen_types += type;
    if (type == stop_at) return MessageScanner::Action::kStop;
    if (capture_types.find(type) != std::string::npos) return MessageScanner::Action::kCapture;
    return MessageScanner::Action::kSkip;
  }
  void onMessage(char type, std::span<const uint8_t> body) {
    captured.emplace_back(type, std::string(body.begin(), body.end()));
  }
};

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("scanner sees every message whatever the chunk size", "[scanner]") {
  std::string stream = message('T', std::string(40, 'x')) + message('D', "row") +
                       message('S', std::string("TimeZone\0UTC\0", 13)) + message('C', "SELECT 1") +
                       message('Z', "I");
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    MessageScanner scanner;
    Recorder rec;
    for (size_t pos = 0; pos < stream.size(); pos += chunk) {
      auto piece = bytes(stream).subspan(pos, std::min(chunk, stream.size() - pos));
      auto result = scanner.feed(piece, rec);
      REQUIRE(result.status == MessageScanner::Result::Status::kDone);
    }
    CHECK(rec.seen_types == "TDSCZ");
    REQUIRE(rec.captured.size() == 2);
    CHECK(rec.captured[0].first == 'S');
    CHECK(rec.captured[0].second == std::string("TimeZone\0UTC\0", 13));
    CHECK(rec.captured[1] == std::make_pair('Z', std::string("I")));
    CHECK(scanner.atBoundary());
  }
}

TEST_CASE("scanner stops before the chosen message type", "[scanner]") {
  std::string stream = message('Q', std::string("SELECT 1\0", 9)) + message('X', "");
  MessageScanner scanner;
  Recorder rec;
  rec.stop_at = 'X';
  auto result = scanner.feed(bytes(stream), rec);
  CHECK(result.status == MessageScanner::Result::Status::kStopped);
  CHECK(result.offset == stream.size() - 5);
}

TEST_CASE("scanner refuses lengths below 4 and over the limit", "[scanner]") {
  Recorder rec;
  MessageScanner small_limit(100);
  std::string big = message('Q', std::string(200, 'a'));
  CHECK(small_limit.feed(bytes(big), rec).status == MessageScanner::Result::Status::kTooLarge);

  MessageScanner scanner;
  std::string bad("Q\0\0\0\3", 5);
  CHECK(scanner.feed(bytes(bad), rec).status == MessageScanner::Result::Status::kMalformed);
}

TEST_CASE("scanner reports a partial message as not at a boundary", "[scanner]") {
  std::string stream = message('D', "abcdef");
  MessageScanner scanner;
  Recorder rec;
  scanner.feed(bytes(stream).first(7), rec);
  CHECK_FALSE(scanner.atBoundary());
  scanner.feed(bytes(stream).subspan(7), rec);
  CHECK(scanner.atBoundary());
}

TEST_CASE("an empty captured body is delivered", "[scanner]") {
  std::string stream = message('Z', "");
  MessageScanner scanner;
  Recorder rec;
  scanner.feed(bytes(stream), rec);
  REQUIRE(rec.captured.size() == 1);
  CHECK(rec.captured[0].second.empty());
}
