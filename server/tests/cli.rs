//! The binary's command line (this also makes `cargo test --workspace`
//! build `target/debug/tavolo-server`, which the `tests` crate drives).

use std::process::Command;

#[test]
fn help_lists_the_contract_options() {
    let out = Command::new(env!("CARGO_BIN_EXE_tavolo-server"))
        .arg("--help")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--addr",
        "--data-dir",
        "TAVOLO_ADDR",
        "TAVOLO_DATA_DIR",
        "127.0.0.1:8080",
        "./data",
    ] {
        assert!(help.contains(option), "help lacks {option}:\n{help}");
    }
}

#[test]
fn an_unparseable_address_is_refused_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_tavolo-server"))
        .args(["--addr", "not-an-address"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--addr"));
}

#[test]
fn an_unreachable_postgres_url_is_refused_with_a_message_and_no_password() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens there.
    let out = Command::new(env!("CARGO_BIN_EXE_tavolo-server"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args([
            "--database-url",
            "postgres://tavolo:s3cret@127.0.0.1:1/tavolo",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot connect to PostgreSQL"), "{stderr}");
    assert!(
        stderr.contains("postgres://tavolo:***@127.0.0.1:1/tavolo"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "the password leaked: {stderr}");
}
