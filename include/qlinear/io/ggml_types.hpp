#pragma once
// The ggml tensor types a GGUF file may hold: id, name and block geometry, for every type ggml
// defines (not only those qlinear computes with), so a reader can size and skip any tensor.

#include <cstdint>
#include <string_view>

namespace qlinear::io {

/// One ggml tensor type: `block_elems` weights take `block_bytes` bytes.
/// Usage: `if (const auto* t = io::ggml_type_info(12)) bytes = n / t->block_elems * t->block_bytes;`
struct GgmlTypeInfo {
  std::uint32_t id;
  std::string_view name;
  std::uint32_t block_elems;
  std::uint32_t block_bytes;
};

namespace detail {
// ggml's type table (ggml.h enum ggml_type; ids 4, 5 and 31-33, 36-38 were removed from ggml).
inline constexpr GgmlTypeInfo kGgmlTypes[] = {
    {0, "F32", 1, 4},        {1, "F16", 1, 2},        {2, "Q4_0", 32, 18},     {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},     {7, "Q5_1", 32, 24},     {8, "Q8_0", 32, 34},     {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},   {11, "Q3_K", 256, 110},  {12, "Q4_K", 256, 144},  {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},  {15, "Q8_K", 256, 292},  {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50}, {20, "IQ4_NL", 32, 18},  {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},  {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},       {25, "I16", 1, 2},
    {26, "I32", 1, 4},       {27, "I64", 1, 8},       {28, "F64", 1, 8},       {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},      {34, "TQ1_0", 256, 54},  {35, "TQ2_0", 256, 66},  {39, "MXFP4", 32, 17},
};
}  // namespace detail

/// The type with ggml id `id`, or nullptr when ggml defines none.
inline const GgmlTypeInfo* ggml_type_info(std::uint32_t id) {
  for (const auto& t : detail::kGgmlTypes)
    if (t.id == id) return &t;
  return nullptr;
}

/// The type's name ("Q4_K"), or "unknown".
inline std::string_view ggml_type_name(std::uint32_t id) {
  const auto* t = ggml_type_info(id);
  return t ? t->name : std::string_view("unknown");
}

/// The ggml id of the type called `name` (case-insensitive: "q4_k", "Q4_K"), or -1.
inline std::int64_t ggml_type_from_name(std::string_view name) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
  for (const auto& t : detail::kGgmlTypes) {
    if (t.name.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i) same = lower(t.name[i]) == lower(name[i]);
    if (same) return t.id;
  }
  return -1;
}

}  // namespace qlinear::io
