//! The operator's commands run as a person runs them: the `legitka` binary
//! in a process of its own, on the running station's configuration.

use std::path::Path;
use std::process::Command;

/// Runs `legitka <args> --config <config>`: (success, stdout, stderr).
pub fn legitka(config: &Path, args: &[&str]) -> (bool, String, String) {
    run(config, args, None)
}

/// The same on another day (`2025-10-01`): the school year's rules as they
/// stand then (`LEGITKA_TEST_TODAY`, read by debug builds only).
pub fn legitka_on(today: &str, config: &Path, args: &[&str]) -> (bool, String, String) {
    run(config, args, Some(today))
}

fn run(config: &Path, args: &[&str], today: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_legitka"));
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .env("LEGITKA_LOG", "warn");
    if let Some(d) = today {
        cmd.env("LEGITKA_TEST_TODAY", d);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The command succeeds; its standard output.
pub fn ok(config: &Path, args: &[&str]) -> String {
    succeeded(args, legitka(config, args))
}

/// The command succeeds on `today`; its standard output.
pub fn ok_on(today: &str, config: &Path, args: &[&str]) -> String {
    succeeded(args, legitka_on(today, config, args))
}

fn succeeded(args: &[&str], (success, out, err): (bool, String, String)) -> String {
    assert!(success, "legitka {args:?} failed: {err}");
    out
}

/// The command is refused, with a non-zero exit and `why` in its message.
pub fn refused(config: &Path, args: &[&str], why: &str) {
    was_refused(args, legitka(config, args), why)
}

/// The command is refused on `today`.
pub fn refused_on(today: &str, config: &Path, args: &[&str], why: &str) {
    was_refused(args, legitka_on(today, config, args), why)
}

fn was_refused(args: &[&str], (success, out, err): (bool, String, String), why: &str) {
    assert!(!success, "legitka {args:?} should be refused; said {out}");
    assert!(err.contains(why), "legitka {args:?}: {err:?} lacks {why:?}");
}

/// A report's text, every page, after checking each page is A4 landscape.
pub fn pdf_text(path: &Path) -> String {
    let doc = lopdf::Document::load(path).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    for id in doc.get_pages().values() {
        let media = doc
            .get_dictionary(*id)
            .unwrap()
            .get(b"MediaBox")
            .unwrap()
            .as_array()
            .unwrap()
            .clone();
        let mm = |i: usize| media[i].as_float().unwrap() * 25.4 / 72.0;
        assert!(
            (mm(2) - 297.0).abs() < 0.5 && (mm(3) - 210.0).abs() < 0.5,
            "A4 landscape"
        );
    }
    doc.extract_text(&pages).unwrap()
}

/// `legitka user add` with the password on standard input, as a person
/// types it (`--password-stdin`).
pub fn add_user(config: &Path, login: &str, name: &str, role: &str, password: &str) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args([
            "user",
            "add",
            "--login",
            login,
            "--name",
            name,
            "--role",
            role,
            "--password-stdin",
            "--config",
        ])
        .arg(config)
        .env("LEGITKA_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "user add {login}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A delivery of numbered MEiN-I/1 blanks from `first`, recorded by the
/// `legitka blanks receive` command.
pub fn receive_blanks(config: &Path, first: &str, count: u32, operator: &str) {
    let count = count.to_string();
    ok(
        config,
        &[
            "blanks",
            "receive",
            "--pattern",
            "MEiN-I/1",
            "--first",
            first,
            "--count",
            &count,
            "--operator",
            operator,
        ],
    );
}

/// `legitka batch start` for a class on blanks from `first`: the batch's id.
pub fn start_class_batch(config: &Path, first: &str, class: &str, operator: &str) -> String {
    ok(
        config,
        &[
            "batch",
            "start",
            "--first-blank",
            first,
            "--operator",
            operator,
            "--class",
            class,
        ],
    )
    .trim()
    .to_string()
}

/// `legitka holograms receive`: a delivery of `count` stickers from `first`.
pub fn receive_holograms(config: &Path, year: &str, first: &str, count: u32, operator: &str) {
    let count = count.to_string();
    ok(
        config,
        &[
            "holograms",
            "receive",
            "--year",
            year,
            "--first",
            first,
            "--count",
            &count,
            "--operator",
            operator,
        ],
    );
}
