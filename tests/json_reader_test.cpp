// The shared JSON reader: order kept, repeated keys and deep nesting refused with the file named,
// parse errors placed, and no recursion on hostile nesting.
#include "io/json_reader.h"

#include <gtest/gtest.h>

#include <string>

#include "util/error.h"

namespace qimplant {
namespace {

std::string error_of(const std::string& text, const DuplicateKeyMessage& dup = {}) {
  try {
    parse_json(text, "test file 't.json'", dup);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(JsonReader, KeepsTheFileOrderOfKeysAndEveryValueType) {
  const Json j = parse_json(
      R"({"z": 1, "a": [true, null, -2, 18446744073709551615, 0.5, "s"], "m": {"y": {}, "b": []}})",
      "w");
  ASSERT_TRUE(j.is_object());
  std::string keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys += it.key();
  EXPECT_EQ(keys, "zam");
  EXPECT_EQ(j.dump(),
            R"({"z":1,"a":[true,null,-2,18446744073709551615,0.5,"s"],"m":{"y":{},"b":[]}})");
  EXPECT_EQ(parse_json("3", "w"), Json(3));
  EXPECT_EQ(parse_json(" \"x\" ", "w"), Json("x"));
}

TEST(JsonReader, ALargeObjectKeepsOrderAndFindsARepeatedKey) {
  std::string text = "{";
  for (int i = 0; i < 5000; ++i)
    text += (i ? "," : "") + ("\"k" + std::to_string(4999 - i) + "\": " + std::to_string(i));
  const Json j = parse_json(text + "}", "w");
  ASSERT_EQ(j.size(), 5000u);
  EXPECT_EQ(j.begin().key(), "k4999");
  EXPECT_EQ(j.at("k0"), 4999);
  const std::string msg = error_of(text + ", \"k17\": 0}");
  EXPECT_EQ(msg,
            "test file 't.json': key \"k17\" appears more than once in the top-level object; "
            "give each key once");
}

TEST(JsonReader, ARepeatedKeyIsNamedWithItsPath) {
  EXPECT_EQ(
      error_of(R"({"a": [{}, {"b": {"c": 1, "c": 2}}]})"),
      "test file 't.json': key \"c\" appears more than once in \"a/1/b\"; give each key once");
  // The same key in sibling objects is no repetition.
  EXPECT_EQ(error_of(R"({"a": {"c": 1}, "b": {"c": 1}})"), "");
  EXPECT_EQ(error_of(R"({"a": {"c": 1, "c": 1}})",
                     [](const std::vector<std::string>& at, const std::string& key) {
                       return "in " + at.at(0) + ": " + key;
                     }),
            "test file 't.json': in a: c");
}

TEST(JsonReader, NestingDeeperThanTheLimitIsRefusedWithItsPlace) {
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_EQ(error_of(ok), "");
  // 200,000 levels: the library's recursive copy would overflow the stack.
  for (const std::string open : {"[", "{\"k\":"}) {
    std::string deep;
    for (int i = 0; i < 200000; ++i) deep += open;
    const std::string msg = error_of(" \n" + deep);
    EXPECT_EQ(msg,
              "test file 't.json': malformed JSON: arrays and objects nested more than 100 "
              "deep at line 2, column " +
                  std::to_string(1 + kMaxJsonDepth * open.size()) +
                  " (q-implant's inputs nest a few levels)")
        << open;
  }
}

TEST(JsonReader, ParseErrorsArePlacedAndHinted) {
  EXPECT_EQ(error_of("{\"a\": 1,\n \"b\": }"),
            "test file 't.json': malformed JSON: parse error at line 2, column 7: syntax error "
            "while parsing value - unexpected '}'; expected '[', '{', or a literal");
  EXPECT_EQ(error_of("{\"a\": 1e999}"),
            "test file 't.json': malformed JSON: number overflow parsing '1e999' at line 1, "
            "column 7: the number is outside the range of a double");
  EXPECT_NE(error_of("{\"a\": NaN}").find("the file contains NaN, which is not JSON"),
            std::string::npos);
  EXPECT_NE(error_of("{} x").find("malformed JSON: parse error at line 1, column 4"),
            std::string::npos);
  EXPECT_NE(error_of("").find("malformed JSON: parse error at line 1, column 1"),
            std::string::npos);
  EXPECT_NE(error_of("\"\xff\"").find("malformed JSON"), std::string::npos);
}

}  // namespace
}  // namespace qimplant
