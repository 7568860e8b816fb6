//! Running the terraform binary: one command at a time, under a deadline.
//!
//! Every command runs non-interactively (`TF_IN_AUTOMATION=1`, `TF_INPUT=0`,
//! stdin closed) in its own process group. At the deadline the group gets
//! SIGTERM, so terraform can release a state lock, then SIGKILL after a grace
//! period, so provider plugins die with it. Standard output is captured whole
//! up to a limit (a command that writes more is stopped: its output could not
//! be read anyway); of stderr the last [`STDERR_KEPT`] bytes are kept for
//! diagnostics, with ANSI escapes removed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How long terraform gets between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// How much of the end of stderr is kept: diagnostics quote its last lines.
pub const STDERR_KEPT: usize = 1 << 20;

/// Failures to run terraform (as opposed to terraform reporting an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TerraformError {
    /// No terraform binary was found.
    #[error("terraform not found: install it, put it on PATH, or pass --terraform PATH (or set TERRAFORM_PATH)")]
    NotFound,
    /// The binary could not be started.
    #[error("could not start {binary}: {source}")]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The command was still running at the deadline and was stopped.
    #[error("`terraform {command}` was still running at the deadline and was stopped after {elapsed:.1}s")]
    TimedOut {
        /// The subcommand.
        command: String,
        /// Seconds it ran.
        elapsed: f64,
    },
    /// The command wrote more to stdout than any plan this tool reads.
    #[error("`terraform {command}` wrote more than {limit} bytes of output and was stopped; raise --max-input-bytes if the plan is genuinely that large")]
    OutputTooLarge {
        /// The subcommand.
        command: String,
        /// The limit in force.
        limit: u64,
    },
    /// Reading the command's output failed.
    #[error("reading the output of `terraform {command}`: {source}")]
    Output {
        /// The subcommand.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What one finished command produced.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    /// Exit code; `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// Standard output, whole.
    pub stdout: Vec<u8>,
    /// Standard error, with ANSI escapes removed.
    pub stderr: String,
    /// Wall time.
    pub duration: Duration,
}

/// A terraform binary and the environment it runs with.
#[derive(Debug, Clone)]
pub struct Terraform {
    binary: PathBuf,
    env: Vec<(OsString, OsString)>,
    max_output_bytes: u64,
}

impl Terraform {
    /// Uses `binary`.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Terraform {
            binary: binary.into(),
            env: Vec::new(),
            max_output_bytes: drift_core::plan::DEFAULT_MAX_INPUT_BYTES,
        }
    }

    /// Stops any command that writes more than `bytes` to stdout.
    pub fn with_max_output_bytes(mut self, bytes: u64) -> Self {
        self.max_output_bytes = bytes;
        self
    }

    /// Finds terraform: `explicit` if given, else `TERRAFORM_PATH`, else `PATH`.
    pub fn locate(explicit: Option<&Path>) -> Result<Self, TerraformError> {
        // Commands run inside each workspace, so a relative path must be made
        // absolute against the directory the user gave it from.
        let absolute = |path: PathBuf| std::path::absolute(&path).unwrap_or(path);
        if let Some(path) = explicit {
            return Ok(Terraform::new(absolute(path.to_path_buf())));
        }
        if let Some(path) = std::env::var_os("TERRAFORM_PATH").filter(|p| !p.is_empty()) {
            return Ok(Terraform::new(absolute(PathBuf::from(path))));
        }
        which::which("terraform")
            .map(Terraform::new)
            .map_err(|_| TerraformError::NotFound)
    }

    /// Adds an environment variable for every command.
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs `terraform ARGS` in `dir`, stopping it at `deadline`.
    pub async fn run(
        &self,
        dir: &Path,
        args: &[String],
        deadline: Instant,
    ) -> Result<CommandOutput, TerraformError> {
        let command_name = args.first().cloned().unwrap_or_default();
        let started = Instant::now();
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .current_dir(dir)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let mut child = command.spawn().map_err(|source| TerraformError::Spawn {
            binary: self.binary.clone(),
            source,
        })?;
        tracing::debug!(command = %command_name, dir = %dir.display(), "terraform started");

        let mut stdout_pipe = child.stdout.take();
        let mut stderr_pipe = child.stderr.take();
        let limit = self.max_output_bytes;
        let collect = async {
            let read_out = async {
                let mut stdout = Vec::new();
                if let Some(pipe) = stdout_pipe.as_mut() {
                    pipe.take(limit.saturating_add(1))
                        .read_to_end(&mut stdout)
                        .await?;
                }
                Ok::<_, std::io::Error>((stdout.len() as u64 <= limit).then_some(stdout))
            };
            let read_err = async {
                match stderr_pipe.as_mut() {
                    Some(pipe) => read_tail(pipe, STDERR_KEPT).await,
                    None => Ok(Vec::new()),
                }
            };
            let (mut read_out, mut read_err) = (std::pin::pin!(read_out), std::pin::pin!(read_err));
            let (mut stdout, mut stderr) = (None, None);
            while stdout.is_none() || stderr.is_none() {
                tokio::select! {
                    out = &mut read_out, if stdout.is_none() => match out? {
                        Some(out) => stdout = Some(out),
                        // Over the limit: stop now, not when stderr closes.
                        None => return Ok(None),
                    },
                    err = &mut read_err, if stderr.is_none() => stderr = Some(err?),
                }
            }
            let status = child.wait().await?;
            Ok::<_, std::io::Error>(Some((
                status,
                stdout.unwrap_or_default(),
                stderr.unwrap_or_default(),
            )))
        };

        let outcome = tokio::time::timeout_at(deadline, collect).await;
        match outcome {
            Ok(Ok(Some((status, stdout, stderr)))) => Ok(CommandOutput {
                exit_code: status.code(),
                stdout,
                stderr: strip_ansi(&String::from_utf8_lossy(&stderr)),
                duration: started.elapsed(),
            }),
            Ok(Ok(None)) => {
                stop_group(&mut child).await;
                Err(TerraformError::OutputTooLarge {
                    command: command_name,
                    limit,
                })
            }
            Ok(Err(source)) => Err(TerraformError::Output {
                command: command_name,
                source,
            }),
            Err(_) => {
                stop_group(&mut child).await;
                Err(TerraformError::TimedOut {
                    command: command_name,
                    elapsed: started.elapsed().as_secs_f64(),
                })
            }
        }
    }
}

/// Reads `pipe` to its end, keeping only its last `kept` bytes (and the
/// line they start in the middle of is cut at the next line break).
async fn read_tail(
    pipe: &mut (impl tokio::io::AsyncRead + Unpin),
    kept: usize,
) -> std::io::Result<Vec<u8>> {
    let mut tail = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut cut = false;
    loop {
        let n = pipe.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&chunk[..n]);
        if tail.len() > 2 * kept {
            tail.drain(..tail.len() - kept);
            cut = true;
        }
    }
    if cut {
        if let Some(line_end) = tail.iter().position(|b| *b == b'\n') {
            tail.drain(..=line_end);
        }
    }
    Ok(tail)
}

/// SIGTERM to the process group, then SIGKILL after [`KILL_GRACE`].
async fn stop_group(child: &mut Child) {
    let Some(pid) = child.id() else { return };
    let group = -(pid as i32);
    // SAFETY: kill(2) with a negative pid signals the process group we created
    // with process_group(0); it touches no memory.
    unsafe {
        libc::kill(group, libc::SIGTERM);
    }
    if tokio::time::timeout(KILL_GRACE, child.wait())
        .await
        .is_err()
    {
        // SAFETY: as above.
        unsafe {
            libc::kill(group, libc::SIGKILL);
        }
        let _ = child.wait().await;
    } else {
        // Terraform exited; plugins it started may linger in the group.
        // SAFETY: as above.
        unsafe {
            libc::kill(group, libc::SIGKILL);
        }
    }
}

/// Removes ANSI escape sequences (colour codes) from terraform's text.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters and intermediates, then one final byte in @..~.
                for next in chars.by_ref() {
                    if ('@'..='~').contains(&next) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colour_codes() {
        assert_eq!(strip_ansi("\u{1b}[31mError:\u{1b}[0m bad"), "Error: bad");
    }
}
