//! The gateway binary as a child process: start (and learn its address from its JSON log),
//! SIGKILL, SIGTERM, and a guard that always kills it. The test's working directory prints the
//! tails of every child's logs when the test fails, and is then kept for a look.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use messenger_test_support::wait;

/// Lines of each log printed when a test fails.
const TAIL_LINES: usize = 40;

/// A test's temporary directory: configuration, database file, the children's logs. When it is
/// dropped during a panic, it prints the tail of every log in it and is kept; otherwise it is
/// removed.
pub(crate) struct Workdir {
    dir: Option<tempfile::TempDir>,
}

impl Workdir {
    pub(crate) fn new() -> Self {
        Self {
            dir: Some(tempfile::tempdir().expect("a temporary directory")),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("the directory exists until dropped")
            .path()
    }

    /// Writes `text` to `name` in the directory and returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).expect("writing a file in the temporary directory");
        path
    }

    /// The SQLite URL of a database file in the directory.
    pub(crate) fn sqlite_url(&self, name: &str) -> String {
        format!("sqlite://{}?mode=rwc", self.path().join(name).display())
    }

    fn print_log_tails(&self) {
        let Ok(entries) = std::fs::read_dir(self.path()) else {
            return;
        };
        let mut logs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "stderr" || x == "stdout")
            })
            .collect();
        logs.sort();
        for log in logs {
            eprintln!("----- last {TAIL_LINES} lines of {} -----", log.display());
            eprintln!("{}", tail(&log, TAIL_LINES));
        }
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_log_tails();
            if let Some(dir) = self.dir.take() {
                eprintln!("----- kept {} -----", dir.keep().display());
            }
        }
    }
}

/// The last `n` lines of a file.
pub(crate) fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A running `messenger-gateway serve` child. Dropping it kills it (SIGKILL) and reaps it.
pub(crate) struct GatewayProcess {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its `server.instance_id`, as it logged it.
    pub instance: String,
    stderr: PathBuf,
}

impl GatewayProcess {
    /// Starts `messenger-gateway --log-format json serve --config CONFIG` with its stdout and
    /// stderr in `{label}.stdout` / `{label}.stderr` of `dir`, and waits until it serves.
    pub(crate) async fn start(dir: &Workdir, label: &str, config: &Path) -> Self {
        Self::spawn(dir, label, config, None, None).await
    }

    /// [`GatewayProcess::start`] under `wrapper` (a command and its arguments, which then run
    /// the gateway: `valgrind --tool=callgrind`); an empty `wrapper` runs it directly. The
    /// wrapper's files land in `dir`.
    #[allow(dead_code)]
    pub(crate) async fn start_wrapped(
        dir: &Workdir,
        label: &str,
        config: &Path,
        wrapper: &[String],
    ) -> Self {
        Self::spawn_with(dir, label, config, wrapper.to_vec(), None).await
    }

    /// [`GatewayProcess::start`] in the working directory `cwd`, where the configuration's
    /// relative paths (the default `./data`) are.
    pub(crate) async fn start_in(dir: &Workdir, label: &str, config: &Path, cwd: &Path) -> Self {
        Self::spawn(dir, label, config, None, Some(cwd)).await
    }

    /// [`GatewayProcess::start`], with the child's open-file limit (soft and hard) set to
    /// `nofile` first (by util-linux's `prlimit`, which then runs the gateway itself).
    pub(crate) async fn start_with_file_limit(
        dir: &Workdir,
        label: &str,
        config: &Path,
        nofile: Option<u64>,
    ) -> Self {
        Self::spawn(dir, label, config, nofile, None).await
    }

    async fn spawn(
        dir: &Workdir,
        label: &str,
        config: &Path,
        nofile: Option<u64>,
        cwd: Option<&Path>,
    ) -> Self {
        // util-linux's `prlimit` sets the limit, then runs the gateway itself.
        let wrapper = nofile
            .map(|n| {
                vec![
                    "prlimit".to_owned(),
                    format!("--nofile={n}:{n}"),
                    "--".to_owned(),
                ]
            })
            .unwrap_or_default();
        Self::spawn_with(dir, label, config, wrapper, cwd).await
    }

    async fn spawn_with(
        dir: &Workdir,
        label: &str,
        config: &Path,
        wrapper: Vec<String>,
        cwd: Option<&Path>,
    ) -> Self {
        let stdout_path = dir.path().join(format!("{label}.stdout"));
        let stderr_path = dir.path().join(format!("{label}.stderr"));
        let stdout = File::create(&stdout_path).expect("creating the stdout log");
        let stderr = File::create(&stderr_path).expect("creating the stderr log");
        let binary = env!("CARGO_BIN_EXE_messenger-gateway");
        let mut command = match wrapper.split_first() {
            None => Command::new(binary),
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(binary);
                c
            }
        };
        // Relative paths of the configuration (the default `./data`: the SQLite file, the
        // instance id on PostgreSQL) land in the test's directory.
        command.current_dir(cwd.unwrap_or(dir.path()));
        let child = command
            .args(["--log-format", "json", "serve", "--config"])
            .arg(config)
            // The per-request lines would only slow the child down.
            .env("RUST_LOG", "info,messenger_gateway::http=warn")
            .env_remove("MESSENGER__DATABASE__URL")
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawning the messenger-gateway binary");
        let mut process = Self {
            child: Some(child),
            base: String::new(),
            instance: String::new(),
            stderr: stderr_path,
        };
        let what = format!("{label}: the gateway serving");
        let (addr, instance) = wait::until(&what, Duration::from_millis(20), || {
            let started = started_line(&process.stderr);
            if started.is_none() {
                if let Some(status) = process.try_wait() {
                    panic!(
                        "{label}: the gateway exited with {status} before serving:\n{}",
                        tail(&process.stderr, TAIL_LINES)
                    );
                }
            }
            let log = tail(&process.stderr, TAIL_LINES);
            async move { started.ok_or(log) }
        })
        .await;
        process.base = format!("http://{addr}");
        process.instance = instance;
        process
    }

    fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().expect("waiting for the child"))
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("the child is running").id()
    }

    /// `kill -9`: no chance to clean up. Returns once the process is gone.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            // std's Child::kill is SIGKILL on Unix.
            child.kill().expect("SIGKILL");
            child.wait().expect("reaping the killed child");
        }
    }

    /// Sends SIGTERM and waits (at most `timeout`) for the exit; returns the exit status and
    /// how long the exit took. Panics (after a SIGKILL) when the process is still running.
    pub(crate) async fn terminate(&mut self, timeout: Duration) -> (ExitStatus, Duration) {
        let pid = self.pid();
        let sent = Instant::now();
        let kill = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .expect("running kill -TERM");
        assert!(kill.success(), "kill -TERM {pid} failed: {kill}");
        loop {
            if let Some(status) = self.try_wait() {
                self.child = None;
                return (status, sent.elapsed());
            }
            if sent.elapsed() > timeout {
                self.kill9();
                panic!(
                    "the gateway did not exit within {timeout:?} of SIGTERM:\n{}",
                    tail(&self.stderr, TAIL_LINES)
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The whole stderr log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `messenger-gateway --log-format json ARGS` in `cwd` until it exits (a command that ends by
/// itself: `migrate`, `backup`, a `serve` that is refused); returns its exit status and stderr.
/// Panics if it runs longer than `cap` (a guard against a hang only).
pub(crate) async fn run_to_exit(
    dir: &Workdir,
    label: &str,
    args: &[&std::ffi::OsStr],
    cwd: &Path,
    cap: Duration,
) -> (ExitStatus, String) {
    let stderr_path = dir.path().join(format!("{label}.stderr"));
    let stderr = File::create(&stderr_path).expect("creating the stderr log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_messenger-gateway"))
        .args(["--log-format", "json"])
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "info")
        .env_remove("MESSENGER__DATABASE__URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr))
        .spawn()
        .expect("spawning the messenger-gateway binary");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            return (
                status,
                std::fs::read_to_string(&stderr_path).unwrap_or_default(),
            );
        }
        if started.elapsed() > cap {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{label}: still running after {cap:?}:\n{}",
                tail(&stderr_path, TAIL_LINES)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The address and instance id from the "gateway started" line of a JSON log.
fn started_line(stderr: &Path) -> Option<(String, String)> {
    let file = File::open(stderr).ok()?;
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(&line).ok())
        .find(|v| v["message"] == "gateway started")
        .and_then(|v| {
            Some((
                v["addr"].as_str()?.to_owned(),
                v["instance"].as_str().unwrap_or_default().to_owned(),
            ))
        })
}

/// A field of `/proc/<pid>/status` in kB (`VmHWM`: peak RSS; `VmRSS`: now).
pub(crate) fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}
