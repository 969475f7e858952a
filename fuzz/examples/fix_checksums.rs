//! Writes FILE with every chunk checksum made valid, as the `guard` target
//! checks it (turns a crash artifact into the bytes that crash directly):
//! `cargo run --release --example fix_checksums -- IN OUT`.
fn main() {
    let mut args = std::env::args().skip(1);
    let (input, output) = (args.next().expect("IN"), args.next().expect("OUT"));
    let data = std::fs::read(&input).expect("read");
    let fixed = tavolo_fuzz::fix_checksums(&data).unwrap_or(data);
    std::fs::write(&output, fixed).expect("write");
}
