//! `messenger-gateway hash-key`: a key on stdin, its SHA-256 digest on stdout and nothing else;
//! an empty (or too weak) key is refused.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn hash_key(stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_messenger-gateway"))
        .arg("hash-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting messenger-gateway hash-key");
    child
        .stdin
        .take()
        .expect("a stdin pipe")
        .write_all(stdin)
        .expect("writing the key");
    child.wait_with_output().expect("waiting for hash-key")
}

#[test]
fn hash_key_prints_the_sha256_of_the_key_and_nothing_else() {
    // printf %s 'acme-live-key-0123456789' | openssl dgst -sha256
    // SHA2-256(stdin)= 2828d362a9a8e4d79a7c244528e273d9a6a54b3431bb9cf4ff06467cc252ffe3
    let expected = "2828d362a9a8e4d79a7c244528e273d9a6a54b3431bb9cf4ff06467cc252ffe3\n";
    // As typed (`echo key | ...`), as written by a program, and with a Windows line end.
    for input in [
        &b"acme-live-key-0123456789\n"[..],
        b"acme-live-key-0123456789",
        b"acme-live-key-0123456789\r\n",
    ] {
        let out = hash_key(input);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
        assert!(out.stderr.is_empty(), "{out:?}");
    }
}

#[test]
fn hash_key_refuses_an_empty_or_weak_key() {
    for input in [&b""[..], b"\n", b"short\n", b"a key with spaces in it\n"] {
        let out = hash_key(input);
        assert!(!out.status.success(), "{input:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{input:?}: {out:?}");
        assert!(!out.stderr.is_empty(), "{input:?}");
    }
}
