// LayerNorm over the C channels of each of N rows (eps 1e-5, biased variance), as in reference.ts:
//   forward   out = (x − mean)·rstd·weight + bias, saving mean and rstd;
//   backward  dinp (= or += when ACCUMULATE_INPUT) = rstd·(dnorm − mean_c(dnorm) − norm·mean_c(dnorm·norm))
//             with norm = (x − mean)·rstd and dnorm = dout·weight, plus per-row-group partial sums
//             of dout·norm and dout (the dweight and dbias contributions), summed by a second pass.
// A 64x4 workgroup holds 4 rows at a time, one 64-invocation segment per row; invocation `lane`
// owns channels lane, lane+64, ... (PER_THREAD of them, C ≤ 64·16 = 1024) and keeps them in
// registers. Row sums are tree reductions in workgroup memory, so every run gives the same result.
// Workgroup counts above 65535 are folded into y: group index = id.y · grid_x + id.x.
//
// forward_registers, backward_registers — the same passes for CPU adapters (kernel.ts KernelLayout),
// where each barrier of the tree switches every invocation's context: one invocation per row
// (backward: per partial row, walking its 4 rows in order) computes the 64 lane sums and the same
// tree in private memory, so it adds in the same order and gives bit-identical results with no
// barrier at all.

override PER_THREAD: u32 = 16u;          // ceil(C / 64), at most MAX_PER_THREAD
override ACCUMULATE_INPUT: bool = false; // backward: dinp += instead of dinp =

const LANES = 64u;
const ROWS_AT_ONCE = 4u;
const BACKWARD_ITERATIONS = 4u; // rows per backward workgroup = ROWS_AT_ONCE · BACKWARD_ITERATIONS
const MAX_PER_THREAD = 16u;
const EPS = 1e-5;

struct Sizes {
  N: u32,
  C: u32,
  grid_x: u32,
  groups: u32, // workgroups that have rows (the folded grid may have more)
}

// forward
@group(0) @binding(0) var<storage, read_write> out: array<f32>;   // (N,C)
@group(0) @binding(1) var<storage, read_write> mean: array<f32>;  // (N)
@group(0) @binding(2) var<storage, read_write> rstd: array<f32>;  // (N)
@group(0) @binding(3) var<storage, read> inp: array<f32>;         // (N,C)
@group(0) @binding(4) var<storage, read> weight: array<f32>;      // (C)
@group(0) @binding(5) var<storage, read> bias: array<f32>;        // (C)
@group(0) @binding(6) var<uniform> sizes: Sizes;

// backward (inp and weight as above)
@group(0) @binding(0) var<storage, read_write> dinp: array<f32>;            // (N,C)
@group(0) @binding(1) var<storage, read_write> dweight_partial: array<f32>; // (groups·4, C)
@group(0) @binding(2) var<storage, read_write> dbias_partial: array<f32>;   // (groups·4, C)
@group(0) @binding(5) var<storage, read> dout: array<f32>;                  // (N,C)
@group(0) @binding(6) var<storage, read> saved_mean: array<f32>;            // (N)
@group(0) @binding(7) var<storage, read> saved_rstd: array<f32>;            // (N)
@group(0) @binding(8) var<uniform> backward_sizes: Sizes;

var<workgroup> partial_sums: array<vec2f, 256>; // (ROWS_AT_ONCE, LANES)
var<workgroup> row_totals: array<vec2f, 4>;     // (ROWS_AT_ONCE)

/** Sum of `value` over the 64 lanes of one row segment; every invocation must call it. */
fn row_sum(value: vec2f, lane: u32, slot: u32) -> vec2f {
  let base = slot * LANES;
  partial_sums[base + lane] = value;
  for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lane < stride) {
      partial_sums[base + lane] += partial_sums[base + lane + stride];
    }
  }
  // The total goes through its own array: Mesa's llvmpipe (Dawn's GL backend) returned stale values
  // to invocations outside the first SIMD group when they read partial_sums[base] directly.
  if (lane == 0u) { row_totals[slot] = partial_sums[base]; }
  workgroupBarrier();
  let total = row_totals[slot];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(64, 4)
fn forward(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_id) local: vec3u) {
  let C = sizes.C;
  let row = (group.y * sizes.grid_x + group.x) * ROWS_AT_ONCE + local.y;
  let in_range = row < sizes.N;
  var x: array<f32, MAX_PER_THREAD>;
  var sum = 0.0;
  for (var k = 0u; k < PER_THREAD; k++) {
    let c = local.x + k * LANES;
    x[k] = 0.0;
    if (in_range && c < C) { x[k] = inp[row * C + c]; }
    sum += x[k];
  }
  let m = row_sum(vec2f(sum, 0.0), local.x, local.y).x / f32(C);
  var squares = 0.0;
  for (var k = 0u; k < PER_THREAD; k++) {
    let c = local.x + k * LANES;
    if (c < C) { squares += (x[k] - m) * (x[k] - m); }
  }
  let variance = row_sum(vec2f(squares, 0.0), local.x, local.y).x / f32(C);
  let s = 1.0 / sqrt(variance + EPS);
  if (!in_range) { return; }
  for (var k = 0u; k < PER_THREAD; k++) {
    let c = local.x + k * LANES;
    if (c < C) { out[row * C + c] = (x[k] - m) * s * weight[c] + bias[c]; }
  }
  if (local.x == 0u) {
    mean[row] = m;
    rstd[row] = s;
  }
}

const REGISTER_ROWS = 32u; // invocations per registers workgroup: rows (forward) or partial rows (backward)

// The 64-lane tree of row_sum over one invocation's lane sums, in the same order.
fn lane_tree(sums: ptr<function, array<f32, 64>>) -> f32 {
  for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
    for (var lane = 0u; lane < stride; lane++) { (*sums)[lane] += (*sums)[lane + stride]; }
  }
  return (*sums)[0];
}

@compute @workgroup_size(32)
fn forward_registers(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) index: u32) {
  let C = sizes.C;
  let row = (group.y * sizes.grid_x + group.x) * REGISTER_ROWS + index;
  if (row >= sizes.N) { return; }
  var sums: array<f32, 64>;
  for (var lane = 0u; lane < LANES; lane++) {
    var sum = 0.0;
    for (var k = 0u; k < PER_THREAD; k++) {
      let c = lane + k * LANES;
      var x = 0.0;
      if (c < C) { x = inp[row * C + c]; }
      sum += x;
    }
    sums[lane] = sum;
  }
  let m = lane_tree(&sums) / f32(C);
  for (var lane = 0u; lane < LANES; lane++) {
    var squares = 0.0;
    for (var k = 0u; k < PER_THREAD; k++) {
      let c = lane + k * LANES;
      if (c < C) {
        let x = inp[row * C + c];
        squares += (x - m) * (x - m);
      }
    }
    sums[lane] = squares;
  }
  let variance = lane_tree(&sums) / f32(C);
  let s = 1.0 / sqrt(variance + EPS);
  for (var c = 0u; c < C; c++) { out[row * C + c] = (inp[row * C + c] - m) * s * weight[c] + bias[c]; }
  mean[row] = m;
  rstd[row] = s;
}

@compute @workgroup_size(64, 4)
fn backward(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_id) local: vec3u) {
  let C = backward_sizes.C;
  let g = group.y * backward_sizes.grid_x + group.x;
  var w: array<f32, MAX_PER_THREAD>;
  var dweight_acc: array<f32, MAX_PER_THREAD>;
  var dbias_acc: array<f32, MAX_PER_THREAD>;
  for (var k = 0u; k < PER_THREAD; k++) {
    let c = local.x + k * LANES;
    w[k] = 0.0;
    if (c < C) { w[k] = weight[c]; }
    dweight_acc[k] = 0.0;
    dbias_acc[k] = 0.0;
  }
  for (var iteration = 0u; iteration < BACKWARD_ITERATIONS; iteration++) {
    let row = (g * BACKWARD_ITERATIONS + iteration) * ROWS_AT_ONCE + local.y;
    let in_range = row < backward_sizes.N;
    var m = 0.0;
    var s = 0.0;
    if (in_range) {
      m = saved_mean[row];
      s = saved_rstd[row];
    }
    var norm: array<f32, MAX_PER_THREAD>;
    var dy: array<f32, MAX_PER_THREAD>;
    var sums = vec2f(0.0);
    for (var k = 0u; k < PER_THREAD; k++) {
      let c = local.x + k * LANES;
      norm[k] = 0.0;
      dy[k] = 0.0;
      if (in_range && c < C) {
        norm[k] = (inp[row * C + c] - m) * s;
        dy[k] = dout[row * C + c];
      }
      let dnorm = dy[k] * w[k];
      sums += vec2f(dnorm, dnorm * norm[k]);
      dweight_acc[k] += dy[k] * norm[k];
      dbias_acc[k] += dy[k];
    }
    let means = row_sum(sums, local.x, local.y) / f32(C);
    for (var k = 0u; k < PER_THREAD; k++) {
      let c = local.x + k * LANES;
      if (in_range && c < C) {
        var d = (dy[k] * w[k] - means.x - norm[k] * means.y) * s;
        if (ACCUMULATE_INPUT) { d += dinp[row * C + c]; }
        dinp[row * C + c] = d;
      }
    }
  }
  if (g >= backward_sizes.groups) { return; }
  let p = g * ROWS_AT_ONCE + local.y;
  for (var k = 0u; k < PER_THREAD; k++) {
    let c = local.x + k * LANES;
    if (c < C) {
      dweight_partial[p * C + c] = dweight_acc[k];
      dbias_partial[p * C + c] = dbias_acc[k];
    }
  }
}

// The 64-lane tree of row_sum over one invocation's (dnorm, dnorm·norm) lane sums, in the same order.
fn lane_tree2(sums: ptr<function, array<vec2f, 64>>) -> vec2f {
  for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
    for (var lane = 0u; lane < stride; lane++) { (*sums)[lane] += (*sums)[lane + stride]; }
  }
  return (*sums)[0];
}

// Invocation p owns partial row p = g·4 + slot of backward's workgroup g and walks that workgroup's
// rows of its slot in the same order, so every sum is formed as in backward.
@compute @workgroup_size(32)
fn backward_registers(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) index: u32) {
  let C = backward_sizes.C;
  let p = (group.y * backward_sizes.grid_x + group.x) * REGISTER_ROWS + index;
  let g = p / ROWS_AT_ONCE;
  if (g >= backward_sizes.groups) { return; }
  let slot = p % ROWS_AT_ONCE;
  for (var iteration = 0u; iteration < BACKWARD_ITERATIONS; iteration++) {
    let row = (g * BACKWARD_ITERATIONS + iteration) * ROWS_AT_ONCE + slot;
    let in_range = row < backward_sizes.N;
    var m = 0.0;
    var s = 0.0;
    if (in_range) {
      m = saved_mean[row];
      s = saved_rstd[row];
    }
    var sums: array<vec2f, 64>;
    for (var lane = 0u; lane < LANES; lane++) {
      var lane_sums = vec2f(0.0);
      for (var k = 0u; k < PER_THREAD; k++) {
        let c = lane + k * LANES;
        var norm = 0.0;
        var dy = 0.0;
        var w = 0.0;
        if (c < C) { w = weight[c]; }
        if (in_range && c < C) {
          norm = (inp[row * C + c] - m) * s;
          dy = dout[row * C + c];
        }
        let dnorm = dy * w;
        lane_sums += vec2f(dnorm, dnorm * norm);
      }
      sums[lane] = lane_sums;
    }
    let means = lane_tree2(&sums) / f32(C);
    for (var c = 0u; c < C; c++) {
      var norm = 0.0;
      var dy = 0.0;
      if (in_range) {
        norm = (inp[row * C + c] - m) * s;
        dy = dout[row * C + c];
        var d = (dy * weight[c] - means.x - norm * means.y) * s;
        if (ACCUMULATE_INPUT) { d += dinp[row * C + c]; }
        dinp[row * C + c] = d;
      }
      var dweight_acc = 0.0;
      var dbias_acc = 0.0;
      if (iteration > 0u) {
        dweight_acc = dweight_partial[p * C + c];
        dbias_acc = dbias_partial[p * C + c];
      }
      dweight_partial[p * C + c] = dweight_acc + dy * norm;
      dbias_partial[p * C + c] = dbias_acc + dy;
    }
  }
}
