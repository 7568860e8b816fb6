//! Workspace bundles: a zipped Terraform configuration, unpacked into a fresh
//! folder. The archive is untrusted input: entries that would land outside the
//! folder (`../`, absolute paths), links, and archives that expand beyond the
//! limits are refused before anything is written.

use std::io::{Cursor, Read};
use std::path::{Component, Path, PathBuf};

/// Limits on what one bundle may expand to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries in the archive.
    pub max_entries: usize,
    /// Bytes after decompression, all entries together.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        // Lambda's /tmp is 512 MiB by default; a configuration is kilobytes.
        Limits {
            max_entries: 10_000,
            max_total_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Why a bundle was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Not a zip archive, or a damaged one.
    #[error("the workspace bundle is not a readable zip archive: {0}")]
    NotZip(String),
    /// An entry would be written outside the destination.
    #[error("the workspace bundle holds an unsafe entry {0:?} (absolute, `..` or a link); refusing to unpack it")]
    UnsafeEntry(String),
    /// Too many entries or too many bytes.
    #[error("the workspace bundle expands beyond the limit ({0}); a Terraform configuration is far smaller")]
    TooLarge(String),
    /// Writing the files failed.
    #[error("unpacking the workspace bundle into {path}: {failure}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why (in the message, not a `source`, so that it prints once).
        failure: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |failure| BundleError::Io {
        path: path.to_path_buf(),
        failure,
    }
}

/// A relative path made only of normal components, or `None`.
fn safe_relative(name: &str) -> Option<PathBuf> {
    if name.contains('\0') || name.contains('\\') {
        return None;
    }
    let path = Path::new(name);
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Unpacks the zip in `bytes` into `dest` (which must exist and be empty).
/// Every entry is checked before the first file is written, so a refused
/// archive leaves nothing behind.
pub fn unpack_zip(bytes: &[u8], dest: &Path, limits: Limits) -> Result<usize, BundleError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| BundleError::NotZip(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(BundleError::TooLarge(format!(
            "{} entries, at most {}",
            archive.len(),
            limits.max_entries
        )));
    }
    let mut plan = Vec::with_capacity(archive.len());
    let mut declared: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|e| BundleError::NotZip(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| BundleError::NotZip(e.to_string()))?
            .to_string();
        let relative =
            safe_relative(&name).ok_or_else(|| BundleError::UnsafeEntry(name.clone()))?;
        if entry.is_symlink() {
            return Err(BundleError::UnsafeEntry(name));
        }
        declared = declared.saturating_add(entry.size());
        plan.push((index, relative, entry.is_dir()));
    }
    if declared > limits.max_total_bytes {
        return Err(BundleError::TooLarge(format!(
            "{declared} bytes declared, at most {}",
            limits.max_total_bytes
        )));
    }

    let mut written: u64 = 0;
    let mut files = 0;
    for (index, relative, is_dir) in plan {
        let target = dest.join(&relative);
        if is_dir {
            std::fs::create_dir_all(&target).map_err(io(&target))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let entry = archive
            .by_index(index)
            .map_err(|e| BundleError::NotZip(e.to_string()))?;
        // Declared sizes can lie: count what really comes out.
        let budget = limits.max_total_bytes - written;
        let mut content = Vec::new();
        entry
            .take(budget + 1)
            .read_to_end(&mut content)
            .map_err(|e| BundleError::NotZip(e.to_string()))?;
        if content.len() as u64 > budget {
            return Err(BundleError::TooLarge(format!(
                "more than {} bytes after decompression",
                limits.max_total_bytes
            )));
        }
        written += content.len() as u64;
        std::fs::write(&target, &content).map_err(io(&target))?;
        files += 1;
    }
    Ok(files)
}

/// Copies the folder `from` into `dest` (regular files and folders only), so
/// that terraform can write its lock file beside a read-only source.
pub fn copy_dir(from: &Path, dest: &Path) -> Result<usize, BundleError> {
    let mut files = 0;
    let mut stack = vec![(from.to_path_buf(), dest.to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        std::fs::create_dir_all(&dst).map_err(io(&dst))?;
        for entry in std::fs::read_dir(&src).map_err(io(&src))? {
            let entry = entry.map_err(io(&src))?;
            let kind = entry.file_type().map_err(io(&entry.path()))?;
            let name = entry.file_name();
            // Terraform's own data folder is never part of a configuration.
            if name == ".terraform" {
                continue;
            }
            if kind.is_dir() {
                stack.push((entry.path(), dst.join(&name)));
            } else if kind.is_file() {
                std::fs::copy(entry.path(), dst.join(&name)).map_err(io(&entry.path()))?;
                files += 1;
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let options = zip::write::SimpleFileOptions::default();
            for (name, content) in entries {
                w.start_file(*name, options).unwrap();
                w.write_all(content).unwrap();
            }
            w.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn unpacks_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = zip_of(&[
            ("main.tf", b"output \"x\" { value = 1 }\n"),
            ("modules/a/main.tf", b""),
        ]);
        assert_eq!(
            unpack_zip(&bytes, dir.path(), Limits::default()).unwrap(),
            2
        );
        assert!(dir.path().join("modules/a/main.tf").is_file());
    }

    #[test]
    fn refuses_traversal_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = zip_of(&[("main.tf", b"ok"), ("../../evil.tf", b"bad")]);
        let err = unpack_zip(&bytes, dir.path(), Limits::default()).unwrap_err();
        assert!(
            matches!(err, BundleError::UnsafeEntry(ref n) if n == "../../evil.tf"),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn refuses_absolute_paths() {
        assert!(safe_relative("/etc/passwd").is_none());
        assert!(safe_relative("a/../../b").is_none());
        assert!(safe_relative("a\\..\\b").is_none());
        assert_eq!(safe_relative("./a/b.tf"), Some(PathBuf::from("a/b.tf")));
    }

    #[test]
    fn refuses_archives_that_expand_too_far() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = zip_of(&[("big.bin", &vec![0u8; 4096])]);
        let limits = Limits {
            max_entries: 10,
            max_total_bytes: 1024,
        };
        assert!(matches!(
            unpack_zip(&bytes, dir.path(), limits),
            Err(BundleError::TooLarge(_))
        ));
    }

    #[test]
    fn refuses_what_is_not_a_zip() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            unpack_zip(b"not a zip", dir.path(), Limits::default()),
            Err(BundleError::NotZip(_))
        ));
    }
}
