// Walks a protocol byte stream message by message as chunks arrive, without buffering the
// bodies nobody needs: the pooler forwards bytes untouched and only looks at the few message
// types it must act on (ReadyForQuery, ParameterStatus, Terminate, ...). Pure; no I/O.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace apibouncer {

class MessageScanner {
 public:
  enum class Action {
    kSkip,     // not interesting: let the bytes pass
    kCapture,  // deliver the whole body to onMessage() once complete
    kStop,     // stop before this message's type byte (the caller handles the rest)
  };
  struct Result {
    enum class Status { kDone, kStopped, kTooLarge, kMalformed };
    Status status = Status::kDone;
    size_t offset = 0;  // kStopped: index of the stopping message's type byte in the chunk
  };

  explicit MessageScanner(uint32_t max_message_size = 0x7fffffff) : max_size_(max_message_size) {}
  void setMaxMessageSize(uint32_t max) { max_size_ = max; }
  void reset();
  // True when the stream sits between two messages.
  bool atBoundary() const { return header_have_ == 0 && body_left_ == 0; }

  // Visitor: `Action onType(char type)` (or `onType(char type, size_t offset)`, offset = the
  // type byte's index in the chunk), `void onMessage(char type, std::span<const uint8_t>)`, and
  // optionally `void onEnd(char type, size_t end)`: every message's end, as an index in the
  // chunk just past its last byte. The offsets let a caller edit the stream message by message.
  template <class Visitor>
  Result feed(std::span<const uint8_t> chunk, Visitor& visitor);

 private:
  bool headerComplete(Result& result);
  template <class Visitor>
  static void notifyEnd(Visitor& visitor, char type, size_t end) {
    if constexpr (requires { visitor.onEnd(type, end); }) visitor.onEnd(type, end);
  }

  uint32_t max_size_;
  uint8_t header_[5] = {};
  uint8_t header_have_ = 0;
  uint32_t body_left_ = 0;
  bool capturing_ = false;
  std::string captured_;  // only for a captured body split across chunks
};

template <class Visitor>
MessageScanner::Result MessageScanner::feed(std::span<const uint8_t> chunk, Visitor& visitor) {
  Result result;
  size_t pos = 0;
  while (pos < chunk.size()) {
    if (body_left_ > 0) {
      size_t take = std::min<size_t>(body_left_, chunk.size() - pos);
      if (capturing_) {
        if (captured_.empty() && take == body_left_) {
          body_left_ = 0;
          capturing_ = false;
          visitor.onMessage(static_cast<char>(header_[0]), chunk.subspan(pos, take));
          pos += take;
          notifyEnd(visitor, static_cast<char>(header_[0]), pos);
          continue;
        }
        captured_.append(reinterpret_cast<const char*>(chunk.data() + pos), take);
      }
      body_left_ -= static_cast<uint32_t>(take);
      pos += take;
      if (body_left_ == 0 && capturing_) {
        capturing_ = false;
        std::string body = std::move(captured_);
        captured_.clear();
        visitor.onMessage(
            static_cast<char>(header_[0]),
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
      }
      if (body_left_ == 0) notifyEnd(visitor, static_cast<char>(header_[0]), pos);
      continue;
    }
    if (header_have_ == 0) {
      char type = static_cast<char>(chunk[pos]);
      Action action;
      if constexpr (requires { visitor.onType(type, pos); })
        action = visitor.onType(type, pos);
      else
        action = visitor.onType(type);
      if (action == Action::kStop) {
        result.status = Result::Status::kStopped;
        result.offset = pos;
        return result;
      }
      capturing_ = action == Action::kCapture;
      if (chunk.size() - pos >= sizeof(header_)) {
        // The usual case, the whole header in this chunk: taken at once, not byte by byte.
        std::memcpy(header_, chunk.data() + pos, sizeof(header_));
        header_have_ = sizeof(header_);
        pos += sizeof(header_);
      }
    }
    if (header_have_ < sizeof(header_)) {
      header_[header_have_++] = chunk[pos++];
      if (header_have_ < sizeof(header_)) continue;
    }
    if (!headerComplete(result)) return result;
    if (body_left_ == 0) {
      if (capturing_) {
        capturing_ = false;
        visitor.onMessage(static_cast<char>(header_[0]), std::span<const uint8_t>());
      }
      notifyEnd(visitor, static_cast<char>(header_[0]), pos);
    }
  }
  return result;
}

}  // namespace apibouncer
