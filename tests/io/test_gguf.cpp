// GGUF reader on every real file in ../shared/gguf-samples (their README lists what each holds),
// the writer's round trip, and hostile files: each rejected with an Error naming field and byte.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "qlinear/io/gguf.hpp"
#include "test_util.hpp"

namespace {

using namespace qlinear;
using io::GgufArray;
using io::GgufFile;
using io::GgufValue;
using io::GgufWriter;

std::filesystem::path samples() { return test::shared_dir() / "gguf-samples"; }

std::vector<float> read_f32_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary | std::ios::ate);
  EXPECT_TRUE(bool(in)) << p;
  std::vector<float> v(std::size_t(in.tellg()) / 4);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * 4));
  return v;
}

std::string error_of_bytes(const std::vector<std::uint8_t>& bytes) {
  try {
    (void)GgufFile::from_bytes(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A GGUF file written byte by byte, independent of GgufWriter.
struct Bytes {
  std::vector<std::uint8_t> b;
  template <class T>
  Bytes& put(T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<std::uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& header(std::uint64_t tensors, std::uint64_t kvs, std::uint32_t version = 3) {
    b.insert(b.end(), {'G', 'G', 'U', 'F'});
    return put<std::uint32_t>(version).put<std::uint64_t>(tensors).put<std::uint64_t>(kvs);
  }
  Bytes& pad(std::size_t a = 32) {
    b.resize((b.size() + a - 1) / a * a, 0);
    return *this;
  }
};

TEST(GgufSamples, DevstralSliceHeaderAndTensors) {
  const auto f = GgufFile::open(samples() / "devstral-slice-q4k-q6k.gguf");
  EXPECT_TRUE(f.file().mapped());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 45u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset(), 74688u);
  EXPECT_EQ(f.get<std::string>("general.architecture"), "llama");
  EXPECT_EQ(f.get<std::uint32_t>("general.file_type"), 15u);
  EXPECT_EQ(f.get<std::uint64_t>("GGUF.tensor_count"), 363u);
  EXPECT_EQ(f.get<std::uint64_t>("general.parameter_count"), 23572403200u);
  EXPECT_EQ(f.get<float>("llama.rope.freq_base"), 1e9f);
  EXPECT_EQ(f.get<bool>("tokenizer.ggml.add_bos_token"), true);
  EXPECT_EQ(f.get<bool>("tokenizer.ggml.add_eos_token"), false);
  EXPECT_EQ(f.get_int("llama.embedding_length"), 5120);
  EXPECT_FALSE(f.get_int("general.name").has_value());
  const auto& tokens = f.get<GgufArray>("tokenizer.ggml.tokens");
  EXPECT_EQ(tokens.type, io::GgufValueType::string);
  EXPECT_EQ(tokens.size(), 2048u);
  EXPECT_EQ(f.get<GgufArray>("tokenizer.ggml.merges").size(), 2048u);
  const auto types = f.get<GgufArray>("tokenizer.ggml.token_type").values<std::int32_t>();
  EXPECT_EQ(types.size(), 2048u);
  EXPECT_EQ(f.get<GgufArray>("general.languages").size(), 24u);
  EXPECT_THROW((void)f.get<std::uint64_t>("general.file_type"), Error);  // stored as u32
  EXPECT_THROW((void)f.get<std::string>("no.such.key"), Error);
  EXPECT_EQ(f.metadata().front().key, "general.architecture");
  EXPECT_EQ(f.metadata().front().offset, 24u);  // right after the 24-byte header

  ASSERT_EQ(f.tensors().size(), 3u);
  const auto& norm = f.tensor("blk.0.attn_norm.weight");
  const auto& k = f.tensor("blk.0.attn_k.weight");
  const auto& v = f.tensor("blk.0.attn_v.weight");
  EXPECT_EQ(norm.type_name(), "F32");
  EXPECT_EQ(norm.dims, (std::vector<std::uint64_t>{5120}));
  EXPECT_EQ(norm.file_offset, 74688u);
  EXPECT_EQ(k.type, 12u);
  EXPECT_EQ(k.dims, (std::vector<std::uint64_t>{5120, 64}));
  EXPECT_EQ(k.file_offset, 95168u);
  EXPECT_EQ(k.bytes.size(), 184320u);
  EXPECT_EQ(k.bits_per_weight(), 4.5);
  EXPECT_EQ(v.type_name(), "Q6_K");
  EXPECT_EQ(v.file_offset, 279488u);
  EXPECT_EQ(v.bytes.size(), 268800u);
  EXPECT_EQ(v.rows(), 64u);
  EXPECT_EQ(v.cols(), 5120u);
  // Zero copy: the views point into the mapping.
  EXPECT_EQ(k.bytes.data(), f.file().data() + 95168);
  EXPECT_THROW((void)f.tensor("blk.0.attn_q.weight"), Error);
}

TEST(GgufSamples, DevstralDequantizesBitForBitAgainstGgufPy) {
  const auto f = GgufFile::open(samples() / "devstral-slice-q4k-q6k.gguf");
  const double checksum[] = {509.858826, 1522.18579, 470.357391};  // manifest.json: sum |x|
  const char* names[] = {"blk.0.attn_norm.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"};
  for (int i = 0; i < 3; ++i) {
    const auto got = io::dequantize(f.tensor(names[i]));
    const auto truth = read_f32_file(samples() / (std::string("devstral-slice-q4k-q6k.truth.") + names[i] + ".f32"));
    ASSERT_EQ(got.size(), truth.size()) << names[i];
    std::size_t mismatches = 0;
    double sum = 0;
    for (std::size_t j = 0; j < got.size(); ++j) {
      mismatches += std::bit_cast<std::uint32_t>(got[j]) != std::bit_cast<std::uint32_t>(truth[j]);
      sum += std::fabs(got[j]);
    }
    EXPECT_EQ(mismatches, 0u) << names[i];
    EXPECT_NEAR(sum, checksum[i], 2e-3) << names[i];
  }
}

TEST(GgufSamples, TinyllamasQ8_0v2MatchesTheF32v1File) {
  // The same stories260K model, once in Q8_0 (GGUF v2) and once in F32 (GGUF v1): every Q8_0
  // tensor dequantizes to within Q8_0's rounding (d/2 per element, d = block max / 127) of
  // the F32 one, including the ffn_down tensors whose 172-element rows straddle blocks.
  const auto q = GgufFile::open(samples() / "tinyllamas-stories-260k-q8_0.gguf");
  const auto f = GgufFile::open(samples() / "tinyllamas-stories-260k-f32.gguf");
  EXPECT_EQ(q.version(), 2u);
  EXPECT_EQ(f.version(), 1u);
  EXPECT_EQ(q.metadata().size(), 20u);
  EXPECT_EQ(f.metadata().size(), 18u);
  EXPECT_EQ(q.data_offset(), 14240u);
  EXPECT_EQ(f.data_offset(), 11456u);
  EXPECT_FALSE(f.contains("general.file_type"));
  EXPECT_EQ(q.get<std::uint32_t>("general.file_type"), 7u);
  EXPECT_EQ(q.get<GgufArray>("tokenizer.ggml.tokens").size(), 512u);
  EXPECT_EQ(f.get<GgufArray>("tokenizer.ggml.scores").values<float>().size(), 512u);
  ASSERT_EQ(q.tensors().size(), 48u);
  ASSERT_EQ(f.tensors().size(), 48u);
  int q8 = 0, f32 = 0, straddling = 0;
  for (const auto& t : q.tensors()) {
    const auto& ft = f.tensor(t.name);
    EXPECT_EQ(ft.type, 0u);
    EXPECT_EQ(t.dims, ft.dims) << t.name;
    const auto a = io::dequantize(t), b = io::dequantize(ft);
    ASSERT_EQ(a.size(), b.size());
    if (t.type == 0) {
      ++f32;
      EXPECT_EQ(a, b) << t.name;
      continue;
    }
    ASSERT_EQ(t.type_name(), "Q8_0");
    ++q8;
    if (!t.rows_whole()) {
      ++straddling;
      EXPECT_EQ(t.dims, (std::vector<std::uint64_t>{172, 64})) << t.name;
      EXPECT_EQ(t.bytes.size(), 11696u);
    }
    double worst = 0;
    for (std::size_t blk = 0; blk < a.size() / 32; ++blk) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(b[blk * 32 + j]));
      for (int j = 0; j < 32; ++j) {
        const double err = std::fabs(double(a[blk * 32 + j]) - b[blk * 32 + j]);
        if (amax > 0) worst = std::max(worst, err / (amax / 127.0));
      }
    }
    // |x − f16(d)·q| ≤ d/2 + |d − f16(d)|·127 ≤ d·(1/2 + 127·2⁻¹¹) = 0.562·d.
    EXPECT_LE(worst, 0.562) << t.name << ": error beyond Q8_0's rounding (in units of d)";
    EXPECT_GT(worst, 0.3) << t.name << ": suspiciously exact";
  }
  EXPECT_EQ(q8, 37);
  EXPECT_EQ(f32, 11);
  EXPECT_EQ(straddling, 5);
}

TEST(GgufSamples, F16And4DFiles) {
  const auto l = GgufFile::open(samples() / "llama-2-tiny-random.gguf");
  EXPECT_EQ(l.version(), 3u);
  EXPECT_EQ(l.metadata().size(), 18u);
  EXPECT_EQ(l.data_offset(), 724416u);
  int f16 = 0, f32 = 0;
  for (const auto& t : l.tensors()) (t.type == 1 ? f16 : f32) += 1;
  EXPECT_EQ(f16, 9);
  EXPECT_EQ(f32, 3);
  EXPECT_EQ(l.tensor("token_embd.weight").dims, (std::vector<std::uint64_t>{8, 32000}));
  EXPECT_EQ(l.get<GgufArray>("tokenizer.ggml.tokens").size(), 32000u);
  const auto emb = io::dequantize(l.tensor("token_embd.weight"));
  for (float x : emb) ASSERT_TRUE(std::isfinite(x));

  const auto s = GgufFile::open(samples() / "superpoint.gguf");
  EXPECT_EQ(s.metadata().size(), 1u);
  EXPECT_EQ(s.get<std::string>("general.architecture"), "superpoint");
  EXPECT_EQ(s.tensors().size(), 24u);
  EXPECT_EQ(s.data_offset(), 1664u);
  EXPECT_EQ(s.tensor("l0_weights").dims, (std::vector<std::uint64_t>{3, 3, 1, 64}));
  EXPECT_EQ(s.tensor("l0_weights").rows(), 3u * 64u);
  EXPECT_EQ(s.tensor("l0_biases").dims, (std::vector<std::uint64_t>{1, 1, 64, 1}));
  EXPECT_EQ(s.tensor("l1_weights").type_name(), "F16");
}

TEST(GgufSamples, VocabOnlyFilesEndBeforeTheDataSection) {
  struct V {
    const char* file;
    std::size_t kvs;
    std::uint64_t data;
    const char* model;
  };
  for (const V v : {V{"ggml-vocab-llama-spm.gguf", 22, 723872, "llama"}, V{"ggml-vocab-bert-bge.gguf", 20, 627552, "bert"},
                    V{"ggml-vocab-gpt-2.gguf", 16, 1766816, "gpt2"}}) {
    const auto f = GgufFile::open(samples() / v.file);
    EXPECT_EQ(f.tensors().size(), 0u) << v.file;
    EXPECT_EQ(f.metadata().size(), v.kvs) << v.file;
    EXPECT_EQ(f.data_offset(), v.data) << v.file;
    EXPECT_GT(f.data_offset(), f.file().size()) << v.file;
    EXPECT_EQ(f.get<std::string>("tokenizer.ggml.model"), v.model) << v.file;
    EXPECT_GT(f.get<GgufArray>("tokenizer.ggml.tokens").size(), 1000u) << v.file;
  }
  const auto g = GgufFile::open(samples() / "ggml-vocab-gpt-2.gguf");
  const auto merges = g.get<GgufArray>("tokenizer.ggml.merges").values<std::string>();
  EXPECT_GT(merges.size(), 1000u);
  EXPECT_NE(merges[0].find(' '), std::string::npos) << "a BPE merge is two tokens with a space";
}

TEST(GgufSamples, EveryFileEndsWhereItsLastTensorDoes) {
  // The README's check: data start + last tensor's offset + its size = file size.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(samples())) {
    if (e.path().extension() != ".gguf") continue;
    ++files;
    const auto f = GgufFile::open(e.path());
    if (f.tensors().empty()) continue;
    std::uint64_t end = 0;
    for (const auto& t : f.tensors()) end = std::max<std::uint64_t>(end, t.file_offset + t.bytes.size());
    EXPECT_EQ(end, f.file().size()) << e.path();
  }
  EXPECT_EQ(files, 8);
}

TEST(GgufSamples, NegativeFilesAreRejectedNamingFieldAndByte) {
  try {
    (void)GgufFile::open(samples() / "negative" / "devstral-slice-q4k-q6k.corrupt-offset.gguf");
    FAIL() << "corrupt offset accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("blk.0.attn_v.weight"), std::string::npos) << m;
    EXPECT_NE(m.find("offset"), std::string::npos) << m;
    EXPECT_NE(m.find("2193152"), std::string::npos) << m;
    EXPECT_NE(m.find("(byte 74652)"), std::string::npos) << m;  // corruption_truth.json's byte_position
  }
  try {
    (void)GgufFile::open(samples() / "negative" / "example-prerelease-FUGG.gguf");
    FAIL() << "FUGG accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("not a GGUF file"), std::string::npos) << m;
    EXPECT_NE(m.find("FUGG"), std::string::npos) << m;
  }
}

GgufWriter every_type_writer(std::uint32_t version = 3) {
  GgufWriter w(version);
  w.set("general.architecture", std::string("test"));
  w.set("u8", std::uint8_t(200));
  w.set("i8", std::int8_t(-100));
  w.set("u16", std::uint16_t(60000));
  w.set("i16", std::int16_t(-30000));
  w.set("u32", std::uint32_t(4000000000u));
  w.set("i32", std::int32_t(-2000000000));
  w.set("f32", 3.25f);
  w.set("bool", true);
  w.set("string", std::string("h\xC3\xA9llo\0x", 8));
  w.set("u64", std::uint64_t(1) << 60);
  w.set("i64", -(std::int64_t(1) << 60));
  w.set("f64", 2.5e300);
  w.set("strings", GgufArray::of(std::vector<std::string>{"a", "", "ccc"}));
  w.set("floats", GgufArray::of(std::vector<float>{1.5f, -2.0f}));
  w.set("bools", GgufArray::of(std::vector<bool>{true, false, true}));
  w.set("nested", GgufArray::of_arrays({GgufArray::of(std::vector<std::string>{"x", "y"}),
                                        GgufArray::of(std::vector<std::string>{}),
                                        GgufArray::of_arrays({GgufArray::of(std::vector<std::int64_t>{7})})}));
  w.set("empty", GgufArray::of(std::vector<std::uint32_t>{}));
  return w;
}

TEST(GgufWriter, RoundTripsEveryValueTypeAndTensorType) {
  for (std::uint32_t version : {2u, 3u}) {
    const std::size_t k = 512, n = 3;
    const auto x = test::random_floats(n * k, 5);
    struct T {
      const char* name;
      SchemeId id;
    };
    const T types[] = {{"f32", SchemeId::f32}, {"f16", SchemeId::f16}, {"bf16", SchemeId::bf16},
                       {"q8_0", SchemeId::q8_0}, {"q4_K", SchemeId::q4_K}, {"q6_K", SchemeId::q6_K},
                       {"iq4_xs", SchemeId::iq4_xs}};
    std::vector<std::vector<std::uint8_t>> data;
    GgufWriter out = every_type_writer(version);
    out.set_alignment(64);
    for (const auto& t : types) {
      data.emplace_back(n * scheme_row_bytes(t.id, k));
      quantize_rows(t.id, x.data(), n, k, data.back());
      out.add_tensor(std::string("w.") + t.name, io::gguf_tensor_type(t.id), {k, n}, data.back());
    }
    out.add_tensor("odd", 0, {3}, std::vector<std::uint8_t>(12, 1));
    out.add_tensor("i32", 26, {2, 1}, std::vector<std::uint8_t>{1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF});
    const auto bytes = out.to_bytes();
    const auto path = std::filesystem::temp_directory_path() / ("qlinear_test_writer_v" + std::to_string(version) + ".gguf");
    out.write(path);
    const auto f = GgufFile::open(path);
    EXPECT_EQ(f.file().size(), bytes.size());
    EXPECT_EQ(std::memcmp(f.file().data(), bytes.data(), bytes.size()), 0) << "write() and to_bytes() agree";
    EXPECT_EQ(f.version(), version);
    EXPECT_EQ(f.alignment(), 64u);
    EXPECT_EQ(f.data_offset() % 64, 0u);
    // Every value read back equals the one written, in the order written.
    GgufWriter ref = every_type_writer(version);
    ref.set_alignment(64);
    const std::vector<std::pair<std::string, GgufValue>> want = {
        {"general.architecture", std::string("test")}, {"u8", std::uint8_t(200)}, {"i8", std::int8_t(-100)},
        {"u16", std::uint16_t(60000)}, {"i16", std::int16_t(-30000)}, {"u32", std::uint32_t(4000000000u)},
        {"i32", std::int32_t(-2000000000)}, {"f32", 3.25f}, {"bool", true}};
    ASSERT_EQ(f.metadata().size(), 19u);
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(f.metadata()[i].key, want[i].first);
      EXPECT_EQ(f.metadata()[i].value, want[i].second) << want[i].first;
    }
    EXPECT_EQ(f.metadata().back().key, "general.alignment");
    EXPECT_EQ(f.get<GgufArray>("strings").values<std::string>(), (std::vector<std::string>{"a", "", "ccc"}));
    EXPECT_EQ(f.get<GgufArray>("floats").values<float>(), (std::vector<float>{1.5f, -2.0f}));
    EXPECT_EQ(f.get<GgufArray>("empty").size(), 0u);
    EXPECT_EQ(f.get<GgufArray>("empty").type, io::GgufValueType::u32);
    EXPECT_EQ(f.get<std::string>("string"), std::string("h\xC3\xA9llo\0x", 8));
    EXPECT_EQ(f.get<std::int64_t>("i64"), -(std::int64_t(1) << 60));
    EXPECT_EQ(f.get<double>("f64"), 2.5e300);
    EXPECT_EQ(f.get<std::uint32_t>("u32"), 4000000000u);
    EXPECT_EQ(f.get<GgufArray>("bools").values<bool>(), (std::vector<bool>{true, false, true}));
    const auto& nested = f.get<GgufArray>("nested");
    ASSERT_EQ(nested.arrays.size(), 3u);
    EXPECT_EQ(nested.arrays[0].values<std::string>(), (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(nested.arrays[2].arrays[0].values<std::int64_t>(), (std::vector<std::int64_t>{7}));
    ASSERT_EQ(f.tensors().size(), std::size(types) + 2);
    for (std::size_t i = 0; i < std::size(types); ++i) {
      const auto& t = f.tensor(std::string("w.") + types[i].name);
      EXPECT_EQ(t.type, std::uint32_t(types[i].id));
      EXPECT_EQ(t.dims, (std::vector<std::uint64_t>{k, n}));
      EXPECT_EQ(t.offset % 64, 0u);
      ASSERT_EQ(t.bytes.size(), data[i].size());
      EXPECT_EQ(std::memcmp(t.bytes.data(), data[i].data(), data[i].size()), 0) << types[i].name;
    }
    EXPECT_EQ(io::dequantize(f.tensor("i32")), (std::vector<float>{1, -1}));
    std::filesystem::remove(path);
  }
}

TEST(GgufWriter, RejectsMisuse) {
  GgufWriter w;
  EXPECT_THROW(GgufWriter(1), Error);
  EXPECT_THROW(w.set("general.alignment", std::uint32_t(48)), Error);
  EXPECT_THROW(w.set("general.alignment", std::uint64_t(64)), Error);
  EXPECT_THROW(w.add_tensor("t", 12, {100, 2}, std::vector<std::uint8_t>(0)), Error);  // 200 weights: not whole Q4_K blocks
  EXPECT_THROW(w.add_tensor("t", 99, {1}, std::vector<std::uint8_t>(4)), Error);       // no such type
  EXPECT_THROW(w.add_tensor("t", 0, {2}, std::vector<std::uint8_t>(4)), Error);        // 2 floats need 8 bytes
  EXPECT_THROW(w.add_tensor("t", 0, {1, 1, 1, 1, 1}, std::vector<std::uint8_t>(4)), Error);
  w.add_tensor("t", 0, {1}, std::vector<std::uint8_t>(4));
  EXPECT_THROW(w.add_tensor("t", 0, {1}, std::vector<std::uint8_t>(4)), Error);  // twice
  EXPECT_THROW((void)io::gguf_tensor_type(SchemeId::int4_g128), Error);
  EXPECT_THROW(w.write("/nonexistent-dir/x.gguf"), Error);
  w.remove("general.architecture");
  w.set("a", std::uint8_t(1));
  w.set("a", std::uint8_t(2));  // replaces
  EXPECT_EQ(GgufFile::from_bytes(w.to_bytes()).get<std::uint8_t>("a"), 2);
}

TEST(GgufHostile, EveryTruncationIsAnError) {
  GgufWriter w = every_type_writer();
  w.add_tensor("a", 0, {4}, std::vector<std::uint8_t>(16, 0));
  w.add_tensor("b", 8, {32, 2}, std::vector<std::uint8_t>(68, 0));
  const auto bytes = w.to_bytes();
  const auto full = GgufFile::from_bytes(bytes);
  const std::size_t end = full.tensor("b").file_offset + 68;
  for (std::size_t n = 0; n < end; ++n) {
    std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + std::ptrdiff_t(n));
    EXPECT_THROW((void)GgufFile::from_bytes(cut), Error) << "prefix of " << n << " bytes";
  }
}

TEST(GgufHostile, CorruptFieldsNameTheFieldAndByte) {
  struct Case {
    const char* what;
    std::vector<std::uint8_t> bytes;
    std::vector<const char*> expect;
  };
  auto kv_file = [](std::uint32_t type, auto value) {
    Bytes b;
    b.header(0, 1).str("k").put<std::uint32_t>(type).put(value);
    return b.b;
  };
  Bytes deep;
  deep.header(0, 1).str("deep").put<std::uint32_t>(9);
  for (int i = 0; i < 20; ++i) deep.put<std::uint32_t>(9).put<std::uint64_t>(1);
  auto tensor_file = [](std::uint32_t n_dims, std::vector<std::uint64_t> dims, std::uint32_t type, std::uint64_t offset,
                        std::size_t data) {
    Bytes b;
    b.header(1, 0).str("t").put<std::uint32_t>(n_dims);
    for (auto d : dims) b.put<std::uint64_t>(d);
    b.put<std::uint32_t>(type).put<std::uint64_t>(offset).pad();
    b.b.resize(b.b.size() + data, 0);
    return b.b;
  };
  Bytes two;
  two.header(2, 0).str("a").put<std::uint32_t>(1).put<std::uint64_t>(16).put<std::uint32_t>(0).put<std::uint64_t>(0);
  two.str("b").put<std::uint32_t>(1).put<std::uint64_t>(8).put<std::uint32_t>(0).put<std::uint64_t>(32).pad();
  two.b.resize(two.b.size() + 64, 0);
  Bytes no_data;  // the file ends inside the padding before the data section
  no_data.header(1, 0).str("t").put<std::uint32_t>(1).put<std::uint64_t>(4).put<std::uint32_t>(0).put<std::uint64_t>(0);
  Bytes dup;
  dup.header(0, 2).str("k").put<std::uint32_t>(0).put<std::uint8_t>(1).str("k").put<std::uint32_t>(0).put<std::uint8_t>(1);
  Bytes align_type, align_pow;
  align_type.header(0, 1).str("general.alignment").put<std::uint32_t>(10).put<std::uint64_t>(32);
  align_pow.header(0, 1).str("general.alignment").put<std::uint32_t>(4).put<std::uint32_t>(24);
  Bytes big_string, big_array, big_count;
  big_string.header(0, 1).str("k").put<std::uint32_t>(8).put<std::uint64_t>(1ull << 62);
  big_array.header(0, 1).str("k").put<std::uint32_t>(9).put<std::uint32_t>(6).put<std::uint64_t>(1ull << 62);
  big_count.header(0, 1ull << 60);
  Bytes big_endian;
  big_endian.b = {'G', 'G', 'U', 'F', 0, 0, 0, 3};
  Bytes bad_elem;
  bad_elem.header(0, 1).str("k").put<std::uint32_t>(9).put<std::uint32_t>(13).put<std::uint64_t>(0);

  const std::vector<Case> cases = {
      {"empty", {}, {"not a GGUF file", "(byte 0)"}},
      {"bad magic", {'G', 'G', 'M', 'L', 3, 0, 0, 0}, {"not a GGUF file", "GGML"}},
      {"version 4", Bytes{}.header(0, 0, 4).b, {"version: 4", "(byte 4)"}},
      {"big-endian", big_endian.b, {"big-endian"}},
      {"kv count", big_count.b, {"metadata count", "cannot fit", "(byte 16)"}},
      {"value type 13", kv_file(13, std::uint8_t(0)), {"'k' value type: 13", "(byte 33)"}},
      {"bool 2", kv_file(7, std::uint8_t(2)), {"bool value: 2", "(byte 37)"}},
      {"string length", big_string.b, {"string length", "runs past the end", "(byte 37)"}},
      {"array count", big_array.b, {"array count", "cannot fit", "(byte 41)"}},
      {"array element type", bad_elem.b, {"array element type: 13", "(byte 37)"}},
      {"nesting", deep.b, {"nested deeper than 8"}},
      {"duplicate key", dup.b, {"'k' appears twice", "(byte 38)"}},
      {"alignment type", align_type.b, {"general.alignment' is u64, not u32", "(byte 24)"}},
      {"alignment power", align_pow.b, {"24 is not a power of two"}},
      {"n_dims", tensor_file(5, {1, 1, 1, 1, 1}, 0, 0, 4), {"tensor 't' n_dims: 5", "(byte 33)"}},
      {"dim overflow", tensor_file(2, {1ull << 40, 1ull << 40}, 0, 0, 4), {"element count overflow", "(byte 45)"}},
      {"dim beyond int64", tensor_file(1, {1ull << 63}, 0, 0, 4), {"int64 range"}},
      {"ggml type", tensor_file(1, {4}, 4, 0, 16), {"type: 4 is not a ggml type", "(byte 45)"}},
      {"blocks", tensor_file(1, {33}, 8, 0, 64), {"33 elements are not a whole number of 32-element blocks"}},
      {"misaligned offset", tensor_file(1, {4}, 0, 4, 64), {"offset: 4 is not a multiple of the alignment 32", "(byte 49)"}},
      {"past the end", tensor_file(1, {4}, 0, 32, 40), {"tensor 't' offset: 32 + 16 bytes of F32 run past the end", "(byte 49)"}},
      {"no data section", no_data.b, {"data section: starts at byte 64, past the end of the 57-byte file", "(byte 57)"}},
      {"overlap", two.b, {"tensor 'b' offset: 32 overlaps tensor 'a'"}},
      {"truncated key", Bytes{}.header(0, 1).put<std::uint64_t>(50).put<std::uint64_t>(0).b,
       {"metadata key length: string length 50 runs past", "(byte 24)"}},
  };
  for (const auto& c : cases) {
    const std::string m = error_of_bytes(c.bytes);
    for (const char* e : c.expect) EXPECT_NE(m.find(e), std::string::npos) << c.what << ": got '" << m << "'";
  }
}

TEST(GgufHostile, MissingFileNamesThePath) {
  try {
    (void)GgufFile::open("/nonexistent/model.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf: cannot open"), std::string::npos) << e.what();
  }
}

}  // namespace
