//! What the fuzz targets run, as plain functions over bytes.
//!
//! No libFuzzer in here, so that the test suite (`tests/hostile.rs`, which
//! includes this file) replays the committed corpus through the very same
//! code on every run. Each entry point feeds its input where the tool reads
//! such input, then asserts what must hold whatever the input was: no panic,
//! no abort, JSON output that is JSON, and no value Terraform marked
//! sensitive in a report or an error message.
//!
//! [`shapes`] builds the inputs the byte-level fuzzer is slow to find: plans
//! nesting tens of thousands of levels deep, or tens of thousands of members
//! wide, at each place a plan can hold an arbitrary value.

use std::io::BufReader;
use std::path::Path;
use std::sync::OnceLock;

use drift_core::drift::{analyze, rules::RuleSet};
use drift_core::encoding::{to_utf8, Encoding};
use drift_core::inventory;
use drift_core::plan::{self, PlanDocument};
use drift_core::report::render::{render, to_json, Format};
use drift_core::report::{build_report, Report, ReportIdentity, RunFacts, WorkspaceInfo};

/// The stack of a `scan` worker thread (tokio's default, 2 MiB): the real
/// budget of every recursive reader. libFuzzer's own main thread has 8 MiB
/// and would hide an overflow that `scan` hits, so the targets run each
/// input on a thread of this size.
pub const WORKER_STACK: usize = 2 << 20;

/// Runs `f` on a thread with a `scan` worker's stack. A panic in it is
/// re-raised here; a stack overflow aborts the process, as it would `scan`.
// The fuzz targets call this; tests/hostile.rs, which includes this file,
// runs the entry points on threads of its own.
#[allow(dead_code)]
pub fn on_worker_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn_scoped(scope, f)
            .expect("a thread for the input");
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The input limit the entry points read with: the tool's default.
const MAX_INPUT_BYTES: u64 = plan::DEFAULT_MAX_INPUT_BYTES;

fn embedded_rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(RuleSet::embedded)
}

/// Plan bytes through every reader the tool has (in memory, through a
/// `BufRead` as from stdin, and terraform's live stream), then the analyzer,
/// the report and every renderer. `secrets` are values the input marks
/// sensitive: no output may contain them. Returns what the in-memory reader
/// (`analyze FILE`'s) made of the input: a report, or the error's message.
pub fn plan_with_secrets(data: &[u8], secrets: &[&str]) -> Result<Report, String> {
    let in_memory = plan::read_slice("fuzz.json", data, MAX_INPUT_BYTES);
    // A small buffer, so that lines and documents straddle reads.
    let from_stdin = plan::read_document("-", BufReader::with_capacity(512, data), MAX_INPUT_BYTES);
    let live = plan::read_live_stream("terraform", data, MAX_INPUT_BYTES);
    for parsed in [from_stdin, live] {
        let _ = outcome(parsed, secrets);
    }
    outcome(in_memory, secrets)
}

fn outcome(parsed: drift_core::Result<PlanDocument>, secrets: &[&str]) -> Result<Report, String> {
    match parsed {
        Ok(doc) => Ok(check_report(&doc, embedded_rules(), secrets)),
        Err(e) => {
            let message = e.to_string();
            assert_no_secret("an error message", &message, secrets);
            Err(message)
        }
    }
}

/// Analyzes `doc`, builds its report and renders it every way; asserts the
/// JSON is JSON and no output shows a secret.
fn check_report(doc: &PlanDocument, rules: &RuleSet, secrets: &[&str]) -> Report {
    let analysis = analyze(&[doc], rules);
    let facts = RunFacts {
        terraform_version: doc.terraform_version.clone(),
        format_version: doc.format_version.clone(),
        ..RunFacts::default()
    };
    let report = build_report(
        ReportIdentity::new(),
        WorkspaceInfo::default(),
        analysis,
        facts,
    );
    let json = to_json(&report);
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&json) {
        panic!("the JSON report is not JSON ({e}):\n{json}");
    }
    assert_no_secret("the JSON report", &json, secrets);
    for format in [Format::Json, Format::Table, Format::Markdown] {
        assert_no_secret("a rendered report", &render(&report, format), secrets);
    }
    report
}

fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{what} shows the sensitive value {secret:?}:\n{text}"
        );
    }
}

/// The `parse_and_analyze` target: any bytes as a plan.
pub fn plan(data: &[u8]) {
    let _ = plan_with_secrets(data, &[]);
}

/// The `plan_shapes` target: a deep or wide plan built from `data` (see
/// [`shapes::Shape::from_choices`]), which must not show its secrets.
pub fn plan_shapes(data: &[u8]) {
    let shape = shapes::Shape::from_choices(data);
    let _ = plan_with_secrets(&shape.build(), shapes::SECRETS);
}

/// The plan the `rules` target analyzes with each rule set it loads.
fn sample_plan() -> &'static PlanDocument {
    static PLAN: OnceLock<PlanDocument> = OnceLock::new();
    PLAN.get_or_init(|| {
        plan::parse_slice(
            "prod-network.json",
            include_bytes!("../../examples/plans/prod-network.json"),
        )
        .expect("the example plan parses")
    })
}

/// The `rules` target: text as a user rules file, TOML and YAML; a rule set
/// that loads classifies a real plan.
pub fn rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (yaml, origin) in [(false, "rules.toml"), (true, "rules.yaml")] {
        if let Ok(rules) = RuleSet::from_text(text, yaml, Path::new(origin)) {
            check_report(sample_plan(), &rules, &[]);
        }
    }
}

/// The `inventory` target: text as a workspace inventory, TOML and JSON.
pub fn inventory(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for is_json in [false, true] {
        let _ = inventory::parse(text, is_json, Path::new("/inventory"), "fuzz");
    }
}

/// The `encoding` target: any bytes through the text converter; and when
/// they are UTF-8, the same text written as UTF-16 (both byte orders) or
/// behind a UTF-8 byte-order mark must come back unchanged.
pub fn encoding(data: &[u8]) {
    let _ = to_utf8(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A text that starts with U+0000 behind a UTF-16LE mark reads as UTF-32's
    // mark: refused, rightly (no plan starts with NUL).
    if text.starts_with('\0') {
        return;
    }
    let units = || text.encode_utf16();
    let le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(units().flat_map(u16::to_le_bytes))
        .collect();
    let be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(units().flat_map(u16::to_be_bytes))
        .collect();
    let bom: Vec<u8> = [0xEF, 0xBB, 0xBF].into_iter().chain(text.bytes()).collect();
    for (bytes, expected) in [
        (le, Encoding::Utf16Le),
        (be, Encoding::Utf16Be),
        (bom, Encoding::Utf8Bom),
    ] {
        match to_utf8(&bytes) {
            Ok((converted, encoding)) => {
                assert_eq!(encoding, expected, "{text:?}");
                assert_eq!(
                    &*converted,
                    text.as_bytes(),
                    "{} of {text:?}",
                    expected.name()
                );
            }
            Err(e) => panic!("{} of {text:?} refused: {e}", expected.name()),
        }
    }
}

pub mod shapes {
    //! Plans that nest deep or spread wide where a plan holds values.
    //!
    //! Every plan built here also changes a sensitive attribute, `password`,
    //! whose values are in [`SECRETS`]: no report may show them.

    /// The values of the sensitive attribute in every plan built here.
    pub const SECRETS: &[&str] = &["hunter2-before-0f3c9", "hunter2-after-7d2e1"];

    /// Where in a plan the hostile value goes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Spot {
        /// A drifted resource's `before`.
        DriftBefore,
        /// A drifted resource's `after`.
        DriftAfter,
        /// A pending change's `after`.
        ChangeAfter,
        /// A `no-op` change's `before` and `after` (read, never compared).
        NoOp,
        /// The sensitive attribute's own value: the secrets at its leaves.
        SensitiveValue,
        /// The top-level `variables`, which the tool ignores.
        Variables,
        /// The top-level `configuration`, which the tool ignores.
        Configuration,
        /// A resource's values in `prior_state`.
        PriorState,
        /// The drifted resource's `before_sensitive` mask.
        BeforeSensitive,
        /// The drifted resource's `after_unknown` mask.
        AfterUnknown,
        /// A value in the second line of a `terraform plan -json` stream.
        StreamLine,
    }

    impl Spot {
        /// Every spot, for generators.
        pub const ALL: [Spot; 11] = [
            Spot::DriftBefore,
            Spot::DriftAfter,
            Spot::ChangeAfter,
            Spot::NoOp,
            Spot::SensitiveValue,
            Spot::Variables,
            Spot::Configuration,
            Spot::PriorState,
            Spot::BeforeSensitive,
            Spot::AfterUnknown,
            Spot::StreamLine,
        ];
    }

    /// What each level of nesting opens.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Nest {
        /// `[[[…`
        Arrays,
        /// `{"a":{"a":…`
        Objects,
        /// `[{"a":[{"a":…`
        Mixed,
    }

    impl Nest {
        /// Every kind, for generators.
        pub const ALL: [Nest; 3] = [Nest::Arrays, Nest::Objects, Nest::Mixed];
    }

    /// One hostile plan.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Shape {
        /// Where the hostile value goes.
        pub spot: Spot,
        /// What its levels are.
        pub nest: Nest,
        /// How many levels deep it nests.
        pub depth: usize,
        /// How many members its innermost level holds.
        pub width: usize,
        /// Whether its brackets are closed (else the document is cut off
        /// inside it, as a truncated download would be).
        pub closed: bool,
    }

    /// Reads choices off the fuzzer's bytes; zeros once they run out.
    struct Choices<'a>(&'a [u8]);

    impl Choices<'_> {
        fn byte(&mut self) -> u8 {
            let (first, rest) = self.0.split_first().unwrap_or((&0, &[]));
            self.0 = rest;
            *first
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[usize::from(self.byte()) % items.len()]
        }

        /// A size on a rough log scale up to about `2^max_bits`, so that
        /// small, limit-sized and huge values are all likely.
        fn size(&mut self, max_bits: u32) -> usize {
            let bits = u32::from(self.byte()) % (max_bits + 1);
            let low = u32::from_le_bytes([self.byte(), self.byte(), self.byte(), 0]);
            if bits == 0 {
                return 0;
            }
            let top = 1u32 << (bits - 1);
            (top | (low & (top - 1))) as usize
        }
    }

    impl Shape {
        /// The shape the fuzzer's bytes choose: up to 2^17 levels deep,
        /// 2^16 members wide.
        pub fn from_choices(data: &[u8]) -> Shape {
            let mut choices = Choices(data);
            Shape {
                spot: choices.pick(&Spot::ALL),
                nest: choices.pick(&Nest::ALL),
                depth: choices.size(17),
                width: choices.size(16),
                // Mostly closed, and closed when the choices run out.
                closed: choices.byte() & 0x0F != 0x0F,
            }
        }

        /// The hostile value: `depth` levels around `width` members.
        pub fn value(&self) -> String {
            let leaf = match self.spot {
                Spot::SensitiveValue => format!("\"{}\"", SECRETS[0]),
                _ => "\"x\"".to_string(),
            };
            let mut text = String::with_capacity(self.depth * 6 + self.width * 8 + 16);
            for level in 0..self.depth {
                let array = match self.nest {
                    Nest::Arrays => true,
                    Nest::Objects => false,
                    Nest::Mixed => level % 2 == 0,
                };
                text.push_str(if array { "[" } else { "{\"a\":" });
            }
            text.push('[');
            for i in 0..self.width {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&leaf);
            }
            text.push(']');
            if !self.closed {
                return text;
            }
            for level in (0..self.depth).rev() {
                let array = match self.nest {
                    Nest::Arrays => true,
                    Nest::Objects => false,
                    Nest::Mixed => level % 2 == 0,
                };
                text.push(if array { ']' } else { '}' });
            }
            text
        }

        /// The plan: a `terraform show -json` document, or for
        /// [`Spot::StreamLine`] a `terraform plan -json` stream, with the
        /// hostile value in its spot. Cut off right after the value when the
        /// value is not closed.
        pub fn build(&self) -> Vec<u8> {
            let value = self.value();
            let at = |spot: Spot| {
                if self.spot == spot {
                    value.as_str()
                } else {
                    "{}"
                }
            };
            let [before_secret, after_secret] = [SECRETS[0], SECRETS[1]];
            if self.spot == Spot::StreamLine {
                let mut text = String::from(
                    r#"{"@level":"info","@message":"Terraform 1.9.0","type":"version","terraform":"1.9.0","ui":"1.2"}"#,
                );
                text.push('\n');
                text.push_str(r#"{"@level":"info","@message":"aws_s3_bucket.logs: Drift detected (update)","type":"resource_drift","change":{"action":"update","resource":{"addr":"aws_s3_bucket.logs","module":"","resource_type":"aws_s3_bucket","resource_name":"logs"},"extra":"#);
                text.push_str(&value);
                if self.closed {
                    text.push_str("}}\n");
                    text.push_str(r#"{"@level":"info","@message":"Plan: 0 to add, 1 to change, 0 to destroy.","type":"change_summary","changes":{"add":0,"change":1,"remove":0,"operation":"plan"}}"#);
                    text.push('\n');
                }
                return text.into_bytes();
            }
            let password_before = if self.spot == Spot::SensitiveValue {
                value.clone()
            } else {
                format!("\"{before_secret}\"")
            };
            let mut text = String::with_capacity(value.len() * 2 + 2048);
            text.push_str(r#"{"format_version":"1.2","terraform_version":"1.9.0","variables":{"environment":{"value":"#);
            text.push_str(at(Spot::Variables));
            text.push_str(r#"}},"resource_drift":[{"address":"aws_db_instance.main","mode":"managed","type":"aws_db_instance","name":"main","provider_name":"registry.terraform.io/hashicorp/aws","change":{"actions":["update"],"before":{"password":"#);
            text.push_str(&password_before);
            text.push_str(r#","instance_class":"db.t3.micro","tags":"#);
            text.push_str(at(Spot::DriftBefore));
            text.push_str(&format!(
                r#"}},"after":{{"password":"{after_secret}","instance_class":"db.t3.large","tags":"#
            ));
            text.push_str(at(Spot::DriftAfter));
            text.push_str(r#"},"after_unknown":{"tags":"#);
            text.push_str(at(Spot::AfterUnknown));
            text.push_str(r#"},"before_sensitive":{"password":true,"tags":"#);
            text.push_str(at(Spot::BeforeSensitive));
            text.push_str(r#"},"after_sensitive":{"password":true}}}],"resource_changes":[{"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","name":"logs","change":{"actions":["update"],"before":{"bucket":"logs","tags":{}},"after":{"bucket":"logs","tags":"#);
            text.push_str(at(Spot::ChangeAfter));
            text.push_str(r#"},"after_unknown":{},"before_sensitive":{},"after_sensitive":{}}},{"address":"aws_s3_bucket.quiet","mode":"managed","type":"aws_s3_bucket","name":"quiet","change":{"actions":["no-op"],"before":{"tags":"#);
            text.push_str(at(Spot::NoOp));
            text.push_str(r#"},"after":{"tags":"#);
            text.push_str(at(Spot::NoOp));
            text.push_str(r#"},"after_unknown":{},"before_sensitive":{},"after_sensitive":{}}}],"prior_state":{"format_version":"1.0","values":{"root_module":{"resources":[{"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","name":"logs","values":{"tags":"#);
            text.push_str(at(Spot::PriorState));
            text.push_str(r#"}}]}}},"configuration":{"root_module":"#);
            text.push_str(at(Spot::Configuration));
            text.push_str("}}\n");
            if !self.closed {
                // Cut off right after the hostile value.
                let end = text.find(&value).map_or(text.len(), |at| at + value.len());
                text.truncate(end);
            }
            text.into_bytes()
        }
    }
}
