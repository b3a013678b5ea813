// Next-token sampling, one workgroup per sequence, no sort:
//   temperature 0  greedy: the argmax of logits[b,:] (ties → lowest id).
//   otherwise      p ∝ exp((logits − max)/temperature); keep the first top_k tokens in the order
//                  (logit descending, id ascending); of those keep the shortest prefix of that order
//                  whose mass reaches top_p of theirs; draw from what is kept, renormalised.
// A token's place in that order is found without sorting. Logits map to order-preserving u32 keys;
// a radix select builds the threshold key 4 bits at a time from workgroup histograms (integer
// atomics: a count and a fixed-point mass per digit), and ties at the threshold are cut at the lowest
// ids the same way. The draw takes u = r·(kept mass), r from a PCG hash of (seed, step, b), and walks
// the cumulative mass in id order. Sequences with done[b] = 1 get ids[b] = eos; drawing eos sets
// done[b] = 1. Float sums run in fixed orders and histograms are integer, so a seed gives the same
// tokens on every run.

override THREADS: u32 = 256u; // invocations per workgroup: a power of two, 16..256
override WX: u32 = 64u;       // workgroup_size.x (compatibility mode caps it at 128); WX·WY = THREADS
override WY: u32 = 4u;

struct Params {
  temperature: f32,
  top_k: u32,  // 0 = off
  top_p: f32,  // 1 = off
  seed: u32,
  step: u32,
}

struct Dims {
  B: u32,
  V: u32,
  eos: u32,
  id_digits: u32, // 4-bit digits needed for any token id: ceil(log2(V) / 4)
}

@group(0) @binding(0) var<storage, read_write> ids: array<u32>;  // (B) sampled token per sequence
@group(0) @binding(1) var<storage, read_write> done: array<u32>; // (B) 1 = finished
@group(0) @binding(2) var<storage, read> logits: array<f32>;     // (B,V)
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<uniform> dims: Dims;

const BLOCKS = 16u; // two-level reductions: 16 blocks of THREADS/16 invocations
const ALL_IDS = 0xffffffffu;
const MASS_SCALE = 2147483648.0; // probabilities (≤ 1) as fixed point with 31 fraction bits

// A fixed-point mass hi·2^16 + lo (lo < 2^16 once normalised): sums of up to 65536 tokens fit.
struct Mass {
  hi: u32,
  lo: u32,
}

// The outcome of a radix select (see radix_select).
struct Selection {
  threshold: u32,   // τ
  count_above: u32, // candidates with value > τ
  mass_above: Mass, // their mass (when by_mass)
  count_at: u32,    // candidates with value == τ
  goal_mass: Mass,  // the mass goal used (when by_mass)
}

var<workgroup> red_f: array<f32, THREADS>;
var<workgroup> red_f_blocks: array<f32, BLOCKS>;
var<workgroup> red_key: array<u32, THREADS>;
var<workgroup> red_id: array<u32, THREADS>;
var<workgroup> red_key_blocks: array<u32, BLOCKS>;
var<workgroup> red_id_blocks: array<u32, BLOCKS>;
// radix histograms, 3 rotating sets of 16 digits: a set is cleared one pass after it was read
var<workgroup> hist_count: array<array<atomic<u32>, 16>, 3>;
var<workgroup> hist_hi: array<array<atomic<u32>, 16>, 3>;
var<workgroup> hist_lo: array<array<atomic<u32>, 16>, 3>;
var<workgroup> finished: u32;

var<private> lid: u32;
var<private> row: u32; // b·V
var<private> max_logit: f32;
var<private> inv_temperature: f32;
var<private> hist_slot: u32;
// the kept set: at_or_before(k_key, k_id) && at_or_before(p_key, p_id)
var<private> k_key: u32;
var<private> k_id: u32;
var<private> p_key: u32;
var<private> p_id: u32;

// Order-preserving map f32 → u32: a < b as floats ⇔ order_key(a) < order_key(b).
fn order_key(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

fn key_value(key: u32) -> f32 {
  return bitcast<f32>(select(~key, key & 0x7fffffffu, (key & 0x80000000u) != 0u));
}

fn prob(logit: f32) -> f32 {
  return exp((logit - max_logit) * inv_temperature);
}

fn fixed_point(p: f32) -> u32 {
  return u32(p * MASS_SCALE);
}

fn mass_add(a: Mass, b: Mass) -> Mass {
  let lo = a.lo + b.lo;
  return Mass(a.hi + b.hi + (lo >> 16u), lo & 0xffffu);
}

fn mass_at_least(a: Mass, b: Mass) -> bool {
  return a.hi > b.hi || (a.hi == b.hi && a.lo >= b.lo);
}

fn mass_f32(a: Mass) -> f32 {
  return f32(a.hi) * 65536.0 + f32(a.lo);
}

fn mass_from_f32(x: f32) -> Mass {
  let hi = floor(x / 65536.0);
  return Mass(u32(hi), u32(x - hi * 65536.0));
}

// Is (key, id) at or before (t_key, t_id) in the order logit descending, id ascending?
fn at_or_before(key: u32, id: u32, t_key: u32, t_id: u32) -> bool {
  return key > t_key || (key == t_key && id <= t_id);
}

fn in_top_k(key: u32, id: u32) -> bool {
  return at_or_before(key, id, k_key, k_id);
}

fn kept(key: u32, id: u32) -> bool {
  return in_top_k(key, id) && at_or_before(key, id, p_key, p_id);
}

// Workgroup sum in a fixed order: blocks of THREADS/16 invocations, then the 16 block sums.
// Leaves red_f (per invocation) and red_f_blocks (per block) filled.
fn sum_f(value: f32) -> f32 {
  let block_size = THREADS / BLOCKS;
  red_f[lid] = value;
  workgroupBarrier();
  if (lid < BLOCKS) {
    var s = 0.0;
    for (var i = 0u; i < block_size; i++) { s += red_f[lid * block_size + i]; }
    red_f_blocks[lid] = s;
  }
  workgroupBarrier();
  var total = 0.0;
  for (var i = 0u; i < BLOCKS; i++) { total += red_f_blocks[i]; }
  return total;
}

fn better(key_a: u32, id_a: u32, key_b: u32, id_b: u32) -> bool {
  return key_a > key_b || (key_a == key_b && id_a < id_b);
}

// The token first in (logit descending, id ascending) order.
fn argmax() -> u32 {
  let block_size = THREADS / BLOCKS;
  var best_key = 0u;
  var best_id = ALL_IDS;
  for (var j = lid; j < dims.V; j += THREADS) {
    let key = order_key(logits[row + j]);
    if (better(key, j, best_key, best_id)) { best_key = key; best_id = j; }
  }
  red_key[lid] = best_key;
  red_id[lid] = best_id;
  workgroupBarrier();
  if (lid < BLOCKS) {
    for (var i = 0u; i < block_size; i++) {
      let e = lid * block_size + i;
      if (better(red_key[e], red_id[e], best_key, best_id)) { best_key = red_key[e]; best_id = red_id[e]; }
    }
    red_key_blocks[lid] = best_key;
    red_id_blocks[lid] = best_id;
  }
  workgroupBarrier();
  best_key = 0u;
  best_id = ALL_IDS;
  for (var i = 0u; i < BLOCKS; i++) {
    if (better(red_key_blocks[i], red_id_blocks[i], best_key, best_id)) { best_key = red_key_blocks[i]; best_id = red_id_blocks[i]; }
  }
  return best_id;
}

/**
 * Radix select over the candidates: the top-k tokens (all of them before top-k is chosen), and when
 * by_id only those with key == tie_key. Each candidate has a value, its key, or when by_id its id
 * reversed (id_top − id, so larger values come first in order). Finds the largest threshold τ such
 * that the candidates with value ≥ τ reach the goal — a count (goal_count) or, when by_mass, top_p
 * of the candidates' total mass — one 4-bit digit per pass, most significant first.
 */
fn radix_select(by_id: bool, tie_key: u32, id_top: u32, digits: u32, by_mass: bool, goal_count: u32) -> Selection {
  var prefix = 0u;
  var count_above = 0u;
  var mass_above = Mass(0u, 0u);
  var count_at = 0u;
  var goal_mass = Mass(0u, 1u); // set in the first pass when by_mass
  for (var d = digits; d > 0u; d--) {
    let shift = 4u * (d - 1u);
    let high_mask = select(~((1u << (shift + 4u)) - 1u), 0u, shift + 4u >= 32u); // bits above this digit
    let slot = hist_slot;
    hist_slot = (hist_slot + 1u) % 3u;
    for (var j = lid; j < dims.V; j += THREADS) {
      let logit = logits[row + j];
      let key = order_key(logit);
      if (!in_top_k(key, j) || (by_id && key != tie_key)) { continue; }
      let value = select(key, id_top - j, by_id);
      if ((value & high_mask) != (prefix & high_mask)) { continue; }
      let digit = (value >> shift) & 15u;
      atomicAdd(&hist_count[slot][digit], 1u);
      if (by_mass) {
        let q = fixed_point(prob(logit));
        atomicAdd(&hist_hi[slot][digit], q >> 16u);
        atomicAdd(&hist_lo[slot][digit], q & 0xffffu);
      }
    }
    workgroupBarrier();
    var counts: array<u32, 16>;
    var masses: array<Mass, 16>;
    var total = Mass(0u, 0u);
    for (var i = 0u; i < 16u; i++) {
      counts[i] = atomicLoad(&hist_count[slot][i]);
      let lo = atomicLoad(&hist_lo[slot][i]);
      masses[i] = Mass(atomicLoad(&hist_hi[slot][i]) + (lo >> 16u), lo & 0xffffu);
      total = mass_add(total, masses[i]);
    }
    if (lid < 16u) {
      let stale = (slot + 2u) % 3u;
      atomicStore(&hist_count[stale][lid], 0u);
      atomicStore(&hist_hi[stale][lid], 0u);
      atomicStore(&hist_lo[stale][lid], 0u);
    }
    if (by_mass && d == digits) {
      // the first pass sees every candidate: the goal is top_p of their mass (at least one unit)
      goal_mass = mass_from_f32(params.top_p * mass_f32(total));
      if (goal_mass.hi == 0u && goal_mass.lo == 0u) { goal_mass.lo = 1u; }
    }
    // walk digits from the top; the first whose running measure reaches the goal is τ's digit
    var chosen = 0u;
    var found = false;
    for (var i = 16u; i > 0u; i--) {
      let digit = i - 1u;
      if (found) { continue; }
      let count_through = count_above + counts[digit];
      let mass_through = mass_add(mass_above, masses[digit]);
      let reached = select(count_through >= goal_count, mass_at_least(mass_through, goal_mass), by_mass);
      if (reached || digit == 0u) {
        chosen = digit;
        found = true;
        count_at = counts[digit];
      } else {
        count_above = count_through;
        mass_above = mass_through;
      }
    }
    prefix |= chosen << shift;
  }
  return Selection(prefix, count_above, mass_above, count_at, goal_mass);
}

// The id of the needed-th smallest candidate id among those with key == tie_key (needed ≥ 1).
fn nth_tied_id(tie_key: u32, needed: u32) -> u32 {
  let id_top = (1u << (4u * dims.id_digits)) - 1u;
  let s = radix_select(true, tie_key, id_top, dims.id_digits, false, needed);
  return id_top - s.threshold;
}

// Keeps the first top_k tokens: the threshold key is the k-th largest, ties cut at the lowest ids.
fn select_top_k(k: u32) {
  let s = radix_select(false, 0u, 0u, 8u, false, k);
  k_id = nth_tied_id(s.threshold, k - s.count_above);
  k_key = s.threshold;
}

// Of the top-k tokens, keeps the shortest prefix whose mass reaches top_p of theirs. Tied tokens have
// equal mass, so the number of them that must join is (goal − mass above) / their mass, rounded up.
fn select_top_p() {
  let s = radix_select(false, 0u, 0u, 8u, true, 0u);
  let q_tie = f32(fixed_point(prob(key_value(s.threshold))));
  let missing = mass_f32(s.goal_mass) - mass_f32(s.mass_above);
  var needed = s.count_at;
  if (q_tie > 0.0) { needed = u32(clamp(ceil(missing / q_tie), 1.0, f32(s.count_at))); }
  p_id = nth_tied_id(s.threshold, needed);
  p_key = s.threshold;
}

// PCG hash (O'Neill; Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020).
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// Uniform in [0, 1) with 24 bits, a function of (seed, step, b) only.
fn uniform01(b: u32) -> f32 {
  return f32(pcg(pcg(pcg(params.seed) + params.step) + b) >> 8u) * (1.0 / 16777216.0);
}

// Draws a kept token: each invocation owns a contiguous run of ids; find the block, then the
// invocation, then the id where the cumulative mass passes u. Rounding can leave u past the last
// boundary: then the last candidate with positive mass is taken. Returns ALL_IDS except in the
// invocation that owns the drawn token.
fn draw(b: u32) -> u32 {
  let block_size = THREADS / BLOCKS;
  let per = (dims.V + THREADS - 1u) / THREADS;
  let start = min(lid * per, dims.V);
  let end = min(start + per, dims.V);
  var own = 0.0;
  for (var j = start; j < end; j++) {
    let logit = logits[row + j];
    if (kept(order_key(logit), j)) { own += prob(logit); }
  }
  let total = sum_f(own);
  let u = uniform01(b) * total;
  var base = 0.0;
  var found = false;
  var block = 0u;
  var block_base = 0.0;
  for (var i = 0u; i < BLOCKS; i++) {
    let s = red_f_blocks[i];
    if (!found && s > 0.0) {
      block = i;
      block_base = base;
      found = u < base + s;
      base += s;
    }
  }
  base = block_base;
  found = false;
  var owner = 0u;
  var owner_base = 0.0;
  for (var i = 0u; i < block_size; i++) {
    let s = red_f[block * block_size + i];
    if (!found && s > 0.0) {
      owner = block * block_size + i;
      owner_base = base;
      found = u < base + s;
      base += s;
    }
  }
  var chosen = ALL_IDS;
  if (lid == owner) {
    var cumulative = owner_base;
    for (var j = start; j < end; j++) {
      let logit = logits[row + j];
      if (!kept(order_key(logit), j)) { continue; }
      let p = prob(logit);
      if (p <= 0.0) { continue; }
      chosen = j;
      cumulative += p;
      if (u < cumulative) { break; }
    }
  }
  return chosen;
}

@compute @workgroup_size(WX, WY)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) local_index: u32) {
  lid = local_index;
  let b = group.x;
  row = b * dims.V;
  if (lid == 0u) { finished = done[b]; }
  if (workgroupUniformLoad(&finished) != 0u) {
    if (lid == 0u) { ids[b] = dims.eos; }
    return;
  }
  let best = argmax();
  var chosen = select(ALL_IDS, best, lid == 0u);
  if (params.temperature > 0.0) {
    max_logit = logits[row + best];
    inv_temperature = 1.0 / params.temperature;
    k_key = 0u;
    k_id = ALL_IDS;
    p_key = 0u;
    p_id = ALL_IDS;
    if (params.top_k > 0u && params.top_k < dims.V) { select_top_k(params.top_k); }
    if (params.top_p < 1.0) { select_top_p(); }
    chosen = draw(b);
  }
  if (chosen != ALL_IDS) {
    ids[b] = chosen;
    if (chosen == dims.eos) { done[b] = 1u; }
  }
}
