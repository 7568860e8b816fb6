//! Any bytes as Terraform output: every plan reader (document, `-json`
//! stream, stdin, terraform's live output), the analyzer, the report and
//! every renderer, on a `scan` worker's 2 MiB stack. Any crash is a bug.
#![no_main]

use drift_detection_fuzz::{on_worker_stack, plan};

libfuzzer_sys::fuzz_target!(|data: &[u8]| on_worker_stack(|| plan(data)));
