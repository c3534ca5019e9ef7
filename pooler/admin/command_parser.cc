// The admin console's command grammar (see command_parser.h).
#include "pooler/admin/command_parser.h"

#include <cctype>

namespace apibouncer::admin {
namespace {

// PgBouncer copies arguments into fixed buffers; longer ones are "bad arguments".
constexpr size_t kMaxWord = 64;
constexpr size_t kMaxValue = 256;

class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool atEnd() const { return pos_ >= text_.size(); }
  // Skips blanks; true if at least one was skipped.
  bool skipSpace() {
    size_t start = pos_;
    while (!atEnd() && isSpace(text_[pos_])) ++pos_;
    return pos_ > start;
  }
  bool peek(char c) const { return !atEnd() && text_[pos_] == c; }
  bool take(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  // A bare word or a quoted one (`quote` doubled inside means itself).
  std::optional<std::string> word(char quote, size_t max) {
    if (peek(quote)) return quoted(quote, max);
    std::string out;
    while (!atEnd() && isWordChar(text_[pos_])) out += text_[pos_++];
    if (out.empty() || out.size() > max) return std::nullopt;
    return out;
  }
  std::optional<std::string> quoted(char quote, size_t max) {
    std::string out;
    ++pos_;
    while (!atEnd()) {
      char c = text_[pos_++];
      if (c != quote) {
        out += c;
        continue;
      }
      if (!take(quote))
        return out.size() <= max && (quote != '"' || !out.empty()) ? std::optional<std::string>(out)
                                                                   : std::nullopt;
      out += quote;
    }
    return std::nullopt;  // unterminated
  }
  // `;` and blanks may end the command.
  bool finish() {
    skipSpace();
    if (take(';')) skipSpace();
    return atEnd();
  }
  // The keyword `word` (any case) followed by a blank; leaves the cursor after it if so.
  bool keyword(std::string_view word) {
    if (text_.size() - pos_ < word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(text_[pos_ + i])) != word[i]) return false;
    size_t after = pos_ + word.size();
    if (after >= text_.size() || !isSpace(text_[after])) return false;
    pos_ = after;
    return true;
  }

 private:
  static bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static bool isWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
  std::string_view text_;
  size_t pos_ = 0;
};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::optional<ParsedCommand> parseSet(Cursor cursor) {
  ParsedCommand out;
  out.kind = ParsedCommand::Kind::kSet;
  cursor.skipSpace();
  if (!cursor.keyword("set")) return std::nullopt;
  cursor.skipSpace();
  auto key = cursor.word('"', kMaxWord);
  if (!key) return std::nullopt;
  cursor.skipSpace();
  if (!cursor.take('=') && !cursor.keyword("to")) return std::nullopt;
  cursor.skipSpace();
  auto value = cursor.peek('\'') ? cursor.quoted('\'', kMaxValue) : cursor.word('"', kMaxValue);
  if (!value || !cursor.finish()) return std::nullopt;
  out.key = *key;
  out.value = *value;
  return out;
}

}  // namespace

std::optional<ParsedCommand> parseCommand(std::string_view query) {
  Cursor cursor(query);
  cursor.skipSpace();
  ParsedCommand out;
  Cursor start = cursor;
  if (auto verb = cursor.word('"', kMaxWord)) {
    out.verb = lower(*verb);
    Cursor before_arg = cursor;
    if (cursor.skipSpace() && !cursor.peek(';') && !cursor.atEnd()) {
      if (auto arg = cursor.word('"', kMaxWord)) {
        out.arg = *arg;
      } else {
        cursor = before_arg;
      }
    }
    if (cursor.finish()) return out;
  }
  return parseSet(start);
}

}  // namespace apibouncer::admin
