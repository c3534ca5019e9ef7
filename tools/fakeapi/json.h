// Small JSON helpers shared by the fake API's store and HTTP wiring.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace fakeapi {

// What a request is answered with; the body is always JSON.
struct Reply {
  int status = 200;
  std::string body;
};

std::string toJson(const rapidjson::Value& value);

// {"error":{"type":..,"message":..,"code":..,"field":..}}; code and field only when non-empty.
std::string errorJson(std::string_view type, std::string_view message, std::string_view code = {},
                      std::string_view field = {});
Reply errorReply(int status, std::string_view type, std::string_view message,
                 std::string_view code = {}, std::string_view field = {});

// The member named `name`, or nullptr (value must be an object).
const rapidjson::Value* findMember(const rapidjson::Value& object, std::string_view name);
rapidjson::Value* findMember(rapidjson::Value& object, std::string_view name);

bool hasPrefix(const rapidjson::Value& value, std::string_view prefix);
std::string_view asStringView(const rapidjson::Value& string_value);

}  // namespace fakeapi
