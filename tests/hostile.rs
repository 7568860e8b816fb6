//! Hostile input never crashes, hangs, leaks or overwrites (issue 11).
//!
//! Plans nested up to 10^5 levels deep or 10^5 members wide, at every place
//! a plan holds a value (a changed resource's `before`/`after`, a no-op
//! change, the ignored `variables` and `configuration`, the masks, a `-json`
//! stream's second line), and inputs far over the size limits without a
//! single newline. Each is read the way `scan` reads it: on a thread with a
//! worker's stack (see [`WORKER_STACK`]). Whatever the input, reading and
//! analyzing ends in a report or a clear one-line error, within a memory
//! bound, and never shows a value Terraform marked sensitive; one hostile
//! plan in a run leaves the others' reports as they would be alone.
//!
//! The fuzz targets' entry points are included from `fuzz/src/lib.rs`, so the
//! committed fuzz corpus replays through the same code here on every run.

#[path = "../fuzz/src/lib.rs"]
mod fuzz;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use drift_core::drift::rules::RuleSet;
use drift_core::plan;
use drift_core::report::{Report, Status, WorkspaceInfo};
use drift_runner::scan::{self, ScanOptions};
use fuzz::shapes::{Nest, Shape, Spot, SECRETS};
use proptest::prelude::*;
use serde_json::Value;

/// Counts the bytes each thread holds, so that a case can be held to a
/// memory bound: the peak of the thread that read the input.
struct PerThread;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    // `try_with`: allocations still happen while thread locals are torn down.
    let _ = HELD.try_with(|held| {
        let now = held.get() + delta;
        held.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// bookkeeping touches only `Cell`s with constant initialisers, which never
// allocate.
unsafe impl GlobalAlloc for PerThread {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            note(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            note(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        note(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: PerThread = PerThread;

/// The stack `scan` gives each workspace: tokio's 2 MiB, on which a release
/// build's readers follow some 25,000 levels of nesting. An unoptimized
/// build spends about 500 times as much stack per level (53 KB in sonic-rs's
/// skipping of ignored values, against about 100 bytes), so the debug suite
/// scales the stack by 32 to stay closer to what `scan` really takes:
/// about a thousand levels. 10^5 levels still overflow it.
const WORKER_STACK: usize = if cfg!(debug_assertions) {
    32 * fuzz::WORKER_STACK
} else {
    fuzz::WORKER_STACK
};

/// Far longer than any case takes (a second or two in a debug build): a case
/// still running then is a hang, reported as one rather than stalling CI.
const HANG: Duration = Duration::from_secs(300);

/// Runs `work` as `scan` runs a workspace: on a thread with a worker's
/// stack. Returns its result and the most memory that thread held at once.
fn on_scan_worker<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> (T, usize) {
    let (done, result) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || {
            HELD.with(|held| held.set(0));
            PEAK.with(|peak| peak.set(0));
            let value = work();
            let peak = PEAK.with(Cell::get).max(0) as usize;
            let _ = done.send((value, peak));
        })
        .expect("a worker thread");
    match result.recv_timeout(HANG) {
        Ok(outcome) => outcome,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still running after {HANG:?}, a hang")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker ended without a result"),
        },
    }
}

/// What reading a plan may hold at once: a few copies of the input (its
/// parsed values, a report quoting them, four renderings) and some slack.
fn memory_bound(input_len: usize) -> usize {
    256 * input_len + (64 << 20)
}

/// Whether an error message is the one the issue asks for when input nests
/// too deep: it says so ("nested", "nests"), with the limit.
fn says_too_deep(message: &str) -> bool {
    message.contains("nest") && message.chars().any(|c| c.is_ascii_digit())
}

fn assert_one_line(message: &str) {
    assert!(
        !message.trim_end().contains('\n'),
        "an error message runs over several lines:\n{message}"
    );
}

/// Reads a built plan on a worker and checks what holds for every shape;
/// returns the outcome for the caller's own checks.
fn read_shape(shape: &Shape) -> Result<Report, String> {
    let bytes = shape.build();
    let len = bytes.len();
    let (outcome, peak) = on_scan_worker(&format!("{shape:?}"), move || {
        fuzz::plan_with_secrets(&bytes, SECRETS)
    });
    assert!(
        peak <= memory_bound(len),
        "{shape:?}: {peak} bytes held reading {len} bytes of input"
    );
    if let Err(message) = &outcome {
        assert_one_line(message);
    }
    outcome
}

/// Levels that any reader must take, with the plan's own half a dozen
/// around them (Terraform's own plans nest 17 levels at most).
const SHALLOW: usize = 48;
/// Levels beyond any limit a reader of Terraform's JSON could have.
const ABYSS: usize = 300;

fn check_shape(shape: &Shape) {
    let outcome = read_shape(shape);
    match (&outcome, shape.closed) {
        // A truncated plan is never a clean report.
        (Ok(report), false) => assert_eq!(
            report.status,
            Status::Error,
            "{shape:?}: a truncated plan read as a report without an error"
        ),
        (Err(_), false) => {}
        (outcome, true) if shape.depth <= SHALLOW => match outcome {
            Ok(report) => {
                // The password changed outside Terraform in every shape.
                assert!(
                    matches!(report.status, Status::Drift | Status::Error),
                    "{shape:?}: status {:?}",
                    report.status
                );
                if shape.spot != Spot::StreamLine {
                    assert!(
                        report.drift.iter().any(|item| item
                            .changed_attributes
                            .iter()
                            .any(|a| a.path == "password")),
                        "{shape:?}: the password's drift is missing"
                    );
                }
            }
            Err(message) => panic!("{shape:?}: a plausible plan refused: {message}"),
        },
        (outcome, true) if shape.depth >= ABYSS => match outcome {
            Err(message) => assert!(
                says_too_deep(message),
                "{shape:?}: refused without saying it nests too deep: {message}"
            ),
            // A stream records a line it cannot read and goes on.
            Ok(report) => assert!(
                report.status == Status::Error
                    && report.errors.iter().any(|e| says_too_deep(&e.summary)
                        || e.detail.as_deref().is_some_and(says_too_deep)),
                "{shape:?}: read as {:?} with errors {:?}",
                report.status,
                report.errors
            ),
        },
        // Depths between the two are not drawn: whether a reader takes
        // them is its limit's business, tested with the limit.
        _ => {}
    }
}

fn depths() -> impl Strategy<Value = usize> {
    prop_oneof![0..=SHALLOW, ABYSS..=3_000usize, 3_000..=100_000usize]
}

fn widths() -> impl Strategy<Value = usize> {
    prop_oneof![0..=8usize, 1_000..=100_000usize]
}

fn shapes() -> impl Strategy<Value = Shape> {
    (
        prop::sample::select(&Spot::ALL[..]),
        prop::sample::select(&Nest::ALL[..]),
        depths(),
        widths(),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(spot, nest, depth, width, closed)| Shape {
            spot,
            nest,
            depth,
            width,
            closed,
        })
}

proptest! {
    // Each case reads up to a megabyte three ways in a debug build.
    #![proptest_config(ProptestConfig { cases: 32, max_shrink_iters: 32, ..ProptestConfig::default() })]

    #[test]
    fn deep_and_wide_plans_end_in_a_report_or_a_clear_error(shape in shapes()) {
        check_shape(&shape);
    }
}

/// Every spot and every kind of nesting at 10^5 levels, whatever proptest
/// happens to draw.
#[test]
fn a_hundred_thousand_levels_anywhere_are_refused_as_too_deep() {
    for spot in Spot::ALL {
        for nest in Nest::ALL {
            check_shape(&Shape {
                spot,
                nest,
                depth: 100_000,
                width: 1,
                closed: true,
            });
        }
    }
}

/// Every spot 50,000 members wide (proptest draws up to 10^5 here and there:
/// in a debug build each such plan takes a second or two).
#[test]
fn fifty_thousand_members_anywhere_are_read() {
    for spot in Spot::ALL {
        check_shape(&Shape {
            spot,
            nest: Nest::Objects,
            depth: 2,
            width: 50_000,
            closed: true,
        });
    }
}

/// A reader of `head` then `fill` bytes up to `len` in all, without a
/// newline, counting what was taken from it.
struct Endless {
    head: &'static [u8],
    fill: u8,
    len: u64,
    taken: Arc<AtomicU64>,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let at = self.taken.load(Ordering::Relaxed);
        let left = self.len.saturating_sub(at);
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        for (i, byte) in buf[..n].iter_mut().enumerate() {
            let offset = at as usize + i;
            *byte = self.head.get(offset).copied().unwrap_or(self.fill);
        }
        self.taken.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

const LIMIT: u64 = 1 << 20;
/// What a pipe sends that never ends: 64 times the limit.
const FLOOD: u64 = 64 * LIMIT;
/// What a reader may take past the limit: one buffer's worth.
const READ_SLACK: u64 = 64 << 10;

fn assert_refused_at_the_limit(what: &str, outcome: Result<(), String>) {
    match outcome {
        Err(message) => {
            assert_one_line(&message);
            assert!(
                message.contains("bytes")
                    && (message.contains("limit") || message.contains("longer than")),
                "{what}: refused without naming the limit: {message}"
            );
        }
        Ok(()) => panic!("{what}: read as a plan"),
    }
}

/// `analyze -` reading a pipe that never sends a newline: refused once it
/// passes the limit, having read little more than the limit.
fn check_flooded_stdin(what: &str, head: &'static [u8]) {
    let taken = Arc::new(AtomicU64::new(0));
    let reader = Endless {
        head,
        fill: b'x',
        len: FLOOD,
        taken: taken.clone(),
    };
    let (outcome, peak) = on_scan_worker(what, move || {
        plan::read_document("-", BufReader::new(reader), LIMIT)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    assert_refused_at_the_limit(what, outcome);
    let taken = taken.load(Ordering::Relaxed);
    assert!(
        taken <= LIMIT + READ_SLACK,
        "{what}: read {taken} bytes of a pipe to refuse it at {LIMIT}"
    );
    assert!(
        peak as u64 <= 4 * LIMIT + READ_SLACK,
        "{what}: held {peak} bytes to refuse input at {LIMIT}"
    );
}

#[test]
fn a_document_without_a_newline_on_stdin_is_refused_at_the_limit() {
    check_flooded_stdin(
        "a one-line document",
        br#"{"format_version":"1.2","variables":{"x":{"value":""#,
    );
}

#[test]
fn a_stream_line_without_an_end_on_stdin_is_refused_at_the_limit() {
    check_flooded_stdin(
        "a stream's endless second line",
        b"{\"@level\":\"info\",\"type\":\"version\",\"terraform\":\"1.9.0\",\"ui\":\"1.2\"}\n{\"@level\":\"info\",\"type\":\"diagnostic\",\"@message\":\"",
    );
}

#[test]
fn input_in_memory_without_a_newline_is_refused_at_the_limit() {
    let document = [
        &br#"{"format_version":"1.2","variables":{"x":{"value":""#[..],
        &vec![b'x'; 8 * LIMIT as usize],
    ]
    .concat();
    let stream = [
        &b"{\"@level\":\"info\",\"type\":\"version\",\"terraform\":\"1.9.0\",\"ui\":\"1.2\"}\n"[..],
        &br#"{"@level":"info","type":"diagnostic","@message":""#[..],
        &vec![b'x'; 8 * LIMIT as usize],
        &b"\"}\n"[..],
    ]
    .concat();
    for (what, bytes) in [("a document", document), ("a stream", stream)] {
        let len = bytes.len();
        let (outcome, peak) = on_scan_worker(what, move || {
            plan::read_slice("plan.json", &bytes, LIMIT)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        assert_refused_at_the_limit(what, outcome);
        assert!(
            peak as u64 <= LIMIT + READ_SLACK,
            "{what}: held {peak} bytes to refuse {len} bytes held by the caller"
        );
    }
}

/// terraform's own `-json` output, read as `scan` reads it, with a line far
/// over the line limit: refused, not parsed.
#[test]
fn a_live_stream_line_over_the_limit_is_refused() {
    let output = [
        &b"{\"@level\":\"info\",\"type\":\"version\",\"terraform\":\"1.9.0\",\"ui\":\"1.2\"}\n"[..],
        &vec![b'['; 4 * LIMIT as usize],
    ]
    .concat();
    let (outcome, _) = on_scan_worker("a live stream", move || {
        plan::read_live_stream("terraform", &output, LIMIT)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    assert_refused_at_the_limit("a live stream", outcome);
}

/// Writes the plans of a run with two hostile workspaces between good ones.
fn hostile_run(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plans/prod-network.json");
    let deep = |spot| Shape {
        spot,
        nest: Nest::Arrays,
        depth: 100_000,
        width: 1,
        closed: true,
    };
    let mut plans = vec![("good-before", good.clone())];
    for (name, spot) in [
        ("deep-drift", Spot::DriftBefore),
        ("deep-variables", Spot::Variables),
    ] {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, deep(spot).build()).expect("write a plan");
        plans.push((name, path));
    }
    plans.push(("good-after", good));
    plans
}

/// The report a good plan gets alone.
fn alone(path: &Path, name: &str) -> Report {
    let info = WorkspaceInfo {
        name: name.to_string(),
        ..WorkspaceInfo::default()
    };
    scan::analyze_file(path, info, &RuleSet::embedded(), &ScanOptions::default())
}

fn check_run(args: &[&str], dir: &Path, plans: &[(&str, PathBuf)]) {
    let out = dir.join("reports");
    let output = Command::new(env!("CARGO_BIN_EXE_drift-detection"))
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run drift-detection");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "{args:?} ended with {} (1: a workspace could not be checked); stderr:\n{}",
        output.status,
        stderr.chars().take(4000).collect::<String>()
    );
    for secret in SECRETS {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
    for (name, path) in plans {
        let text = std::fs::read_to_string(out.join("_").join(format!("{name}.json")))
            .unwrap_or_else(|e| panic!("{args:?}: no report for {name}: {e}"));
        for secret in SECRETS {
            assert!(!text.contains(secret), "{name}'s report shows a secret");
        }
        let report: Value = serde_json::from_str(&text).expect("a JSON report");
        if name.starts_with("good") {
            let expected = alone(path, name);
            assert_eq!(report["status"], expected.status.as_str(), "{name}");
            assert_eq!(
                report["drift"].as_array().map(Vec::len),
                Some(expected.drift.len()),
                "{name}: not the drift it has alone"
            );
        } else {
            assert_eq!(report["status"], "error", "{name}");
            let errors = report["errors"].to_string();
            assert!(says_too_deep(&errors), "{name}: errors {errors}");
        }
    }
}

#[test]
fn a_scan_with_deep_plans_still_reports_every_workspace() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let plans = hostile_run(dir.path());
    let mut inventory = String::new();
    for (name, path) in &plans {
        inventory.push_str(&format!(
            "[[workspace]]\nname = \"{name}\"\nplan = {}\n\n",
            Value::String(path.display().to_string())
        ));
    }
    let inventory_path = dir.path().join("workspaces.toml");
    std::fs::write(&inventory_path, inventory).expect("write the inventory");
    check_run(
        &[
            "scan",
            "--workspaces",
            inventory_path.to_str().expect("a UTF-8 path"),
            "--jobs",
            "2",
        ],
        dir.path(),
        &plans,
    );
}

#[test]
fn analyze_with_deep_plans_still_reports_every_plan() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let plans = hostile_run(dir.path());
    // `analyze` names reports after the files: copy the good plan twice.
    let mut args = vec!["analyze".to_string()];
    for (name, path) in &plans {
        let copy = dir.path().join(format!("{name}.json"));
        if !copy.exists() {
            std::fs::copy(path, &copy).expect("copy a plan");
        }
        args.push(copy.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    check_run(&args, dir.path(), &plans);
}

/// Replays the committed fuzz corpus through the targets' entry points.
#[test]
fn the_committed_fuzz_corpus_replays_cleanly() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    type Target = (&'static str, fn(&[u8]));
    let targets: [Target; 5] = [
        ("parse_and_analyze", fuzz::plan),
        ("plan_shapes", fuzz::plan_shapes),
        ("rules", fuzz::rules),
        ("inventory", fuzz::inventory),
        ("encoding", fuzz::encoding),
    ];
    for (target, run) in targets {
        let dir = corpus.join(target);
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a corpus entry").path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{}: no corpus", dir.display());
        for input in inputs {
            let bytes = std::fs::read(&input).expect("read a corpus input");
            let what = input.display().to_string();
            on_scan_worker(&what, move || run(&bytes));
        }
    }
}
