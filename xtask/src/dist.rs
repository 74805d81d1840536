//! `cargo xtask dist [--check]`: the gateway's release artefact, and its test.
//!
//! Builds `messenger-gateway` with the `dist` profile (release plus Rust line tables; the
//! production features: both SQL backends, no demo), moves its debug information to a separate file (`<name>.debug`, which the stripped
//! binary names by a GNU debuglink, so backtraces, gdb and addr2line find it beside the binary)
//! and packs `target/artefacts/<name>.tar.gz`, `<name>` being
//! `messenger-gateway-<version>-<host triple>`:
//!
//! - `messenger-gateway`, the binary (refused over [`MAX_BINARY_BYTES`]);
//! - `gateway.example.toml`, `messenger-gateway.service` and `README.md` from `dist/`;
//! - `LICENSE-MIT` and `LICENSE-APACHE`.
//!
//! The archive's entries are sorted, owned by root and dated by the last commit; it gets a
//! `.sha256` beside it. `--check` then unpacks it in a fresh directory, starts
//! `./messenger-gateway serve --config gateway.example.toml` there (its listeners moved to free
//! loopback ports through the environment) and waits for `/readyz` to answer 200.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::server::Server;
use crate::workspace;

/// The largest binary the archive may hold: 30 MB.
pub(crate) const MAX_BINARY_BYTES: u64 = 30 * 1000 * 1000;

/// The gateway's features in the artefact: both backends, no demo (graph-sim stays out).
const FEATURES: &str = "sqlite,postgres";

/// The files of `dist/` packed as they are.
pub(crate) const DIST_FILES: &[&str] = &[
    "gateway.example.toml",
    "messenger-gateway.service",
    "README.md",
];

/// The licence files packed from the root.
const LICENSES: &[&str] = &["LICENSE-MIT", "LICENSE-APACHE"];

/// What `dist` made.
#[derive(Debug)]
pub(crate) struct Artefact {
    /// The archive.
    pub tarball: PathBuf,
    /// The separate debug information.
    pub debug: PathBuf,
}

/// Runs `cargo xtask dist`, and with `check` the start-up test of the archive.
pub(crate) fn run(root: &Path, check: bool) -> Result<()> {
    let artefact = build(root)?;
    if check {
        check_archive(root, &artefact.tarball)?;
    }
    println!(
        "publish {} with {} beside it",
        artefact.tarball.display(),
        artefact.debug.display()
    );
    Ok(())
}

/// Builds the binary and packs the archive.
pub(crate) fn build(root: &Path) -> Result<Artefact> {
    let metadata = workspace::metadata(root)?;
    let gateway = workspace::member(&metadata, "messenger-gateway")?;
    let version = gateway.version.clone();
    let target_dir = metadata.target_directory.as_std_path().to_path_buf();

    eprintln!(
        "    cargo build --profile dist -p messenger-gateway --bin messenger-gateway --no-default-features --features {FEATURES}"
    );
    let status = workspace::cargo()
        .current_dir(root)
        .args(["build", "--profile", "dist", "-p", "messenger-gateway"])
        .args(["--bin", "messenger-gateway", "--no-default-features"])
        .args(["--features", FEATURES])
        .status()
        .context("could not run cargo build")?;
    if !status.success() {
        bail!("the release build of messenger-gateway failed ({status})");
    }
    let built = target_dir.join("dist").join("messenger-gateway");
    let built_size = size(&built)?;

    let name = format!("messenger-gateway-{version}-{}", host_triple()?);
    let dist_dir = target_dir.join("artefacts");
    let stage = dist_dir.join(&name);
    if stage.exists() {
        fs::remove_dir_all(&stage).with_context(|| format!("clearing {}", stage.display()))?;
    }
    fs::create_dir_all(&stage).with_context(|| format!("creating {}", stage.display()))?;

    // Debug information out of the binary, into `messenger-gateway.debug`, named by a
    // debuglink (its name and CRC) in the stripped binary.
    let binary = stage.join("messenger-gateway");
    let debug_name = "messenger-gateway.debug";
    let debug_tmp = dist_dir.join(debug_name);
    let objcopy = objcopy()?;
    run_tool(
        Command::new(&objcopy)
            .arg("--only-keep-debug")
            .arg(&built)
            .arg(&debug_tmp),
    )?;
    run_tool(
        Command::new(&objcopy)
            .arg("--strip-debug")
            .arg(format!("--add-gnu-debuglink={}", debug_tmp.display()))
            .arg(&built)
            .arg(&binary),
    )?;
    let debug = dist_dir.join(format!("{name}.debug"));
    fs::rename(&debug_tmp, &debug).with_context(|| format!("moving {}", debug.display()))?;
    let binary_size = size(&binary)?;
    if binary_size > MAX_BINARY_BYTES {
        bail!(
            "the gateway binary is {} after its debug information was split out, over the {} \
             limit: something large was linked in",
            mb(binary_size),
            mb(MAX_BINARY_BYTES)
        );
    }

    for file in DIST_FILES {
        copy(&root.join("dist").join(file), &stage.join(file))?;
    }
    for file in LICENSES {
        copy(&root.join(file), &stage.join(file))?;
    }

    let tarball = dist_dir.join(format!("{name}.tar.gz"));
    let mtime = last_commit_time(root).unwrap_or_else(|| "0".to_owned());
    run_tool(
        Command::new("tar")
            .arg("--sort=name")
            .args(["--owner=0", "--group=0", "--numeric-owner"])
            .arg(format!("--mtime=@{mtime}"))
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(&dist_dir)
            .arg(&name),
    )?;
    let digest = hex_sha256(&tarball)?;
    fs::write(
        dist_dir.join(format!("{name}.tar.gz.sha256")),
        format!("{digest}  {name}.tar.gz\n"),
    )
    .context("writing the checksum")?;

    println!("built:   target/dist/messenger-gateway {}", mb(built_size));
    println!("binary:  {} (debug information split out)", mb(binary_size));
    println!("debug:   {} {}", debug.display(), mb(size(&debug)?));
    println!("archive: {} {}", tarball.display(), mb(size(&tarball)?));
    println!("sha256:  {digest}");
    Ok(Artefact { tarball, debug })
}

/// Unpacks `tarball` in a fresh directory, serves with the example configuration from there and
/// waits for `/readyz` to answer 200.
pub(crate) fn check_archive(root: &Path, tarball: &Path) -> Result<()> {
    let metadata = workspace::metadata(root)?;
    let fresh = metadata
        .target_directory
        .as_std_path()
        .join(format!("dist-check-{}", std::process::id()));
    if fresh.exists() {
        fs::remove_dir_all(&fresh)?;
    }
    fs::create_dir_all(&fresh)?;
    let result = serve_from(&fresh, tarball);
    let _ = fs::remove_dir_all(&fresh);
    result
}

fn serve_from(fresh: &Path, tarball: &Path) -> Result<()> {
    run_tool(
        Command::new("tar")
            .arg("-xzf")
            .arg(tarball)
            .arg("-C")
            .arg(fresh),
    )?;
    let unpacked = fs::read_dir(fresh)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .context("the archive holds no directory")?;
    for file in DIST_FILES
        .iter()
        .chain(LICENSES)
        .chain(&["messenger-gateway"])
    {
        if !unpacked.join(file).is_file() {
            bail!("the archive has no {file}");
        }
    }
    let (port, ops_port) = (free_port()?, free_port()?);
    let log_path = fresh.join("gateway.log");
    let log = fs::File::create(&log_path)?;
    let mut command = Command::new(unpacked.join("messenger-gateway"));
    command
        .args(["serve", "--config", "gateway.example.toml"])
        .current_dir(&unpacked)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("MESSENGER__") {
            command.env_remove(key);
        }
    }
    command
        .env("MESSENGER__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "MESSENGER__SERVER__OPS_LISTEN",
            format!("127.0.0.1:{ops_port}"),
        );
    let mut server = Server(
        command
            .spawn()
            .context("could not start the unpacked gateway")?,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.0.try_wait()? {
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            bail!("the unpacked gateway exited at start ({status}):\n{log}");
        }
        if status_of(ops_port, "/readyz").ok() == Some(200) {
            break;
        }
        if Instant::now() > deadline {
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            bail!("the unpacked gateway's /readyz did not answer 200 within 60 s:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if !unpacked.join("data").join("messenger.db").is_file() {
        bail!("the example configuration did not create data/messenger.db where it was started");
    }
    println!(
        "dist check: unpacked {} in a fresh directory, served with gateway.example.toml, /readyz 200",
        tarball.file_name().unwrap_or_default().to_string_lossy()
    );
    Ok(())
}

/// The HTTP status of `GET path` on loopback `port`.
fn status_of(port: u16, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("could not bind loopback")?;
    Ok(listener.local_addr()?.port())
}

/// The toolchain's own objcopy (`rust-objcopy`, LLVM's, shipped with rustc), else `objcopy`.
fn objcopy() -> Result<PathBuf> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("could not run rustc")?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    let bundled = Path::new(&sysroot)
        .join("lib")
        .join("rustlib")
        .join(host_triple()?)
        .join("bin")
        .join("rust-objcopy");
    if bundled.is_file() {
        return Ok(bundled);
    }
    Ok(PathBuf::from("objcopy"))
}

/// `rustc -vV`'s `host:`.
fn host_triple() -> Result<String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("could not run rustc")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

fn last_commit_time(root: &Path) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["log", "-1", "--format=%ct"])
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_owned()).filter(|t| !t.is_empty() && output.status.success())
}

fn run_tool(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .with_context(|| format!("could not run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

fn size(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path)
        .with_context(|| format!("no {}", path.display()))?
        .len())
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

fn hex_sha256(path: &Path) -> Result<String> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_is_hardened_and_keeps_sqlite_in_its_state_directory() {
        let unit =
            fs::read_to_string(workspace::project_root().join("dist/messenger-gateway.service"))
                .unwrap();
        for line in [
            "DynamicUser=yes",
            "StateDirectory=messenger-gateway",
            "WorkingDirectory=%S/messenger-gateway",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "ProtectHome=yes",
            "CapabilityBoundingSet=\n",
            "ExecStart=/usr/local/bin/messenger-gateway serve --config /etc/messenger-gateway/gateway.toml",
        ] {
            assert!(unit.contains(line), "the unit lacks {line:?}");
        }
        let example =
            fs::read_to_string(workspace::project_root().join("dist/gateway.example.toml"))
                .unwrap();
        assert!(example.contains("url = \"sqlite://./data/messenger.db?mode=rwc\""));
    }

    #[test]
    fn every_packed_file_exists() {
        let root = workspace::project_root();
        for file in DIST_FILES {
            assert!(root.join("dist").join(file).is_file(), "dist/{file}");
        }
        for file in LICENSES {
            assert!(root.join(file).is_file(), "{file}");
        }
    }
}
