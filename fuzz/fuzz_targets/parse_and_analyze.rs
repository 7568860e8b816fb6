//! Fuzzes the whole pure pipeline: bytes → plan parser (document or stream)
//! → analyzer → report → every renderer. Any panic is a bug.
#![no_main]

use drift_detection::drift::{analyze, rules::RuleSet};
use drift_detection::plan;
use drift_detection::report::render::{render, Format};
use drift_detection::report::{build_report, ReportIdentity, RunFacts, WorkspaceInfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = plan::parse_slice("fuzz", data) {
        let analysis = analyze(&[&doc], &RuleSet::embedded());
        let report = build_report(ReportIdentity::new(), WorkspaceInfo::default(), analysis, RunFacts::default());
        for format in [Format::Json, Format::Table, Format::Markdown] {
            let _ = render(&report, format);
        }
    }
});
