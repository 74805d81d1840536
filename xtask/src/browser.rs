//! `cargo xtask browser`: makes sure headless Chromium and its WebDriver are installed, for the
//! console's browser test (crates/messenger-gateway/tests/console). `ci` runs it before the
//! tests.
//!
//! When `/usr/bin/chromedriver` is missing it installs Debian's `chromium` and
//! `chromium-driver` packages with `apt-get` (as root, or through `sudo -n` when that works);
//! otherwise it does nothing. Without a way to install, it fails under `CI=true` (the test
//! would fail there anyway) and only warns elsewhere.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Where Debian's `chromium-driver` puts the WebDriver server.
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The Debian packages to install.
const PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];

/// Installs the browser when it is missing.
pub(crate) fn run() -> Result<()> {
    if Path::new(CHROMEDRIVER).exists() {
        eprintln!("browser: {CHROMEDRIVER} is installed");
        return Ok(());
    }
    let prefix = match privilege() {
        Some(p) => p,
        None => {
            let msg = format!(
                "browser: {CHROMEDRIVER} is missing and this user can neither be root nor use \
                 sudo: install {} by hand",
                PACKAGES.join(" ")
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                bail!(msg);
            }
            eprintln!("{msg}");
            return Ok(());
        }
    };
    eprintln!(
        "browser: installing {} with apt-get (missing {CHROMEDRIVER})",
        PACKAGES.join(" ")
    );
    apt(&prefix, &["update"])?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(PACKAGES);
    apt(&prefix, &install)?;
    if !Path::new(CHROMEDRIVER).exists() {
        bail!("browser: apt-get installed the packages but {CHROMEDRIVER} is still missing");
    }
    Ok(())
}

/// How to become root: nothing when we are root, `sudo -n` when that works, else `None`.
fn privilege() -> Option<Vec<&'static str>> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        return Some(Vec::new());
    }
    let sudo = Command::new("sudo").args(["-n", "true"]).status().ok()?;
    sudo.success().then(|| vec!["sudo", "-n"])
}

fn apt(prefix: &[&str], args: &[&str]) -> Result<()> {
    let mut line: Vec<&str> = prefix.to_vec();
    line.push("apt-get");
    line.extend(args);
    let status = Command::new(line[0])
        .args(&line[1..])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .with_context(|| format!("could not start `{}`", line.join(" ")))?;
    if !status.success() {
        bail!("`{}` failed ({status})", line.join(" "));
    }
    Ok(())
}
