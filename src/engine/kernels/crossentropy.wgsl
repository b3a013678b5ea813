// Row-wise reductions over the vocabulary of logits (N,V) — the math of reference.ts crossEntropyLoss,
// tokenLogprobs and tokenEntropy — one 256-invocation workgroup per row:
//   cross_entropy  losses[n] = −log softmax(logits[n])[target_id]; with WRITE_GRADIENT, logits[n,:] is
//                  overwritten in place by dlogits = (softmax − onehot(target_id)) · weights[n] · scale[0]
//   token_stats    logprobs[n] = log softmax(x)[target_id], entropy[n] = −Σ p log p, x = logits[n] / temperature
//   argmax         ids[n] = index of the largest logit (ties → lowest index)
// Invocation i visits the columns i, i + 256, ...; a softmax is accumulated online in one read of the
// row as (m, s, w) = (running max, Σ exp(x − m), Σ exp(x − m)·(x − m)), then combined across the
// workgroup by a fixed tree, so results are the same every run. Rows are folded into
// (grid_x, ceil(N / grid_x)) workgroups to stay under 65535 per dimension.
// cross_entropy_registers, token_stats_registers — the same passes for CPU adapters (kernel.ts
// KernelLayout), where every barrier of the tree switches each invocation's context: one invocation
// per row (32 rows per workgroup) forms the 256 lane states and the same tree in private memory, so
// the results are bit-identical with no barrier.
// An out-of-range target_id (≥ V, e.g. padding written as −1) gives loss and logprob 0.

override WRITE_GRADIENT: bool = false;

struct Dims {
  N: u32,
  V: u32,
  grid_x: u32,
  temperature: f32, // token_stats only
}

@group(0) @binding(0) var<uniform> dims: Dims;
// cross_entropy
@group(0) @binding(1) var<storage, read_write> logits_inout: array<f32>; // (N,V) logits in, dlogits out
@group(0) @binding(2) var<storage, read> targets: array<u32>;            // (N) also token_stats
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;       // (N)
@group(0) @binding(4) var<storage, read> weights: array<f32>;            // (N)
@group(0) @binding(5) var<storage, read> loss_scale: array<f32>;         // (1) loss normaliser, e.g. 1 / Σ weights
// token_stats and argmax
@group(0) @binding(1) var<storage, read> logits: array<f32>;             // (N,V)
@group(0) @binding(3) var<storage, read_write> logprobs: array<f32>;     // (N)
@group(0) @binding(4) var<storage, read_write> entropy: array<f32>;      // (N)
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;          // (N) argmax

const WG = 256u;
const LOWEST = -3.4028234e38; // lowest finite f32 (WGSL has no infinity literal)

const NONE = 0xffffffffu;    // argmax: no candidate yet

var<workgroup> reduce_f: array<vec3f, 256>; // (WG) per-invocation softmax state (m, s, w); argmax value in x
var<workgroup> reduce_i: array<u32, 256>;   // (WG) argmax index

/** Online softmax state over the values seen so far. */
struct Softmax {
  m: f32, // max
  s: f32, // Σ exp(x − m)
  w: f32, // Σ exp(x − m)·(x − m)
}

/** Adds one value; after the call m >= x. */
fn softmax_add(state: Softmax, x: f32) -> Softmax {
  if (x > state.m) {
    let d = state.m - x; // < 0: rescale the old terms to the new max
    let f = exp(d);
    return Softmax(x, fma(state.s, f, 1.0), f * fma(d, state.s, state.w));
  }
  let e = exp(x - state.m);
  return Softmax(state.m, state.s + e, fma(e, x - state.m, state.w));
}

fn softmax_merge(a: Softmax, b: Softmax) -> Softmax {
  let m = max(a.m, b.m);
  let da = a.m - m;
  let db = b.m - m;
  let fa = exp(da);
  let fb = exp(db);
  return Softmax(m, a.s * fa + b.s * fb, fa * fma(da, a.s, a.w) + fb * fma(db, b.s, b.w));
}

/** Combines the per-invocation states of the workgroup; every invocation gets the total. */
fn softmax_reduce(state: Softmax, index: u32) -> Softmax {
  reduce_f[index] = vec3f(state.m, state.s, state.w);
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (index < stride) {
      let a = reduce_f[index];
      let b = reduce_f[index + stride];
      let merged = softmax_merge(Softmax(a.x, a.y, a.z), Softmax(b.x, b.y, b.z));
      reduce_f[index] = vec3f(merged.m, merged.s, merged.w);
    }
    workgroupBarrier();
  }
  let total = reduce_f[0];
  return Softmax(total.x, total.y, total.z);
}

const REGISTER_ROWS = 32u; // rows (invocations) per registers workgroup

// softmax_reduce's tree over one invocation's 256 lane states, in the same order.
fn lane_softmax_tree(states: ptr<function, array<vec3f, 256>>) -> Softmax {
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    for (var lane = 0u; lane < stride; lane++) {
      let a = (*states)[lane];
      let b = (*states)[lane + stride];
      let merged = softmax_merge(Softmax(a.x, a.y, a.z), Softmax(b.x, b.y, b.z));
      (*states)[lane] = vec3f(merged.m, merged.s, merged.w);
    }
  }
  let total = (*states)[0];
  return Softmax(total.x, total.y, total.z);
}

fn row_of(group: vec3u) -> u32 {
  return group.y * dims.grid_x + group.x;
}

@compute @workgroup_size(128, 2) // 256 invocations; x stays within compatibility mode's 128
fn cross_entropy(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) index: u32) {
  let row = row_of(group);
  if (row >= dims.N) { return; }
  let V = dims.V;
  let base = row * V;
  let target_id = targets[row];
  // the invocation that visits the target_id column keeps its logit (it alone reads and writes it)
  let owner = select(0u, target_id % WG, target_id < V);
  var target_logit = 0.0;
  var state = Softmax(LOWEST, 0.0, 0.0);
  for (var v = index; v < V; v += WG) {
    let x = logits_inout[base + v];
    if (v == target_id) { target_logit = x; }
    state = softmax_add(state, x);
  }
  state = softmax_reduce(state, index);
  let lse = state.m + log(state.s);
  if (index == owner) { losses[row] = select(0.0, lse - target_logit, target_id < V); }
  if (!WRITE_GRADIENT) { return; }
  let weight = weights[row];
  let g = weight * loss_scale[0];
  for (var v = index; v < V; v += WG) {
    let p = exp(logits_inout[base + v] - lse);
    let d = (p - select(0.0, 1.0, v == target_id)) * g;
    logits_inout[base + v] = select(d, 0.0, weight == 0.0);
  }
}

@compute @workgroup_size(32)
fn cross_entropy_registers(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) index: u32) {
  let row = row_of(group) * REGISTER_ROWS + index;
  if (row >= dims.N) { return; }
  let V = dims.V;
  let base = row * V;
  let target_id = targets[row];
  var target_logit = 0.0;
  var states: array<vec3f, 256>;
  for (var lane = 0u; lane < WG; lane++) {
    var state = Softmax(LOWEST, 0.0, 0.0);
    for (var v = lane; v < V; v += WG) {
      let x = logits_inout[base + v];
      if (v == target_id) { target_logit = x; }
      state = softmax_add(state, x);
    }
    states[lane] = vec3f(state.m, state.s, state.w);
  }
  let state = lane_softmax_tree(&states);
  let lse = state.m + log(state.s);
  losses[row] = select(0.0, lse - target_logit, target_id < V);
  if (!WRITE_GRADIENT) { return; }
  let weight = weights[row];
  let g = weight * loss_scale[0];
  for (var v = 0u; v < V; v++) {
    let p = exp(logits_inout[base + v] - lse);
    let d = (p - select(0.0, 1.0, v == target_id)) * g;
    logits_inout[base + v] = select(d, 0.0, weight == 0.0);
  }
}

@compute @workgroup_size(128, 2) // 256 invocations; x stays within compatibility mode's 128
fn token_stats(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) index: u32) {
  let row = row_of(group);
  if (row >= dims.N) { return; }
  let V = dims.V;
  let base = row * V;
  var state = Softmax(LOWEST, 0.0, 0.0);
  for (var v = index; v < V; v += WG) {
    state = softmax_add(state, logits[base + v] / dims.temperature);
  }
  state = softmax_reduce(state, index);
  if (index != 0u) { return; }
  let log_s = log(state.s);
  // H = −Σ p log p with p = exp(x − m) / s: H = log s − Σ exp(x − m)·(x − m) / s
  entropy[row] = log_s - state.w / state.s;
  let target_id = targets[row];
  var logprob = 0.0;
  if (target_id < V) { logprob = logits[base + target_id] / dims.temperature - state.m - log_s; }
  logprobs[row] = logprob;
}

@compute @workgroup_size(32)
fn token_stats_registers(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) index: u32) {
  let row = row_of(group) * REGISTER_ROWS + index;
  if (row >= dims.N) { return; }
  let V = dims.V;
  let base = row * V;
  var states: array<vec3f, 256>;
  for (var lane = 0u; lane < WG; lane++) {
    var state = Softmax(LOWEST, 0.0, 0.0);
    for (var v = lane; v < V; v += WG) {
      state = softmax_add(state, logits[base + v] / dims.temperature);
    }
    states[lane] = vec3f(state.m, state.s, state.w);
  }
  let state = lane_softmax_tree(&states);
  let log_s = log(state.s);
  entropy[row] = log_s - state.w / state.s;
  let target_id = targets[row];
  var logprob = 0.0;
  if (target_id < V) { logprob = logits[base + target_id] / dims.temperature - state.m - log_s; }
  logprobs[row] = logprob;
}

/** Whether candidate b (value, index) beats a: larger value, or equal value and lower index. */
fn argmax_wins(b_value: f32, b_index: u32, a_value: f32, a_index: u32) -> bool {
  if (b_index == NONE) { return false; }
  return a_index == NONE || b_value > a_value || (b_value == a_value && b_index < a_index);
}

@compute @workgroup_size(128, 2) // 256 invocations; x stays within compatibility mode's 128
fn argmax(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) index: u32) {
  let row = row_of(group);
  if (row >= dims.N) { return; }
  let V = dims.V;
  let base = row * V;
  var best = LOWEST;
  var best_index = NONE;
  for (var v = index; v < V; v += WG) {
    let x = logits[base + v];
    if (argmax_wins(x, v, best, best_index)) { best = x; best_index = v; }
  }
  reduce_f[index].x = best;
  reduce_i[index] = best_index;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (index < stride && argmax_wins(reduce_f[index + stride].x, reduce_i[index + stride], reduce_f[index].x, reduce_i[index])) {
      reduce_f[index].x = reduce_f[index + stride].x;
      reduce_i[index] = reduce_i[index + stride];
    }
    workgroupBarrier();
  }
  if (index == 0u) { ids[row] = reduce_i[0]; }
}
