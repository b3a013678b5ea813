// The commit step of batched KV-cache decoding (the step's input is sequence.wgsl's embed_step), one
// invocation per sequence: after sampling, past the prompt, write the sampled id at pos[b]+1 (EOS
// once the sequence has ended), mark it finished when it samples EOS, and advance pos[b].
struct Dims {
  B: u32,
  max_t: u32,
  eos: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> sequence: array<u32>;       // (B,maxT)
@group(0) @binding(1) var<storage, read_write> positions: array<u32>;      // (B)
@group(0) @binding(2) var<storage, read_write> finished: array<u32>;       // (B) 1 once EOS was sampled
@group(0) @binding(3) var<storage, read_write> sample_done: array<u32>;    // (B) the sampler's view of finished
@group(0) @binding(4) var<storage, read> prompt_lengths: array<u32>;       // (B)
@group(0) @binding(5) var<storage, read> sampled: array<u32>;              // (B) ids drawn this step
@group(0) @binding(6) var<uniform> dims: Dims;

@compute @workgroup_size(64)
fn commit(@builtin(global_invocation_id) id: vec3u) {
  let b = id.x;
  if (b >= dims.B) { return; }
  let next = positions[b] + 1u;
  if (next < dims.max_t) {
    if (next >= prompt_lengths[b]) {
      if (finished[b] == 0u) {
        let token = sampled[b];
        sequence[b * dims.max_t + next] = token;
        if (token == dims.eos) { finished[b] = 1u; }
      } else {
        sequence[b * dims.max_t + next] = dims.eos;
      }
    }
    positions[b] = next;
  }
  // The sampler marks a row done when it draws EOS, also inside a prompt; only real ends count.
  sample_done[b] = finished[b];
}
