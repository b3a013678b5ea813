// The scalar head (reward model / value function) over every position of the final hidden state:
//   forward            values[n] = lnf[n,:] · weight + bias[0]
//   backward_partials  dlnf[n,c] = dvalues[n]·weight[c]  (= or += with ACCUMULATE_INPUT), and per chunk
//                      of ROWS_PER_CHUNK rows the partial sums Σ dvalues[n]·lnf[n,c] for c < C and
//                      Σ dvalues[n] in column C (the bias, whose "input" is 1)
//   backward_finish    dweight[c] += Σ_chunks partials[chunk,c],  dbias[0] += Σ_chunks partials[chunk,C]
// Every sum runs in a fixed order (sequential loops and fixed trees), so results repeat exactly.

override ACCUMULATE_INPUT: bool = false;

struct Dims {
  N: u32,          // rows (positions)
  C: u32,          // channels
  num_chunks: u32, // ceil(N / ROWS_PER_CHUNK)
}

// forward
@group(0) @binding(0) var<storage, read_write> values: array<f32>; // (N)
@group(0) @binding(1) var<storage, read> lnf: array<f32>;          // (N,C)
@group(0) @binding(2) var<storage, read> weight: array<f32>;       // (C)  score.weight
@group(0) @binding(3) var<storage, read> bias: array<f32>;         // (1)  score.bias
@group(0) @binding(4) var<uniform> dims: Dims;

// backward_partials (lnf, weight and dims as above at their own slots)
@group(0) @binding(0) var<storage, read_write> dlnf: array<f32>;       // (N,C)  = or +=
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;   // (num_chunks, C+1)
@group(0) @binding(2) var<storage, read> dvalues: array<f32>;          // (N)
@group(0) @binding(3) var<storage, read> lnf_b: array<f32>;            // (N,C)
@group(0) @binding(4) var<storage, read> weight_b: array<f32>;         // (C)
@group(0) @binding(5) var<uniform> dims_b: Dims;

// backward_finish
@group(0) @binding(0) var<storage, read_write> dweight: array<f32>;    // (C)  +=
@group(0) @binding(1) var<storage, read_write> dbias: array<f32>;      // (1)  +=
@group(0) @binding(2) var<storage, read> partials_f: array<f32>;       // (num_chunks, C+1)
@group(0) @binding(3) var<uniform> dims_f: Dims;

const ROW_THREADS = 32u;     // forward: invocations per row
const ROWS_PER_GROUP = 8u;   // forward: rows per workgroup (8 × 32 = 256 invocations)
const COLS = 64u;            // backward: channels per workgroup
const LANES = 4u;            // backward: row lanes per workgroup (64 × 4 = 256 invocations)
const ROWS_PER_CHUNK = 64u;  // backward: rows per partial sum

var<workgroup> scratch: array<f32, 256>;

@compute @workgroup_size(32, 8) // lid = row slot · 32 + lane
fn forward(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) lid: u32) {
  let slot = lid / ROW_THREADS; // row within the workgroup
  let lane = lid % ROW_THREADS;
  let n = group.x * ROWS_PER_GROUP + slot;
  var sum = 0.0;
  if (n < dims.N) {
    for (var c = lane; c < dims.C; c += ROW_THREADS) { sum = fma(lnf[n * dims.C + c], weight[c], sum); }
  }
  scratch[lid] = sum;
  for (var stride = ROW_THREADS / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lane < stride) { scratch[lid] += scratch[lid + stride]; }
  }
  if (lane == 0u && n < dims.N) { values[n] = scratch[lid] + bias[0]; }
}

@compute @workgroup_size(64, 4)
fn backward_partials(@builtin(workgroup_id) group: vec3u,
                     @builtin(local_invocation_id) local: vec3u,
                     @builtin(local_invocation_index) lid: u32) {
  let C = dims_b.C;
  let c = group.x * COLS + local.x; // c == C is the bias column
  let row0 = group.y * ROWS_PER_CHUNK;
  let row_end = min(row0 + ROWS_PER_CHUNK, dims_b.N);
  var sum = 0.0;
  if (c < C) {
    let w = weight_b[c];
    for (var n = row0 + local.y; n < row_end; n += LANES) {
      let dv = dvalues[n];
      let i = n * C + c;
      sum = fma(dv, lnf_b[i], sum);
      if (ACCUMULATE_INPUT) { dlnf[i] = fma(dv, w, dlnf[i]); } else { dlnf[i] = dv * w; }
    }
  } else if (c == C) {
    for (var n = row0 + local.y; n < row_end; n += LANES) { sum += dvalues[n]; }
  }
  scratch[lid] = sum;
  workgroupBarrier();
  if (local.y == 0u && c <= C) {
    let total = (scratch[local.x] + scratch[local.x + COLS]) + (scratch[local.x + 2u * COLS] + scratch[local.x + 3u * COLS]);
    partials[group.y * (C + 1u) + c] = total;
  }
}

@compute @workgroup_size(64)
fn backward_finish(@builtin(global_invocation_id) id: vec3u) {
  let C = dims_f.C;
  let c = id.x;
  if (c > C) { return; }
  var sum = 0.0;
  for (var chunk = 0u; chunk < dims_f.num_chunks; chunk++) { sum += partials_f[chunk * (C + 1u) + c]; }
  if (c < C) { dweight[c] += sum; } else { dbias[0] += sum; }
}
