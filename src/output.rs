//! Writing reports to a folder.
//!
//! Reports land at `<out>/<environment>/<workspace>.json` (and `.md` beside
//! it), mirroring the `drift-reports/<environment>/<workspace>/` keys the AWS
//! worker writes. Each file is written to a temporary name and renamed into
//! place, so a reader never sees half a report.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::report::render::{render, Format};
use crate::report::Report;

/// The environment folder for reports that name none.
pub const NO_ENVIRONMENT: &str = "_";

/// Keeps letters, digits, `-`, `_` and `.`; anything else becomes `_`, so a
/// workspace name can never climb out of the output folder.
pub fn safe_component(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.trim_matches('.') {
        "" => "_".to_string(),
        _ => cleaned,
    }
}

/// Where a report is written, without extension.
pub fn report_stem(out_dir: &Path, report: &Report) -> PathBuf {
    let environment = report
        .workspace
        .environment
        .as_deref()
        .unwrap_or(NO_ENVIRONMENT);
    out_dir
        .join(safe_component(environment))
        .join(safe_component(&report.workspace.name))
}

/// Writes the report as JSON and Markdown; returns the JSON file's path.
pub fn write_report(out_dir: &Path, report: &Report) -> Result<PathBuf> {
    let stem = report_stem(out_dir, report);
    let json_path = stem.with_extension("json");
    write_atomically(&json_path, render(report, Format::Json).as_bytes())?;
    write_atomically(
        &stem.with_extension("md"),
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

    #[test]
    fn names_cannot_escape_the_folder() {
        assert_eq!(safe_component("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(safe_component(".."), "_");
        assert_eq!(safe_component("prod-eu_1"), "prod-eu_1");
    }
}
