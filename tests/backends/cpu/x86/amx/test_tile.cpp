// AMX on this machine: the kernel grants the tile state (arch_prctl), the processor reports the
// AMX level, and a tile configuration filled field by field reaches the processor intact (read
// back with sttilecfg). g++ 12 has been seen to drop the stores filling the configuration before
// ldtilecfg; this runs in the g++ (unit) and clang (asan) builds alike.
#include <gtest/gtest.h>

#include <cstring>

#include "qlinear/backends/cpu/backend.hpp"

#if defined(__x86_64__)
#include <cpuid.h>

#include "qlinear/backends/cpu/x86/amx/tile.hpp"

namespace qlinear::test {
namespace {

// What CPUID and XCR0 say, independently of qlinear's detection.
bool cpuid_has_amx() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool tile = (d >> 24) & 1, int8 = (d >> 25) & 1;
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return tile && int8 && (lo & 0x60000) == 0x60000;
}

TEST(AmxTile, PermissionIsGrantedWhereTheProcessorHasAmx) {
  if (!cpuid_has_amx()) GTEST_SKIP() << "this processor (or OS) has no AMX-INT8: " << cpu_features().describe();
  EXPECT_TRUE(cpu_features().amx_tile);
  EXPECT_TRUE(cpu_features().amx_int8);
  EXPECT_TRUE(cpu::isa_supported(cpu::Isa::amx)) << "arch_prctl(ARCH_REQ_XCOMP_PERM) must have granted the tiles";
  EXPECT_EQ(cpu::best_isa(), cpu::Isa::amx);
}

TEST(AmxTile, AConfigurationFilledFieldByFieldReachesTheProcessor) {
  if (!cpu::isa_supported(cpu::Isa::amx)) GTEST_SKIP() << "no AMX here: " << cpu_features().describe();
  cpu::amx::TileConfig cfg;
  for (int t = 0; t < 8; ++t) cfg.set(t, 16 - t, 64 - 4 * t);  // every tile different
  cpu::amx::load_tile_config(cfg);
  const cpu::amx::TileConfig back = cpu::amx::stored_tile_config();
  cpu::amx::release_tiles();
  EXPECT_EQ(back.palette, 1);
  for (int t = 0; t < 8; ++t) {
    EXPECT_EQ(back.rows[t], 16 - t) << "tile " << t;
    EXPECT_EQ(back.colsb[t], 64 - 4 * t) << "tile " << t;
  }
  // An unused tile (no rows) is stored with no bytes per row either.
  cpu::amx::TileConfig partial;
  partial.set(0, 16, 64);
  partial.set(1, 0, 64);
  cpu::amx::load_tile_config(partial);
  const cpu::amx::TileConfig back2 = cpu::amx::stored_tile_config();
  cpu::amx::release_tiles();
  EXPECT_EQ(back2.rows[0], 16);
  EXPECT_EQ(back2.colsb[0], 64);
  EXPECT_EQ(back2.rows[1], 0);
  EXPECT_EQ(back2.colsb[1], 0);
}

}  // namespace
}  // namespace qlinear::test
#endif
