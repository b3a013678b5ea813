// Float32 FMA throughput probe for the GPU check (`rlhf-lab gpu-check`): the adapter's measured
// peak, against which the matmul kernel's GFLOP/s are read. Each invocation runs CHAINS independent
// vec4 chains x ← fma(x, a, b) for ITERATIONS steps (independent chains hide the FMA latency; a and
// b come from a buffer so nothing folds at compile time) and writes the sum of its chains' lanes, so
// no step is dead code. Work: invocations · ITERATIONS · CHAINS · 4 lanes · 2 FLOPs.
// Chain c of invocation i starts at x = i·1e-3 + c + (0, 0.25, 0.5, 0.75).

override ITERATIONS: u32 = 1024u;
const CHAINS = 8u;

@group(0) @binding(0) var<storage, read_write> out: array<f32>;       // (invocations)
@group(0) @binding(1) var<storage, read> coefficients: vec2<f32>;   // (a, b)

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let a = vec4<f32>(coefficients.x);
  let b = vec4<f32>(coefficients.y);
  let start = f32(id.x) * 1e-3 + vec4<f32>(0.0, 0.25, 0.5, 0.75);
  var x0 = start;
  var x1 = start + 1.0;
  var x2 = start + 2.0;
  var x3 = start + 3.0;
  var x4 = start + 4.0;
  var x5 = start + 5.0;
  var x6 = start + 6.0;
  var x7 = start + 7.0;
  for (var i = 0u; i < ITERATIONS; i++) {
    x0 = fma(x0, a, b);
    x1 = fma(x1, a, b);
    x2 = fma(x2, a, b);
    x3 = fma(x3, a, b);
    x4 = fma(x4, a, b);
    x5 = fma(x5, a, b);
    x6 = fma(x6, a, b);
    x7 = fma(x7, a, b);
  }
  out[id.x] = dot(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7, vec4<f32>(1.0));
}
