//! TLS in front of tf-provider's gRPC server, for terraform's AutoMTLS.
//!
//! terraform (go-plugin) passes its client certificate in
//! `PLUGIN_CLIENT_CERT` and then insists on TLS. That certificate is a
//! self-signed CA certificate, which the webpki verifier tf-provider's tonic
//! server uses refuses as a client certificate (`CaUsedAsEndEntity`), so
//! every call fails. Instead, the plugin:
//! 1. hides `PLUGIN_CLIENT_CERT` from tf-provider, which then serves plain
//!    gRPC on 127.0.0.1 and prints its handshake line on stdout, which is
//!    captured here (stdout is redirected to a pipe for that);
//! 2. listens on 127.0.0.1 with TLS itself: a fresh self-signed server
//!    certificate (announced in the handshake line, as go-plugin expects)
//!    and a client certificate check pinned to exactly terraform's
//!    certificate, with the handshake signatures verified;
//! 3. forwards each decrypted connection to the plain server.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::FromRawFd;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// Accepts exactly one client certificate: terraform's.
#[derive(Debug)]
struct PinnedClient {
    der: Vec<u8>,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for PinnedClient {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "client certificate is not the one terraform announced".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The real stdout (for our handshake line) and the first line tf-provider
/// prints (its own handshake), read from the pipe stdout now points at.
pub struct CapturedStdout {
    pub real: File,
    pub first_line: tokio::sync::oneshot::Receiver<String>,
}

/// Points fd 1 at a pipe; must run before any other thread writes to stdout.
pub fn capture_stdout() -> Result<CapturedStdout> {
    // SAFETY: plain fd juggling on fds this function owns; fd 1 is valid
    // (terraform gave us a pipe) and is replaced atomically by dup2.
    let (real, read_end) = unsafe {
        let real = libc::dup(1);
        if real < 0 {
            bail!("dup(1) failed");
        }
        let mut fds = [0; 2];
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            bail!("pipe() failed");
        }
        if libc::dup2(fds[1], 1) < 0 {
            bail!("dup2() failed");
        }
        libc::close(fds[1]);
        (File::from_raw_fd(real), File::from_raw_fd(fds[0]))
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(read_end).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        // Anything else printed on stdout would corrupt terraform's view of
        // the plugin: pass it to stderr, which terraform logs.
        for line in lines.map_while(Result::ok) {
            eprintln!("{line}");
        }
    });
    Ok(CapturedStdout {
        real,
        first_line: rx,
    })
}

/// `1|6|tcp|127.0.0.1:PORT|grpc|` -> `127.0.0.1:PORT`.
pub fn inner_address(handshake: &str) -> Result<String> {
    let parts: Vec<&str> = handshake.trim().split('|').collect();
    match parts.as_slice() {
        [_, "6", "tcp", addr, "grpc", ..] => Ok(addr.to_string()),
        _ => Err(anyhow!(
            "unexpected handshake from tf-provider: {handshake:?}"
        )),
    }
}

pub struct TlsFront {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    cert_der: Vec<u8>,
}

impl TlsFront {
    pub async fn bind(client_cert_pem: &str) -> Result<TlsFront> {
        let client = CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
            .context("PLUGIN_CLIENT_CERT is not a PEM certificate")?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());

        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::OrganizationName, "HashiCorp");
        dn.push(rcgen::DnType::CommonName, "localhost");
        params.distinguished_name = dn;
        // go-plugin trusts exactly this certificate as its root.
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
            rcgen::KeyUsagePurpose::KeyAgreement,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let cert = params.self_signed(&key)?;
        let cert_der = cert.der().to_vec();

        let mut config = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(Arc::new(PinnedClient {
                der: client.as_ref().to_vec(),
                provider,
            }))
            .with_single_cert(
                vec![CertificateDer::from(cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )?;
        config.alpn_protocols = vec![b"h2".to_vec()];

        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        Ok(TlsFront {
            listener,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            cert_der,
        })
    }

    /// go-plugin's handshake line for this listener.
    pub fn handshake(&self) -> Result<String> {
        Ok(format!(
            "1|6|tcp|{}|grpc|{}",
            self.listener.local_addr()?,
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(&self.cert_der)
        ))
    }

    pub fn announce(&self, real_stdout: &mut File) -> Result<()> {
        writeln!(real_stdout, "{}", self.handshake()?)?;
        real_stdout.flush()?;
        Ok(())
    }

    /// Forwards every TLS connection to the plain gRPC server at `inner`.
    pub async fn run(self, inner: String) -> Result<()> {
        loop {
            let (tcp, _) = self.listener.accept().await?;
            let acceptor = self.acceptor.clone();
            let inner = inner.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(&inner).await else {
                    return;
                };
                let _ = plain.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_addresses() {
        assert_eq!(
            inner_address("1|6|tcp|127.0.0.1:10000|grpc|\n").unwrap(),
            "127.0.0.1:10000"
        );
        assert!(inner_address("1|5|unix|/tmp/x|grpc|").is_err());
    }
}
