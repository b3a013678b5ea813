// AdamW over one flat parameter buffer (every tensor of the layout, 64-float aligned), in three passes
// that never leave the GPU:
//   norm_partials  partials[w] = Σ grads² over every num_partials-th 1024-float stretch from w
//   norm_reduce    grad_norm   = sqrt(Σ partials)                (one workgroup)
//   update         g = grads·clip_scale, m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g²,
//                  params −= lr·((m/bc1) / (sqrt(v/bc2) + eps) + decay·params)
// with clip_scale = grad_clip/grad_norm when clipping is on and grad_norm > grad_clip, else 1, and
// decay = weight_decay on 64-float blocks whose decay_mask is 1. Reductions use a fixed tree order,
// so the norm is the same on every run. Buffers are read as vec4 (the layout is a multiple of 64).
// norm_partials_registers, norm_reduce_registers — the two reductions for CPU adapters (kernel.ts
// KernelLayout), where every barrier of the tree switches each invocation's context: one invocation
// forms all 256 lane sums of a workgroup and the same tree in private memory, so the norm is
// bit-identical with no barrier.

struct Hyper {
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  grad_clip: f32,
  bias_correction1: f32, // 1 − β1^step
  bias_correction2: f32, // 1 − β2^step
  clip_enabled: u32,     // 0 when grad_clip is infinite
}

struct Dims {
  total_vec4: u32,   // totalFloats / 4
  num_partials: u32, // workgroups of norm_partials
}

@group(0) @binding(0) var<storage, read_write> params: array<vec4f>;  // (totalFloats/4)
@group(0) @binding(1) var<storage, read> grads: array<vec4f>;         // (totalFloats/4)
@group(0) @binding(2) var<storage, read_write> m: array<vec4f>;       // (totalFloats/4) first moment
@group(0) @binding(3) var<storage, read_write> v: array<vec4f>;       // (totalFloats/4) second moment
@group(0) @binding(4) var<storage, read> decay_mask: array<u32>;      // (totalFloats/64) 1 = decays
@group(0) @binding(5) var<storage, read_write> grad_norm: array<f32>; // (1) ‖grads‖ before clipping
@group(0) @binding(6) var<storage, read_write> partials: array<f32>;  // (num_partials) sums of squares
@group(0) @binding(7) var<uniform> hyper: Hyper;
@group(0) @binding(8) var<uniform> dims: Dims;

const THREADS = 256u;
const VEC4_PER_BLOCK = 16u; // a decay-mask block is 64 floats

// Workgroups are 64×4 rather than 256×1: compatibility mode caps workgroup_size.x at 128.
var<workgroup> scratch: array<f32, 256>; // (THREADS) tree reduction

// Sums scratch[0..THREADS) into scratch[0] in a fixed order (every invocation must call it).
fn reduce_scratch(lid: u32) {
  for (var stride = THREADS / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { scratch[lid] += scratch[lid + stride]; }
  }
  workgroupBarrier();
}

// Workgroup w sums the 256-vec4 stretches w, w + num_partials, w + 2·num_partials, … (a fixed,
// small number of workgroups walking the whole buffer: one tree reduction each).
@compute @workgroup_size(64, 4)
fn norm_partials(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) lid: u32) {
  let stride = dims.num_partials * THREADS;
  var sum = 0.0;
  for (var i = group.x * THREADS + lid; i < dims.total_vec4; i += stride) {
    let g = grads[i];
    sum += dot(g, g);
  }
  scratch[lid] = sum;
  reduce_scratch(lid);
  if (lid == 0u) { partials[group.x] = scratch[0]; }
}

@compute @workgroup_size(64, 4)
fn norm_reduce(@builtin(local_invocation_index) lid: u32) {
  var sum = 0.0;
  for (var i = lid; i < dims.num_partials; i += THREADS) { sum += partials[i]; }
  scratch[lid] = sum;
  reduce_scratch(lid);
  if (lid == 0u) { grad_norm[0] = sqrt(scratch[0]); }
}

// reduce_scratch's tree over one invocation's 256 lane sums, in the same order.
fn lane_tree(sums: ptr<function, array<f32, 256>>) -> f32 {
  for (var stride = THREADS / 2u; stride > 0u; stride /= 2u) {
    for (var lane = 0u; lane < stride; lane++) { (*sums)[lane] += (*sums)[lane + stride]; }
  }
  return (*sums)[0];
}

// Invocation w does workgroup w of norm_partials.
@compute @workgroup_size(32)
fn norm_partials_registers(@builtin(global_invocation_id) id: vec3u) {
  let w = id.x;
  if (w >= dims.num_partials) { return; }
  let stride = dims.num_partials * THREADS;
  var sums: array<f32, 256>;
  for (var lane = 0u; lane < THREADS; lane++) {
    var sum = 0.0;
    for (var i = w * THREADS + lane; i < dims.total_vec4; i += stride) {
      let g = grads[i];
      sum += dot(g, g);
    }
    sums[lane] = sum;
  }
  partials[w] = lane_tree(&sums);
}

@compute @workgroup_size(1)
fn norm_reduce_registers() {
  var sums: array<f32, 256>;
  for (var lane = 0u; lane < THREADS; lane++) {
    var sum = 0.0;
    for (var i = lane; i < dims.num_partials; i += THREADS) { sum += partials[i]; }
    sums[lane] = sum;
  }
  grad_norm[0] = sqrt(lane_tree(&sums));
}

@compute @workgroup_size(64, 4)
fn update(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = group.x * THREADS + lid;
  if (i >= dims.total_vec4) { return; }
  let norm = grad_norm[0];
  var clip_scale = 1.0;
  if (hyper.clip_enabled != 0u && norm > hyper.grad_clip) { clip_scale = hyper.grad_clip / norm; }
  let decay = select(0.0, hyper.weight_decay, decay_mask[i / VEC4_PER_BLOCK] != 0u);
  let g = grads[i] * clip_scale;
  let m_new = hyper.beta1 * m[i] + (1.0 - hyper.beta1) * g;
  let v_new = hyper.beta2 * v[i] + (1.0 - hyper.beta2) * g * g;
  m[i] = m_new;
  v[i] = v_new;
  let m_hat = m_new / hyper.bias_correction1;
  let v_hat = v_new / hyper.bias_correction2;
  let p = params[i];
  params[i] = p - hyper.lr * (m_hat / (sqrt(v_hat) + hyper.eps) + decay * p);
}
