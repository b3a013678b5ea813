// The input of one step of batched KV-cache decoding, for B sequences of different prompt lengths
// held in one (B, maxT) token buffer:
//   embed_step — x[b] = wte[sequence[b, pos[b]]] + wpe[pos[b]]   (the token being fed at this step)
// After sampling, commit.wgsl writes the sampled ids into the buffer and advances pos.

struct Dims {
  B: u32,
  C: u32,
  max_t: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;      // (B,C)
@group(0) @binding(1) var<storage, read> sequence_in: array<u32>;    // (B,maxT)
@group(0) @binding(2) var<storage, read> positions_in: array<u32>;   // (B)
@group(0) @binding(3) var<storage, read> wte: array<f32>;            // (V,C)
@group(0) @binding(4) var<storage, read> wpe: array<f32>;            // (nCtx,C)
@group(0) @binding(5) var<uniform> dims: Dims;

@compute @workgroup_size(64)
fn embed_step(@builtin(global_invocation_id) id: vec3u) {
  let index = id.x; // over B·C
  if (index >= dims.B * dims.C) { return; }
  let b = index / dims.C;
  let c = index % dims.C;
  let pos = positions_in[b];
  let token = sequence_in[b * dims.max_t + pos];
  out[index] = wte[token * dims.C + c] + wpe[pos * dims.C + c];
}
