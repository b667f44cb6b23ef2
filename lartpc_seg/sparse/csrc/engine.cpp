// Compiled CPU kernels of the built-in sparse engine (lartpc_seg/sparse/compiled.py builds and
// loads this file; lartpc_seg/sparse/neighbours.py documents the maps it works on).
//
// A convolution is described by a neighbour table: `table` (n_out, K) int32, where
// table[i][k] is the input row that output row i reads through kernel offset k, or -1. Once per
// map, block_pairs() lists its pairs by block of kRowBlock output rows, then offset, then row.
// Every product is output-stationary over that list: a block of output rows is owned by one
// thread, which sums the rows' neighbours times the offset's (C_in, C_out) weight in register
// tiles and writes each row's columns once per offset. Nothing of the size of the pairs times
// the channels is ever materialised, and every output element is summed in one fixed order,
// whatever the number of threads.
//
// - forward:         out    = gather_conv(x, pairs of table, W)       W (K, C_in, C_out)
// - input gradient:  grad_x = gather_conv(grad_out, pairs of table_t, W^T), table_t the
//                    transposed map (table_t[j, k] = i where table[i, k] = j)
// - weight gradient: grad_W[k] = sum over the pairs (j, i) of offset k of x[j]^T grad_out[i],
//                    in fixed groups of blocks whose partial sums are added in group order.
//
// Vectorised over channels with GCC vector extensions (32-byte vectors: AVX2/AVX-512 code
// under -march=native, SSE pairs elsewhere), OpenMP over rows / blocks.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/utils/pybind.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

constexpr int kVecBytes = 32;
// most output vectors of one register tile (a 32-column block of float)
constexpr int kMaxVecs = 4;
// output rows per block of the pair lists: a block's rows stay in L1/L2 while it is summed
constexpr int64_t kRowBlock = 128;
// pairs per sweep of the weight gradient's register tiles: their rows stay in L1/L2 while every
// tile of the offset's weight sweeps them
constexpr int64_t kPairBlock = 256;
// row blocks per partial sum of the weight gradient (fixed, so the sum order never depends on
// the thread count)
constexpr int64_t kGroupBlocks = 16;

template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(kVecBytes)));
  static constexpr int width = kVecBytes / sizeof(T);
};

template <typename T>
inline typename Vec<T>::type load(const T* p) {
  typename Vec<T>::type v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
inline void store(T* p, typename Vec<T>::type v) {
  std::memcpy(p, &v, sizeof(v));
}

int threads() { return at::get_num_threads(); }

// --------------------------------------------------------------------------------------------
// gather_conv: out[i] = sum_k x[table[i, k]] @ W[k]
//
// Within a block of rows, offset by offset, the rows that have a neighbour at that offset are
// handled R at a time by a register tile of R rows x NV vectors of output columns: each weight
// vector loaded is used by R rows. An output row is summed offset by offset, input channel by
// input channel, in that order whatever R, the block or the thread.

template <typename T, int NV, int R>
inline void conv_tile(const T* const* xr, T* const* orow, int64_t cin, const T* wk,
                      int64_t cout) {
  using V = typename Vec<T>::type;
  constexpr int W = Vec<T>::width;
  V acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = load<T>(orow[r] + v * W);
  for (int64_t ci = 0; ci < cin; ++ci) {
    V wv[NV];
    for (int v = 0; v < NV; ++v) wv[v] = load<T>(wk + ci * cout + v * W);
    for (int r = 0; r < R; ++r) {
      const T a = xr[r][ci];
      for (int v = 0; v < NV; ++v) acc[r][v] += a * wv[v];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) store<T>(orow[r] + v * W, acc[r][v]);
}

// rows per tile: R x NV accumulators plus NV weight vectors and a broadcast in 16 registers
template <int NV>
constexpr int tile_rows() {
  return NV == 1 ? 8 : (NV == 2 ? 6 : (NV == 3 ? 3 : 2));
}

template <typename T, int NV, int R>
inline void conv_tail(int m, const T* const* xr, T* const* orow, int64_t cin, const T* wk,
                      int64_t cout) {
  if constexpr (R > 1) {
    if (m == R - 1) return conv_tile<T, NV, R - 1>(xr, orow, cin, wk, cout);
    return conv_tail<T, NV, R - 1>(m, xr, orow, cin, wk, cout);
  }
}

// one block's pairs, offset by offset, into the columns [c0, c0 + NV * width)
template <typename T, int NV>
void conv_columns(const T* x, int64_t ldx, int64_t cin, const int64_t* starts,
                  const int32_t* pairs, int64_t K, const T* w, int64_t cout, T* out, int64_t c0,
                  int64_t b) {
  constexpr int R = tile_rows<NV>();
  const T* xs[kRowBlock];
  T* os[kRowBlock];
  for (int64_t k = 0; k < K; ++k) {
    const int64_t p0 = starts[b * K + k], m = starts[b * K + k + 1] - p0;
    const int32_t* pk = pairs + 2 * p0;
    for (int64_t p = 0; p < m; ++p) {
      xs[p] = x + static_cast<int64_t>(pk[2 * p]) * ldx;
      os[p] = out + static_cast<int64_t>(pk[2 * p + 1]) * cout + c0;
    }
    const T* wk = w + k * cin * cout + c0;
    int64_t t = 0;
    for (; t + R <= m; t += R) conv_tile<T, NV, R>(xs + t, os + t, cin, wk, cout);
    if (t < m) conv_tail<T, NV, R>(static_cast<int>(m - t), xs + t, os + t, cin, wk, cout);
  }
}

// the columns [c0, cout) past the last full vector, one at a time
template <typename T>
void conv_columns_tail(const T* x, int64_t ldx, int64_t cin, const int64_t* starts,
                       const int32_t* pairs, int64_t K, const T* w, int64_t cout, T* out,
                       int64_t c0, int64_t b) {
  for (int64_t k = 0; k < K; ++k)
    for (int64_t p = starts[b * K + k]; p < starts[b * K + k + 1]; ++p) {
      const T* xr = x + static_cast<int64_t>(pairs[2 * p]) * ldx;
      T* o = out + static_cast<int64_t>(pairs[2 * p + 1]) * cout;
      for (int64_t c = c0; c < cout; ++c) {
        const T* wk = w + k * cin * cout + c;
        T acc = 0;
        for (int64_t ci = 0; ci < cin; ++ci) acc += xr[ci] * wk[ci * cout];
        o[c] += acc;
      }
    }
}

template <typename T>
void conv_dispatch(int nv, const T* x, int64_t ldx, int64_t cin, const int64_t* starts,
                   const int32_t* pairs, int64_t K, const T* w, int64_t cout, T* out, int64_t c0,
                   int64_t b) {
  switch (nv) {
    case 1: return conv_columns<T, 1>(x, ldx, cin, starts, pairs, K, w, cout, out, c0, b);
    case 2: return conv_columns<T, 2>(x, ldx, cin, starts, pairs, K, w, cout, out, c0, b);
    case 3: return conv_columns<T, 3>(x, ldx, cin, starts, pairs, K, w, cout, out, c0, b);
    case 4: return conv_columns<T, 4>(x, ldx, cin, starts, pairs, K, w, cout, out, c0, b);
    default: TORCH_CHECK(false, "conv_dispatch: unsupported vector count ", nv);
  }
}

// blocks of at most kMaxVecs vectors covering the full vectors of `cout` columns, of about
// equal size (80 columns of float: 4 + 3 + 3 vectors)
std::vector<std::pair<int64_t, int>> column_blocks(int64_t cout, int width) {
  const int64_t vecs = cout / width;
  std::vector<std::pair<int64_t, int>> blocks;
  if (vecs == 0) return blocks;
  const int64_t nblocks = (vecs + kMaxVecs - 1) / kMaxVecs;
  int64_t c = 0;
  for (int64_t b = 0; b < nblocks; ++b) {
    const int nv = static_cast<int>(vecs / nblocks + (b < vecs % nblocks ? 1 : 0));
    blocks.emplace_back(c, nv);
    c += static_cast<int64_t>(nv) * width;
  }
  return blocks;
}

template <typename T>
void gather_conv_impl(const at::Tensor& x, const at::Tensor& starts, const at::Tensor& pairs,
                      const at::Tensor& w, at::Tensor& out) {
  const int64_t n = out.size(0), K = w.size(0), cin = x.size(1), cout = w.size(2);
  const int64_t ldx = x.stride(0);
  const T* xp = x.data_ptr<T>();
  const int64_t* sp = starts.data_ptr<int64_t>();
  const int32_t* pp = pairs.data_ptr<int32_t>();
  const T* wp = w.data_ptr<T>();
  T* op = out.data_ptr<T>();
  constexpr int width = Vec<T>::width;
  const auto blocks = column_blocks(cout, width);
  const int64_t tail = (cout / width) * width;
  const int64_t nb = (n + kRowBlock - 1) / kRowBlock;
  at::parallel_for(0, nb, 1, [&](int64_t bb, int64_t be) {
    for (int64_t b = bb; b < be; ++b) {
      const int64_t r0 = b * kRowBlock, r1 = std::min(n, r0 + kRowBlock);
      std::fill(op + r0 * cout, op + r1 * cout, T(0));
      for (const auto& [c0, nv] : blocks)
        conv_dispatch<T>(nv, xp, ldx, cin, sp, pp, K, wp, cout, op, c0, b);
      if (tail < cout) conv_columns_tail<T>(xp, ldx, cin, sp, pp, K, wp, cout, op, tail, b);
    }
  });
}

void check_table(const at::Tensor& table, const char* what) {
  TORCH_CHECK(table.dim() == 2 && table.scalar_type() == at::kInt && table.is_contiguous(), what,
              ": table must be a contiguous (n, K) int32 tensor");
}

void check_pairs(const at::Tensor& starts, const at::Tensor& pairs, int64_t K, int64_t n_out,
                 const char* what) {
  const int64_t nb = (n_out + kRowBlock - 1) / kRowBlock;
  TORCH_CHECK(starts.dim() == 1 && starts.scalar_type() == at::kLong && starts.is_contiguous() &&
                  starts.size(0) == nb * K + 1,
              what, ": starts must be (blocks * K + 1,) int64 from block_pairs");
  TORCH_CHECK(pairs.dim() == 2 && pairs.size(1) == 2 && pairs.scalar_type() == at::kInt &&
                  pairs.is_contiguous(),
              what, ": pairs must be contiguous (P, 2) int32 from block_pairs");
}

at::Tensor gather_conv(const at::Tensor& x, const at::Tensor& starts, const at::Tensor& pairs,
                       const at::Tensor& w, int64_t n_out) {
  TORCH_CHECK(x.dim() == 2, "gather_conv: x must be an (n, C) matrix");
  TORCH_CHECK(x.numel() == 0 || (x.stride(1) == 1 && x.stride(0) >= x.size(1)),
              "gather_conv: the rows of x must be contiguous");
  TORCH_CHECK(w.dim() == 3 && w.is_contiguous() && w.size(1) == x.size(1) &&
                  w.scalar_type() == x.scalar_type(),
              "gather_conv: weight must be contiguous (K, C_in, C_out) of x's dtype");
  check_pairs(starts, pairs, w.size(0), n_out, "gather_conv");
  at::Tensor out = at::empty({n_out, w.size(2)}, x.options());
  if (out.numel() == 0) return out;
  if (x.size(1) == 0) return out.zero_();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gather_conv",
                             [&] { gather_conv_impl<scalar_t>(x, starts, pairs, w, out); });
  return out;
}

// --------------------------------------------------------------------------------------------
// The table's pairs by block of kRowBlock output rows, then offset, then output row:
// `starts` (blocks * K + 1,) int64, block b's pairs at offset k are starts[b * K + k] up to
// starts[b * K + k + 1]; `pairs` (P, 2) int32 of (input row, output row).
// With `mirror`, the table's offsets are read in reverse (offset k is table[:, K - 1 - k]): the
// transposed submanifold map, without materialising it.
std::vector<at::Tensor> block_pairs(const at::Tensor& table, bool mirror) {
  check_table(table, "block_pairs");
  const int64_t n = table.size(0), K = table.size(1);
  const int64_t nb = (n + kRowBlock - 1) / kRowBlock;
  const int32_t* tp = table.data_ptr<int32_t>();
  at::Tensor starts = at::zeros({nb * K + 1}, table.options().dtype(at::kLong));
  int64_t* sp = starts.data_ptr<int64_t>();
  at::parallel_for(0, nb, 16, [&](int64_t bb, int64_t be) {
    for (int64_t b = bb; b < be; ++b)
      for (int64_t i = b * kRowBlock; i < std::min(n, (b + 1) * kRowBlock); ++i)
        for (int64_t k = 0; k < K; ++k) sp[b * K + k + 1] += tp[i * K + (mirror ? K - 1 - k : k)] >= 0;
  });
  for (int64_t e = 0; e < nb * K; ++e) sp[e + 1] += sp[e];
  at::Tensor pairs = at::empty({sp[nb * K], 2}, table.options());
  int32_t* pp = pairs.data_ptr<int32_t>();
  at::parallel_for(0, nb, 16, [&](int64_t bb, int64_t be) {
    // branch-free fill: a row without a neighbour at the offset writes to `junk`
    int32_t junk[2];
    for (int64_t b = bb; b < be; ++b) {
      const int64_t r1 = std::min(n, (b + 1) * kRowBlock);
      for (int64_t k = 0; k < K; ++k) {
        int64_t pos = sp[b * K + k];
        const int64_t column = mirror ? K - 1 - k : k;
        for (int64_t i = b * kRowBlock; i < r1; ++i) {
          const int32_t j = tp[i * K + column];
          int32_t* dst = j >= 0 ? pp + 2 * pos : junk;
          dst[0] = j;
          dst[1] = static_cast<int32_t>(i);
          pos += j >= 0;
        }
      }
    }
  });
  return {starts, pairs};
}

// --------------------------------------------------------------------------------------------
// Weight gradient. Offset k's pairs in a group of kGroupBlocks row blocks make one task with
// its own (C_in, C_out) partial sum; the partial sums of an offset are added in group order.
// Inside a task, sweeps of kPairBlock pairs are taken by register tiles of CB input channels x
// NV output vectors.
template <typename T, int CB, int NV>
void wgrad_tile(const T* const* xs, const T* const* gs, int64_t m, int64_t ci0, int64_t c0,
                int64_t cout, T* dw) {
  using V = typename Vec<T>::type;
  constexpr int W = Vec<T>::width;
  V acc[CB][NV];
  for (int a = 0; a < CB; ++a)
    for (int v = 0; v < NV; ++v) acc[a][v] = V{};
  for (int64_t p = 0; p < m; ++p) {
    const T* xr = xs[p] + ci0;
    const T* gr = gs[p] + c0;
    V gv[NV];
    for (int v = 0; v < NV; ++v) gv[v] = load<T>(gr + v * W);
    for (int a = 0; a < CB; ++a) {
      const T s = xr[a];
      for (int v = 0; v < NV; ++v) acc[a][v] += s * gv[v];
    }
  }
  for (int a = 0; a < CB; ++a) {
    T* row = dw + (ci0 + a) * cout + c0;
    for (int v = 0; v < NV; ++v) store<T>(row + v * W, load<T>(row + v * W) + acc[a][v]);
  }
}

// the input channels [ci0, ci0 + rest) of a tile, rest < CB
template <typename T, int NV, int CB>
inline void wgrad_tile_tail(int rest, const T* const* xs, const T* const* gs, int64_t m,
                            int64_t ci0, int64_t c0, int64_t cout, T* dw) {
  if constexpr (CB > 1) {
    if (rest == CB - 1) return wgrad_tile<T, CB - 1, NV>(xs, gs, m, ci0, c0, cout, dw);
    return wgrad_tile_tail<T, NV, CB - 1>(rest, xs, gs, m, ci0, c0, cout, dw);
  }
}

// tiles of CB input channels x NV output vectors: 6 x 2 (16 columns of float) is 12
// accumulators, 2 gradient vectors and a broadcast in 16 registers
template <typename T, int NV>
void wgrad_columns(const T* const* xs, const T* const* gs, int64_t m, int64_t cin, int64_t c0,
                   int64_t cout, T* dw) {
  constexpr int CB = NV == 1 ? 12 : 6;
  int64_t ci = 0;
  for (; ci + CB <= cin; ci += CB) wgrad_tile<T, CB, NV>(xs, gs, m, ci, c0, cout, dw);
  if (ci < cin)
    wgrad_tile_tail<T, NV, CB>(static_cast<int>(cin - ci), xs, gs, m, ci, c0, cout, dw);
}

template <typename T>
void wgrad_scalar(const T* const* xs, const T* const* gs, int64_t m, int64_t cin, int64_t c0,
                  int64_t cout, T* dw) {
  for (int64_t ci = 0; ci < cin; ++ci)
    for (int64_t c = c0; c < cout; ++c) {
      T acc = 0;
      for (int64_t p = 0; p < m; ++p) acc += xs[p][ci] * gs[p][c];
      dw[ci * cout + c] += acc;
    }
}

// one sweep of m <= kPairBlock pairs (row pointers) into dw (C_in, C_out)
template <typename T>
void wgrad_sweep(const T* const* xs, const T* const* gs, int64_t m, int64_t cin, int64_t cout,
                 T* dw) {
  constexpr int width = Vec<T>::width;
  const int64_t vecs = cout / width;
  int64_t c = 0;
  for (; c + 2 <= vecs; c += 2) wgrad_columns<T, 2>(xs, gs, m, cin, c * width, cout, dw);
  if (c < vecs) wgrad_columns<T, 1>(xs, gs, m, cin, c * width, cout, dw);
  if (vecs * width < cout) wgrad_scalar<T>(xs, gs, m, cin, vecs * width, cout, dw);
}

template <typename T>
void weight_grad_impl(const at::Tensor& x, const at::Tensor& g, const at::Tensor& starts,
                      const at::Tensor& pairs, at::Tensor& dw) {
  const int64_t K = dw.size(0), cin = x.size(1), cout = g.size(1);
  const int64_t ldx = x.stride(0), ldg = g.stride(0);
  const int64_t nb = (g.size(0) + kRowBlock - 1) / kRowBlock;
  const int64_t groups = (nb + kGroupBlocks - 1) / kGroupBlocks;
  const int64_t* sp = starts.data_ptr<int64_t>();
  const int32_t* pp = pairs.data_ptr<int32_t>();
  const T* xp = x.data_ptr<T>();
  const T* gp = g.data_ptr<T>();
  const int64_t size = cin * cout;
  // task (k, group) sums offset k's pairs of kGroupBlocks row blocks into its own partial
  at::Tensor partial = at::zeros({K * groups, cin, cout}, x.options());
  T* part = partial.data_ptr<T>();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads())
  for (int64_t t = 0; t < K * groups; ++t) {
    const int64_t k = t / groups, group = t % groups;
    const T* xs[kPairBlock];
    const T* gs[kPairBlock];
    int64_t m = 0;
    T* dst = part + t * size;
    const int64_t b1 = std::min(nb, (group + 1) * kGroupBlocks);
    for (int64_t b = group * kGroupBlocks; b < b1; ++b)
      for (int64_t p = sp[b * K + k]; p < sp[b * K + k + 1]; ++p) {
        xs[m] = xp + static_cast<int64_t>(pp[2 * p]) * ldx;
        gs[m] = gp + static_cast<int64_t>(pp[2 * p + 1]) * ldg;
        if (++m == kPairBlock) {
          wgrad_sweep<T>(xs, gs, m, cin, cout, dst);
          m = 0;
        }
      }
    if (m) wgrad_sweep<T>(xs, gs, m, cin, cout, dst);
  }
  T* dwp = dw.data_ptr<T>();
  at::parallel_for(0, K, 1, [&](int64_t kb, int64_t ke) {
    for (int64_t k = kb; k < ke; ++k) {
      T* out = dwp + k * size;
      std::fill(out, out + size, T(0));
      for (int64_t group = 0; group < groups; ++group) {
        const T* src = part + (k * groups + group) * size;
        for (int64_t e = 0; e < size; ++e) out[e] += src[e];
      }
    }
  });
}

at::Tensor weight_grad(const at::Tensor& x, const at::Tensor& g, const at::Tensor& starts,
                       const at::Tensor& pairs, int64_t K) {
  TORCH_CHECK(x.dim() == 2 && g.dim() == 2 && x.scalar_type() == g.scalar_type(),
              "weight_grad: x and grad must be matrices of one dtype");
  for (const at::Tensor* m : {&x, &g})
    TORCH_CHECK(m->numel() == 0 || (m->stride(1) == 1 && m->stride(0) >= m->size(1)),
                "weight_grad: the rows of x and grad must be contiguous");
  check_pairs(starts, pairs, K, g.size(0), "weight_grad");
  at::Tensor dw = at::empty({K, x.size(1), g.size(1)}, x.options());
  if (dw.numel() == 0) return dw;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "weight_grad",
                             [&] { weight_grad_impl<scalar_t>(x, g, starts, pairs, dw); });
  return dw;
}

// --------------------------------------------------------------------------------------------
// Maps.

// Neighbour table of the 3x3x3 submanifold convolution from sorted, unique packed keys (see
// kernel_map.pack_keys: x, y, z fields of 16 bits, z lowest). For each (dx, dy) column the
// neighbour keys key + delta(dx, dy, dz) of increasing keys increase too, so one pointer per
// column walks the keys once (a merge); the three dz of a column are consecutive keys.
at::Tensor submanifold_table(const at::Tensor& keys) {
  TORCH_CHECK(keys.dim() == 1 && keys.scalar_type() == at::kLong && keys.is_contiguous(),
              "submanifold_table: keys must be contiguous (n,) int64");
  const int64_t n = keys.size(0);
  at::Tensor table = at::empty({n, 27}, keys.options().dtype(at::kInt));
  // the keys and three sentinels above every key, so the merge needs no bounds checks
  std::vector<int64_t> padded(n + 3, INT64_MAX);
  std::copy(keys.data_ptr<int64_t>(), keys.data_ptr<int64_t>() + n, padded.begin());
  const int64_t* kp = padded.data();
  int32_t* tp = table.data_ptr<int32_t>();
  at::parallel_for(0, n, 2048, [&](int64_t begin, int64_t end) {
    for (int c = 0; c < 9; ++c) {
      const int64_t dx = c / 3 - 1, dy = c % 3 - 1;
      const int64_t delta = (dx << 32) + (dy << 16) - 1;
      int64_t p = std::lower_bound(kp, kp + n, kp[begin] + delta) - kp;
      for (int64_t i = begin; i < end; ++i) {
        const int64_t target = kp[i] + delta;
        while (kp[p] < target) ++p;
        int64_t q = p;
        int32_t* row = tp + i * 27 + c * 3;
        for (int dz = 0; dz < 3; ++dz) {
          const bool hit = kp[q] == target + dz && q < n;
          row[dz] = hit ? static_cast<int32_t>(q) : -1;
          q += hit;
        }
      }
    }
  });
  return table;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("gather_conv", &gather_conv, "out[i] = sum_k x[table[i, k]] @ w[k]");
  m.def("weight_grad", &weight_grad, "grad_w[k] = sum over offset k's pairs of x^T grad");
  m.def("block_pairs", &block_pairs, "the table's pairs by row block, offset and row",
        py::arg("table"), py::arg("mirror") = false);
  m.def("submanifold_table", &submanifold_table, "3x3x3 neighbour table of sorted keys");
}
