#pragma once
// AMX tile configuration, in namespace qlinear::cpu::amx: the 64-byte palette-1 structure that
// ldtilecfg reads, and loading it so that no compiler can drop the stores that fill it.
//
// g++ 12 has been seen to treat the stores filling the configuration as dead and delete them:
// its _tile_loadconfig builtin is not known to read the structure. load_tile_config therefore
// first passes the structure's address to an empty asm statement that clobbers memory: the
// compiler must assume that statement reads every byte of it, so every store happens before
// it, and ldtilecfg (which comes after, and cannot move above a volatile asm) sees them. The
// tests load a configuration and read it back with sttilecfg, under g++ and under clang.

#if defined(__x86_64__) || defined(_M_X64)
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/x86/target.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu::amx {

/// The AMX tile configuration (palette 1): per tile, rows and bytes per row.
/// Usage: `TileConfig c; c.set(0, 16, 64); load_tile_config(c);`
struct alignas(64) TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};

  /// Tile t holds `r` rows of `bytes` bytes (at most 16 rows of 64 bytes). A tile without rows
  /// is unused and must have no bytes either (ldtilecfg faults otherwise).
  void set(int t, int r, int bytes) {
    rows[t] = std::uint8_t(r);
    colsb[t] = std::uint16_t(r > 0 ? bytes : 0);
  }
};
static_assert(sizeof(TileConfig) == 64);

/// Loads `cfg` into the tile configuration register (see above for why the asm statement).
QLINEAR_TARGET_AMX inline void load_tile_config(const TileConfig& cfg) {
  __asm__ __volatile__("" : : "r"(&cfg) : "memory");
  _tile_loadconfig(&cfg);
}

/// The configuration the processor holds (what the tests compare with what was loaded).
QLINEAR_TARGET_AMX inline TileConfig stored_tile_config() {
  TileConfig cfg;
  std::memset(static_cast<void*>(&cfg), 0xFF, sizeof cfg);
  _tile_storeconfig(&cfg);
  __asm__ __volatile__("" : : "r"(&cfg) : "memory");
  return cfg;
}

/// Ends this thread's use of the tiles (their state returns to INIT, cheap to context-switch).
QLINEAR_TARGET_AMX inline void release_tiles() { _tile_release(); }

}  // namespace qlinear::cpu::amx
QLINEAR_X86_KERNELS_END
#endif
