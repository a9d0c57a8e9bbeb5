//! `legitka-sim` as a technician runs it: a feeder of numbered blanks
//! (`--blanks`), the technician's hands on its control port (`--control`),
//! and its own account of every card it took (`feeder.jsonl`), driven by
//! the real driver over TCP.

use legitka_drivers::evolis::{EvolisPrinter, EvolisSettings};
use legitka_drivers::transport::TcpTransport;
use legitka_drivers::{Capabilities, Cause, Mono, PanelSet, PrintError, Printer};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

const W: u32 = 1016;
const H: u32 = 648;

struct Sim {
    child: Child,
    printer: String,
    control: TcpStream,
    out: tempfile::TempDir,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sim {
    fn start(args: &[&str]) -> Sim {
        let out = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_legitka-sim"))
            .args(["--tcp", "127.0.0.1:0", "--control", "127.0.0.1:0", "--out"])
            .arg(out.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("legitka-sim starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let control = loop {
            let mut line = String::new();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "no control line");
            if let Some(rest) = line.strip_prefix("control: ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        // Keep reading the log so the simulator never blocks on a full pipe.
        std::thread::spawn(move || for _ in stderr.lines() {});
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let printer = line.trim().strip_prefix("tcp://").unwrap().to_string();
        Sim {
            child,
            printer,
            control: TcpStream::connect(control).unwrap(),
            out,
        }
    }

    /// One command, one answer line.
    fn say(&mut self, cmd: &str) -> String {
        self.control
            .write_all(format!("{cmd}\n").as_bytes())
            .unwrap();
        let mut line = String::new();
        BufReader::new(&self.control).read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }

    fn status(&mut self) -> serde_json::Value {
        let a = self.say("status");
        serde_json::from_str(a.strip_prefix("OK ").expect(&a)).unwrap()
    }

    fn driver(&self) -> EvolisPrinter {
        let link = TcpTransport::connect(&self.printer).unwrap();
        let caps = Capabilities {
            dpi: 300,
            width_px: W,
            height_px: H,
            ribbons: vec!["YMCKO".into()],
            duplex: false,
        };
        EvolisPrinter::connect(Box::new(link), EvolisSettings::default(), caps).unwrap()
    }

    fn feeder_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.out.path().join("feeder.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn card() -> PanelSet {
    let mut black = Mono::new(W, H);
    for x in 100..400 {
        black.set(x, 300, true);
    }
    PanelSet {
        colour: None,
        black: Some(black),
        overlay: None,
    }
}

fn line(card: u64, serial: &str, outcome: &str) -> (u64, String, String) {
    (card, serial.to_string(), outcome.to_string())
}

#[test]
fn every_card_taken_is_written_down_with_its_blank_and_what_became_of_it() {
    let mut sim = Sim::start(&["--blanks", "MEiN-I/1:000101:5"]);
    let st = sim.status();
    assert_eq!(st["feeder"], 5, "{st}");
    assert_eq!(st["next"], "MEiN-I/1 000101");
    let mut p = sim.driver();
    p.print(&card()).unwrap();
    p.print(&card()).unwrap();

    // The technician makes the next card jam, then clears it.
    assert_eq!(sim.say("fault jam"), "OK the next card fails: jam");
    let err = p.print(&card()).unwrap_err();
    assert!(
        matches!(
            err,
            PrintError::Spoiled {
                cause: Cause::CardJam,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(sim.status()["fault"], "card_jam");
    assert_eq!(sim.say("clear"), "OK card_jam cleared");

    // Takes the rest out: the serials, first to last.
    assert_eq!(sim.say("unload"), "OK 000104 000105");
    assert_eq!(sim.status()["feeder"], 0);
    let err = p.print(&card()).unwrap_err();
    assert!(
        matches!(err, PrintError::NotReady(Cause::FeederEmpty)),
        "{err:?}"
    );

    // A new stack behind what is there (nothing): the next card takes it.
    assert_eq!(
        sim.say("load MEiN-I/3-N 000200 2"),
        "OK loaded MEiN-I/3-N 000200 to 000201 (2 cards in the feeder)"
    );
    p.print(&card()).unwrap();
    // Pulled out mid-job: the card is pushed out unfinished.
    sim.say("fault unplug:1");
    let err = p.print(&card()).unwrap_err();
    assert!(matches!(err, PrintError::LostMidCard(_)), "{err:?}");

    assert!(sim.say("load MEiN-I/1 0001 x").starts_with("ERROR "));
    assert!(sim.say("fire").starts_with("ERROR unknown command"));

    let lines = sim.feeder_lines();
    let got: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                l["card"].as_u64().unwrap(),
                l["serial"].as_str().unwrap().to_string(),
                l["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            line(1, "000101", "printed"),
            line(2, "000102", "printed"),
            line(3, "000103", "spoiled"),
            line(4, "000200", "printed"),
            line(5, "000201", "ejected"),
        ]
    );
    assert_eq!(lines[0]["pattern"], "MEiN-I/1");
    assert_eq!(lines[3]["pattern"], "MEiN-I/3-N");
    assert_eq!(lines[2]["cause"], "card_jam");
    // The image a printed line names is the card as printed.
    assert_eq!(lines[3]["image"], "card-00004.png");
    assert_eq!(lines[2]["image"], serde_json::Value::Null);
    let img = image::open(sim.out.path().join("card-00004-k.png")).unwrap();
    assert_eq!((img.width(), img.height()), (W, H));
}

#[test]
fn plain_cards_come_first_and_a_job_left_silent_is_pushed_out() {
    let mut sim = Sim::start(&[
        "--feeder",
        "1",
        "--blanks",
        "MEiN-I/1:000101:1",
        "--blanks",
        "MEiN-I/1:000301:1",
        "--job-timeout",
        "0.5",
    ]);
    let mut p = sim.driver();
    p.print(&card()).unwrap();
    assert_eq!(sim.status()["next"], "MEiN-I/1 000101");
    // A driver that starts a card and falls silent (a killed station).
    let mut raw = TcpStream::connect(&sim.printer).unwrap();
    drop(p);
    raw.write_all(b"\x1bSs\r").unwrap();
    let mut reply = [0u8; 3];
    std::io::Read::read_exact(&mut raw, &mut reply).unwrap();
    assert_eq!(&reply, b"OK\r");
    assert_eq!(sim.status()["job_open"], true);
    std::thread::sleep(std::time::Duration::from_millis(900));
    let st = sim.status();
    assert_eq!(st["job_open"], false, "{st}");
    assert_eq!(st["next"], "MEiN-I/1 000301");
    let lines = sim.feeder_lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["serial"], serde_json::Value::Null);
    assert_eq!(lines[0]["outcome"], "printed");
    assert_eq!(lines[1]["serial"], "000101");
    assert_eq!(lines[1]["outcome"], "ejected");
    assert_eq!(lines[1]["cause"], "job timed out");
}
