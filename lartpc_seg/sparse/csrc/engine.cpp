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
//                    transposed map (table_t[j, k] = i where table[i, k] = j); for a
//                    submanifold map, table_t = table with the offsets mirrored, whose pairs
//                    are the table's own read offset by offset backwards (`mirror`)
// - weight gradient: grad_W[k] = sum over the pairs (j, i) of offset k of x[j]^T grad_out[i],
//                    in fixed groups of blocks whose partial sums are added in group order.
//
// Also here: the maps' neighbour tables (submanifold and down) and pair lists, and batch
// normalisation fused with its (leaky) ReLU (lartpc_seg/sparse/norm.py).
//
// Vectorised over channels with GCC vector extensions (32-byte vectors: AVX2/AVX-512 code
// under -march=native, SSE pairs elsewhere), OpenMP over rows / blocks handed out one at a
// time (parallel_ranges), no parallel region at one thread.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/utils/pybind.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

constexpr int kVecBytes = 32;
// most output vectors of one register tile (a 32-column block of float)
constexpr int kMaxVecs = 4;
// output rows per block of the pair lists: a block's rows stay in L1/L2 while it is summed
constexpr int64_t kRowBlock = 128;
// most kernel offsets of a table (3x3x3)
constexpr int64_t kMaxOffsets = 27;
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

// f(begin, end) over [0, n) in fixed pieces of `grain` items, handed out one at a time to the
// threads (dynamic schedule: a thread the OS preempts on a shared machine holds up one piece,
// not a fixed share of the work); at one thread, one call on the whole range and no parallel
// region. Callers' results never depend on how the range is split.
template <typename F>
void parallel_ranges(int64_t n, int64_t grain, const F& f) {
  if (n <= 0) return;
  const int t = threads();
  const int64_t pieces = (n + grain - 1) / grain;
  if (t <= 1 || pieces <= 1) return f(int64_t{0}, n);
#pragma omp parallel for schedule(dynamic, 1) num_threads(t)
  for (int64_t p = 0; p < pieces; ++p) f(p * grain, std::min(n, (p + 1) * grain));
}

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
                  const int32_t* pairs, int64_t K, bool mirror, const T* w, int64_t cout, T* out,
                  int64_t c0, int64_t b) {
  constexpr int R = tile_rows<NV>();
  const T* xs[kRowBlock];
  T* os[kRowBlock];
  for (int64_t k = 0; k < K; ++k) {
    const int64_t seg = b * K + (mirror ? K - 1 - k : k);
    const int64_t p0 = starts[seg], m = starts[seg + 1] - p0;
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
                       const int32_t* pairs, int64_t K, bool mirror, const T* w, int64_t cout,
                       T* out, int64_t c0, int64_t b) {
  for (int64_t k = 0; k < K; ++k) {
    const int64_t seg = b * K + (mirror ? K - 1 - k : k);
    for (int64_t p = starts[seg]; p < starts[seg + 1]; ++p) {
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
}

template <typename T>
void conv_dispatch(int nv, const T* x, int64_t ldx, int64_t cin, const int64_t* starts,
                   const int32_t* pairs, int64_t K, bool mirror, const T* w, int64_t cout,
                   T* out, int64_t c0, int64_t b) {
  switch (nv) {
    case 1: return conv_columns<T, 1>(x, ldx, cin, starts, pairs, K, mirror, w, cout, out, c0, b);
    case 2: return conv_columns<T, 2>(x, ldx, cin, starts, pairs, K, mirror, w, cout, out, c0, b);
    case 3: return conv_columns<T, 3>(x, ldx, cin, starts, pairs, K, mirror, w, cout, out, c0, b);
    case 4: return conv_columns<T, 4>(x, ldx, cin, starts, pairs, K, mirror, w, cout, out, c0, b);
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
                      bool mirror, const at::Tensor& w, at::Tensor& out) {
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
  parallel_ranges(nb, 1, [&](int64_t bb, int64_t be) {
    for (int64_t b = bb; b < be; ++b) {
      const int64_t r0 = b * kRowBlock, r1 = std::min(n, r0 + kRowBlock);
      std::fill(op + r0 * cout, op + r1 * cout, T(0));
      for (const auto& [c0, nv] : blocks)
        conv_dispatch<T>(nv, xp, ldx, cin, sp, pp, K, mirror, wp, cout, op, c0, b);
      if (tail < cout)
        conv_columns_tail<T>(xp, ldx, cin, sp, pp, K, mirror, wp, cout, op, tail, b);
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

// With `mirror`, offset k reads the pairs the list holds for offset K - 1 - k: the input
// gradient of a submanifold map from the forward's own pair list.
at::Tensor gather_conv(const at::Tensor& x, const at::Tensor& starts, const at::Tensor& pairs,
                       const at::Tensor& w, int64_t n_out, bool mirror) {
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
                             [&] { gather_conv_impl<scalar_t>(x, starts, pairs, mirror, w, out); });
  return out;
}

// --------------------------------------------------------------------------------------------
// The table's pairs by block of kRowBlock output rows, then offset, then output row:
// `starts` (blocks * K + 1,) int64, block b's pairs at offset k are starts[b * K + k] up to
// starts[b * K + k + 1]; `pairs` (P, 2) int32 of (input row, output row).
std::vector<at::Tensor> block_pairs(const at::Tensor& table) {
  check_table(table, "block_pairs");
  const int64_t n = table.size(0), K = table.size(1);
  TORCH_CHECK(K <= kMaxOffsets, "block_pairs: at most ", kMaxOffsets, " offsets");
  const int64_t nb = (n + kRowBlock - 1) / kRowBlock;
  const int32_t* tp = table.data_ptr<int32_t>();
  at::Tensor starts = at::empty({nb * K + 1}, table.options().dtype(at::kLong));
  int64_t* sp = starts.data_ptr<int64_t>();
  sp[0] = 0;
  // pairs per block and offset, in local counters the compiler keeps in vectors
  parallel_ranges(nb, 4, [&](int64_t bb, int64_t be) {
    for (int64_t b = bb; b < be; ++b) {
      int32_t count[kMaxOffsets] = {};
      for (int64_t i = b * kRowBlock; i < std::min(n, (b + 1) * kRowBlock); ++i)
        for (int64_t k = 0; k < K; ++k) count[k] += tp[i * K + k] >= 0;
      for (int64_t k = 0; k < K; ++k) sp[b * K + k + 1] = count[k];
    }
  });
  for (int64_t e = 0; e < nb * K; ++e) sp[e + 1] += sp[e];
  at::Tensor pairs = at::empty({sp[nb * K], 2}, table.options());
  int32_t* pp = pairs.data_ptr<int32_t>();
  parallel_ranges(nb, 4, [&](int64_t bb, int64_t be) {
    // offset by offset, a sweep down the block's column (in L1) compacts its pairs into a local
    // buffer without branches (a row without a neighbour is written and then overwritten),
    // copied to the block's own list: 2.4x faster than one sweep along the rows with a write
    // cursor per offset, whose cursors live in memory
    int32_t buf[2 * kRowBlock + 2];
    for (int64_t b = bb; b < be; ++b) {
      const int64_t i0 = b * kRowBlock, i1 = std::min(n, (b + 1) * kRowBlock);
      for (int64_t k = 0; k < K; ++k) {
        int64_t m = 0;
        for (int64_t i = i0; i < i1; ++i) {
          const int32_t j = tp[i * K + k];
          buf[2 * m] = j;
          buf[2 * m + 1] = static_cast<int32_t>(i);
          m += j >= 0;
        }
        std::memcpy(pp + 2 * sp[b * K + k], buf, sizeof(int32_t) * 2 * m);
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
  at::Tensor partial = at::empty({K * groups, cin, cout}, x.options());
  T* part = partial.data_ptr<T>();
  parallel_ranges(K * groups, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      const int64_t k = t / groups, group = t % groups;
      const T* xs[kPairBlock];
      const T* gs[kPairBlock];
      int64_t m = 0;
      T* dst = part + t * size;
      std::fill(dst, dst + size, T(0));
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
  });
  T* dwp = dw.data_ptr<T>();
  parallel_ranges(K, 1, [&](int64_t kb, int64_t ke) {
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

// The packed key of kernel_map.pack_keys (its BITS): batch above three spatial fields of
// kKeyBits bits, x highest and z lowest, each holding its coordinate + 1.
constexpr int kKeyBits = 16;
constexpr int64_t kKeyShiftX = 2 * kKeyBits, kKeyShiftY = kKeyBits;
constexpr int64_t kKeyField = (int64_t{1} << kKeyBits) - 1;

// Neighbour table of the 3x3x3 submanifold convolution from sorted, unique packed keys (see
// kernel_map.pack_keys, the kKeyBits fields above). For each (dx, dy) column the
// neighbour keys key + delta(dx, dy, dz) of increasing keys increase too, so one pointer per
// column walks the keys once (a merge); the three dz of a column are consecutive keys.
//
// With `order` (the caller's row of each sorted key, as from torch.sort), the table is written
// in the caller's row order: row order[a] reads order[b] where sorted row a reads b.
at::Tensor submanifold_table(const at::Tensor& keys, const c10::optional<at::Tensor>& order) {
  TORCH_CHECK(keys.dim() == 1 && keys.scalar_type() == at::kLong && keys.is_contiguous(),
              "submanifold_table: keys must be contiguous (n,) int64");
  const int64_t n = keys.size(0);
  const int64_t* op = nullptr;
  if (order.has_value()) {
    TORCH_CHECK(order->dim() == 1 && order->size(0) == n && order->scalar_type() == at::kLong &&
                    order->is_contiguous(),
                "submanifold_table: order must be contiguous (n,) int64 like keys");
    op = order->data_ptr<int64_t>();
  }
  at::Tensor table = at::empty({n, 27}, keys.options().dtype(at::kInt));
  // the keys and three sentinels above every key, so the merge needs no bounds checks
  std::vector<int64_t> padded(n + 3, INT64_MAX);
  std::copy(keys.data_ptr<int64_t>(), keys.data_ptr<int64_t>() + n, padded.begin());
  const int64_t* kp = padded.data();
  int32_t* tp = table.data_ptr<int32_t>();
  parallel_ranges(n, 2048, [&](int64_t begin, int64_t end) {
    for (int c = 0; c < 9; ++c) {
      const int64_t dx = c / 3 - 1, dy = c % 3 - 1;
      const int64_t delta = (dx << kKeyShiftX) + (dy << kKeyShiftY) - 1;
      int64_t p = std::lower_bound(kp, kp + n, kp[begin] + delta) - kp;
      for (int64_t i = begin; i < end; ++i) {
        const int64_t target = kp[i] + delta;
        while (kp[p] < target) ++p;
        int64_t q = p;
        int32_t* row = tp + (op ? op[i] : i) * 27 + c * 3;
        for (int dz = 0; dz < 3; ++dz) {
          const bool hit = kp[q] == target + dz && q < n;
          row[dz] = hit ? static_cast<int32_t>(op ? op[q] : q) : -1;
          q += hit;
        }
      }
    }
  });
  return table;
}

// Neighbour tables of the k=2 s=2 down convolution from packed keys in any order (see
// kernel_map.pack_keys): each key's parent (b, x // 2, y // 2, z // 2) and the offset
// (x % 2, y % 2, z % 2) it is read through. Returns the parents' keys, unique and sorted;
// `table` (M, 8) int32, the fine row of each parent and offset, or -1; and `table_t` (n, 8),
// the parent of each fine row at its offset, -1 elsewhere.
//
// The parents are made unique with an open-addressing hash table (first appearance gives an
// id), and only the M unique keys are sorted: ~n / 2 keys, not the n of a sort of all rows.
std::vector<at::Tensor> down_table(const at::Tensor& keys) {
  TORCH_CHECK(keys.dim() == 1 && keys.scalar_type() == at::kLong && keys.is_contiguous(),
              "down_table: keys must be contiguous (n,) int64");
  const int64_t n = keys.size(0);
  TORCH_CHECK(n < (int64_t{1} << 31), "down_table: at most 2^31 - 1 rows");
  const int64_t* kp = keys.data_ptr<int64_t>();
  std::vector<int64_t> parent(n);
  std::vector<int32_t> offset(n);
  for (int64_t i = 0; i < n; ++i) {
    // the stored fields are coordinate + 1 (pack_keys): the parent's field is (f - 1) / 2 + 1
    const int64_t key = kp[i];
    const int64_t x = ((key >> kKeyShiftX) & kKeyField) - 1,
                  y = ((key >> kKeyShiftY) & kKeyField) - 1, z = (key & kKeyField) - 1;
    parent[i] = (key & ~((int64_t{1} << (3 * kKeyBits)) - 1)) |
                (((x >> 1) + 1) << kKeyShiftX) | (((y >> 1) + 1) << kKeyShiftY) | ((z >> 1) + 1);
    offset[i] = static_cast<int32_t>(((x & 1) << 2) | ((y & 1) << 1) | (z & 1));
  }
  int bits = 4;
  while ((int64_t{1} << bits) < 2 * n) ++bits;
  const int64_t capacity = int64_t{1} << bits;
  // every key is positive (stored fields >= 1), so -1 marks an empty slot
  std::vector<int64_t> slot_key(capacity, -1);
  std::vector<int32_t> slot_id(capacity);
  std::vector<int64_t> unique;
  unique.reserve(n / 2 + 1);
  std::vector<int32_t> id(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t p = parent[i];
    // Fibonacci hashing: the top bits of the key times 2^64 / golden ratio; linear probing
    for (int64_t s = static_cast<int64_t>((static_cast<uint64_t>(p) * 0x9E3779B97F4A7C15ull) >>
                                          (64 - bits));
         ; s = (s + 1) & (capacity - 1)) {
      if (slot_key[s] == p) {
        id[i] = slot_id[s];
        break;
      }
      if (slot_key[s] < 0) {
        slot_key[s] = p;
        id[i] = slot_id[s] = static_cast<int32_t>(unique.size());
        unique.push_back(p);
        break;
      }
    }
  }
  const int64_t m = static_cast<int64_t>(unique.size());
  std::vector<int32_t> by_key(m);
  for (int64_t u = 0; u < m; ++u) by_key[u] = static_cast<int32_t>(u);
  std::sort(by_key.begin(), by_key.end(),
            [&](int32_t a, int32_t b) { return unique[a] < unique[b]; });
  std::vector<int32_t> rank(m);
  at::Tensor coarse = at::empty({m}, keys.options());
  int64_t* cp = coarse.data_ptr<int64_t>();
  for (int64_t r = 0; r < m; ++r) {
    rank[by_key[r]] = static_cast<int32_t>(r);
    cp[r] = unique[by_key[r]];
  }
  at::Tensor table = at::full({m, 8}, -1, keys.options().dtype(at::kInt));
  at::Tensor table_t = at::full({n, 8}, -1, keys.options().dtype(at::kInt));
  int32_t* tp = table.data_ptr<int32_t>();
  int32_t* ttp = table_t.data_ptr<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t r = rank[id[i]];
    tp[static_cast<int64_t>(r) * 8 + offset[i]] = static_cast<int32_t>(i);
    ttp[i * 8 + offset[i]] = r;
  }
  return {coarse, table, table_t};
}

// --------------------------------------------------------------------------------------------
// Batch normalisation (training mode, batch statistics) fused with a (leaky) ReLU, on an
// (N, C) row-major matrix: y = act((x - mean) * invstd * weight + bias), act(z) = z > 0 ? z :
// slope * z. The statistics are sums over rows, accumulated in double per fixed chunk of
// kStatRows rows (shifted by the first row, so the one-pass variance does not cancel) and
// added in chunk order: the same bits at any thread count.
constexpr int64_t kStatRows = 256;
// most channels of the fused batch norm's backward (a row's activation gradient on the stack)
constexpr int64_t kMaxStatChannels = 4096;

template <typename T>
inline T act(T z, T slope) {
  return std::max(z, T(0)) + slope * std::min(z, T(0));
}

// gz[j] = g[j] where y[j] > 0, else slope * g[j]: the activation's gradient, without branches
template <typename T>
inline void act_grad_row(const T* g, const T* y, int64_t c, T slope, T* gz) {
  using V = typename Vec<T>::type;
  constexpr int W = Vec<T>::width;
  int64_t j = 0;
  for (; j + W <= c; j += W) {
    const V gv = load<T>(g + j);
    store<T>(gz + j, load<T>(y + j) > V{} ? gv : slope * gv);
  }
  for (; j < c; ++j) gz[j] = y[j] > T(0) ? g[j] : slope * g[j];
}

// per-chunk sums over rows of f(row) (`width` doubles per row, into part[chunk * width])
template <typename F>
std::vector<double> chunk_sums(int64_t n, int64_t width, F f) {
  const int64_t chunks = (n + kStatRows - 1) / kStatRows;
  std::vector<double> part(chunks * width, 0.0);
  parallel_ranges(chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t ch = cb; ch < ce; ++ch) {
      double* p = part.data() + ch * width;
      for (int64_t i = ch * kStatRows; i < std::min(n, (ch + 1) * kStatRows); ++i) f(i, p);
    }
  });
  std::vector<double> total(width, 0.0);
  for (int64_t ch = 0; ch < chunks; ++ch)
    for (int64_t j = 0; j < width; ++j) total[j] += part[ch * width + j];
  return total;
}

template <typename T>
void bn_act_forward_impl(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                         double eps, double slope, at::Tensor& y, at::Tensor& mean,
                         at::Tensor& invstd, at::Tensor& var) {
  const int64_t n = x.size(0), c = x.size(1);
  const T* xp = x.data_ptr<T>();
  std::vector<double> shift(xp, xp + c);
  const double* sh = shift.data();
  // sums of (x - shift) and (x - shift)^2, side by side
  const auto sums = chunk_sums(n, 2 * c, [&](int64_t i, double* p) {
    const T* row = xp + i * c;
    for (int64_t j = 0; j < c; ++j) {
      const double d = static_cast<double>(row[j]) - sh[j];
      p[j] += d;
      p[c + j] += d * d;
    }
  });
  std::vector<T> scale(c), centre(c), offset(c);
  const T* wp = weight.data_ptr<T>();
  const T* bp = bias.data_ptr<T>();
  for (int64_t j = 0; j < c; ++j) {
    const double m = sums[j] / n;
    const double v = std::max(0.0, sums[c + j] / n - m * m);
    const double is = 1.0 / std::sqrt(v + eps);
    mean.data_ptr<T>()[j] = static_cast<T>(m + sh[j]);
    invstd.data_ptr<T>()[j] = static_cast<T>(is);
    var.data_ptr<T>()[j] = static_cast<T>(n > 1 ? v * n / (n - 1) : v);
    scale[j] = static_cast<T>(wp[j] * is);
    centre[j] = static_cast<T>(m + sh[j]);
    offset[j] = bp[j];
  }
  const T* sc = scale.data();
  const T* ce = centre.data();
  const T* of = offset.data();
  const T s = static_cast<T>(slope);
  using V = typename Vec<T>::type;
  constexpr int W = Vec<T>::width;
  T* yp = y.data_ptr<T>();
  parallel_ranges(n, 1024, [&](int64_t ib, int64_t ie) {
    for (int64_t i = ib; i < ie; ++i) {
      const T* row = xp + i * c;
      T* out = yp + i * c;
      int64_t j = 0;
      for (; j + W <= c; j += W) {
        const V z = (load<T>(row + j) - load<T>(ce + j)) * load<T>(sc + j) + load<T>(of + j);
        store<T>(out + j, z > V{} ? z : s * z);
      }
      for (; j < c; ++j) out[j] = act((row[j] - ce[j]) * sc[j] + of[j], s);
    }
  });
}

void check_bn(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
              const char* what) {
  TORCH_CHECK(x.dim() == 2 && x.is_contiguous() && x.size(0) >= 2 &&
                  x.size(1) <= kMaxStatChannels,
              what, ": x must be a contiguous (N, C) matrix of at least two rows, C <= ",
              kMaxStatChannels);
  for (const at::Tensor* t : {&weight, &bias})
    TORCH_CHECK(t->dim() == 1 && t->size(0) == x.size(1) && t->is_contiguous() &&
                    t->scalar_type() == x.scalar_type(),
                what, ": weight and bias must be contiguous (C,) of x's dtype");
}

// (y, mean, invstd, unbiased variance)
std::vector<at::Tensor> bn_act_forward(const at::Tensor& x, const at::Tensor& weight,
                                       const at::Tensor& bias, double eps, double slope) {
  check_bn(x, weight, bias, "bn_act_forward");
  at::Tensor y = at::empty_like(x);
  at::Tensor mean = at::empty({x.size(1)}, x.options());
  at::Tensor invstd = at::empty_like(mean), var = at::empty_like(mean);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "bn_act_forward", [&] {
    bn_act_forward_impl<scalar_t>(x, weight, bias, eps, slope, y, mean, invstd, var);
  });
  return {y, mean, invstd, var};
}

// With gz = dL/dz (the output gradient where y > 0, slope times it elsewhere) and
// xc = x - mean: grad_bias = sum gz, grad_weight = invstd * sum gz xc, and
// grad_x = a gz + b xc + d per channel, a = weight invstd, b = -weight invstd^3 sum(gz xc) / N,
// d = -a sum(gz) / N (xc rather than x: b x and b mean would cancel on offset data).
template <typename T>
void bn_act_backward_impl(const at::Tensor& g, const at::Tensor& x, const at::Tensor& y,
                          const at::Tensor& weight, const at::Tensor& mean,
                          const at::Tensor& invstd, double slope, at::Tensor& gx,
                          at::Tensor& gw, at::Tensor& gb) {
  const int64_t n = x.size(0), c = x.size(1);
  const T* gp = g.data_ptr<T>();
  const T* xp = x.data_ptr<T>();
  const T* yp = y.data_ptr<T>();
  const T* mp = mean.data_ptr<T>();
  const T s = static_cast<T>(slope);
  const auto sums = chunk_sums(n, 2 * c, [&](int64_t i, double* p) {
    T gz[kMaxStatChannels];
    act_grad_row(gp + i * c, yp + i * c, c, s, gz);
    const T* xr = xp + i * c;
    for (int64_t j = 0; j < c; ++j) {
      p[j] += gz[j];
      p[c + j] += static_cast<double>(gz[j] * (xr[j] - mp[j]));
    }
  });
  std::vector<T> a(c), b(c), d(c);
  const T* wp = weight.data_ptr<T>();
  const T* ip = invstd.data_ptr<T>();
  for (int64_t j = 0; j < c; ++j) {
    const double is = ip[j], w = wp[j];
    gb.data_ptr<T>()[j] = static_cast<T>(sums[j]);
    gw.data_ptr<T>()[j] = static_cast<T>(sums[c + j] * is);
    const double aj = w * is, bj = -w * is * is * is * sums[c + j] / n;
    a[j] = static_cast<T>(aj);
    b[j] = static_cast<T>(bj);
    d[j] = static_cast<T>(-aj * sums[j] / n);
  }
  const T* ap = a.data();
  const T* bq = b.data();
  const T* dp = d.data();
  T* op = gx.data_ptr<T>();
  parallel_ranges(n, 1024, [&](int64_t ib, int64_t ie) {
    for (int64_t i = ib; i < ie; ++i) {
      const T* gr = gp + i * c;
      const T* xr = xp + i * c;
      const T* yr = yp + i * c;
      T* out = op + i * c;
      act_grad_row(gr, yr, c, s, out);
      for (int64_t j = 0; j < c; ++j) out[j] = ap[j] * out[j] + bq[j] * (xr[j] - mp[j]) + dp[j];
    }
  });
}

// (grad_x, grad_weight, grad_bias)
std::vector<at::Tensor> bn_act_backward(const at::Tensor& g, const at::Tensor& x,
                                        const at::Tensor& y, const at::Tensor& weight,
                                        const at::Tensor& mean, const at::Tensor& invstd,
                                        double slope) {
  check_bn(x, weight, mean, "bn_act_backward");
  TORCH_CHECK(g.sizes() == x.sizes() && y.sizes() == x.sizes() && g.is_contiguous() &&
                  y.is_contiguous() && g.scalar_type() == x.scalar_type() &&
                  y.scalar_type() == x.scalar_type() && invstd.sizes() == mean.sizes(),
              "bn_act_backward: grad, x and y must be contiguous matrices of one shape and dtype");
  at::Tensor gx = at::empty_like(x);
  at::Tensor gw = at::empty_like(weight), gb = at::empty_like(weight);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "bn_act_backward", [&] {
    bn_act_backward_impl<scalar_t>(g, x, y, weight, mean, invstd, slope, gx, gw, gb);
  });
  return {gx, gw, gb};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("gather_conv", &gather_conv, "out[i] = sum_k x[table[i, k]] @ w[k]", py::arg("x"),
        py::arg("starts"), py::arg("pairs"), py::arg("w"), py::arg("n_out"),
        py::arg("mirror") = false);
  m.def("weight_grad", &weight_grad, "grad_w[k] = sum over offset k's pairs of x^T grad");
  m.def("block_pairs", &block_pairs, "the table's pairs by row block, offset and row");
  m.def("bn_act_forward", &bn_act_forward, "batch norm (batch statistics) + leaky ReLU");
  m.def("bn_act_backward", &bn_act_backward, "gradients of bn_act_forward");
  m.def("submanifold_table", &submanifold_table, "3x3x3 neighbour table of sorted keys",
        py::arg("keys"), py::arg("order") = py::none());
  m.def("down_table", &down_table, "k=2 s=2 down tables and sorted parent keys of packed keys");
}
