//! Any text as a workspace inventory, TOML and JSON (`inventory::parse`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| drift_detection_fuzz::inventory(data));
