//! The process's open-file limit: every connection is a file descriptor, and a soft limit of
//! 256 or 1024 (common defaults) lets a few hundred idle connections shut everyone out. The
//! soft limit is raised to the hard one at start; the connection cap is kept under it.

use rlimit::Resource;

/// Raises the soft limit on open files to the hard limit, and logs both. Returns the soft
/// limit in force afterwards (`None` where it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    let (soft, hard) = match rlimit::getrlimit(Resource::NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            tracing::warn!(error = %e, "the open-file limit cannot be read");
            return None;
        }
    };
    if soft >= hard {
        tracing::info!(soft, hard, "open-file limit");
        return Some(soft);
    }
    match rlimit::setrlimit(Resource::NOFILE, hard, hard) {
        Ok(()) => {
            tracing::info!(
                soft = hard,
                was = soft,
                hard,
                "open-file limit raised to the hard limit"
            );
            Some(hard)
        }
        Err(e) => {
            tracing::warn!(error = %e, soft, hard, "the open-file limit could not be raised");
            Some(soft)
        }
    }
}

/// The soft limit on open files now.
pub fn open_file_limit() -> Option<u64> {
    rlimit::getrlimit(Resource::NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}
