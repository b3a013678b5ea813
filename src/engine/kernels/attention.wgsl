// Causal multi-head self-attention, forward and backward (the math of reference.ts attentionForward /
// attentionBackward). qkv (B,T,3C) packs [q | k | v]; head h uses channels h·HS..(h+1)·HS of each.
//
// The tiled entry points (forward, backward_query, backward_key) run one 16x16 workgroup per
// (16-position block, head, sequence): invocation (lane, r) = local (x, y) owns position
// block·16 + r and, inside every 16-wide tile of the other side, the position tile·16 + lane.
// Tiles of 16 rows x HS channels are staged as vec4s through workgroup memory; an invocation keeps
// its own q (or dout) row and its part of the score row (T <= 256: at most 16 tiles, one value
// each) in registers.
// Each output element is written by exactly one invocation: no atomics, deterministic sums.
//   forward        (query block) preatt, att (masked entries 0) and out = att @ v
//   backward_query (query block) datt = dout·v, dpreatt = att·(datt − Σ att·datt), dq = dpreatt @ k / √HS
//   backward_key   (key block)   dk = dpreattᵀ @ q / √HS, dv = attᵀ @ dout, summing queries t >= key
// backward_key reads the dpreatt that backward_query wrote, so it must be dispatched after it.
//
// forward_registers, backward_query_registers, backward_key_registers — the same three passes in the
// registers layout (kernel.ts KernelLayout), for CPU adapters, where the barriers above cost more
// than the staged tiles save. One invocation per (position, head, sequence), no workgroup memory,
// no barriers: it walks the other side's positions and the head's channels itself, reading global
// memory. Sums over channels run channel-outer, position-inner, so the running value is one
// register; the values an invocation needs again (scores, probabilities, gradients of its row) go
// through its own row of preatt/att/datt/dpreatt, which it alone writes. Same outputs, and the same
// order: backward_key_registers after backward_query_registers.

override HS: u32 = 64u; // head size C / NH, 1..64

struct Dims {
  B: u32,
  T: u32,
  C: u32,
  NH: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(4) var<storage, read> qkv: array<f32>;           // (B,T,3C)
// forward
@group(0) @binding(1) var<storage, read_write> out: array<f32>;     // (B,T,C)
@group(0) @binding(2) var<storage, read_write> preatt: array<f32>;  // (B,NH,T,T)
@group(0) @binding(3) var<storage, read_write> att: array<f32>;     // (B,NH,T,T)
// backward (both passes)
@group(0) @binding(1) var<storage, read_write> dqkv: array<f32>;    // (B,T,3C) overwritten
@group(0) @binding(2) var<storage, read_write> dpreatt: array<f32>; // (B,NH,T,T) written by backward_query
@group(0) @binding(3) var<storage, read_write> datt: array<f32>;    // (B,NH,T,T) written by backward_query
@group(0) @binding(5) var<storage, read> att_saved: array<f32>;     // (B,NH,T,T) att from the forward pass
@group(0) @binding(6) var<storage, read> dout: array<f32>;          // (B,T,C)

const BLOCK = 16u;       // positions per workgroup and per tile; also invocations per row
const MAX_TILES = 16u;   // T <= 256
const MAX_HS4 = 16u;     // HS <= 64, in vec4s
const MAX_LANE_CHANNELS = 4u;
const ROW4 = 17u;        // MAX_HS4 + 1: padded tile row stride in vec4s, so lanes reading different rows hit different banks
const SMALL_STRIDE = 17u;
const LOWEST = -3.4028234e38; // lowest finite f32 (WGSL has no infinity literal)

override HS4: u32 = (HS + 3u) / 4u;             // head size in vec4s (channels past HS are staged as 0)
override LANE_CHANNELS: u32 = (HS + 15u) / 16u; // channels lane, lane + 16, ... each invocation sums

var<workgroup> tile_a: array<vec4f, 272>; // (BLOCK, ROW4) rows staged for the whole block (q or dout)
var<workgroup> tile_b: array<vec4f, 272>; // (BLOCK, ROW4) rows of the current tile (k, v, or dout)
var<workgroup> small_a: array<f32, 272>;  // (BLOCK, SMALL_STRIDE) a 16x16 block of att or dpreatt
var<workgroup> small_b: array<f32, 272>;  // (BLOCK, SMALL_STRIDE) a 16x16 block of att
var<workgroup> partial: array<f32, 256>;  // (BLOCK, BLOCK) per-invocation partials of a row reduction

const Q = 0u;
const K = 1u;
const V = 2u;

/** Index of channel i of head h in part (Q, K or V) of qkv / dqkv at position t of sequence b. */
fn qkv_index(b: u32, t: u32, part: u32, h: u32, i: u32) -> u32 {
  return (b * dims.T + t) * 3u * dims.C + part * dims.C + h * HS + i;
}

fn out_index(b: u32, t: u32, h: u32, i: u32) -> u32 {
  return (b * dims.T + t) * dims.C + h * HS + i;
}

/** Channels 4·i4..4·i4+3 of head h of part of qkv at position t; 0 past T or HS. */
fn load_qkv4(b: u32, t: u32, part: u32, h: u32, i4: u32) -> vec4f {
  var value = vec4f(0.0);
  if (t >= dims.T) { return value; }
  let base = qkv_index(b, t, part, h, 0u);
  for (var c = 0u; c < 4u; c++) {
    if (i4 * 4u + c < HS) { value[c] = qkv[base + i4 * 4u + c]; }
  }
  return value;
}

fn load_dout4(b: u32, t: u32, h: u32, i4: u32) -> vec4f {
  var value = vec4f(0.0);
  if (t >= dims.T) { return value; }
  let base = out_index(b, t, h, 0u);
  for (var c = 0u; c < 4u; c++) {
    if (i4 * 4u + c < HS) { value[c] = dout[base + i4 * 4u + c]; }
  }
  return value;
}

/** Stages rows t0..t0+15 of head h of part of qkv into tile_a (into_a) or tile_b. */
fn stage_qkv(into_a: bool, b: u32, t0: u32, part: u32, h: u32, index: u32) {
  for (var e = index; e < BLOCK * HS4; e += BLOCK * BLOCK) {
    let value = load_qkv4(b, t0 + e / HS4, part, h, e % HS4);
    if (into_a) { tile_a[(e / HS4) * ROW4 + e % HS4] = value; } else { tile_b[(e / HS4) * ROW4 + e % HS4] = value; }
  }
}

fn stage_dout(into_a: bool, b: u32, t0: u32, h: u32, index: u32) {
  for (var e = index; e < BLOCK * HS4; e += BLOCK * BLOCK) {
    let value = load_dout4(b, t0 + e / HS4, h, e % HS4);
    if (into_a) { tile_a[(e / HS4) * ROW4 + e % HS4] = value; } else { tile_b[(e / HS4) * ROW4 + e % HS4] = value; }
  }
}

/** Channel i of row k of tile_a / tile_b. */
fn tile_a_at(k: u32, i: u32) -> f32 {
  return tile_a[k * ROW4 + i / 4u][i % 4u];
}

fn tile_b_at(k: u32, i: u32) -> f32 {
  return tile_b[k * ROW4 + i / 4u][i % 4u];
}

/** Row r of tile_a, copied into registers. */
fn row_of_tile_a(r: u32) -> array<vec4f, MAX_HS4> {
  var row: array<vec4f, MAX_HS4>;
  for (var i4 = 0u; i4 < HS4; i4++) { row[i4] = tile_a[r * ROW4 + i4]; }
  return row;
}

/** Dot product of a register row with row k of tile_b. */
fn dot_tile_b(row: array<vec4f, MAX_HS4>, k: u32) -> f32 {
  var sum = 0.0;
  for (var i4 = 0u; i4 < HS4; i4++) { sum += dot(row[i4], tile_b[k * ROW4 + i4]); }
  return sum;
}

/** Sum over the 16 invocations of row r of `value`; every invocation of the row gets the result. */
fn row_sum(value: f32, r: u32, index: u32) -> f32 {
  partial[index] = value;
  workgroupBarrier();
  var sum = 0.0;
  for (var k = 0u; k < BLOCK; k++) { sum += partial[r * BLOCK + k]; }
  workgroupBarrier();
  return sum;
}

fn row_max(value: f32, r: u32, index: u32) -> f32 {
  partial[index] = value;
  workgroupBarrier();
  var m = LOWEST;
  for (var k = 0u; k < BLOCK; k++) { m = max(m, partial[r * BLOCK + k]); }
  workgroupBarrier();
  return m;
}

@compute @workgroup_size(16, 16)
fn forward(@builtin(workgroup_id) group: vec3u,
           @builtin(local_invocation_id) local: vec3u,
           @builtin(local_invocation_index) index: u32) {
  let T = dims.T;
  let b = group.z;
  let h = group.y;
  let lane = local.x;
  let r = local.y;
  let t0 = group.x * BLOCK;
  let t = t0 + r;                       // this invocation's query position
  let tiles = group.x + 1u;             // key tiles holding a key visible to some query of the block
  let row = ((b * dims.NH + h) * T + t) * T; // preatt[b,h,t,:]
  let scale = 1.0 / sqrt(f32(HS));

  stage_qkv(true, b, t0, Q, h, index);
  workgroupBarrier();
  let q = row_of_tile_a(r);
  // scores q_t · k_key / √HS for the keys key = j·16 + lane of every tile j
  var score: array<f32, MAX_TILES>;
  var m = LOWEST;
  for (var j = 0u; j < MAX_TILES; j++) {
    if (j >= tiles) { break; }
    workgroupBarrier();
    stage_qkv(false, b, j * BLOCK, K, h, index);
    workgroupBarrier();
    score[j] = dot_tile_b(q, lane) * scale;
    if (j * BLOCK + lane <= t) { m = max(m, score[j]); }
  }
  m = row_max(m, r, index);
  // softmax over the visible keys: prob[j] = exp(score − max), normalised below
  var prob: array<f32, MAX_TILES>;
  var sum = 0.0;
  for (var j = 0u; j < MAX_TILES; j++) {
    if (j >= tiles) { break; }
    prob[j] = select(0.0, exp(score[j] - m), j * BLOCK + lane <= t);
    sum += prob[j];
  }
  let inv_sum = 1.0 / row_sum(sum, r, index);
  for (var j = 0u; j < MAX_TILES; j++) {
    let key = j * BLOCK + lane;
    if (key >= T || t >= T) { break; }
    let visible = key <= t;
    if (visible) { prob[j] *= inv_sum; }
    preatt[row + key] = select(0.0, score[j], visible);
    att[row + key] = select(0.0, prob[j], visible);
  }
  // out_t = Σ_key att[key] · v_key, one tile of 16 keys at a time
  var acc: array<f32, MAX_LANE_CHANNELS>;
  for (var j = 0u; j < MAX_TILES; j++) {
    if (j >= tiles) { break; }
    workgroupBarrier();
    stage_qkv(false, b, j * BLOCK, V, h, index);
    small_a[r * SMALL_STRIDE + lane] = prob[j];
    workgroupBarrier();
    for (var k = 0u; k < BLOCK; k++) {
      let p = small_a[r * SMALL_STRIDE + k];
      for (var c = 0u; c < LANE_CHANNELS; c++) { acc[c] = fma(p, tile_b_at(k, lane + c * BLOCK), acc[c]); }
    }
  }
  if (t >= T) { return; }
  for (var c = 0u; c < LANE_CHANNELS; c++) {
    let i = lane + c * BLOCK;
    if (i < HS) { out[out_index(b, t, h, i)] = acc[c]; }
  }
}

@compute @workgroup_size(16, 16)
fn backward_query(@builtin(workgroup_id) group: vec3u,
                  @builtin(local_invocation_id) local: vec3u,
                  @builtin(local_invocation_index) index: u32) {
  let T = dims.T;
  let b = group.z;
  let h = group.y;
  let lane = local.x;
  let r = local.y;
  let t0 = group.x * BLOCK;
  let t = t0 + r;
  let tiles = group.x + 1u;
  let row = ((b * dims.NH + h) * T + t) * T;
  let scale = 1.0 / sqrt(f32(HS));

  stage_dout(true, b, t0, h, index);
  workgroupBarrier();
  let dout_t = row_of_tile_a(r);
  // datt[key] = dout_t · v_key, and Σ att·datt over the row
  var datt_row: array<f32, MAX_TILES>;
  var att_row: array<f32, MAX_TILES>;
  var att_dot_datt = 0.0;
  for (var j = 0u; j < MAX_TILES; j++) {
    if (j >= tiles) { break; }
    workgroupBarrier();
    stage_qkv(false, b, j * BLOCK, V, h, index);
    workgroupBarrier();
    let key = j * BLOCK + lane;
    let visible = key <= t && t < T;
    datt_row[j] = select(0.0, dot_tile_b(dout_t, lane), visible);
    att_row[j] = 0.0;
    if (visible) { att_row[j] = att_saved[row + key]; }
    att_dot_datt = fma(att_row[j], datt_row[j], att_dot_datt);
  }
  att_dot_datt = row_sum(att_dot_datt, r, index);
  // dpreatt = att · (datt − Σ att·datt); stored with datt for backward_key (masked entries 0)
  var dpre_row: array<f32, MAX_TILES>;
  for (var j = 0u; j < MAX_TILES; j++) {
    if (j >= tiles) { break; }
    dpre_row[j] = att_row[j] * (datt_row[j] - att_dot_datt);
  }
  for (var j = 0u; j < MAX_TILES; j++) {
    let key = j * BLOCK + lane;
    if (key >= T || t >= T) { break; }
    let visible = key <= t;
    datt[row + key] = select(0.0, datt_row[j], visible);
    dpreatt[row + key] = select(0.0, dpre_row[j], visible);
  }
  // dq_t = Σ_key dpreatt[key] · k_key / √HS
  var acc: array<f32, MAX_LANE_CHANNELS>;
  for (var j = 0u; j < MAX_TILES; j++) {
    if (j >= tiles) { break; }
    workgroupBarrier();
    stage_qkv(false, b, j * BLOCK, K, h, index);
    small_a[r * SMALL_STRIDE + lane] = dpre_row[j];
    workgroupBarrier();
    for (var k = 0u; k < BLOCK; k++) {
      let d = small_a[r * SMALL_STRIDE + k];
      for (var c = 0u; c < LANE_CHANNELS; c++) { acc[c] = fma(d, tile_b_at(k, lane + c * BLOCK), acc[c]); }
    }
  }
  if (t >= T) { return; }
  for (var c = 0u; c < LANE_CHANNELS; c++) {
    let i = lane + c * BLOCK;
    if (i < HS) { dqkv[qkv_index(b, t, Q, h, i)] = acc[c] * scale; }
  }
}

@compute @workgroup_size(16, 16)
fn backward_key(@builtin(workgroup_id) group: vec3u,
                @builtin(local_invocation_id) local: vec3u,
                @builtin(local_invocation_index) index: u32) {
  let T = dims.T;
  let b = group.z;
  let h = group.y;
  let lane = local.x;
  let r = local.y;
  let s0 = group.x * BLOCK;
  let key = s0 + r;                     // this invocation's key position
  let tiles = (T + BLOCK - 1u) / BLOCK; // query tiles group.x..tiles-1 hold the queries t >= s0
  let head = (b * dims.NH + h) * T;
  let scale = 1.0 / sqrt(f32(HS));

  var dk: array<f32, MAX_LANE_CHANNELS>;
  var dv: array<f32, MAX_LANE_CHANNELS>;
  for (var j = group.x; j < tiles; j++) {
    workgroupBarrier();
    let q0 = j * BLOCK;
    stage_qkv(true, b, q0, Q, h, index);
    stage_dout(false, b, q0, h, index);
    // small_{a,b}[query r][key lane] of this query tile and key block; masked entries 0
    let tq = q0 + r;
    let sk = s0 + lane;
    let visible = sk <= tq && tq < T;
    let at = (head + min(tq, T - 1u)) * T + min(sk, T - 1u);
    small_a[r * SMALL_STRIDE + lane] = select(0.0, dpreatt[at], visible);
    small_b[r * SMALL_STRIDE + lane] = select(0.0, att_saved[at], visible);
    workgroupBarrier();
    for (var k = 0u; k < BLOCK; k++) {
      let d = small_a[k * SMALL_STRIDE + r];
      let a = small_b[k * SMALL_STRIDE + r];
      for (var c = 0u; c < LANE_CHANNELS; c++) {
        dk[c] = fma(d, tile_a_at(k, lane + c * BLOCK), dk[c]);
        dv[c] = fma(a, tile_b_at(k, lane + c * BLOCK), dv[c]);
      }
    }
  }
  if (key >= T) { return; }
  for (var c = 0u; c < LANE_CHANNELS; c++) {
    let i = lane + c * BLOCK;
    if (i < HS) {
      dqkv[qkv_index(b, key, K, h, i)] = dk[c] * scale;
      dqkv[qkv_index(b, key, V, h, i)] = dv[c];
    }
  }
}

/** Dot product over the head's channels of two rows starting at qkv[x] and qkv[y]. */
fn dot_qkv(x: u32, y: u32) -> f32 {
  var sum = 0.0;
  for (var i = 0u; i < HS; i++) { sum = fma(qkv[x + i], qkv[y + i], sum); }
  return sum;
}

@compute @workgroup_size(16)
fn forward_registers(@builtin(global_invocation_id) id: vec3u) {
  let T = dims.T;
  let t = id.x;
  if (t >= T) { return; }
  let h = id.y;
  let b = id.z;
  let row = ((b * dims.NH + h) * T + t) * T; // preatt[b,h,t,:]
  let scale = 1.0 / sqrt(f32(HS));
  let q = qkv_index(b, t, Q, h, 0u);
  var m = LOWEST;
  for (var s = 0u; s <= t; s++) {
    let score = dot_qkv(q, qkv_index(b, s, K, h, 0u)) * scale;
    preatt[row + s] = score;
    m = max(m, score);
  }
  var sum = 0.0;
  for (var s = 0u; s <= t; s++) { sum += exp(preatt[row + s] - m); }
  let inv_sum = 1.0 / sum;
  for (var s = 0u; s <= t; s++) { att[row + s] = exp(preatt[row + s] - m) * inv_sum; }
  for (var s = t + 1u; s < T; s++) {
    preatt[row + s] = 0.0;
    att[row + s] = 0.0;
  }
  let o = out_index(b, t, h, 0u);
  for (var i = 0u; i < HS; i++) {
    var acc = 0.0;
    for (var s = 0u; s <= t; s++) { acc = fma(att[row + s], qkv[qkv_index(b, s, V, h, i)], acc); }
    out[o + i] = acc;
  }
}

@compute @workgroup_size(16)
fn backward_query_registers(@builtin(global_invocation_id) id: vec3u) {
  let T = dims.T;
  let t = id.x;
  if (t >= T) { return; }
  let h = id.y;
  let b = id.z;
  let row = ((b * dims.NH + h) * T + t) * T;
  let scale = 1.0 / sqrt(f32(HS));
  let o = out_index(b, t, h, 0u);
  // datt[s] = dout_t · v_s, and Σ att·datt over the row
  var att_dot_datt = 0.0;
  for (var s = 0u; s <= t; s++) {
    let v = qkv_index(b, s, V, h, 0u);
    var d = 0.0;
    for (var i = 0u; i < HS; i++) { d = fma(dout[o + i], qkv[v + i], d); }
    datt[row + s] = d;
    att_dot_datt = fma(att_saved[row + s], d, att_dot_datt);
  }
  for (var s = 0u; s <= t; s++) { dpreatt[row + s] = att_saved[row + s] * (datt[row + s] - att_dot_datt); }
  for (var s = t + 1u; s < T; s++) {
    datt[row + s] = 0.0;
    dpreatt[row + s] = 0.0;
  }
  let dq = qkv_index(b, t, Q, h, 0u);
  for (var i = 0u; i < HS; i++) {
    var acc = 0.0;
    for (var s = 0u; s <= t; s++) { acc = fma(dpreatt[row + s], qkv[qkv_index(b, s, K, h, i)], acc); }
    dqkv[dq + i] = acc * scale;
  }
}

@compute @workgroup_size(16)
fn backward_key_registers(@builtin(global_invocation_id) id: vec3u) {
  let T = dims.T;
  let s = id.x;
  if (s >= T) { return; }
  let h = id.y;
  let b = id.z;
  let head = (b * dims.NH + h) * T;
  let scale = 1.0 / sqrt(f32(HS));
  let dk = qkv_index(b, s, K, h, 0u);
  let dv = qkv_index(b, s, V, h, 0u);
  for (var i = 0u; i < HS; i++) {
    var dk_acc = 0.0;
    var dv_acc = 0.0;
    for (var t = s; t < T; t++) {
      let at = (head + t) * T + s;
      dk_acc = fma(dpreatt[at], qkv[qkv_index(b, t, Q, h, i)], dk_acc);
      dv_acc = fma(att_saved[at], dout[out_index(b, t, h, i)], dv_acc);
    }
    dqkv[dk + i] = dk_acc * scale;
    dqkv[dv + i] = dv_acc;
  }
}
