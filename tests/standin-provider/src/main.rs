//! `terraform-provider-aws` (stand-in): test support for drift-detection's
//! end-to-end suite. It speaks plugin protocol 6 like the real
//! hashicorp/aws provider but implements only `aws_s3_bucket`,
//! `aws_security_group` and `aws_db_instance`, against the endpoints it is
//! configured with (moto on 127.0.0.1). Never deployed; not a real AWS
//! provider. See README.md next to Cargo.toml.

mod common;
mod db_instance;
mod provider;
mod rules;
mod s3_bucket;
mod security_group;
mod tls_front;

use std::time::Duration;

use anyhow::Context;

/// Exits when the process that started us (terraform) is gone, so that a
/// terraform killed by a deadline does not leave the plugin behind.
fn exit_with_parent() {
    // SAFETY: getppid has no preconditions and cannot fail.
    let parent = unsafe { libc::getppid() };
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: as above.
        if unsafe { libc::getppid() } != parent {
            std::process::exit(1);
        }
    });
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--version" || a == "-v") {
        println!(
            "terraform-provider-aws stand-in v{}",
            env!("CARGO_PKG_VERSION")
        );
        return Ok(());
    }
    if std::env::var_os("TF_PLUGIN_MAGIC_COOKIE").is_none() {
        eprintln!(
            "This binary is a Terraform plugin (a test-support stand-in for hashicorp/aws). \
             It is started by terraform, not by hand."
        );
        std::process::exit(1);
    }
    // Before any thread exists: environment and stdout changes (see
    // tls_front for why tf-provider must not see PLUGIN_CLIENT_CERT).
    let client_cert = std::env::var("PLUGIN_CLIENT_CERT")
        .ok()
        .filter(|c| !c.trim().is_empty());
    std::env::remove_var("PLUGIN_CLIENT_CERT");
    // tf-provider appends a backtrace to every diagnostic when backtraces
    // are enabled (RUST_BACKTRACE=1 is common in test environments): that
    // is noise in terraform's output, and terraform 1.0's crash detector
    // even mistakes a wrapped `panic::...` frame for a crash of its own.
    // Panics still get their backtraces from RUST_BACKTRACE.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    let captured = match client_cert {
        Some(_) => Some(tls_front::capture_stdout()?),
        None => None,
    };
    // Both ring and aws-lc-rs are compiled in (tonic and the AWS SDK), so
    // rustls cannot pick a process default by itself.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    exit_with_parent();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let serve = tokio::spawn(tf_provider::serve("aws", provider::AwsProvider::default()));
        let (Some(cert), Some(mut captured)) = (client_cert, captured) else {
            // No AutoMTLS (TF_DISABLE_PLUGIN_TLS): tf-provider's plain gRPC
            // and handshake go to terraform directly.
            return serve.await?;
        };
        let line = tokio::time::timeout(Duration::from_secs(30), &mut captured.first_line)
            .await
            .context("tf-provider did not print its handshake")?
            .context("tf-provider exited before its handshake")?;
        let inner = tls_front::inner_address(&line)?;
        let front = tls_front::TlsFront::bind(&cert).await?;
        front.announce(&mut captured.real)?;
        tokio::select! {
            served = serve => served?,
            forwarded = front.run(inner) => forwarded,
        }
    })
}
