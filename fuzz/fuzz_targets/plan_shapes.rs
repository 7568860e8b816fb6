//! Structure-aware: the input chooses where in a plan a value nests deep or
//! spreads wide (changed and unchanged resources, ignored top-level fields,
//! masks, a stream's second line), how deep (up to 2^17 levels) and how wide;
//! the plan then goes where `parse_and_analyze` sends bytes, on a `scan`
//! worker's 2 MiB stack, and its sensitive values must not show.
#![no_main]

use drift_detection_fuzz::{on_worker_stack, plan_shapes};

libfuzzer_sys::fuzz_target!(|data: &[u8]| on_worker_stack(|| plan_shapes(data)));
