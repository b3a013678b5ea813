// Tiled, register-blocked matrix multiply with a fused epilogue (bias, residual, GELU, accumulation):
//   out (M,N) = opA(a) (M,K) @ opB(b) (K,N) [+ bias (N)] [+ aux (M,N)] [· gelu'(aux)] [+ out (M,N)]
//   out_gelu (M,N) = gelu(out)                                     when GELU_OUT
// opA(a) = a stored (M,K), or a stored (K,M) when TRANS_A; opB(b) = b stored (K,N), or (N,K) when TRANS_B.
// The epilogue replaces separate elementwise passes with the same float32 operations:
//   ADD_RESIDUAL — aux is the residual stream: out = x + (a @ W + bias), the residual connection;
//   GELU_OUT     — the MLP's first matmul also writes its activation (gelu.wgsl), keeping out for backward;
//   GELU_GRAD    — aux is the GELU's input: d fch = gelu'(fch) · (d fchGelu = dout @ Wproj^T).
// A 16x16 workgroup computes a 64x64 output tile; each invocation holds a 4x4 block in registers,
// with rows and columns strided by 16 so neighbouring invocations touch neighbouring addresses.
// The K dimension is walked in slices of 16 staged through workgroup memory (8 KiB).
//
// skinny — the same product for short outputs (M ≤ 16: decode steps, one row per sequence), where a
// 64-row tile would be mostly padding. A 64-invocation workgroup owns 4 rows × 64 columns; each
// invocation keeps its column's 4 rows in one vec4 and walks K alone (no workgroup memory, no
// barriers): per k it reads one b element (consecutive columns → consecutive addresses unless
// TRANS_B) and the 4 rows' a elements (the same for the whole workgroup).
//
// registers — the product for CPU adapters (SwiftShader, llvmpipe), where workgroup memory is plain
// memory and a barrier switches every invocation's context, so staging tiles costs more than it
// saves. A 32-invocation workgroup owns 8 rows × 128 columns; each invocation keeps 8 rows × 4
// columns (strided by 32, so neighbouring invocations read neighbouring b addresses) in eight vec4
// registers and walks K alone: per k, 4 b reads and 8 a reads (shared by the workgroup) feed 32 fma.
//
// All three entry points sum over k in the same order (k ascending, one fma per term) and share the
// epilogue (finish), so they round alike and give bit-identical results.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override ADD_RESIDUAL: bool = false;
override GELU_GRAD: bool = false;
override GELU_OUT: bool = false;
override ACCUMULATE: bool = false;

struct Dims {
  M: u32,
  N: u32,
  K: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (M,N)
@group(0) @binding(1) var<storage, read> a: array<f32>;         // (M,K) or (K,M)
@group(0) @binding(2) var<storage, read> b: array<f32>;         // (K,N) or (N,K)
@group(0) @binding(3) var<storage, read> bias: array<f32>;      // (N), read only when HAS_BIAS
@group(0) @binding(4) var<uniform> dims: Dims;
@group(0) @binding(5) var<storage, read> aux: array<f32>;            // (M,N), read only when ADD_RESIDUAL or GELU_GRAD
@group(0) @binding(6) var<storage, read_write> out_gelu: array<f32>; // (M,N), written only when GELU_OUT

const TILE_M = 64u;
const TILE_N = 64u;
const TILE_K = 16u;
const THREADS = 256u;

var<workgroup> tile_a: array<f32, 1024>; // (TILE_K, TILE_M)
var<workgroup> tile_b: array<f32, 1024>; // (TILE_K, TILE_N)

fn load_a(m: u32, k: u32) -> f32 {
  if (m >= dims.M || k >= dims.K) { return 0.0; }
  if (TRANS_A) { return a[k * dims.M + m]; }
  return a[m * dims.K + k];
}

fn load_b(k: u32, n: u32) -> f32 {
  if (k >= dims.K || n >= dims.N) { return 0.0; }
  if (TRANS_B) { return b[n * dims.K + k]; }
  return b[k * dims.N + n];
}

// Stage one (TILE_K x 64) slice of each operand; consecutive invocations read consecutive addresses.
fn stage_tiles(index: u32, row0: u32, col0: u32, k0: u32) {
  for (var i = 0u; i < 4u; i++) {
    let e = index + i * THREADS; // 0..1023
    var m: u32; var ka: u32;
    if (TRANS_A) { ka = e / TILE_M; m = e % TILE_M; } else { m = e / TILE_K; ka = e % TILE_K; }
    tile_a[ka * TILE_M + m] = load_a(row0 + m, k0 + ka);
    var n: u32; var kb: u32;
    if (TRANS_B) { n = e / TILE_K; kb = e % TILE_K; } else { kb = e / TILE_N; n = e % TILE_N; }
    tile_b[kb * TILE_N + n] = load_b(k0 + kb, col0 + n);
  }
}

// The epilogue of output (m, n) given its dot product: bias, residual, GELU gradient, accumulation,
// in that order; then the stores.
fn finish(m: u32, n: u32, dot: f32) {
  let o = m * dims.N + n;
  var value = dot;
  if (HAS_BIAS) { value += bias[n]; }
  if (ADD_RESIDUAL) { value += aux[o]; }
  if (GELU_GRAD) { value = gelu_derivative(vec4f(aux[o])).x * value; }
  if (ACCUMULATE) { value += out[o]; }
  out[o] = value;
  if (GELU_OUT) { out_gelu[o] = gelu(vec4f(value)).x; }
}

// Finishes one row's four outputs (columns col + stride·j, j = 0..3).
fn store_row(m: u32, col: u32, stride: u32, values: vec4f) {
  if (m >= dims.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let n = col + stride * j;
    if (n >= dims.N) { return; }
    finish(m, n, values[j]);
  }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) group: vec3u,
        @builtin(local_invocation_id) local: vec3u,
        @builtin(local_invocation_index) index: u32) {
  let row0 = group.y * TILE_M;
  let col0 = group.x * TILE_N;
  // acc_i[j]: row row0 + local.y + 16i, column col0 + local.x + 16j. Four named registers rather
  // than an array: some compilers (Mesa llvmpipe) spill a dynamically indexed array to memory.
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < dims.K; k0 += TILE_K) {
    stage_tiles(index, row0, col0, k0);
    workgroupBarrier();
    for (var k = 0u; k < TILE_K; k++) {
      let base_a = k * TILE_M + local.y;
      let base_b = k * TILE_N + local.x;
      let bv = vec4f(tile_b[base_b], tile_b[base_b + 16u], tile_b[base_b + 32u], tile_b[base_b + 48u]);
      acc0 = fma(vec4f(tile_a[base_a]), bv, acc0);
      acc1 = fma(vec4f(tile_a[base_a + 16u]), bv, acc1);
      acc2 = fma(vec4f(tile_a[base_a + 32u]), bv, acc2);
      acc3 = fma(vec4f(tile_a[base_a + 48u]), bv, acc3);
    }
    workgroupBarrier();
  }
  let col = col0 + local.x;
  store_row(row0 + local.y, col, 16u, acc0);
  store_row(row0 + local.y + 16u, col, 16u, acc1);
  store_row(row0 + local.y + 32u, col, 16u, acc2);
  store_row(row0 + local.y + 48u, col, 16u, acc3);
}

const SKINNY_COLUMNS = 64u;
const SKINNY_ROWS = 4u;

// Element (m, k) of opA(a) and (k, n) of opB(b); callers clamp m, n into range.
fn a_at(m: u32, k: u32) -> f32 {
  if (TRANS_A) { return a[k * dims.M + m]; }
  return a[m * dims.K + k];
}

fn b_at(k: u32, n: u32) -> f32 {
  if (TRANS_B) { return b[n * dims.K + k]; }
  return b[k * dims.N + n];
}

@compute @workgroup_size(64)
fn skinny(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) index: u32) {
  let n = group.x * SKINNY_COLUMNS + index;
  let row0 = group.y * SKINNY_ROWS;
  // Rows and columns past the edge read a valid element (the last one) and are not stored.
  let last_row = dims.M - 1u;
  let m0 = min(row0, last_row);
  let m1 = min(row0 + 1u, last_row);
  let m2 = min(row0 + 2u, last_row);
  let m3 = min(row0 + 3u, last_row);
  let nb = min(n, dims.N - 1u);
  var acc = vec4f(0.0); // rows row0 .. row0+3 of column n
  for (var k = 0u; k < dims.K; k++) {
    let av = vec4f(a_at(m0, k), a_at(m1, k), a_at(m2, k), a_at(m3, k));
    acc = fma(av, vec4f(b_at(k, nb)), acc);
  }
  if (n >= dims.N) { return; }
  for (var r = 0u; r < SKINNY_ROWS; r++) {
    let m = row0 + r;
    if (m >= dims.M) { return; }
    finish(m, n, acc[r]);
  }
}

const REGISTER_ROWS = 8u;
const REGISTER_LANES = 32u;

@compute @workgroup_size(32)
fn registers(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) index: u32) {
  let row0 = group.y * REGISTER_ROWS;
  let col = group.x * 4u * REGISTER_LANES + index; // this invocation's columns: col + 32j, j = 0..3
  // Rows and columns past the edge read a valid element (the last one) and are not stored.
  let last_row = dims.M - 1u;
  let last_col = dims.N - 1u;
  let n0 = min(col, last_col);
  let n1 = min(col + REGISTER_LANES, last_col);
  let n2 = min(col + 2u * REGISTER_LANES, last_col);
  let n3 = min(col + 3u * REGISTER_LANES, last_col);
  let m0 = min(row0, last_row);
  let m1 = min(row0 + 1u, last_row);
  let m2 = min(row0 + 2u, last_row);
  let m3 = min(row0 + 3u, last_row);
  let m4 = min(row0 + 4u, last_row);
  let m5 = min(row0 + 5u, last_row);
  let m6 = min(row0 + 6u, last_row);
  let m7 = min(row0 + 7u, last_row);
  // acc_r: row row0 + r, columns col + 32j in component j. Named registers, as in main.
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  var acc4 = vec4f(0.0);
  var acc5 = vec4f(0.0);
  var acc6 = vec4f(0.0);
  var acc7 = vec4f(0.0);
  for (var k = 0u; k < dims.K; k++) {
    let bv = vec4f(b_at(k, n0), b_at(k, n1), b_at(k, n2), b_at(k, n3));
    acc0 = fma(vec4f(a_at(m0, k)), bv, acc0);
    acc1 = fma(vec4f(a_at(m1, k)), bv, acc1);
    acc2 = fma(vec4f(a_at(m2, k)), bv, acc2);
    acc3 = fma(vec4f(a_at(m3, k)), bv, acc3);
    acc4 = fma(vec4f(a_at(m4, k)), bv, acc4);
    acc5 = fma(vec4f(a_at(m5, k)), bv, acc5);
    acc6 = fma(vec4f(a_at(m6, k)), bv, acc6);
    acc7 = fma(vec4f(a_at(m7, k)), bv, acc7);
  }
  store_row(row0, col, REGISTER_LANES, acc0);
  store_row(row0 + 1u, col, REGISTER_LANES, acc1);
  store_row(row0 + 2u, col, REGISTER_LANES, acc2);
  store_row(row0 + 3u, col, REGISTER_LANES, acc3);
  store_row(row0 + 4u, col, REGISTER_LANES, acc4);
  store_row(row0 + 5u, col, REGISTER_LANES, acc5);
  store_row(row0 + 6u, col, REGISTER_LANES, acc6);
  store_row(row0 + 7u, col, REGISTER_LANES, acc7);
}
