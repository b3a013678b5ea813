// Causal multi-head self-attention, forward and backward, in the registers layout (kernel.ts
// KernelLayout): for CPU adapters, where attention.wgsl's barriers cost more than its staged tiles
// save. Same math, bindings and outputs as attention.wgsl (reference.ts attentionForward /
// attentionBackward); qkv (B,T,3C) packs [q | k | v] and head h uses channels h·HS..(h+1)·HS of each.
//
// One invocation per (position, head, sequence), with no workgroup memory and no barriers: it walks
// the other side's positions and the head's channels itself, reading global memory. Sums over
// channels run channel-outer, position-inner, so the running value is one register; the values an
// invocation needs again (scores, probabilities, gradients of its row) go through its own row of
// preatt/att/datt/dpreatt, which it alone writes.
//   forward        (query t)  preatt, att (masked entries 0) and out_t = Σ_s att[t,s] v_s
//   backward_query (query t)  datt = dout_t·v, dpreatt = att·(datt − Σ att·datt), dq_t = Σ_s dpreatt[t,s] k_s / √HS
//   backward_key   (key s)    dk_s = Σ_{t≥s} dpreatt[t,s] q_t / √HS, dv_s = Σ_{t≥s} att[t,s] dout_t
// backward_key reads the dpreatt that backward_query wrote, so it must be dispatched after it.

override HS: u32 = 64u; // head size C / NH

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

const LOWEST = -3.4028234e38; // lowest finite f32 (WGSL has no infinity literal)
const Q = 0u;
const K = 1u;
const V = 2u;

/** Index of channel 0 of head h in part (Q, K or V) of qkv / dqkv at position t of sequence b. */
fn qkv_index(b: u32, t: u32, part: u32, h: u32) -> u32 {
  return (b * dims.T + t) * 3u * dims.C + part * dims.C + h * HS;
}

fn out_index(b: u32, t: u32, h: u32) -> u32 {
  return (b * dims.T + t) * dims.C + h * HS;
}

/** Dot product over the head's channels of two rows starting at qkv[x] and qkv[y]. */
fn dot_qkv(x: u32, y: u32) -> f32 {
  var sum = 0.0;
  for (var i = 0u; i < HS; i++) { sum = fma(qkv[x + i], qkv[y + i], sum); }
  return sum;
}

@compute @workgroup_size(16)
fn forward(@builtin(global_invocation_id) id: vec3u) {
  let T = dims.T;
  let t = id.x;
  if (t >= T) { return; }
  let h = id.y;
  let b = id.z;
  let row = ((b * dims.NH + h) * T + t) * T; // preatt[b,h,t,:]
  let scale = 1.0 / sqrt(f32(HS));
  let q = qkv_index(b, t, Q, h);
  var m = LOWEST;
  for (var s = 0u; s <= t; s++) {
    let score = dot_qkv(q, qkv_index(b, s, K, h)) * scale;
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
  let o = out_index(b, t, h);
  for (var i = 0u; i < HS; i++) {
    var acc = 0.0;
    for (var s = 0u; s <= t; s++) { acc = fma(att[row + s], qkv[qkv_index(b, s, V, h) + i], acc); }
    out[o + i] = acc;
  }
}

@compute @workgroup_size(16)
fn backward_query(@builtin(global_invocation_id) id: vec3u) {
  let T = dims.T;
  let t = id.x;
  if (t >= T) { return; }
  let h = id.y;
  let b = id.z;
  let row = ((b * dims.NH + h) * T + t) * T;
  let scale = 1.0 / sqrt(f32(HS));
  let o = out_index(b, t, h);
  // datt[s] = dout_t · v_s, and Σ att·datt over the row
  var att_dot_datt = 0.0;
  for (var s = 0u; s <= t; s++) {
    let v = qkv_index(b, s, V, h);
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
  let dq = qkv_index(b, t, Q, h);
  for (var i = 0u; i < HS; i++) {
    var acc = 0.0;
    for (var s = 0u; s <= t; s++) { acc = fma(dpreatt[row + s], qkv[qkv_index(b, s, K, h) + i], acc); }
    dqkv[dq + i] = acc * scale;
  }
}

@compute @workgroup_size(16)
fn backward_key(@builtin(global_invocation_id) id: vec3u) {
  let T = dims.T;
  let s = id.x;
  if (s >= T) { return; }
  let h = id.y;
  let b = id.z;
  let head = (b * dims.NH + h) * T;
  let scale = 1.0 / sqrt(f32(HS));
  let dk = qkv_index(b, s, K, h);
  let dv = qkv_index(b, s, V, h);
  for (var i = 0u; i < HS; i++) {
    var dk_acc = 0.0;
    var dv_acc = 0.0;
    for (var t = s; t < T; t++) {
      let at = (head + t) * T + s;
      dk_acc = fma(dpreatt[at], qkv[qkv_index(b, t, Q, h) + i], dk_acc);
      dv_acc = fma(att_saved[at], dout[out_index(b, t, h) + i], dv_acc);
    }
    dqkv[dk + i] = dk_acc * scale;
    dqkv[dv + i] = dv_acc;
  }
}
