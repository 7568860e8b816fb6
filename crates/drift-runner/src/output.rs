//! Writing reports to a folder.
//!
//! Reports land at `<out>/<environment>/<workspace>.json` (and `.md` beside
//! it, same stem), mirroring the `drift-reports/<environment>/<workspace>/`
//! keys the AWS worker writes. Each file is written to a temporary name and
//! renamed into place, so a reader never sees half a report.
//!
//! Names from the input become file names through [`file_component`]: one
//! stable name per (environment, workspace), never the same for two different
//! ones, even on a case-insensitive file system. Within one run,
//! [`unique_workspace_names`] renames a workspace whose report would still
//! land on another's (`net`, `net-2`), and [`ReportWriter`] refuses to write
//! twice to one file, so no report of a run replaces another.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use drift_core::error::{Error, Result};
use drift_core::report::render::{render, Format};
use drift_core::report::{Report, WorkspaceInfo};

/// The environment folder for reports that name none. No environment's own
/// folder can be called this: plain names start with a letter or digit.
pub const NO_ENVIRONMENT: &str = "_";

/// Marks a name followed by its hash; plain names never contain it.
const HASH_MARK: char = '+';

/// The longest plain name, and the longest readable part of a hashed one:
/// the whole file name then stays far below the usual 255-byte limit.
const MAX_READABLE: usize = 64;

/// Hex digits of the SHA-256 of the original name kept after [`HASH_MARK`].
const HASH_DIGITS: usize = 16;

/// Device names Windows reserves whatever the extension (`nul.json` is `NUL`).
const WINDOWS_DEVICES: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Whether `text` is used as a file name unchanged: `a-z`, `0-9`, `-`, `_`
/// and `.` only, starting with a letter or digit, not ending with `.`, at most
/// 64 characters, and not a Windows device name.
fn is_plain(text: &str) -> bool {
    let mut chars = text.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    starts_well
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        && !text.ends_with('.')
        && text.len() <= MAX_READABLE
        && !WINDOWS_DEVICES.contains(&text.split('.').next().unwrap_or(text))
}

/// A file or folder name for `text`, the same on every run and different for
/// every different `text`.
///
/// A plain name (see `is_plain`: `prod`, `app.v1`, `network-eu_1`) is kept as
/// it is. Any other name keeps a readable part (ASCII letters, digits, `-`, `_`
/// and `.`, anything else as `_`, without leading or trailing dots, at most 64
/// characters) followed by `+` and the first 16 hex digits of the SHA-256 of
/// the original: `a/b` is `a_b+…`, `App` is `App+…`, `..` is `_+…`. Plain
/// names have no `+` and no capitals, so no plain name equals a hashed one,
/// not even on a case-insensitive file system, and the hash tells hashed
/// names apart. Nothing it returns can leave the folder it is joined to.
pub fn file_component(text: &str) -> String {
    if is_plain(text) {
        return text.to_string();
    }
    let readable: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let readable: String = readable
        .trim_matches('.')
        .chars()
        .take(MAX_READABLE)
        .collect();
    let readable = readable.trim_end_matches('.');
    let readable = if readable.is_empty() { "_" } else { readable };
    let digest = Sha256::digest(text.as_bytes());
    let hash: String = digest
        .iter()
        .take(HASH_DIGITS / 2)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{readable}{HASH_MARK}{hash}")
}

/// The folder name for an environment; [`NO_ENVIRONMENT`] when there is none.
pub fn environment_component(environment: Option<&str>) -> String {
    environment.map_or_else(|| NO_ENVIRONMENT.to_string(), file_component)
}

/// Where a workspace's reports go, relative to the output folder, without
/// extension.
fn relative_stem(workspace: &WorkspaceInfo) -> PathBuf {
    Path::new(&environment_component(workspace.environment.as_deref()))
        .join(file_component(&workspace.name))
}

/// How two stems compare on a file system that ignores case.
fn folded(stem: &Path) -> String {
    stem.to_string_lossy().to_ascii_lowercase()
}

/// Where a report is written, without extension.
pub fn report_stem(out_dir: &Path, report: &Report) -> PathBuf {
    out_dir.join(relative_stem(&report.workspace))
}

/// `stem` with `extension` appended: a stem may hold dots (`app.v1`) that
/// [`Path::with_extension`] would take for an extension and replace.
fn with_suffix(stem: &Path, extension: &str) -> PathBuf {
    let mut name = OsString::from(stem.as_os_str());
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}

/// Renames, in place, the workspaces of one run whose reports would land on
/// the file of an earlier one: the first keeps its name, the next become
/// `name-2`, `name-3`, ... skipping any suffix whose file another workspace of
/// the run already has. Workspaces are compared by the file their report
/// goes to, so `a/b` and `a_b` both keep their names (their files differ) and
/// `net` from `x/net` and `y/net` become `net` and `net-2`.
pub fn unique_workspace_names<'a>(workspaces: impl IntoIterator<Item = &'a mut WorkspaceInfo>) {
    let mut workspaces: Vec<&mut WorkspaceInfo> = workspaces.into_iter().collect();
    let stems: Vec<String> = workspaces
        .iter()
        .map(|w| folded(&relative_stem(w)))
        .collect();
    // Every name as given keeps its file, so a renamed workspace never takes
    // the file of one that comes later.
    let mut taken: HashSet<String> = stems.iter().cloned().collect();
    let mut holders = HashSet::new();
    for (workspace, stem) in workspaces.iter_mut().zip(stems) {
        if holders.insert(stem) {
            continue;
        }
        let base = workspace.name.clone();
        let renamed = (2u64..)
            .map(|n| WorkspaceInfo {
                name: format!("{base}-{n}"),
                ..(**workspace).clone()
            })
            .find(|candidate| !taken.contains(&folded(&relative_stem(candidate))));
        if let Some(renamed) = renamed {
            taken.insert(folded(&relative_stem(&renamed)));
            workspace.name = renamed.name;
        }
    }
}

/// Writes the reports of one run, refusing to write a second report to a
/// file this run already wrote.
#[derive(Debug)]
pub struct ReportWriter {
    out_dir: PathBuf,
    /// Folded stems written so far, and whose reports they hold.
    written: HashMap<String, String>,
}

impl ReportWriter {
    /// A writer into `out_dir` that has written nothing yet.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        ReportWriter {
            out_dir: out_dir.into(),
            written: HashMap::new(),
        }
    }

    /// Writes the report as JSON and Markdown; returns the JSON file's path.
    /// Fails, writing nothing, when an earlier report of this writer went to
    /// the same file (give the workspaces [`unique_workspace_names`] first).
    pub fn write(&mut self, report: &Report) -> Result<PathBuf> {
        let stem = report_stem(&self.out_dir, report);
        let key = folded(&stem);
        if let Some(earlier) = self.written.get(&key) {
            return Err(Error::io(
                with_suffix(&stem, "json"),
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("the report of workspace {earlier:?} was written there in this run; refusing to replace it"),
                ),
            ));
        }
        let json_path = write_report(&self.out_dir, report)?;
        self.written.insert(key, report.workspace.name.clone());
        Ok(json_path)
    }
}

/// Writes the report as JSON and Markdown; returns the JSON file's path.
pub fn write_report(out_dir: &Path, report: &Report) -> Result<PathBuf> {
    let stem = report_stem(out_dir, report);
    let json_path = with_suffix(&stem, "json");
    write_atomically(&json_path, render(report, Format::Json).as_bytes())?;
    write_atomically(
        &with_suffix(&stem, "md"),
        render(report, Format::Markdown).as_bytes(),
    )?;
    Ok(json_path)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".drift-report-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use drift_core::drift::Analysis;
    use drift_core::report::{build_report, ReportIdentity, RunFacts};

    fn info(environment: Option<&str>, name: &str) -> WorkspaceInfo {
        WorkspaceInfo {
            name: name.to_string(),
            environment: environment.map(str::to_string),
            ..WorkspaceInfo::default()
        }
    }

    fn report(environment: Option<&str>, name: &str) -> Report {
        build_report(
            ReportIdentity::new(),
            info(environment, name),
            Analysis::default(),
            RunFacts::default(),
        )
    }

    #[test]
    fn plain_names_are_kept() {
        for name in ["prod", "app.v1", "network-eu_1", "0", "a..b"] {
            assert_eq!(file_component(name), name);
        }
    }

    #[test]
    fn names_cannot_escape_the_folder() {
        for name in [
            "../../etc/passwd",
            "..",
            ".",
            "",
            "/",
            "a/../../b",
            "C:\\x",
            ".hidden",
        ] {
            let component = file_component(name);
            assert!(
                !component.contains(['/', '\\', ':']),
                "{name:?}: {component}"
            );
            assert!(!component.starts_with('.'), "{name:?}: {component}");
            assert_eq!(
                Path::new(&component).components().count(),
                1,
                "{name:?}: {component}"
            );
            assert!(
                matches!(
                    Path::new(&component).components().next(),
                    Some(std::path::Component::Normal(_))
                ),
                "{name:?}: {component}"
            );
        }
        assert!(file_component("../../etc/passwd").starts_with("_.._etc_passwd+"));
        assert!(file_component("..").starts_with("_+"));
    }

    #[test]
    fn names_that_sanitize_alike_get_different_files() {
        let names = [
            "a/b", "a_b", "a b", "a:b", "a\\b", "A_B", "a_B", "App", "app", "APP", "..", "_", ".",
            "", "con", "CON", "nul.x", "app.", "café", "cafe", "-x", "x+1",
        ];
        let components: Vec<String> = names.iter().map(|n| file_component(n)).collect();
        let folded: HashSet<String> = components.iter().map(|c| c.to_ascii_lowercase()).collect();
        assert_eq!(folded.len(), names.len(), "{components:?}");
        // And the same name gets the same file on every run.
        assert_eq!(file_component("a/b"), "a_b+c14cddc033f64b9d");
    }

    #[test]
    fn hashed_names_are_stable_and_bounded() {
        // Pinned: a different hash would move every such report on disk.
        assert_eq!(file_component("App"), "App+0d04bfeb7d64b71c");
        let long = "x".repeat(300);
        let component = file_component(&long);
        assert!(
            component.len() <= MAX_READABLE + 1 + HASH_DIGITS,
            "{component}"
        );
        assert_ne!(component, file_component(&"x".repeat(301)));
    }

    #[test]
    fn no_environment_has_a_folder_of_its_own() {
        assert_eq!(environment_component(None), NO_ENVIRONMENT);
        assert_ne!(environment_component(Some("_")), NO_ENVIRONMENT);
        assert_eq!(environment_component(Some("prod")), "prod");
    }

    #[test]
    fn the_extension_is_appended_not_substituted() {
        let out = Path::new("out");
        let v1 = with_suffix(&report_stem(out, &report(None, "app.v1")), "json");
        let v2 = with_suffix(&report_stem(out, &report(None, "app.v2")), "json");
        assert_eq!(v1, Path::new("out/_/app.v1.json"));
        assert_eq!(v2, Path::new("out/_/app.v2.json"));
    }

    #[test]
    fn names_of_one_run_are_made_unique_by_file() {
        let mut infos = vec![
            info(None, "net"),
            info(None, "net"),
            info(None, "net-2"),
            info(None, "NET"),
            info(Some("prod"), "net"),
            info(None, "net"),
            info(None, "a/b"),
            info(None, "a_b"),
        ];
        unique_workspace_names(&mut infos);
        let names: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
        // The second `net` skips `net-2`, which a later workspace holds as given.
        assert_eq!(
            names,
            ["net", "net-3", "net-2", "NET", "net", "net-4", "a/b", "a_b"]
        );
        let stems: HashSet<String> = infos.iter().map(|i| folded(&relative_stem(i))).collect();
        assert_eq!(stems.len(), infos.len());
    }

    #[test]
    fn every_report_of_a_run_stays_on_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = ReportWriter::new(tmp.path());
        for name in ["app.v1", "app.v2", "a/b", "a_b", "a b", "App", "app", ".."] {
            writer.write(&report(None, name)).unwrap();
        }
        let mut files: Vec<String> = fs::read_dir(tmp.path().join(NO_ENVIRONMENT))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files.len(), 16, "{files:?}");
        assert!(files.contains(&"app.v1.json".to_string()));
        assert!(files.contains(&"app.v1.md".to_string()));
        assert!(files.contains(&"app.v2.json".to_string()));
    }

    #[test]
    fn a_second_report_to_one_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = ReportWriter::new(tmp.path());
        let first = report(None, "net");
        let path = writer.write(&first).unwrap();
        let err = writer.write(&report(None, "net")).unwrap_err().to_string();
        assert!(err.contains("refusing to replace"), "{err}");
        let kept: Report = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(kept.report_id, first.report_id);
    }
}
