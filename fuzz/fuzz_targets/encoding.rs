//! Any bytes through `encoding::to_utf8`; UTF-8 text written as UTF-16 or
//! behind a byte-order mark must come back unchanged.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| drift_detection_fuzz::encoding(data));
