// A deterministic column sum (the bias gradient):
// column_sum — dst[chunk, col] (= or += when ACCUMULATE) Σ src[row, col] over the rows of one
// chunk of chunk_rows rows. A 64x4 workgroup covers 64 columns of one chunk: the 4 row lanes stride
// through the chunk and are added in a fixed order, so the result is the same on every run. Two
// passes (chunks into a scratch, then the scratch's single chunk into the destination) give a
// parallel column reduction without atomics.
// column_sum_registers — the same sums without workgroup memory or a barrier (the `registers` layout,
// for CPU adapters): one invocation per (chunk, column) forms the 4 lane sums itself, each over the
// same rows in the same order, and adds them in the same order: bit-identical. A 64-invocation
// workgroup covers 64 columns of one chunk.

override ACCUMULATE: bool = false;

const SUM_COLUMNS = 64u;
const SUM_LANES = 4u;

struct Sizes {
  rows: u32,       // rows of src
  cols: u32,       // columns of src and dst
  chunk_rows: u32, // rows summed into one dst row
}

@group(0) @binding(0) var<storage, read_write> dst: array<f32>; // (chunks, cols)
@group(0) @binding(1) var<storage, read> src: array<f32>;       // (rows, cols)
@group(0) @binding(2) var<uniform> sizes: Sizes;

var<workgroup> lane_sums: array<f32, 256>; // (SUM_LANES, SUM_COLUMNS)

@compute @workgroup_size(64, 4)
fn column_sum(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_id) local: vec3u) {
  let col = group.x * SUM_COLUMNS + local.x;
  let chunk = group.y;
  let row_end = min((chunk + 1u) * sizes.chunk_rows, sizes.rows);
  var sum = 0.0;
  if (col < sizes.cols) {
    for (var row = chunk * sizes.chunk_rows + local.y; row < row_end; row += SUM_LANES) {
      sum += src[row * sizes.cols + col];
    }
  }
  lane_sums[local.y * SUM_COLUMNS + local.x] = sum;
  workgroupBarrier();
  if (local.y == 0u && col < sizes.cols) {
    var total = lane_sums[local.x];
    for (var lane = 1u; lane < SUM_LANES; lane++) {
      total += lane_sums[lane * SUM_COLUMNS + local.x];
    }
    let o = chunk * sizes.cols + col;
    if (ACCUMULATE) { total += dst[o]; }
    dst[o] = total;
  }
}

@compute @workgroup_size(64)
fn column_sum_registers(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) local: u32) {
  let col = group.x * SUM_COLUMNS + local;
  if (col >= sizes.cols) { return; }
  let chunk = group.y;
  let row_start = chunk * sizes.chunk_rows;
  let row_end = min((chunk + 1u) * sizes.chunk_rows, sizes.rows);
  var total = 0.0;
  for (var lane = 0u; lane < SUM_LANES; lane++) {
    var sum = 0.0; // lane `lane` of column_sum: rows row_start + lane, + 4, ...
    for (var row = row_start + lane; row < row_end; row += SUM_LANES) {
      sum += src[row * sizes.cols + col];
    }
    if (lane == 0u) { total = sum; } else { total += sum; }
  }
  let o = chunk * sizes.cols + col;
  if (ACCUMULATE) { total += dst[o]; }
  dst[o] = total;
}
