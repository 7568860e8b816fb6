//! `scripts/build-terraform-layer`: a release is packaged only when its
//! SHA256SUMS carries a good signature by the release key and its checksum
//! matches the line in SHA256SUMS. The "release site" here is a folder served
//! through `file://`, so nothing leaves the machine, and the release key is a
//! throwaway one made for the test.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const VERSION: &str = "9.9.9";

/// Runs gpg in `home`, a throwaway keyring.
fn gpg(home: &Path, args: &[&str]) {
    let out = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args([
            "--batch",
            "--quiet",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .output()
        .expect("gpg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A signing key of the test's own, in `root/gnupg`; its public half is
/// written to `root/release-key.asc`, which the script is told to trust.
fn release_key(root: &Path) -> std::path::PathBuf {
    let home = root.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    gpg(
        &home,
        &[
            "--quick-gen-key",
            "Release Test <release@example.invalid>",
            "ed25519",
            "sign",
            "never",
        ],
    );
    let public = root.join("release-key.asc");
    gpg(
        &home,
        &[
            "--armor",
            "--output",
            public.to_str().unwrap(),
            "--export",
            "release@example.invalid",
        ],
    );
    public
}

/// Signs `file` with the test's key, as `file.sig`.
fn sign(root: &Path, file: &Path) {
    let sig = format!("{}.sig", file.display());
    gpg(
        &root.join("gnupg"),
        &[
            "--yes",
            "--output",
            &sig,
            "--detach-sign",
            file.to_str().unwrap(),
        ],
    );
}

fn fake_release(root: &Path, binary: &[u8], tamper: bool) {
    let dir = root.join(VERSION);
    std::fs::create_dir_all(&dir).unwrap();
    let zip_name = format!("terraform_{VERSION}_linux_arm64.zip");
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        w.start_file("terraform", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(binary).unwrap();
        w.finish().unwrap();
    }
    let bytes = buf.into_inner();
    std::fs::write(dir.join(&zip_name), &bytes).unwrap();
    let sum = Command::new("sha256sum")
        .arg(dir.join(&zip_name))
        .output()
        .unwrap();
    let mut hash = String::from_utf8(sum.stdout).unwrap()[..64].to_string();
    if tamper {
        hash = hash.replace(&hash[..1], if &hash[..1] == "0" { "1" } else { "0" });
    }
    let sums = dir.join(format!("terraform_{VERSION}_SHA256SUMS"));
    std::fs::write(
        &sums,
        format!("{hash}  {zip_name}\n0000  terraform_{VERSION}_linux_amd64.zip\n"),
    )
    .unwrap();
    release_key(root);
    sign(root, &sums);
}

fn build(root: &Path, out: &Path, args: &[&str]) -> Output {
    build_trusting(root, out, args, Some(&root.join("release-key.asc")))
}

/// Runs the script; `key: None` leaves it HashiCorp's release key.
fn build_trusting(root: &Path, out: &Path, args: &[&str], key: Option<&Path>) -> Output {
    let mut command = Command::new(common::repo().join("scripts/build-terraform-layer"));
    match key {
        Some(key) => command.env("TERRAFORM_RELEASE_KEY", key),
        None => command.env_remove("TERRAFORM_RELEASE_KEY"),
    };
    command
        .args(args)
        .env("TERRAFORM_VERSION", VERSION)
        .env("TERRAFORM_ARCH", "arm64")
        .env(
            "TERRAFORM_RELEASES_URL",
            format!("file://{}", root.display()),
        )
        .env("LAYER_OUT", out)
        .output()
        .expect("the script runs")
}

/// The script failed, said `reason`, and wrote no layer.
fn assert_refused(run: &Output, out: &Path, reason: &str) {
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains(reason), "{stderr}");
    assert!(!out.exists());
}

fn layer_binary(zip_path: &Path) -> (Vec<u8>, u32) {
    let file = std::fs::File::open(zip_path).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    assert_eq!(archive.len(), 1);
    let mut entry = archive.by_name("bin/terraform").unwrap();
    let mode = entry.unix_mode().unwrap();
    let mut content = Vec::new();
    entry.read_to_end(&mut content).unwrap();
    (content, mode)
}

#[test]
fn a_verified_release_becomes_bin_terraform() {
    let tmp = tempfile::tempdir().unwrap();
    fake_release(tmp.path(), b"#!/bin/sh\necho terraform\n", false);
    let out = tmp.path().join("layer.zip");
    let run = build(tmp.path(), &out, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (content, mode) = layer_binary(&out);
    assert_eq!(content, b"#!/bin/sh\necho terraform\n");
    assert_eq!(mode & 0o777, 0o755);
}

#[test]
fn a_checksum_mismatch_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    fake_release(tmp.path(), b"tampered", true);
    let out = tmp.path().join("layer.zip");
    let run = build(tmp.path(), &out, &[]);
    assert_refused(&run, &out, "checksum mismatch");
}

#[test]
fn a_local_binary_can_be_packaged_as_is() {
    let tmp = tempfile::tempdir().unwrap();
    let binary = tmp.path().join("terraform");
    std::fs::write(&binary, b"binary").unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = tmp.path().join("layer.zip");
    let run = build(
        tmp.path(),
        &out,
        &["--from-binary", binary.to_str().unwrap()],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(layer_binary(&out).0, b"binary");
}

#[test]
fn sums_without_a_good_signature_are_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    fake_release(tmp.path(), b"#!/bin/sh\necho terraform\n", false);
    // Someone changed SHA256SUMS after it was signed (to match their zip).
    let sums = tmp
        .path()
        .join(VERSION)
        .join(format!("terraform_{VERSION}_SHA256SUMS"));
    let mut text = std::fs::read_to_string(&sums).unwrap();
    text.push_str("1111  terraform_9.9.9_linux_386.zip\n");
    std::fs::write(&sums, text).unwrap();
    let out = tmp.path().join("layer.zip");
    let run = build(tmp.path(), &out, &[]);
    assert_refused(&run, &out, "has no good signature by the release key");
}

#[test]
fn by_default_only_hashicorps_signature_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    fake_release(tmp.path(), b"#!/bin/sh\necho terraform\n", false);
    let out = tmp.path().join("layer.zip");
    let run = build_trusting(tmp.path(), &out, &[], None);
    assert_refused(&run, &out, "has no good signature by the release key");
}

#[test]
fn the_bundled_release_key_is_hashicorps() {
    // The fingerprint https://www.hashicorp.com/trust/security publishes.
    let out = Command::new("gpg")
        .args(["--batch", "--with-colons", "--show-keys"])
        .arg(common::repo().join("scripts/hashicorp-release-key.asc"))
        .env("GNUPGHOME", tempfile::tempdir().unwrap().path())
        .output()
        .expect("gpg runs");
    let listing = String::from_utf8_lossy(&out.stdout);
    let primary = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:::::::::"))
        .map(|rest| rest.trim_end_matches(':'));
    assert_eq!(
        primary,
        Some("C874011F0AB405110D02105534365D9472D7468F"),
        "{listing}"
    );
}
