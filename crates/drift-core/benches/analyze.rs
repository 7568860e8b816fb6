//! Criterion benchmarks of the pure pipeline on synthetic plans in Terraform's
//! real shape (benches/gen_plan.py; ~10% of resources drifted).
//!
//! For each size it measures:
//! * `serde_ignored_any`: serde_json merely scanning the bytes (the floor);
//! * `analyze`: parse + classify + build the report (the product's work);
//! * `stream`: the same plan as a `terraform plan -json` stream.
//!
//! `scripts/bench` runs this and prints the comparison table with the Python
//! baseline and peak memory. Sizes: DRIFT_BENCH_SIZES (default "1000,10000").

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use drift_core::drift::{analyze, rules::RuleSet};
use drift_core::plan;
use drift_core::report::{build_report, ReportIdentity, RunFacts, WorkspaceInfo};

/// Generates (once) and returns the plan and stream files for `resources`.
pub fn plan_files(resources: usize) -> (PathBuf, PathBuf) {
    // The repository root: the generator and benches/compare.py live there.
    let root = &Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("target/bench-plans");
    let plan = dir.join(format!("plan-{resources}.json"));
    let stream = dir.join(format!("plan-{resources}.jsonl"));
    if !plan.exists() || !stream.exists() {
        std::fs::create_dir_all(&dir).expect("target/bench-plans is writable");
        let status = Command::new("python3")
            .arg(root.join("benches/gen_plan.py"))
            .arg(resources.to_string())
            .arg(&plan)
            .arg("--stream")
            .arg(&stream)
            .status()
            .expect("python3 runs benches/gen_plan.py");
        assert!(status.success(), "gen_plan.py failed");
    }
    (plan, stream)
}

fn sizes() -> Vec<usize> {
    std::env::var("DRIFT_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000".to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    let rules = RuleSet::embedded();
    for resources in sizes() {
        let (plan_path, stream_path) = plan_files(resources);
        let plan_bytes = std::fs::read(&plan_path).expect("plan is readable");
        let stream_bytes = std::fs::read(&stream_path).expect("stream is readable");
        let mut group = c.benchmark_group(format!("plan-{resources}"));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(8));
        group.throughput(Throughput::Bytes(plan_bytes.len() as u64));
        group.bench_function(BenchmarkId::new("serde_ignored_any", resources), |b| {
            b.iter(|| {
                serde_json::from_slice::<serde::de::IgnoredAny>(&plan_bytes).expect("valid JSON")
            })
        });
        group.bench_function(BenchmarkId::new("analyze", resources), |b| {
            b.iter(|| {
                let doc = plan::parse_slice("bench", &plan_bytes).expect("plan parses");
                let analysis = analyze(&[&doc], &rules);
                build_report(
                    ReportIdentity::new(),
                    WorkspaceInfo::default(),
                    analysis,
                    RunFacts::default(),
                )
            })
        });
        group.throughput(Throughput::Bytes(stream_bytes.len() as u64));
        group.bench_function(BenchmarkId::new("stream", resources), |b| {
            b.iter(|| {
                let doc = plan::parse_slice("bench", &stream_bytes).expect("stream parses");
                analyze(&[&doc], &rules)
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
