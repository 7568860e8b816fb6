//! Any text as a user rules file, TOML and YAML (`RuleSet::from_text`); a
//! rule set that loads classifies a real plan.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| drift_detection_fuzz::rules(data));
