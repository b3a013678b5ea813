// KV-cache decoding: the attention pieces of sampling that differ from training. Each layer keeps
// a key and a value cache, each (B, NH, maxT, HS); every step writes one new row per sequence and
// attends one query per sequence to everything cached so far.
//   kv_append   kCache[b,h,positions[b],:] = k of qkv[b], vCache likewise with v (positions ≥ maxT: no write)
//   attention   for each (b, h):  s[t] = q·k_t / sqrt(HS) for t = 0..min(positions[b], maxT − 1),
//               out[b, h·HS..] = Σ_t softmax(s)[t]·v_t   (stable: exponentials of s − max s)
// qkv is this step's (B, 3C) row per sequence, packed [q | k | v] like c_attn's output; head h owns
// channels h·HS..(h+1)·HS of each. Sums run in fixed orders, so results repeat exactly.
//   attention_registers — the same attention in the registers layout (kernel.ts KernelLayout) for
//               CPU adapters: one invocation per (h, b) with its scores in a private array, no
//               workgroup memory and no barriers.

struct Dims {
  B: u32,
  C: u32,
  NH: u32,
  max_t: u32,
}

// kv_append
@group(0) @binding(0) var<storage, read_write> k_cache: array<f32>; // (B,NH,maxT,HS)
@group(0) @binding(1) var<storage, read_write> v_cache: array<f32>; // (B,NH,maxT,HS)
@group(0) @binding(2) var<storage, read> qkv: array<f32>;           // (B,3C)
@group(0) @binding(3) var<storage, read> positions: array<u32>;     // (B) row each sequence writes
@group(0) @binding(4) var<uniform> dims: Dims;

// attention
@group(0) @binding(0) var<storage, read_write> out: array<f32>;       // (B,C)
@group(0) @binding(1) var<storage, read> qkv_a: array<f32>;           // (B,3C)
@group(0) @binding(2) var<storage, read> k_cache_a: array<f32>;       // (B,NH,maxT,HS)
@group(0) @binding(3) var<storage, read> v_cache_a: array<f32>;       // (B,NH,maxT,HS)
@group(0) @binding(4) var<storage, read> positions_a: array<u32>;     // (B) last position attended
@group(0) @binding(5) var<uniform> dims_a: Dims;

const THREADS = 128u;
const MAX_T = 1024u;  // longest cache the attention kernel accepts
const MAX_HS = 256u;  // largest head size

var<workgroup> scores: array<f32, MAX_T>;      // (positions[b]+1) scores, then exp(score − max)
var<workgroup> q_tile: array<f32, MAX_HS>;     // (HS) this head's query
var<workgroup> partial_out: array<f32, MAX_HS>; // (groups, HS) partial weighted sums of values
var<workgroup> scratch: array<f32, THREADS>;

@compute @workgroup_size(64, 4) // 256 invocations; compatibility mode caps workgroup_size.x at 128
fn kv_append(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C = dims.C;
  let index = group.x * 256u + lid; // b·C + c
  let b = index / C;
  let c = index % C;
  if (b >= dims.B) { return; }
  let pos = positions[b];
  if (pos >= dims.max_t) { return; }
  let HS = C / dims.NH;
  let h = c / HS;
  let cache_index = ((b * dims.NH + h) * dims.max_t + pos) * HS + c % HS;
  k_cache[cache_index] = qkv[b * 3u * C + C + c];
  v_cache[cache_index] = qkv[b * 3u * C + 2u * C + c];
}

fn reduce_max(lid: u32) -> f32 {
  for (var stride = THREADS / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { scratch[lid] = max(scratch[lid], scratch[lid + stride]); }
  }
  return workgroupUniformLoad(&scratch[0]);
}

fn reduce_sum(lid: u32) -> f32 {
  for (var stride = THREADS / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { scratch[lid] += scratch[lid + stride]; }
  }
  return workgroupUniformLoad(&scratch[0]);
}

// One workgroup per (head, sequence): group.x = h, group.y = b.
@compute @workgroup_size(128)
fn attention(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C = dims_a.C;
  let NH = dims_a.NH;
  let HS = C / NH;
  let h = group.x;
  let b = group.y;
  let count = min(positions_a[b], dims_a.max_t - 1u) + 1u; // keys 0..positions[b]
  let cache_base = (b * NH + h) * dims_a.max_t * HS;
  let scale = 1.0 / sqrt(f32(HS));
  for (var i = lid; i < HS; i += THREADS) { q_tile[i] = qkv_a[b * 3u * C + h * HS + i]; }
  workgroupBarrier();

  // scores and their max
  var local_max = -3.0e38;
  for (var t = lid; t < count; t += THREADS) {
    let k = cache_base + t * HS;
    var dot = 0.0;
    for (var i = 0u; i < HS; i++) { dot = fma(q_tile[i], k_cache_a[k + i], dot); }
    let s = dot * scale;
    scores[t] = s;
    local_max = max(local_max, s);
  }
  scratch[lid] = local_max;
  let max_score = reduce_max(lid);

  // unnormalised softmax weights and their sum
  var local_sum = 0.0;
  for (var t = lid; t < count; t += THREADS) {
    let e = exp(scores[t] - max_score);
    scores[t] = e;
    local_sum += e;
  }
  workgroupBarrier(); // everyone has read scratch[0] before it is reused
  scratch[lid] = local_sum;
  let denominator = reduce_sum(lid);

  // weighted sum of values: group g sums keys g, g + groups, ... for every channel
  let groups = max(1u, THREADS / HS);
  for (var e = lid; e < groups * HS; e += THREADS) {
    let g = e / HS;
    let i = e % HS;
    var acc = 0.0;
    for (var t = g; t < count; t += groups) { acc = fma(scores[t], v_cache_a[cache_base + t * HS + i], acc); }
    partial_out[e] = acc;
  }
  workgroupBarrier();
  for (var i = lid; i < HS; i += THREADS) {
    var acc = 0.0;
    for (var g = 0u; g < groups; g++) { acc += partial_out[g * HS + i]; }
    out[b * C + h * HS + i] = acc / denominator;
  }
}

// One invocation per (head, sequence): index = b·NH + h.
@compute @workgroup_size(16)
fn attention_registers(@builtin(global_invocation_id) id: vec3u) {
  let C = dims_a.C;
  let NH = dims_a.NH;
  let HS = C / NH;
  if (id.x >= dims_a.B * NH) { return; }
  let h = id.x % NH;
  let b = id.x / NH;
  let count = min(positions_a[b], dims_a.max_t - 1u) + 1u; // keys 0..positions[b]
  let cache_base = (b * NH + h) * dims_a.max_t * HS;
  let q = b * 3u * C + h * HS;
  let scale = 1.0 / sqrt(f32(HS));
  var weights: array<f32, MAX_T>; // scores, then exp(score − max)
  var max_score = -3.0e38;
  for (var t = 0u; t < count; t++) {
    let k = cache_base + t * HS;
    var dot = 0.0;
    for (var i = 0u; i < HS; i++) { dot = fma(qkv_a[q + i], k_cache_a[k + i], dot); }
    weights[t] = dot * scale;
    max_score = max(max_score, weights[t]);
  }
  var denominator = 0.0;
  for (var t = 0u; t < count; t++) {
    weights[t] = exp(weights[t] - max_score);
    denominator += weights[t];
  }
  for (var i = 0u; i < HS; i++) {
    var acc = 0.0;
    for (var t = 0u; t < count; t++) { acc = fma(weights[t], v_cache_a[cache_base + t * HS + i], acc); }
    out[b * C + h * HS + i] = acc / denominator;
  }
}
