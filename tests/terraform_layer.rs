//! `scripts/build-terraform-layer`: a release is packaged only when its
//! checksum matches the release's SHA256SUMS. The "release site" here is a
//! folder served through `file://`, so nothing leaves the machine.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const VERSION: &str = "9.9.9";

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
    std::fs::write(
        dir.join(format!("terraform_{VERSION}_SHA256SUMS")),
        format!("{hash}  {zip_name}\n0000  terraform_{VERSION}_linux_amd64.zip\n"),
    )
    .unwrap();
}

fn build(root: &Path, out: &Path, args: &[&str]) -> Output {
    Command::new(common::repo().join("scripts/build-terraform-layer"))
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
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(!out.exists());
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
