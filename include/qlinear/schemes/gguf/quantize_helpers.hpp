#pragma once
// ggml's shared k-quant / iq4 quantizer helpers (make_qx_quants, make_q3_quants,
// make_qkx2_quants, best_index_int8) and the scale unpacking the block formats share.
// Each follows ggml's arithmetic operation for operation, so that block bytes come out equal.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "qlinear/schemes/gguf/common.hpp"

namespace qlinear::gguf {

/// Symmetric search for a scale giving levels in [-nmax, nmax-1] (stored +nmax), ggml's
/// make_qx_quants without an importance matrix. rmse_type 1 weights errors by x², 0 takes the
/// max-based scale, a negative value averages the two after one pass. Returns the scale.
inline float make_qx_quants(int n, int nmax, const float* x, std::int8_t* L, int rmse_type) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = float(-nmax) / max;
  if (rmse_type == 0) {
    for (int i = 0; i < n; ++i) {
      const int l = nearest_int(iscale * x[i]);
      L[i] = std::int8_t(nmax + std::max(-nmax, std::min(nmax - 1, l)));
    }
    return 1 / iscale;
  }
  bool return_early = false;
  if (rmse_type < 0) {
    rmse_type = -rmse_type;
    return_early = true;
  }
  auto weight = [&](int i) {
    return rmse_type == 1 ? x[i] * x[i] : rmse_type == 2 ? 1.f : rmse_type == 3 ? std::fabs(x[i]) : std::sqrt(std::fabs(x[i]));
  };
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = std::int8_t(l + nmax);
    const float w = weight(i);
    sumlx += w * x[i] * float(l);
    suml2 += w * float(l) * float(l);
  }
  float scale = suml2 != 0.f ? sumlx / suml2 : 0.0f;
  if (return_early) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(float(nmax) + 0.1f * float(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      const float w = weight(i);
      sumlx += w * x[i] * float(l);
      suml2 += w * float(l) * float(l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * x[i]);
        L[i] = std::int8_t(nmax + std::max(-nmax, std::min(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

/// ggml's make_q3_quants: symmetric levels in [-nmax, nmax-1] (stored +nmax); with do_rmse,
/// coordinate descent on the x²-weighted error, one level at a time. Returns the scale.
inline float make_q3_quants(int n, int nmax, const float* x, std::int8_t* L, bool do_rmse) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  const float iscale = float(-nmax) / max;
  if (do_rmse) {
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      L[i] = std::int8_t(l);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * float(l);
      suml2 += w * float(l) * float(l);
    }
    for (int itry = 0; itry < 5; ++itry) {
      int n_changed = 0;
      for (int i = 0; i < n; ++i) {
        const float w = x[i] * x[i];
        float slx = sumlx - w * x[i] * float(L[i]);
        if (slx > 0) {
          float sl2 = suml2 - w * float(L[i]) * float(L[i]);
          int new_l = nearest_int(x[i] * sl2 / slx);
          new_l = std::max(-nmax, std::min(nmax - 1, new_l));
          if (new_l != L[i]) {
            slx += w * x[i] * float(new_l);
            sl2 += w * float(new_l) * float(new_l);
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
              L[i] = std::int8_t(new_l);
              sumlx = slx;
              suml2 = sl2;
              ++n_changed;
            }
          }
        }
      }
      if (!n_changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] = std::int8_t(L[i] + nmax);
    return sumlx / suml2;
  }
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = std::int8_t(l + nmax);
  }
  return 1 / iscale;
}

/// ggml's make_qkx2_quants: affine levels in [0, nmax] with a (non-positive) min, searching
/// nstep+1 candidate scales around the min/max one for the lowest weighted error (squared,
/// or absolute with use_mad). Returns the scale; *the_min receives -min (>= 0).
inline float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, std::uint8_t* L,
                              float* the_min, std::uint8_t* Laux, float rmin, float rdelta, int nstep,
                              bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  float iscale = float(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = std::uint8_t(std::max(0, std::min(nmax, l)));
    float diff = scale * float(L[i]) + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * float(is) + float(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * (x[i] - min));
      l = std::max(0, std::min(nmax, l));
      Laux[i] = std::uint8_t(l);
      const float w = weights[i];
      sum_l += w * float(l);
      sum_l2 += w * float(l) * float(l);
      sum_xl += w * float(l) * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * float(Laux[i]) + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

/// Index of the codebook entry nearest to x (ggml's best_index_int8; val sorted ascending,
/// ties go to the upper entry).
QLINEAR_HD int best_index_int8(int n, const std::int8_t* val, float x) {
  if (x <= float(val[0])) return 0;
  if (x >= float(val[n - 1])) return n - 1;
  int ml = 0, mu = n - 1;
  while (mu - ml > 1) {
    const int mav = (ml + mu) / 2;
    if (x < float(val[mav]))
      mu = mav;
    else
      ml = mav;
  }
  return x - float(val[mu - 1]) < float(val[mu]) - x ? mu - 1 : mu;
}

/// ggml's quantize_row_iq4_nl_impl without an importance matrix (weights x²), as called by
/// quantize_iq4_nl (one 32-element block) and quantize_iq4_xs (a 256-element super-block of
/// eight 32-element blocks with 6-bit sub-scales). For each block: start from d = -max/values[0]
/// and keep the best of 2·ntry+1 candidate scales by the weighted least-squares criterion.
/// super_block_size <= 256; scales_h/scales_l are used only when there are several blocks.
inline void quantize_iq4_nl_impl(int super_block_size, int block_size, const float* x, f16& dh, std::uint8_t* q4,
                                 std::uint16_t* scales_h, std::uint8_t* scales_l, const std::int8_t* values,
                                 int ntry) {
  float scales[QK_K / 32] = {};
  float weight[QK_K] = {};
  std::uint8_t L[QK_K] = {};
  for (int j = 0; j < super_block_size / 2; ++j) q4[j] = 0;
  dh = f16::from_float(0.f);

  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < super_block_size / block_size; ++ib) {
    const float* xb = x + ib * block_size;
    std::uint8_t* Lb = L + ib * block_size;
    for (int j = 0; j < block_size; ++j) weight[j] = xb[j] * xb[j];
    float amax = 0, max = 0;
    for (int j = 0; j < block_size; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax < GROUP_MAX_EPS) {
      scales[ib] = 0;
      continue;
    }
    float d = ntry > 0 ? -max / float(values[0]) : max / float(values[0]);
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < block_size; ++j) {
      const float al = id * xb[j];
      const int l = best_index_int8(16, values, al);
      Lb[j] = std::uint8_t(l);
      const float q = float(values[l]);
      const float w = weight[j];
      sumqx += w * q * xb[j];
      sumq2 += w * q * q;
    }
    d = sumqx / sumq2;
    float best = d * sumqx;
    for (int itry = -ntry; itry <= ntry; ++itry) {
      id = float(itry + values[0]) / max;
      sumqx = sumq2 = 0;
      for (int j = 0; j < block_size; ++j) {
        const float al = id * xb[j];
        const int l = best_index_int8(16, values, al);
        const float q = float(values[l]);
        const float w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
      }
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    scales[ib] = d;
    const float abs_d = std::fabs(d);
    if (abs_d > amax_scale) {
      amax_scale = abs_d;
      max_scale = d;
    }
  }

  if (super_block_size / block_size > 1) {
    const int nb = super_block_size / block_size;
    for (int i = 0; i < (nb + 7) / 8; ++i) scales_h[i] = 0;
    const float d = -max_scale / 32;
    dh = f16::from_float(d);
    const float id = d != 0.f ? 1 / d : 0.f;
    for (int ib = 0; ib < nb; ++ib) {
      int l = nearest_int(id * scales[ib]);
      l = std::max(-32, std::min(31, l));
      const float dl = d * float(l);
      const float idl = dl != 0.f ? 1 / dl : 0.f;
      std::uint8_t* Lb = L + ib * block_size;
      const float* xb = x + ib * block_size;
      for (int j = 0; j < block_size; ++j) Lb[j] = std::uint8_t(best_index_int8(16, values, idl * xb[j]));
      l += 32;
      const std::uint8_t l_l = std::uint8_t(l & 0xf);
      const std::uint8_t l_h = std::uint8_t(l >> 4);
      if (ib % 2 == 0)
        scales_l[ib / 2] = l_l;
      else
        scales_l[ib / 2] = std::uint8_t(scales_l[ib / 2] | (l_l << 4));
      scales_h[ib / 8] = std::uint16_t(scales_h[ib / 8] | (l_h << 2 * (ib % 8)));
    }
  } else {
    dh = f16::from_float(scales[0]);
    if (ntry > 0) {
      const float id = scales[0] != 0.f ? 1 / scales[0] : 0.f;
      for (int j = 0; j < super_block_size; ++j) L[j] = std::uint8_t(best_index_int8(16, values, id * x[j]));
    }
  }

  for (int i = 0; i < super_block_size / 32; ++i)
    for (int j = 0; j < 16; ++j) q4[16 * i + j] = std::uint8_t(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
}

/// Q4_K / Q5_K: the 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes.
QLINEAR_HD void get_scale_min_k4(int j, const std::uint8_t* q, std::uint8_t& d, std::uint8_t& m) {
  if (j < 4) {
    d = std::uint8_t(q[j] & 63);
    m = std::uint8_t(q[j + 4] & 63);
  } else {
    d = std::uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    m = std::uint8_t((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

/// Q3_K: the 6-bit scale of sub-block j (0..15) from the 12 packed bytes, before the -32 bias
/// (the same values ggml's kmask unpacking yields, byte order independent).
QLINEAR_HD int q3_k_scale(int j, const std::uint8_t* scales) {
  const int low = j < 8 ? (scales[j] & 0xF) : (scales[j - 8] >> 4);
  const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | (high << 4);
}

/// IQ4_XS: the 6-bit scale of sub-block ib (0..7), before the -32 bias.
QLINEAR_HD int iq4_xs_scale(int ib, const std::uint8_t* scales_l, std::uint16_t scales_h) {
  return ((scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((scales_h >> 2 * ib) & 3) << 4);
}

}  // namespace qlinear::gguf
