// GELU, GPT-2's "gelu_new" (tanh approximation), and its derivative, on 4 lanes at once: shared code
// that a kernel module is concatenated with (matmul.wgsl's epilogue), not a kernel of its own.
//   gelu(x)  = 0.5·x·(1 + tanh(u)),  u = sqrt(2/π)·(x + 0.044715·x³)
//   gelu'(x) = 0.5·(1 + tanh(u)) + 0.5·x·(1 − tanh²(u))·du/dx

const GELU_SCALE = 0.7978845608028654; // sqrt(2/π)
const GELU_CUBIC = 0.044715;
// tanh(±10) is ±1 in float32; clamping keeps exp-based tanh implementations away from inf/inf.
const TANH_CLAMP = 10.0;
// Beyond |x| = 10, gelu'(x) is 0 or 1 exactly in float32; clamping keeps x³ finite in the derivative.
const GELU_DERIVATIVE_CLAMP = 10.0;

fn tanh_u(x: vec4f) -> vec4f {
  let u = GELU_SCALE * (x + GELU_CUBIC * x * x * x);
  return tanh(clamp(u, vec4f(-TANH_CLAMP), vec4f(TANH_CLAMP)));
}

fn gelu(x: vec4f) -> vec4f {
  return 0.5 * x * (1.0 + tanh_u(x));
}

fn gelu_derivative(x: vec4f) -> vec4f {
  let t = tanh_u(x);
  let xc = clamp(x, vec4f(-GELU_DERIVATIVE_CLAMP), vec4f(GELU_DERIVATIVE_CLAMP));
  let dudx = GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * xc * xc);
  return 0.5 * (1.0 + t) + 0.5 * xc * (1.0 - t * t) * dudx;
}
