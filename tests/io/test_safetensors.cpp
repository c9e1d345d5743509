// safetensors: round trips of every dtype, a file built byte by byte from the format's
// description, and hostile headers, each rejected with an Error naming what was wrong.

#include <gtest/gtest.h>

#if __has_include(<nlohmann/json.hpp>)

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "qlinear/io/safetensors.hpp"
#include "test_util.hpp"

namespace {

using namespace qlinear;
using io::Dtype;
using io::SafetensorsFile;
using io::SafetensorsWriter;

// A file from a raw JSON header and data bytes, as the format describes it.
std::vector<std::uint8_t> make_file(const std::string& json, std::vector<std::uint8_t> data = {}) {
  std::vector<std::uint8_t> out(8 + json.size() + data.size());
  const std::uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);
  if (!json.empty()) std::memcpy(out.data() + 8, json.data(), json.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + json.size(), data.data(), data.size());
  return out;
}

std::string error_of(const std::vector<std::uint8_t>& bytes) {
  try {
    (void)SafetensorsFile::from_bytes(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Safetensors, ReadsAFileBuiltFromTheSpec) {
  // The header of the format's own example: I32 [2, 2] and a metadata map, then 16 bytes.
  std::vector<std::uint8_t> data(16);
  const std::int32_t v[4] = {1, -2, 3, 2147483647};
  std::memcpy(data.data(), v, 16);
  const auto bytes = make_file(
      R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"foo":"bar"}})", data);
  const auto f = SafetensorsFile::from_bytes(bytes);
  ASSERT_EQ(f.size(), 1u);
  const auto& t = f.tensor("test");
  EXPECT_EQ(t.dtype, Dtype::I32);
  EXPECT_EQ(t.shape, (std::vector<std::uint64_t>{2, 2}));
  EXPECT_EQ(t.numel(), 4u);
  EXPECT_EQ(t.file_offset, 8u + bytes.size() - 8 - 16);
  EXPECT_EQ(t.values<std::int32_t>(), (std::vector<std::int32_t>{1, -2, 3, 2147483647}));
  EXPECT_EQ(f.metadata().at("foo"), "bar");
  EXPECT_TRUE(f.contains("test"));
  EXPECT_FALSE(f.contains("nope"));
  EXPECT_EQ(f.find("nope"), nullptr);
  EXPECT_THROW((void)f.tensor("nope"), Error);
  EXPECT_THROW((void)t.values<float>(), Error);  // dtype mismatch
}

TEST(Safetensors, RoundTripsEveryDtypeThroughAFile) {
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.set_metadata("note", "qlinear test \xE2\x9C\x93");
  const auto f32 = test::random_floats(6 * 5, 1);
  w.add("a.f32", {6, 5}, f32);
  w.add_floats("b.f16", Dtype::F16, {3, 10}, f32);
  w.add_floats("c.bf16", Dtype::BF16, {30}, f32);
  w.add_floats("d.f64", Dtype::F64, {2, 15}, f32);
  const std::vector<std::int8_t> i8 = {-128, -1, 0, 1, 127};
  const std::vector<std::uint8_t> u8 = {0, 1, 200, 255, 7};
  const std::vector<std::int16_t> i16 = {-32768, 32767, 5};
  const std::vector<std::int32_t> i32 = {-7, 1 << 30, 0};
  const std::vector<std::int64_t> i64 = {INT64_MIN, INT64_MAX, 3};
  w.add("e.i8", {5}, i8);
  w.add("f.u8", {5}, u8);
  w.add("g.i16", {3}, i16);
  w.add("h.i32", {3}, i32);
  w.add("i.i64", {3}, i64);
  w.add("j.bool", Dtype::BOOL, {4}, std::vector<std::uint8_t>{1, 0, 0, 1});
  w.add("k.empty", Dtype::F32, {0, 4}, {});
  w.add("l.scalar", {}, std::vector<float>{2.5f});

  const auto path = std::filesystem::temp_directory_path() / "qlinear_test_roundtrip.safetensors";
  w.write(path);
  const auto in_memory = w.to_bytes();
  const auto f = SafetensorsFile::open(path);
  EXPECT_TRUE(f.file().mapped());
  EXPECT_EQ(f.file().size(), in_memory.size());
  EXPECT_EQ(f.data_offset() % 8, 0u) << "the header is padded to 8 bytes";
  EXPECT_EQ(f.size(), 12u);
  EXPECT_EQ(f.metadata().size(), 2u);
  EXPECT_EQ(f.metadata().at("note"), "qlinear test \xE2\x9C\x93");

  // Zero-copy views: aligned, since the writer puts the widest dtypes first.
  const auto a = f.tensor("a.f32").as<float>();
  ASSERT_EQ(a.size(), f32.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], f32[i]);
  const auto b = f.tensor("b.f16").as<f16>();
  const auto c = f.tensor("c.bf16").as<bf16>();
  const auto d = f.tensor("d.f64").as<double>();
  const auto bf = f.tensor("b.f16").to_floats();
  for (std::size_t i = 0; i < f32.size(); ++i) {
    EXPECT_EQ(b[i].bits, f32_to_f16(f32[i]));
    EXPECT_EQ(bf[i], f16_to_f32(f32_to_f16(f32[i])));
    EXPECT_EQ(c[i].bits, f32_to_bf16(f32[i]));
    EXPECT_EQ(d[i], double(f32[i]));
  }
  EXPECT_EQ(f.tensor("b.f16").shape, (std::vector<std::uint64_t>{3, 10}));
  EXPECT_EQ(f.tensor("e.i8").values<std::int8_t>(), i8);
  EXPECT_EQ(f.tensor("f.u8").values<std::uint8_t>(), u8);
  EXPECT_EQ(f.tensor("g.i16").values<std::int16_t>(), i16);
  EXPECT_EQ(f.tensor("h.i32").values<std::int32_t>(), i32);
  EXPECT_EQ(f.tensor("i.i64").values<std::int64_t>(), i64);
  EXPECT_EQ(f.tensor("j.bool").to_floats(), (std::vector<float>{1, 0, 0, 1}));
  EXPECT_EQ(f.tensor("j.bool").dtype, Dtype::BOOL);
  EXPECT_EQ(f.tensor("k.empty").numel(), 0u);
  EXPECT_TRUE(f.tensor("k.empty").bytes.empty());
  EXPECT_EQ(f.tensor("l.scalar").shape.size(), 0u);
  EXPECT_EQ(f.tensor("l.scalar").to_floats(), (std::vector<float>{2.5f}));
  EXPECT_EQ(f.tensor("e.i8").to_floats(), (std::vector<float>{-128, -1, 0, 1, 127}));
  EXPECT_EQ(f.tensor("i.i64").to_floats()[2], 3.0f);

  // The views keep the mapping alive through owner().
  auto owner = f.owner();
  EXPECT_NE(owner, nullptr);
  std::filesystem::remove(path);
}

TEST(Safetensors, FromBytesEqualsOpen) {
  SafetensorsWriter w;
  w.add("x", {2, 2}, std::vector<float>{1, 2, 3, 4});
  const auto bytes = w.to_bytes();
  const auto f = SafetensorsFile::from_bytes(bytes);
  EXPECT_EQ(f.tensor("x").to_floats(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_TRUE(f.metadata().empty());
}

TEST(Safetensors, Float8Conversions) {
  const auto bytes = make_file(
      R"({"a":{"dtype":"F8_E4M3","shape":[6],"data_offsets":[0,6]},"b":{"dtype":"F8_E5M2","shape":[3],"data_offsets":[6,9]}})",
      {0x38, 0xB8, 0x7E, 0x01, 0x7F, 0x00, 0x3C, 0x7C, 0x7F});
  const auto f = SafetensorsFile::from_bytes(bytes);
  const auto a = f.tensor("a").to_floats();
  EXPECT_EQ(a[0], 1.0f);
  EXPECT_EQ(a[1], -1.0f);
  EXPECT_EQ(a[2], 448.0f);               // the largest e4m3fn value
  EXPECT_EQ(a[3], std::ldexp(1.0f, -9));  // the smallest subnormal
  EXPECT_TRUE(std::isnan(a[4]));
  EXPECT_EQ(a[5], 0.0f);
  const auto b = f.tensor("b").to_floats();
  EXPECT_EQ(b[0], 1.0f);
  EXPECT_TRUE(std::isinf(b[1]));
  EXPECT_TRUE(std::isnan(b[2]));
}

TEST(Safetensors, MisalignedViewsThrowButCopiesWork) {
  // Header of 59 bytes: data starts at byte 67, so the F32 tensor is not 4-byte aligned.
  std::string json = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  json += std::string(67 - 8 - json.size(), ' ');
  std::vector<std::uint8_t> data(8);
  const float v[2] = {1.5f, -2.0f};
  std::memcpy(data.data(), v, 8);
  const auto bytes = make_file(json, data);
  // Copy into storage whose start is 16-byte aligned so the offset decides the alignment.
  const auto file = io::MappedFile::copy_of(bytes);
  const SafetensorsFile f(file);
  const auto& t = f.tensor("w");
  if (reinterpret_cast<std::uintptr_t>(t.bytes.data()) % 4 != 0) {
    EXPECT_THROW((void)t.as<float>(), Error);
  }
  EXPECT_EQ(t.values<float>(), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(t.to_floats(), (std::vector<float>{1.5f, -2.0f}));
}

struct Hostile {
  const char* what;
  std::vector<std::uint8_t> bytes;
  const char* expect;  // a piece of the message
};

TEST(Safetensors, RejectsHostileFilesNamingTheField) {
  const std::string ok_tensor = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  std::vector<std::uint8_t> huge_len(16, 0);
  huge_len[7] = 0x80;  // header length 2^63
  std::vector<std::uint8_t> past_end = make_file("{}");
  past_end[0] = 100;
  std::vector<std::uint8_t> over_limit(16, 0);
  const std::uint64_t limit = 100'000'001;
  std::memcpy(over_limit.data(), &limit, 8);
  const std::vector<Hostile> cases = {
      {"empty", {}, "shorter than its 8-byte header length"},
      {"seven bytes", {1, 0, 0, 0, 0, 0, 0}, "shorter than its 8-byte header length"},
      {"length 2^63", huge_len, "exceeds the"},
      {"length over limit", over_limit, "exceeds the"},
      {"length past end", past_end, "runs past the end"},
      {"not an object", make_file("[1,2]  "), "must be a JSON object"},
      {"bad json", make_file(R"({"t":{"dtype":)"), "does not parse"},
      {"bad utf-8", make_file("{\"\xFF\":1}"), "does not parse"},
      {"duplicate", make_file("{" + ok_tensor + "," + ok_tensor + "}", std::vector<std::uint8_t>(8)), "twice"},
      {"tensor not object", make_file(R"({"t":[1]})"), "not an object"},
      {"unknown field", make_file(R"({"t":{"dtype":"F32","shape":[],"data_offsets":[0,4],"x":1}})", std::vector<std::uint8_t>(4)),
       "unknown field 'x'"},
      {"no dtype", make_file(R"({"t":{"shape":[2],"data_offsets":[0,8]}})", std::vector<std::uint8_t>(8)), "field dtype"},
      {"unknown dtype", make_file(R"({"t":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}})", std::vector<std::uint8_t>(8)),
       "unknown safetensors dtype 'F12'"},
      {"negative dim", make_file(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::vector<std::uint8_t>(8)),
       "field shape holds -2"},
      {"float dim", make_file(R"({"t":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", std::vector<std::uint8_t>(8)),
       "field shape holds 2.0"},
      {"shape overflow",
       make_file(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", std::vector<std::uint8_t>(8)),
       "more elements than 64 bits"},
      {"byte overflow",
       make_file(R"({"t":{"dtype":"F32","shape":[4611686018427387905],"data_offsets":[0,8]}})", std::vector<std::uint8_t>(8)),
       "more bytes than 64 bits"},
      {"offsets reversed", make_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", std::vector<std::uint8_t>(8)),
       "ends before it begins"},
      {"offsets not a pair", make_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", std::vector<std::uint8_t>(8)),
       "field data_offsets must be"},
      {"end past file", make_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::vector<std::uint8_t>(4)),
       "runs past the end"},
      {"size mismatch", make_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::vector<std::uint8_t>(8)),
       "needs 12"},
      {"overlap",
       make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                 std::vector<std::uint8_t>(8)),
       "inside the previous tensor"},
      {"hole",
       make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                 std::vector<std::uint8_t>(12)),
       "after a gap"},
      {"trailing bytes", make_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::vector<std::uint8_t>(9)),
       "unaccounted for"},
      {"metadata not strings", make_file(R"({"__metadata__":{"a":1}})"), "not a string"},
      {"metadata not object", make_file(R"({"__metadata__":"x"})"), "__metadata__ must be an object"},
  };
  for (const auto& c : cases) {
    const std::string msg = error_of(c.bytes);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.what << ": got '" << msg << "'";
  }
}

TEST(Safetensors, WriterRejectsMisuse) {
  SafetensorsWriter w;
  EXPECT_THROW(w.add("t", Dtype::F32, {3}, std::vector<std::uint8_t>(8)), Error);  // 3 floats need 12 bytes
  w.add("t", {1}, std::vector<float>{1});
  EXPECT_THROW(w.add("t", {1}, std::vector<float>{1}), Error);  // twice
  EXPECT_THROW(w.add("__metadata__", {1}, std::vector<float>{1}), Error);
  EXPECT_THROW(w.add_floats("u", Dtype::I32, {1}, std::vector<float>{1}), Error);
  EXPECT_THROW(w.write("/nonexistent-dir/x.safetensors"), Error);
}

TEST(Safetensors, MissingFileNamesThePath) {
  try {
    (void)SafetensorsFile::open("/nonexistent/model.safetensors");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace

#else
TEST(Safetensors, NeedsNlohmannJson) { GTEST_SKIP() << "nlohmann/json not found (apt-get install nlohmann-json3-dev)"; }
#endif
