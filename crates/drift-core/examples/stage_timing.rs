//! Times each stage of the analyzer on one plan, best of RUNS, for profiling
//! (for example under `perf record`):
//!
//!     cargo run --release --example stage_timing -- PLAN [RUNS] [STAGE]
//!
//! STAGE is one of `ignored` (serde_json scanning the bytes: the floor),
//! `depth` (the nesting check alone, part of `parse`), `parse`, `analyze` or
//! `full` (parse + analyze + report, what `scripts/bench` calls analyze);
//! without it, every stage is timed.

use std::time::{Duration, Instant};

use drift_core::drift::{analyze, rules::RuleSet};
use drift_core::plan;
use drift_core::report::{build_report, ReportIdentity, RunFacts, WorkspaceInfo};

fn best<T>(runs: usize, mut stage: impl FnMut() -> T) -> Duration {
    (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(stage());
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: stage_timing PLAN [RUNS] [STAGE]"))?;
    let runs: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    let only = args.next();
    let bytes = std::fs::read(&path)?;
    let rules = RuleSet::embedded();
    let doc = plan::parse_slice(&path, &bytes)?;

    let ignored = || serde_json::from_slice::<serde::de::IgnoredAny>(&bytes);
    let depth = || plan::depth::first_too_deep(&bytes, plan::depth::MAX_NESTING_DEPTH);
    let parse = || plan::parse_slice(&path, &bytes);
    let classify = || analyze(&[&doc], &rules);
    let full = || {
        plan::parse_slice(&path, &bytes).map(|doc| {
            let analysis = analyze(&[&doc], &rules);
            build_report(
                ReportIdentity::new(),
                WorkspaceInfo::default(),
                analysis,
                RunFacts::default(),
            )
        })
    };
    match only.as_deref() {
        Some("ignored") => println!("ignored {:?}", best(runs, ignored)),
        Some("depth") => println!("depth {:?}", best(runs, depth)),
        Some("parse") => println!("parse {:?}", best(runs, parse)),
        Some("analyze") => println!("analyze {:?}", best(runs, classify)),
        Some("full") => println!("full {:?}", best(runs, full)),
        Some(other) => {
            anyhow::bail!("unknown stage {other}: ignored, depth, parse, analyze or full")
        }
        None => {
            let floor = best(runs, ignored);
            let whole = best(runs, full);
            println!(
                "ignored {floor:?} depth {:?} parse {:?} analyze {:?} full {whole:?} (full/ignored {:.2})",
                best(runs, depth),
                best(runs, parse),
                best(runs, classify),
                whole.as_secs_f64() / floor.as_secs_f64()
            );
        }
    }
    Ok(())
}
