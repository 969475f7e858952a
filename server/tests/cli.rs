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
