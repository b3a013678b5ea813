// Elementwise kernels and a deterministic column sum.
//
// elementwise / elementwise_vec4 — one invocation per element (or per vec4 of 4 elements when the
// length is a multiple of 4), the operation picked by the OP override:
//   OP_GELU_FORWARD    dst = gelu(a)                      (tanh approximation, GPT-2's "gelu_new")
//   OP_GELU_BACKWARD   dst = gelu'(a) · b                 (a = the forward input, b = dout)
//   OP_ADD             dst = a + b                        (residual connection)
//   OP_ADD_INTO        dst = dst + a
// Workgroup counts above 65535 are folded into y: group index = id.y · grid_x + id.x.
//
// column_sum — dst[chunk, col] (= or += when ACCUMULATE) Σ src[row, col] over the rows of one
// chunk of chunk_rows rows. A 64x4 workgroup covers 64 columns of one chunk: the 4 row lanes stride
// through the chunk and are added in a fixed order, so the result is the same on every run. Two
// passes (chunks into a scratch, then the scratch's single chunk into the destination) give a
// parallel column reduction without atomics.
//
// The vec4 entry point declares the same bindings as vec4 arrays; an entry point only uses one set.

override OP: u32 = 0u;
override ACCUMULATE: bool = false;

const OP_GELU_FORWARD = 0u;
const OP_GELU_BACKWARD = 1u;
const OP_ADD = 2u;
const OP_ADD_INTO = 3u;

const GELU_SCALE = 0.7978845608028654; // sqrt(2/π)
const GELU_CUBIC = 0.044715;
// tanh(±10) is ±1 in float32; clamping keeps exp-based tanh implementations away from inf/inf.
const TANH_CLAMP = 10.0;
// Beyond |x| = 10, gelu'(x) is 0 or 1 exactly in float32; clamping keeps x³ finite in the derivative.
const GELU_DERIVATIVE_CLAMP = 10.0;

const WORKGROUP = 256u;
const SUM_COLUMNS = 64u;
const SUM_LANES = 4u;

struct Sizes {
  n: u32,          // elements (elementwise: scalars or vec4s)
  grid_x: u32,     // workgroups along x (elementwise fold)
  rows: u32,       // column_sum: rows of src
  cols: u32,       // column_sum: columns of src and dst
  chunk_rows: u32, // column_sum: rows summed into one dst row
}

@group(0) @binding(0) var<storage, read_write> dst: array<f32>; // (n) or column_sum (chunks, cols)
@group(0) @binding(1) var<storage, read> src_a: array<f32>;     // (n) or column_sum (rows, cols)
@group(0) @binding(2) var<storage, read> src_b: array<f32>;     // (n), read by GELU_BACKWARD and ADD
@group(0) @binding(0) var<storage, read_write> dst4: array<vec4f>; // (n/4)
@group(0) @binding(1) var<storage, read> src_a4: array<vec4f>;     // (n/4)
@group(0) @binding(2) var<storage, read> src_b4: array<vec4f>;     // (n/4)
@group(0) @binding(3) var<uniform> sizes: Sizes;

var<workgroup> lane_sums: array<f32, 256>; // (SUM_LANES, SUM_COLUMNS)

fn tanh_u(x: vec4f) -> vec4f {
  let u = GELU_SCALE * (x + GELU_CUBIC * x * x * x);
  return tanh(clamp(u, vec4f(-TANH_CLAMP), vec4f(TANH_CLAMP)));
}

fn gelu(x: vec4f) -> vec4f {
  return 0.5 * x * (1.0 + tanh_u(x));
}

fn gelu_derivative(x: vec4f) -> vec4f {
  let t = tanh_u(x);
  let xc = clamp(x, vec4f(-GELU_DERIVATIVE_CLAMP), vec4f(GELU_DERIVATIVE_CLAMP));
  let dudx = GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * xc * xc);
  return 0.5 * (1.0 + t) + 0.5 * xc * (1.0 - t * t) * dudx;
}

/** The operation on 4 lanes; `b` and `d` (old dst) are only meaningful for the ops that read them. */
fn apply(a: vec4f, b: vec4f, d: vec4f) -> vec4f {
  switch OP {
    case OP_GELU_FORWARD: { return gelu(a); }
    case OP_GELU_BACKWARD: { return gelu_derivative(a) * b; }
    case OP_ADD: { return a + b; }
    default: { return d + a; }
  }
}

fn reads_b() -> bool { return OP == OP_GELU_BACKWARD || OP == OP_ADD; }

@compute @workgroup_size(256)
fn elementwise(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) local: u32) {
  let i = (group.y * sizes.grid_x + group.x) * WORKGROUP + local;
  if (i >= sizes.n) { return; }
  var b = 0.0;
  if (reads_b()) { b = src_b[i]; }
  var d = 0.0;
  if (OP == OP_ADD_INTO) { d = dst[i]; }
  dst[i] = apply(vec4f(src_a[i]), vec4f(b), vec4f(d)).x;
}

@compute @workgroup_size(256)
fn elementwise_vec4(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) local: u32) {
  let i = (group.y * sizes.grid_x + group.x) * WORKGROUP + local;
  if (i >= sizes.n) { return; }
  var b = vec4f(0.0);
  if (reads_b()) { b = src_b4[i]; }
  var d = vec4f(0.0);
  if (OP == OP_ADD_INTO) { d = dst4[i]; }
  dst4[i] = apply(src_a4[i], b, d);
}

@compute @workgroup_size(64, 4)
fn column_sum(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_id) local: vec3u) {
  let col = group.x * SUM_COLUMNS + local.x;
  let chunk = group.y;
  let row_end = min((chunk + 1u) * sizes.chunk_rows, sizes.rows);
  var sum = 0.0;
  if (col < sizes.cols) {
    for (var row = chunk * sizes.chunk_rows + local.y; row < row_end; row += SUM_LANES) {
      sum += src_a[row * sizes.cols + col];
    }
  }
  lane_sums[local.y * SUM_COLUMNS + local.x] = sum;
  workgroupBarrier();
  if (local.y == 0u && col < sizes.cols) {
    var total = lane_sums[local.x];
    for (var lane = 1u; lane < SUM_LANES; lane++) {
      total += lane_sums[lane * SUM_COLUMNS + local.x];
    }
    let o = chunk * sizes.cols + col;
    if (ACCUMULATE) { total += dst[o]; }
    dst[o] = total;
  }
}
