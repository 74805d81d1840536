//! A small disk the test makes: a tmpfs of a few megabytes mounted in the test's directory
//! (root only), unmounted when dropped. Outside CI a machine that cannot mount skips the test
//! with one line on stderr; with `CI=true` it fails loudly, like an unreachable PostgreSQL.

use std::io::Write;
use std::path::{Path, PathBuf};

use messenger_test_support::ci::skip_or_fail;
use std::process::Command;

/// A mounted tmpfs of a fixed size.
pub(crate) struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `megabytes` at `dir` (created). `None` after a skip line when this
    /// machine cannot mount (not root, no tmpfs) outside CI; in CI that fails the test.
    pub(crate) fn mount(dir: &Path, megabytes: u32) -> Option<Self> {
        std::fs::create_dir_all(dir).expect("creating the mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Self {
                dir: dir.to_path_buf(),
            }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                    Err(e) => e.to_string(),
                };
                skip_or_fail(
                    "tmpfs",
                    &format!("cannot mount a {megabytes} MB tmpfs (run as root): {why}"),
                );
                None
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    /// Fills the disk with `name` until a write fails for lack of space, then gives back
    /// `leave` bytes: what is left is about `leave`. Returns the filler's path.
    pub(crate) fn fill_leaving(&self, name: &str, leave: u64) -> PathBuf {
        let path = self.dir.join(name);
        let mut file = std::fs::File::create(&path).expect("creating the filler");
        let chunk = vec![0x5a_u8; 64 * 1024];
        let mut written: u64 = 0;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling the small disk: {e}"),
            }
        }
        drop(file);
        let keep = written.saturating_sub(leave);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(keep))
            .expect("giving space back");
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let done = Command::new("umount").arg(&self.dir).status();
        if !done.is_ok_and(|s| s.success()) {
            // Something still holds a file there: detach it now, it goes when released.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}
