// Token + position embeddings, as reference.ts's encoderForward / encoderBackward.
//
// forward / forward_vec4 — out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:], one invocation per element
// (per vec4 when C is a multiple of 4; `width` is the row length in those units). Workgroup counts
// above 65535 are folded into y: group index = id.y · grid_x + id.x.
//
// backward — dst[r,:] += Σ dout[row,:] over the rows that feed row r, without atomics:
//   BY_TOKEN   r = token id v: rows = positions[offsets[v] .. offsets[v+1]) (a CSR built on the CPU)
//   otherwise  r = position t: rows = b·T + t for b < B
// A 32x8 workgroup covers 32 channels of one r: the 8 lanes stride through the rows and their sums
// are added in a fixed order, so every run gives the same result.
// Which r a workgroup owns (group.y is its slot):
//   BY_TOKEN && SLOT_BY_POSITION  slot j < B·T is the j-th entry of positions; its token v is found
//     by binary search in offsets, and the workgroup owns v only when j is v's first entry
//     (j == offsets[v]); the others add nothing. Used when B·T < V, so the grid has min(V, B·T)
//     slots and every distinct token of the batch exactly one owner, instead of one slot per
//     vocabulary row.
//   otherwise                     r = slot.
// backward_registers — the same sums without workgroup memory or a barrier (the `registers` layout,
// for CPU adapters): one invocation per (r, channel) forms the 8 lane sums itself, each over the
// same rows in the same order, and adds them in the same order, so the result is bit-identical.
// A 64-invocation workgroup covers 64 channels of one slot (group.y).

override BY_TOKEN: bool = true;
override SLOT_BY_POSITION: bool = false;

const WORKGROUP = 256u;
const SUM_COLUMNS = 32u;
const SUM_LANES = 8u;
const REGISTER_COLUMNS = 64u;

struct Sizes {
  B: u32,
  T: u32,
  width: u32,  // forward: C or C/4; backward: C
  grid_x: u32, // forward: workgroups along x
  n: u32,      // forward: elements (or vec4s) of out
  V: u32,      // backward: vocabulary size (rows of offsets − 1)
}

// forward
@group(0) @binding(0) var<storage, read_write> out: array<f32>;    // (B,T,C)
@group(0) @binding(1) var<storage, read> tokens: array<u32>;       // (B,T)
@group(0) @binding(2) var<storage, read> wte: array<f32>;          // (V,C)
@group(0) @binding(3) var<storage, read> wpe: array<f32>;          // (nCtx,C)
@group(0) @binding(0) var<storage, read_write> out4: array<vec4f>; // (B,T,C/4)
@group(0) @binding(2) var<storage, read> wte4: array<vec4f>;       // (V,C/4)
@group(0) @binding(3) var<storage, read> wpe4: array<vec4f>;       // (nCtx,C/4)
@group(0) @binding(4) var<uniform> sizes: Sizes;

// backward
@group(0) @binding(0) var<storage, read_write> dst: array<f32>;  // dwte (V,C) or dwpe (nCtx,C)
@group(0) @binding(1) var<storage, read> dout: array<f32>;       // (B,T,C)
@group(0) @binding(2) var<storage, read> offsets: array<u32>;    // (V+1), read when BY_TOKEN
@group(0) @binding(3) var<storage, read> positions: array<u32>;  // (B·T), read when BY_TOKEN

var<workgroup> lane_sums: array<f32, 256>; // (SUM_LANES, SUM_COLUMNS)

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) local: u32) {
  let i = (group.y * sizes.grid_x + group.x) * WORKGROUP + local;
  if (i >= sizes.n) { return; }
  let bt = i / sizes.width;
  let c = i % sizes.width;
  let t = bt % sizes.T;
  out[i] = wte[tokens[bt] * sizes.width + c] + wpe[t * sizes.width + c];
}

@compute @workgroup_size(256)
fn forward_vec4(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) local: u32) {
  let i = (group.y * sizes.grid_x + group.x) * WORKGROUP + local;
  if (i >= sizes.n) { return; }
  let bt = i / sizes.width;
  let c = i % sizes.width;
  let t = bt % sizes.T;
  out4[i] = wte4[tokens[bt] * sizes.width + c] + wpe4[t * sizes.width + c];
}

// The token whose CSR row holds entry j of positions: the v with offsets[v] ≤ j < offsets[v+1]
// (j < B·T = offsets[V], so such a v exists and its row is not empty).
fn token_of_entry(j: u32) -> u32 {
  var lo = 0u;        // offsets[lo] ≤ j
  var hi = sizes.V;   // offsets[hi] > j
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (offsets[mid] <= j) { lo = mid; } else { hi = mid; }
  }
  return lo;
}

// Which row r slot owns and the rows that feed it: (r, start, count), count 0 when another slot owns r.
fn slot_rows(slot: u32) -> vec3u {
  var r = slot;
  var start = 0u;
  var count = sizes.B;
  if (BY_TOKEN) {
    if (SLOT_BY_POSITION) { r = token_of_entry(slot); }
    start = offsets[r];
    count = offsets[r + 1u] - start;
    if (SLOT_BY_POSITION && start != slot) { count = 0u; } // another slot owns token r
  }
  return vec3u(r, start, count);
}

@compute @workgroup_size(32, 8)
fn backward(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_id) local: vec3u) {
  let C = sizes.width;
  let c = group.x * SUM_COLUMNS + local.x;
  var r = group.y;
  var start = 0u;
  var count = sizes.B;
  if (BY_TOKEN) {
    if (SLOT_BY_POSITION) { r = token_of_entry(group.y); }
    start = offsets[r];
    count = offsets[r + 1u] - start;
    if (SLOT_BY_POSITION && start != group.y) { count = 0u; } // another slot owns token r
  }
  var sum = 0.0;
  if (c < C) {
    for (var i = local.y; i < count; i += SUM_LANES) {
      var row = i * sizes.T + r;
      if (BY_TOKEN) { row = positions[start + i]; }
      sum += dout[row * C + c];
    }
  }
  lane_sums[local.y * SUM_COLUMNS + local.x] = sum;
  workgroupBarrier();
  if (local.y == 0u && c < C && count > 0u) {
    var total = lane_sums[local.x];
    for (var lane = 1u; lane < SUM_LANES; lane++) {
      total += lane_sums[lane * SUM_COLUMNS + local.x];
    }
    dst[r * C + c] += total;
  }
}

@compute @workgroup_size(64)
fn backward_registers(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) local: u32) {
  let C = sizes.width;
  let c = group.x * REGISTER_COLUMNS + local;
  let rows = slot_rows(group.y);
  let r = rows.x;
  let start = rows.y;
  let count = rows.z;
  if (c >= C || count == 0u) { return; }
  var total = 0.0;
  for (var lane = 0u; lane < SUM_LANES; lane++) {
    var sum = 0.0; // lane `lane` of backward: rows lane, lane + 8, ...
    for (var i = lane; i < count; i += SUM_LANES) {
      var row = i * sizes.T + r;
      if (BY_TOKEN) { row = positions[start + i]; }
      sum += dout[row * C + c];
    }
    if (lane == 0u) { total = sum; } else { total += sum; }
  }
  dst[r * C + c] += total;
}
