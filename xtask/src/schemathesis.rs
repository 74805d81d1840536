//! `cargo xtask schemathesis`: an independent fuzzer holds the gateway to its OpenAPI document.
//!
//! The step makes (once) a Python virtual environment under `target/schemathesis-venv` with a
//! pinned schemathesis, builds `messenger-gateway` and `graph-sim`, starts graph-sim as Graph and
//! the gateway on a fresh SQLite database with a test configuration (one space, a known key, the
//! SMS provider and the business webhook on a closed port: the business's events die, which fills
//! the dead-letter list), and runs
//! `st run` over every path of `docs/openapi.json` (the API, Meta's webhook, the operations and
//! admin routes) with every check, the stateful phase following the document's links. The hook `xtask/schemathesis/hooks.py` adds
//! one check: a schema-valid request to an operation with `x-rules-beyond-schema` may be 400
//! only for a rule listed there. Any failure fails the step.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::server::Server;
use crate::workspace;

/// The schemathesis release the step installs (exact: a new release can find new things).
pub(crate) const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// Examples generated per operation and phase; with it the step takes about a minute on 2 cores.
pub(crate) const MAX_EXAMPLES: u32 = 50;

/// The API space and key of the test configuration.
const SPACE: &str = "st";
const KEY: &str = "schemathesis-key-0123456789";

/// The page, its token and the app secret graph-sim and the gateway share.
const PAGE_ID: &str = "1000000001";
const PAGE_TOKEN: &str = "EAAB-schemathesis-page-token";
const APP_SECRET: &str = "5c4e3a2b1d0f9e8d7c6b5a4f3e2d1c0b";

/// Runs the step from the workspace `root`.
pub(crate) fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    let venv = root.join("target").join("schemathesis-venv");
    let st = ensure_venv(&venv)?;
    let (gateway, sim) = build_binaries(root)?;
    let run_dir = root.join("target").join("schemathesis-run");
    if run_dir.exists() {
        std::fs::remove_dir_all(&run_dir)
            .with_context(|| format!("could not clear {}", run_dir.display()))?;
    }
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("could not create {}", run_dir.display()))?;
    let sim_port = free_port()?;
    let sim_log = std::fs::File::create(run_dir.join("graph-sim.log"))
        .context("could not create the graph-sim log")?;
    let sim_child = Command::new(&sim)
        .args(["--listen", &format!("127.0.0.1:{sim_port}")])
        .args(["--page", &format!("{PAGE_ID}:{PAGE_TOKEN}")])
        .args(["--app-secret", APP_SECRET])
        .stdout(
            sim_log
                .try_clone()
                .context("could not share the graph-sim log")?,
        )
        .stderr(sim_log)
        .spawn()
        .with_context(|| format!("could not start {}", sim.display()))?;
    let mut graph = Server(sim_child);
    wait_until_listening(sim_port, &mut graph.0, Duration::from_secs(30))?;

    let port = free_port()?;
    let config = run_dir.join("gateway.toml");
    std::fs::write(
        &config,
        gateway_config(port, sim_port, &run_dir.join("st.db")),
    )
    .context("could not write the gateway configuration")?;
    let st_config = run_dir.join("schemathesis.toml");
    std::fs::write(&st_config, schemathesis_config(port))
        .context("could not write the schemathesis configuration")?;

    let log = std::fs::File::create(run_dir.join("gateway.log"))
        .context("could not create the gateway log")?;
    let child = Command::new(&gateway)
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(log.try_clone().context("could not share the gateway log")?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("could not start {}", gateway.display()))?;
    let mut server = Server(child);
    wait_until_healthy(port, &mut server.0, Duration::from_secs(60))?;
    eprintln!("    gateway up on 127.0.0.1:{port} (log: target/schemathesis-run/gateway.log)");

    let status = Command::new(&st)
        .arg("--config-file")
        .arg(&st_config)
        .arg("--no-color")
        .arg("run")
        .arg(root.join("docs").join("openapi.json"))
        // Every path of the document: the API, Meta's webhook, the operations routes and the
        // admin routes (no admin key is configured: they must still answer as documented).
        .args(["--checks", "all"])
        // The same cases on every run, so CI passes or fails on the code, not on the draw;
        // `MESSENGER_FUZZ_SEED` picks another seed to explore.
        .args(["--seed", &seed()])
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", root.join("xtask").join("schemathesis"))
        .current_dir(&run_dir)
        .status()
        .with_context(|| format!("could not start {}", st.display()))?;
    drop(server);
    drop(graph);
    if !status.success() {
        bail!(
            "schemathesis found disagreements between docs/openapi.json and the gateway ({status})"
        );
    }
    eprintln!(
        "    schemathesis {SCHEMATHESIS_VERSION}: nothing found in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The `st` of the venv, creating the venv and installing the pinned release when needed.
fn ensure_venv(venv: &Path) -> Result<PathBuf> {
    let st = venv.join("bin").join("st");
    let python = venv.join("bin").join("python3");
    if st.exists() && installed_version(&st).as_deref() == Some(SCHEMATHESIS_VERSION) {
        return Ok(st);
    }
    // Debian's python3 needs python3-venv (ensurepip) for `-m venv`.
    if !python.exists() && !make_venv(venv)? {
        install_python3_venv()?;
        if !make_venv(venv)? {
            bail!(
                "`python3 -m venv {}` failed even with python3-venv",
                venv.display()
            );
        }
    }
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg(format!("schemathesis=={SCHEMATHESIS_VERSION}"))
        .status()
        .context("could not run pip")?;
    if !status.success() {
        bail!("pip could not install schemathesis=={SCHEMATHESIS_VERSION} ({status})");
    }
    match installed_version(&st) {
        Some(v) if v == SCHEMATHESIS_VERSION => Ok(st),
        other => bail!("st reports version {other:?}, not {SCHEMATHESIS_VERSION}"),
    }
}

/// Whether `python3 -m venv` made the venv (a failed attempt's leftovers are removed).
fn make_venv(venv: &Path) -> Result<bool> {
    eprintln!("    creating {}", venv.display());
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .status()
        .context("python3 is needed for the schemathesis step")?;
    if !status.success() && venv.exists() {
        std::fs::remove_dir_all(venv)
            .with_context(|| format!("could not remove {}", venv.display()))?;
    }
    Ok(status.success())
}

fn install_python3_venv() -> Result<()> {
    eprintln!("    python3 -m venv failed: installing python3-venv with apt-get");
    for args in [
        &["update", "-q"][..],
        &["install", "-y", "-q", "python3-venv"][..],
    ] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("python3 -m venv failed and apt-get is not available")?;
        if !status.success() {
            bail!("`apt-get {}` failed ({status})", args.join(" "));
        }
    }
    Ok(())
}

/// `st --version` says `st, version X.Y.Z`.
fn installed_version(st: &Path) -> Option<String> {
    let out = Command::new(st).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .rsplit(' ')
        .next()
        .map(str::to_owned)
        .filter(|_| out.status.success())
}

/// The fuzzer's seed: `MESSENGER_FUZZ_SEED`, or a fixed one.
fn seed() -> String {
    std::env::var("MESSENGER_FUZZ_SEED").unwrap_or_else(|_| "20261130".to_owned())
}

/// Builds the gateway and graph-sim binaries and returns their paths in the workspace's target
/// directory.
fn build_binaries(root: &Path) -> Result<(PathBuf, PathBuf)> {
    let status = workspace::cargo()
        .args([
            "build",
            "-p",
            "messenger-gateway",
            "--bin",
            "messenger-gateway",
            "-p",
            "graph-sim",
            "--bin",
            "graph-sim",
        ])
        .current_dir(root)
        .status()
        .context("could not run cargo build")?;
    if !status.success() {
        bail!("building messenger-gateway and graph-sim failed ({status})");
    }
    let metadata = cargo_metadata::MetadataCommand::new()
        .current_dir(root)
        .no_deps()
        .exec()
        .context("cargo metadata failed")?;
    let debug = metadata.target_directory.as_std_path().join("debug");
    let binary = |name: &str| {
        let path = debug.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        if path.exists() {
            Ok(path)
        } else {
            Err(anyhow::anyhow!("no {name} binary at {}", path.display()))
        }
    };
    Ok((binary("messenger-gateway")?, binary("graph-sim")?))
}

/// A port free a moment ago on loopback.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("could not bind loopback")?;
    Ok(listener.local_addr()?.port())
}

/// Polls `GET /healthz` until it answers 200, the process exits, or `timeout` passes.
fn wait_until_healthy(port: u16, child: &mut Child, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "the gateway exited at start ({status}); see target/schemathesis-run/gateway.log"
            );
        }
        if healthz(port).unwrap_or(false) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the gateway did not answer /healthz within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Polls until `port` accepts a connection, the process exits, or `timeout` passes.
fn wait_until_listening(port: u16, child: &mut Child, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "graph-sim exited at start ({status}); see target/schemathesis-run/graph-sim.log"
            );
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("graph-sim did not listen within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn healthz(port: u16) -> std::io::Result<bool> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer.starts_with("HTTP/1.1 200"))
}

/// The gateway's test configuration: one space with a known key, Graph at graph-sim on
/// `sim_port`, the SMS provider and the business webhook on a closed port (the business's events
/// die and fill the dead-letter list that redrive takes from).
fn gateway_config(port: u16, sim_port: u16, db: &Path) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:{port}"
shutdown_grace_secs = 1

[database]
url = "sqlite://{db}?mode=rwc"

[facebook]
app_secret = "{APP_SECRET}"
verify_token = "schemathesis-verify-token"
token_key = "schemathesis-token-key-0123456789abcdef"
graph_base_url = "http://127.0.0.1:{sim_port}"

[dispatch]
max_attempts = 1
poll_interval_ms = 50

[[spaces]]
id = "{SPACE}"
page_id = "{PAGE_ID}"
page_token = "{PAGE_TOKEN}"
keys = ["{KEY}"]
customer_matching = true
window_check = "off"

[spaces.webhook]
url = "http://127.0.0.1:9/hook"
secret = "schemathesis-webhook-secret"
retry_schedule_secs = [1]
timeout_secs = 1

[spaces.sms]
base_url = "http://127.0.0.1:9"
account_sid = "ACschemathesis"
auth_token = "schemathesis-sms-token"
from = "+15005550006"
"#,
        db = db.display()
    )
}

/// The schemathesis configuration: the space fixed, the key sent, every check; the two send
/// operations may answer 400 to schema-valid data, which the hook holds to the document's
/// `x-rules-beyond-schema`, and 422 to a send naming a channel the space has not connected
/// (Instagram), which the hook holds to `/problems/channel-not-connected`. The sender action, persona and thread control operations call Graph
/// (graph-sim) at once: Graph may refuse schema-valid data for the recipient or the request (422,
/// documented; another app controlling the conversation, for one).
/// The message listing answers 400 to a cursor it did not make (the cursor is opaque: no schema
/// can say which strings it made), to two recipient filters at once and to `until` before
/// `since`, each listed in its `x-rules-beyond-schema`, which the hook holds it to.
fn schemathesis_config(port: u16) -> String {
    format!(
        r#"base-url = "http://127.0.0.1:{port}"
workers = 1
headers = {{ Authorization = "Bearer {KEY}" }}

[generation]
max-examples = {MAX_EXAMPLES}

[parameters]
space = "{SPACE}"

[[operations]]
include-operation-id = ["sendMessage", "sendBatch"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422"]

[[operations]]
include-operation-id = ["listMessages"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

[[operations]]
include-operation-id = ["sendAction", "createPersona", "listPersonas", "deletePersona", "passThread", "takeThread", "releaseThread", "requestThread", "threadOwner"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "422"]
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configurations_name_one_space_and_key() {
        let gw = gateway_config(4321, 4322, Path::new("/tmp/x/st.db"));
        let parsed: toml::Value = toml::from_str(&gw).unwrap();
        assert_eq!(parsed["server"]["listen"].as_str(), Some("127.0.0.1:4321"));
        assert_eq!(
            parsed["facebook"]["graph_base_url"].as_str(),
            Some("http://127.0.0.1:4322")
        );
        assert_eq!(parsed["spaces"][0]["page_id"].as_str(), Some(PAGE_ID));
        assert_eq!(parsed["spaces"][0]["id"].as_str(), Some(SPACE));
        assert_eq!(parsed["spaces"][0]["keys"][0].as_str(), Some(KEY));
        let st: toml::Value = toml::from_str(&schemathesis_config(4321)).unwrap();
        assert_eq!(st["parameters"]["space"].as_str(), Some(SPACE));
        assert_eq!(
            st["headers"]["Authorization"].as_str(),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(
            st["generation"]["max-examples"].as_integer(),
            Some(i64::from(MAX_EXAMPLES))
        );
    }

    #[test]
    fn the_hook_file_is_where_the_step_loads_it() {
        let hooks = workspace::project_root()
            .join("xtask")
            .join("schemathesis")
            .join("hooks.py");
        let text = std::fs::read_to_string(hooks).unwrap();
        assert!(text.contains("x-rules-beyond-schema"));
    }
}
