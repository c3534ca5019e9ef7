// row_json: staged rows split into members in order and re-serialized compactly, what is not
// an object, deep nesting, API ids as text, string escaping, and rows joined back.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "interceptor/row_json.h"

using namespace apibouncer::interceptor;

TEST_CASE("splitJsonObject keeps member order and values as written", "[row_json]") {
  auto object = splitJsonObject(
      R"( { "z" : 1 , "a" : { "x" : [ 1 , 2 , { "y" : null } ] } , "m" : [ ] ,
            "n" : null , "t" : true , "f" : false , "s" : "he said \"hi\"" ,
            "neg" : -12 , "big" : 9007199254740993 , "frac" : 2.5 , "o" : { } } )");
  REQUIRE(object);
  JsonObject expected = {
      {"z", "1"},
      {"a", R"({ "x" : [ 1 , 2 , { "y" : null } ] })"},
      {"m", "[ ]"},
      {"n", "null"},
      {"t", "true"},
      {"f", "false"},
      {"s", R"("he said \"hi\"")"},
      {"neg", "-12"},
      {"big", "9007199254740993"},
      {"frac", "2.5"},
      {"o", "{ }"},
  };
  CHECK(*object == expected);
}

TEST_CASE("splitJsonObject keeps numbers a double cannot hold", "[row_json]") {
  auto object = splitJsonObject(R"({"id":12345678901234567890123,"price":1.50,"e":1E2})");
  REQUIRE(object);
  CHECK(*findJsonMember(*object, "id") == "12345678901234567890123");
  CHECK(*findJsonMember(*object, "price") == "1.50");
  CHECK(*findJsonMember(*object, "e") == "1E2");
  CHECK(jsonIdText("12345678901234567890123") == "12345678901234567890123");
}

TEST_CASE("splitJsonObject survives deep, well-formed nesting", "[row_json]") {
  std::string deep = R"({"a":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto object = splitJsonObject(deep);
  REQUIRE(object);
  CHECK(findJsonMember(*object, "a")->size() == 200000);
}

TEST_CASE("splitJsonObject on an empty object", "[row_json]") {
  auto object = splitJsonObject("{}");
  REQUIRE(object);
  CHECK(object->empty());
}

TEST_CASE("splitJsonObject keeps escaped and non-ASCII keys", "[row_json]") {
  auto object = splitJsonObject(R"({"caf\u00e9":"\u00fcber","a\"b":1,"ключ":"значение"})");
  REQUIRE(object);
  REQUIRE(object->size() == 3);
  CHECK((*object)[0].first == "caf\xc3\xa9");
  CHECK((*object)[0].second == R"("\u00fcber")");  // values are not re-encoded
  CHECK((*object)[1].first == "a\"b");
  CHECK((*object)[2].first == "ключ");
  CHECK((*object)[2].second == "\"значение\"");
}

TEST_CASE("splitJsonObject refuses what is not a JSON object", "[row_json]") {
  CHECK_FALSE(splitJsonObject("[1,2]"));
  CHECK_FALSE(splitJsonObject(R"("text")"));
  CHECK_FALSE(splitJsonObject("42"));
  CHECK_FALSE(splitJsonObject("null"));
  CHECK_FALSE(splitJsonObject("true"));
  CHECK_FALSE(splitJsonObject("garbage"));
  CHECK_FALSE(splitJsonObject(""));
  CHECK_FALSE(splitJsonObject("   "));
  CHECK_FALSE(splitJsonObject("{"));
  CHECK_FALSE(splitJsonObject(R"({"a":})"));
  CHECK_FALSE(splitJsonObject(R"({"a":1,})"));
  CHECK_FALSE(splitJsonObject(R"({"a":1} trailing)"));
  CHECK_FALSE(splitJsonObject(R"({a:1})"));
}

TEST_CASE("splitJsonObject reads only the view it is given", "[row_json]") {
  std::string text = R"({"a":1}{"b":2})";
  auto object = splitJsonObject(std::string_view(text).substr(0, 7));
  REQUIRE(object);
  CHECK(*object == JsonObject{{"a", "1"}});
}

TEST_CASE("splitJsonObject survives deeply nested input", "[row_json]") {
  SECTION("100000 unclosed brackets") {
    std::string deep = R"({"a":)" + std::string(100000, '[');
    CHECK_FALSE(splitJsonObject(deep));
  }
  SECTION("100000 unclosed brackets then the object's brace") {
    std::string deep = R"({"a":)" + std::string(100000, '[') + "}";
    CHECK_FALSE(splitJsonObject(deep));
  }
  SECTION("100000 unclosed objects") {
    std::string deep = "{";
    for (int i = 0; i < 100000; ++i) deep += R"("a":{)";
    CHECK_FALSE(splitJsonObject(deep));
  }
  SECTION("moderately deep balanced nesting round-trips") {
    std::string value = std::string(1000, '[') + std::string(1000, ']');
    auto object = splitJsonObject(R"({"a":)" + value + "}");
    REQUIRE(object);
    REQUIRE(object->size() == 1);
    CHECK((*object)[0].second == value);
  }
}

TEST_CASE("jsonIdText: a string's contents, anything else as written", "[row_json]") {
  CHECK(jsonIdText(R"("abc")") == "abc");
  CHECK(jsonIdText("42") == "42");
  CHECK(jsonIdText("-7") == "-7");
  CHECK(jsonIdText(R"("cus_\"q\"\\x")") == R"(cus_"q"\x)");
  CHECK(jsonIdText(R"("line\nbreak\ttab")") == "line\nbreak\ttab");
  CHECK(jsonIdText(R"("\u00e9\u4e2d")") == "\xc3\xa9\xe4\xb8\xad");
  CHECK(jsonIdText(R"("\ud83d\ude00")") == "\xf0\x9f\x98\x80");  // surrogate pair
  CHECK(jsonIdText(R"("")") == "");
  CHECK(jsonIdText("null") == "null");
  CHECK(jsonIdText("true") == "true");
  // Not valid JSON: returned as written.
  CHECK(jsonIdText("not json") == "not json");
  CHECK(jsonIdText("") == "");
}

TEST_CASE("jsonIdText keeps embedded NUL characters", "[row_json]") {
  CHECK(jsonIdText(R"("a\u0000b")") == std::string("a\0b", 3));
}

TEST_CASE("jsonString escapes quotes, backslashes and control characters", "[row_json]") {
  CHECK(jsonString("") == R"("")");
  CHECK(jsonString("plain") == R"("plain")");
  CHECK(jsonString(R"(say "hi")") == R"("say \"hi\"")");
  CHECK(jsonString(R"(C:\dir)") == R"("C:\\dir")");
  CHECK(jsonString("a\nb\tc\rd\be\ff") == R"("a\nb\tc\rd\be\ff")");
  CHECK(jsonString(std::string("\x01\x1f", 2)) == R"("\u0001\u001F")");
  CHECK(jsonString(std::string("a\0b", 3)) == R"("a\u0000b")");
  CHECK(jsonString("/") == R"("/")");
}

TEST_CASE("jsonString keeps UTF-8 as is", "[row_json]") {
  CHECK(jsonString("café") == "\"café\"");
  CHECK(jsonString("中文 😀") == "\"中文 😀\"");
}

TEST_CASE("jsonString round-trips through jsonIdText", "[row_json]") {
  for (std::string text : {std::string("plain"), std::string(R"(q"uo\te)"), std::string("ü\n\t"),
                           std::string("\x01\x7f", 2), std::string("a\0b", 3), std::string()})
    CHECK(jsonIdText(jsonString(text)) == text);
}

TEST_CASE("joinJsonRows builds the array of objects", "[row_json]") {
  CHECK(joinJsonRows({}) == "[]");
  CHECK(joinJsonRows({JsonObject{}}) == "[{}]");
  std::vector<JsonObject> rows = {
      {{"id", "1"}, {"name", R"("a\"b")"}},
      {{"id", "2"}, {"tags", R"(["x",{"y":null}])"}, {"k\"ey", "true"}},
  };
  CHECK(joinJsonRows(rows) ==
        R"([{"id":1,"name":"a\"b"},{"id":2,"tags":["x",{"y":null}],"k\"ey":true}])");
}

TEST_CASE("joinJsonRows round-trips through splitJsonObject", "[row_json]") {
  std::vector<std::string> texts = {
      R"({"id":"cus_1","n":3,"obj":{"a":[1,2.5,null]},"b":false,"u":"ü\n"})",
      R"({})",
      R"({"only":null})",
  };
  std::vector<JsonObject> rows;
  for (const auto& text : texts) {
    auto object = splitJsonObject(text);
    REQUIRE(object);
    rows.push_back(*object);
  }
  std::string joined = joinJsonRows(rows);
  // Each element re-splits to the same members.
  std::string wrapped = R"({"rows":)" + joined + "}";
  auto outer = splitJsonObject(wrapped);
  REQUIRE(outer);
  REQUIRE(outer->size() == 1);
  CHECK((*outer)[0].second == joined);  // already compact: re-serialized unchanged
  CHECK(joined == "[" + texts[0] + "," + texts[1] + "," + texts[2] + "]");
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string single = joinJsonRows({rows[i]});  // "[{...}]"
    auto again = splitJsonObject(std::string_view(single).substr(1, single.size() - 2));
    REQUIRE(again);
    CHECK(*again == rows[i]);
  }
}

TEST_CASE("setJsonMember replaces in place or appends", "[row_json]") {
  JsonObject object = {{"a", "1"}, {"b", "2"}};
  setJsonMember(object, "a", R"("x")");
  CHECK(object == JsonObject{{"a", R"("x")"}, {"b", "2"}});
  setJsonMember(object, "c", "null");
  CHECK(object == JsonObject{{"a", R"("x")"}, {"b", "2"}, {"c", "null"}});
  setJsonMember(object, "b", "[]");
  CHECK(object == JsonObject{{"a", R"("x")"}, {"b", "[]"}, {"c", "null"}});

  JsonObject empty;
  setJsonMember(empty, "k", "true");
  CHECK(empty == JsonObject{{"k", "true"}});
}

TEST_CASE("findJsonMember finds a member or returns nullptr", "[row_json]") {
  JsonObject object = {{"id", R"("cus_1")"}, {"name", "null"}};
  const std::string* id = findJsonMember(object, "id");
  REQUIRE(id != nullptr);
  CHECK(*id == R"("cus_1")");
  REQUIRE(findJsonMember(object, "name") != nullptr);
  CHECK(*findJsonMember(object, "name") == "null");
  CHECK(findJsonMember(object, "missing") == nullptr);
  CHECK(findJsonMember(object, "ID") == nullptr);  // exact, case-sensitive
  CHECK(findJsonMember(object, "") == nullptr);
  CHECK(findJsonMember(JsonObject{}, "id") == nullptr);
}
