// Compiled CPU kernels of the built-in sparse engine (lartpc_seg/sparse/compiled.py builds and
// loads this file; lartpc_seg/sparse/neighbours.py documents the maps it works on).
//
// A convolution is described by a neighbour table: `table` (n_out, K) int32, where
// table[i][k] is the input row that output row i reads through kernel offset k, or -1. Every
// product is output-stationary over such a table: an output row is owned by one thread, which
// sums its neighbours' rows times the offset's (C_in, C_out) weight in registers and writes the
// row once. Nothing of the size of the pairs is ever materialised, and every output element is
// summed in one fixed order, whatever the number of threads.
//
// - forward:         out    = gather_conv(x, table, W)         W (K, C_in, C_out)
// - input gradient:  grad_x = gather_conv(grad_out, table_t, W^T)  table_t: the transposed map
// - weight gradient: grad_W[k] = sum over the pairs (j, i) of offset k of x[j]^T grad_out[i],
//                    in fixed blocks of pairs whose partial sums are added in block order.
//
// Vectorised over channels with GCC vector extensions (32-byte vectors: AVX2/AVX-512 code
// under -march=native, SSE pairs elsewhere), OpenMP over rows / blocks.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <omp.h>
#include <torch/csrc/utils/pybind.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

constexpr int kVecBytes = 32;
// most output vectors of one register tile (a 32-column block of float)
constexpr int kMaxVecs = 4;
// pairs per block of the weight gradient: the rows of one block stay in L1/L2 while every
// register tile of the offset's weight sweeps them
constexpr int64_t kPairBlock = 256;
// pairs per partial sum of the weight gradient (fixed, so the sum order never depends on
// the thread count)
constexpr int64_t kPartPairs = 4096;

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
// Rows are taken in blocks of kRowBlock; within a block, offset by offset, the rows that have a
// neighbour at that offset are collected (branch-free) and handled R at a time by a register
// tile of R rows x NV vectors of output columns: each weight vector loaded is used by R rows.
// An output row is summed offset by offset, input channel by input channel, in that order
// whatever R, the block or the thread.
constexpr int64_t kRowBlock = 128;

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

template <typename T, int NV>
void conv_columns(const T* x, int64_t cin, const int32_t* table, int64_t K, const T* w,
                  int64_t cout, T* out, int64_t c0, int64_t begin, int64_t end) {
  constexpr int R = tile_rows<NV>();
  constexpr int W = Vec<T>::width;
  const T* xs[kRowBlock];
  T* os[kRowBlock];
  for (int64_t b0 = begin; b0 < end; b0 += kRowBlock) {
    const int64_t b1 = std::min(end, b0 + kRowBlock);
    for (int64_t i = b0; i < b1; ++i)
      for (int v = 0; v < NV; ++v) store<T>(out + i * cout + c0 + v * W, typename Vec<T>::type{});
    for (int64_t k = 0; k < K; ++k) {
      int m = 0;
      for (int64_t i = b0; i < b1; ++i) {
        const int32_t j = table[i * K + k];
        xs[m] = x + static_cast<int64_t>(j < 0 ? 0 : j) * cin;
        os[m] = out + i * cout + c0;
        m += j >= 0;
      }
      const T* wk = w + k * cin * cout + c0;
      int t = 0;
      for (; t + R <= m; t += R) conv_tile<T, NV, R>(xs + t, os + t, cin, wk, cout);
      if (t < m) conv_tail<T, NV, R>(m - t, xs + t, os + t, cin, wk, cout);
    }
  }
}

// the columns [c0, cout) past the last full vector, one at a time
template <typename T>
void conv_rows_tail(const T* x, int64_t cin, const int32_t* table, int64_t K, const T* w,
                    int64_t cout, T* out, int64_t c0, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const int32_t* row = table + i * K;
    for (int64_t c = c0; c < cout; ++c) {
      T acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int32_t j = row[k];
        if (j < 0) continue;
        const T* xr = x + static_cast<int64_t>(j) * cin;
        const T* wk = w + k * cin * cout + c;
        for (int64_t ci = 0; ci < cin; ++ci) acc += xr[ci] * wk[ci * cout];
      }
      out[i * cout + c] = acc;
    }
  }
}

template <typename T>
void conv_dispatch(int nv, const T* x, int64_t cin, const int32_t* table, int64_t K,
                   const T* w, int64_t cout, T* out, int64_t c0, int64_t begin, int64_t end) {
  switch (nv) {
    case 1: return conv_columns<T, 1>(x, cin, table, K, w, cout, out, c0, begin, end);
    case 2: return conv_columns<T, 2>(x, cin, table, K, w, cout, out, c0, begin, end);
    case 3: return conv_columns<T, 3>(x, cin, table, K, w, cout, out, c0, begin, end);
    case 4: return conv_columns<T, 4>(x, cin, table, K, w, cout, out, c0, begin, end);
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
void gather_conv_impl(const at::Tensor& x, const at::Tensor& table, const at::Tensor& w,
                      at::Tensor& out) {
  const int64_t n = table.size(0), K = table.size(1), cin = x.size(1), cout = w.size(2);
  const T* xp = x.data_ptr<T>();
  const int32_t* tp = table.data_ptr<int32_t>();
  const T* wp = w.data_ptr<T>();
  T* op = out.data_ptr<T>();
  constexpr int width = Vec<T>::width;
  const auto blocks = column_blocks(cout, width);
  const int64_t tail = (cout / width) * width;
  at::parallel_for(0, n, kRowBlock, [&](int64_t begin, int64_t end) {
    for (const auto& [c0, nv] : blocks)
      conv_dispatch<T>(nv, xp, cin, tp, K, wp, cout, op, c0, begin, end);
    if (tail < cout) conv_rows_tail<T>(xp, cin, tp, K, wp, cout, op, tail, begin, end);
  });
}

void check_table(const at::Tensor& table, const char* what) {
  TORCH_CHECK(table.dim() == 2 && table.scalar_type() == at::kInt && table.is_contiguous(), what,
              ": table must be a contiguous (n, K) int32 tensor");
}

at::Tensor gather_conv(const at::Tensor& x, const at::Tensor& table, const at::Tensor& w) {
  check_table(table, "gather_conv");
  TORCH_CHECK(x.dim() == 2 && x.is_contiguous(), "gather_conv: x must be contiguous (n, C)");
  TORCH_CHECK(w.dim() == 3 && w.is_contiguous() && w.size(0) == table.size(1) &&
                  w.size(1) == x.size(1) && w.scalar_type() == x.scalar_type(),
              "gather_conv: weight must be contiguous (K, C_in, C_out) of x's dtype");
  at::Tensor out = at::empty({table.size(0), w.size(2)}, x.options());
  if (out.numel() == 0) return out;
  if (x.size(1) == 0) return out.zero_();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gather_conv",
                             [&] { gather_conv_impl<scalar_t>(x, table, w, out); });
  return out;
}

// --------------------------------------------------------------------------------------------
// Pair lists by offset: for each offset k the rows i with table[i, k] >= 0, increasing, and
// their input rows. `starts` (K + 1,) int64; `pairs` (P, 2) int32 of (input row, output row).
std::vector<at::Tensor> pair_lists(const at::Tensor& table) {
  check_table(table, "pair_lists");
  const int64_t n = table.size(0), K = table.size(1);
  const int32_t* tp = table.data_ptr<int32_t>();
  at::Tensor starts = at::zeros({K + 1}, table.options().dtype(at::kLong));
  int64_t* sp = starts.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < K; ++k) sp[k + 1] += tp[i * K + k] >= 0;
  for (int64_t k = 0; k < K; ++k) sp[k + 1] += sp[k];
  at::Tensor pairs = at::empty({sp[K], 2}, table.options());
  int32_t* pp = pairs.data_ptr<int32_t>();
  std::vector<int64_t> next(sp, sp + K);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < K; ++k) {
      const int32_t j = tp[i * K + k];
      if (j >= 0) {
        pp[2 * next[k]] = j;
        pp[2 * next[k] + 1] = static_cast<int32_t>(i);
        ++next[k];
      }
    }
  return {starts, pairs};
}

// --------------------------------------------------------------------------------------------
// Weight gradient. The pairs of each offset are cut into parts of kPartPairs; a part's
// (C_in, C_out) partial sum is one task. Inside a task, blocks of kPairBlock pairs are swept by
// register tiles of CB input channels x NV output vectors.
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

// one block of pairs [p0, p1) into dw (C_in, C_out)
template <typename T>
void wgrad_block(const T* x, int64_t cin, const T* g, int64_t cout, const int32_t* pairs,
                 int64_t p0, int64_t p1, T* dw) {
  constexpr int width = Vec<T>::width;
  const T* xs[kPairBlock];
  const T* gs[kPairBlock];
  const int64_t m = p1 - p0;
  for (int64_t p = 0; p < m; ++p) {
    xs[p] = x + static_cast<int64_t>(pairs[2 * (p0 + p)]) * cin;
    gs[p] = g + static_cast<int64_t>(pairs[2 * (p0 + p) + 1]) * cout;
  }
  const int64_t vecs = cout / width;
  int64_t c = 0;
  for (; c + 2 <= vecs; c += 2) wgrad_columns<T, 2>(xs, gs, m, cin, c * width, cout, dw);
  if (c < vecs) wgrad_columns<T, 1>(xs, gs, m, cin, c * width, cout, dw);
  if (vecs * width < cout) wgrad_scalar<T>(xs, gs, m, cin, vecs * width, cout, dw);
}

template <typename T>
void weight_grad_impl(const at::Tensor& x, const at::Tensor& g, const at::Tensor& starts,
                      const at::Tensor& pairs, at::Tensor& dw) {
  const int64_t K = starts.size(0) - 1, cin = x.size(1), cout = g.size(1);
  const int64_t* sp = starts.data_ptr<int64_t>();
  const int32_t* pp = pairs.data_ptr<int32_t>();
  const T* xp = x.data_ptr<T>();
  const T* gp = g.data_ptr<T>();
  // tasks: (offset, part); part_first[k] is the first task of offset k
  std::vector<int64_t> part_first(K + 1, 0);
  for (int64_t k = 0; k < K; ++k) {
    const int64_t count = sp[k + 1] - sp[k];
    part_first[k + 1] = part_first[k] + (count + kPartPairs - 1) / kPartPairs;
  }
  const int64_t tasks = part_first[K];
  at::Tensor partial = at::zeros({tasks, cin, cout}, x.options());
  T* part = partial.data_ptr<T>();
  std::vector<int64_t> task_offset(tasks);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t t = part_first[k]; t < part_first[k + 1]; ++t) task_offset[t] = k;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads())
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t k = task_offset[t];
    const int64_t p0 = sp[k] + (t - part_first[k]) * kPartPairs;
    const int64_t p1 = std::min(sp[k + 1], p0 + kPartPairs);
    T* dst = part + t * cin * cout;
    for (int64_t b = p0; b < p1; b += kPairBlock)
      wgrad_block<T>(xp, cin, gp, cout, pp, b, std::min(p1, b + kPairBlock), dst);
  }
  T* dwp = dw.data_ptr<T>();
  const int64_t size = cin * cout;
  at::parallel_for(0, K, 1, [&](int64_t kb, int64_t ke) {
    for (int64_t k = kb; k < ke; ++k) {
      T* dst = dwp + k * size;
      std::fill(dst, dst + size, T(0));
      for (int64_t t = part_first[k]; t < part_first[k + 1]; ++t) {
        const T* src = part + t * size;
        for (int64_t e = 0; e < size; ++e) dst[e] += src[e];
      }
    }
  });
}

at::Tensor weight_grad(const at::Tensor& x, const at::Tensor& g, const at::Tensor& starts,
                       const at::Tensor& pairs) {
  TORCH_CHECK(x.is_contiguous() && g.is_contiguous() && x.scalar_type() == g.scalar_type(),
              "weight_grad: x and grad must be contiguous, of one dtype");
  TORCH_CHECK(pairs.scalar_type() == at::kInt && pairs.is_contiguous(),
              "weight_grad: pairs must be contiguous int32");
  at::Tensor dw = at::empty({starts.size(0) - 1, x.size(1), g.size(1)}, x.options());
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
  const int64_t* kp = keys.data_ptr<int64_t>();
  int32_t* tp = table.data_ptr<int32_t>();
  at::parallel_for(0, n, 2048, [&](int64_t begin, int64_t end) {
    for (int c = 0; c < 9; ++c) {
      const int64_t dx = c / 3 - 1, dy = c % 3 - 1;
      const int64_t delta = (dx << 32) + (dy << 16) - 1;
      int64_t p = std::lower_bound(kp, kp + n, kp[begin] + delta) - kp;
      for (int64_t i = begin; i < end; ++i) {
        const int64_t target = kp[i] + delta;
        while (p < n && kp[p] < target) ++p;
        int64_t q = p;
        int32_t* row = tp + i * 27 + c * 3;
        for (int dz = 0; dz < 3; ++dz) {
          if (q < n && kp[q] == target + dz) {
            row[dz] = static_cast<int32_t>(q);
            ++q;
          } else {
            row[dz] = -1;
          }
        }
      }
    }
  });
  return table;
}

// The transposed map: table_t[j, k] = i where table[i, k] = j (each (j, k) is read by at most
// one output row in the maps of this engine), else -1.
at::Tensor transpose_table(const at::Tensor& table, int64_t n_in) {
  check_table(table, "transpose_table");
  const int64_t n = table.size(0), K = table.size(1);
  at::Tensor out = at::full({n_in, K}, -1, table.options());
  const int32_t* tp = table.data_ptr<int32_t>();
  int32_t* op = out.data_ptr<int32_t>();
  at::parallel_for(0, n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      for (int64_t k = 0; k < K; ++k) {
        const int32_t j = tp[i * K + k];
        if (j >= 0) op[static_cast<int64_t>(j) * K + k] = static_cast<int32_t>(i);
      }
  });
  return out;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("gather_conv", &gather_conv, "out[i] = sum_k x[table[i, k]] @ w[k]");
  m.def("weight_grad", &weight_grad, "grad_w[k] = sum over offset k's pairs of x^T grad");
  m.def("pair_lists", &pair_lists, "the table's pairs grouped by offset");
  m.def("submanifold_table", &submanifold_table, "3x3x3 neighbour table of sorted keys");
  m.def("transpose_table", &transpose_table, "the transposed neighbour table");
}
