#include "pooler/startup_options.h"

namespace apibouncer {
namespace {

bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<std::string> splitWords(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {  // a backslash that ends the text is dropped, as PostgreSQL drops it
      if (i + 1 < text.size()) word += text[++i];
      in_word = true;
    } else if (isBlank(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace

std::optional<std::vector<StartupOption>> parseStartupOptions(std::string_view text) {
  std::vector<std::string> words = splitWords(text);
  std::vector<StartupOption> options;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string_view word = words[i];
    std::string_view setting;
    if (word == "-c") {
      if (++i == words.size()) return std::nullopt;
      setting = words[i];
    } else if (word.starts_with("-c") || word.starts_with("--")) {
      setting = word.substr(2);
    } else {
      return std::nullopt;
    }
    size_t equals = setting.find('=');
    if (equals == std::string_view::npos || equals == 0) return std::nullopt;
    StartupOption option{std::string(setting.substr(0, equals)),
                         std::string(setting.substr(equals + 1))};
    for (char& c : option.name)
      if (c == '-') c = '_';
    options.push_back(std::move(option));
  }
  return options;
}

}  // namespace apibouncer
