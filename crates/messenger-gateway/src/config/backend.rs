//! Which database backends this build can open: `memory://` always, each SQL backend when its
//! cargo feature (`sqlite`, `postgres`) is compiled in.

use messenger_store_sql::Backend;

/// Whether this build can open the store `url` names: `memory://`, or a SQL backend whose cargo
/// feature is compiled in. The error is the problem with `database.url` (never the URL itself):
/// an unknown scheme, or the feature (`sqlite`, `postgres`) to build the gateway with.
pub(crate) fn check_backend(url: &str) -> Result<(), String> {
    const SCHEMES: &str = "must start with sqlite:, postgres:, postgresql: or memory:";
    let Some((scheme, _)) = url.split_once(':') else {
        return Err(SCHEMES.to_owned());
    };
    if scheme.eq_ignore_ascii_case("memory") {
        return Ok(());
    }
    match Backend::from_url(url) {
        Some(backend) if backend.is_compiled() => Ok(()),
        Some(backend) => Err(format!(
            "{backend} is not compiled into this gateway; build it with the `{}` feature \
             (`cargo build -p messenger-gateway --features {}`)",
            backend.feature(),
            backend.feature()
        )),
        None => Err(SCHEMES.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_left_out_of_the_build_are_named_with_their_feature() {
        assert_eq!(check_backend("memory://"), Ok(()));
        assert!(check_backend("mysql://db/m").is_err());
        for (url, compiled, feature) in [
            (
                "sqlite://./data/m.db",
                cfg!(feature = "sqlite"),
                "`sqlite` feature",
            ),
            (
                "postgres://db/m",
                cfg!(feature = "postgres"),
                "`postgres` feature",
            ),
            (
                "postgresql://db/m",
                cfg!(feature = "postgres"),
                "`postgres` feature",
            ),
        ] {
            match check_backend(url) {
                Ok(()) => assert!(compiled, "{url}"),
                Err(problem) => {
                    assert!(!compiled, "{url}: {problem}");
                    assert!(problem.contains(feature), "{problem}");
                    assert!(
                        !problem.contains("db/m"),
                        "the URL is not repeated: {problem}"
                    );
                }
            }
        }
    }
}
