//! The technician's hands on the simulated printer: a line protocol on a TCP
//! port (`legitka-sim --control 127.0.0.1:PORT`), one line answered per
//! command, `OK ...` or `ERROR why`.
//!
//! | command | what the technician does |
//! | --- | --- |
//! | `load PATTERN FIRST COUNT` | puts a stack of numbered blanks in behind what is there |
//! | `unload` | takes every card out of the feeder; answers the serials, first to last (`plain` for a white card) |
//! | `fault KIND` | the next card fails that way: `jam`, `cover`, `ribbon`, `unplug:SECONDS`, `reply:COMMAND[:TEXT]` |
//! | `clear` | clears a standing fault (jam taken out, cover closed) |
//! | `plain N` | puts N plain white cards in |
//! | `ribbon N` | fits a new ribbon good for N cards |
//! | `status` | `OK` and one line of JSON: the feeder, the job, the fault |

use crate::feeder::Stack;
use crate::printer::SimHandle;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use tracing::{info, warn};

/// Carries out one command line and returns the answer (without newline).
pub fn command(sim: &SimHandle, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let answer = match words.as_slice() {
        ["load", pattern, first, count] => count
            .parse::<u32>()
            .map_err(|_| format!("{count:?} is not a count"))
            .and_then(|n| Stack::new(pattern, first, n).map_err(|e| e.to_string()))
            .map(|stack| {
                let (a, b) = (stack.serials[0].clone(), stack.serials.last().cloned());
                let n = sim.with(|p| {
                    p.load_blanks(&stack);
                    p.feeder().len()
                });
                format!(
                    "loaded {pattern} {a} to {} ({n} cards in the feeder)",
                    b.unwrap_or_default()
                )
            }),
        ["unload"] => Ok(sim
            .with(|p| p.take_all_blanks())
            .iter()
            .map(|b| b.serial.clone().unwrap_or_else(|| "plain".into()))
            .collect::<Vec<_>>()
            .join(" ")),
        ["fault", kind] => sim
            .with(|p| p.fail_next(kind))
            .map(|()| format!("the next card fails: {kind}")),
        ["clear"] => Ok(sim.with(|p| match p.faults.active.take() {
            Some(c) => format!("{c} cleared"),
            None => "no fault was standing".into(),
        })),
        ["plain", n] => n
            .parse::<u32>()
            .map_err(|_| format!("{n:?} is not a count"))
            .map(|n| {
                let total = sim.with(|p| {
                    p.refill_feeder(n);
                    p.feeder().len()
                });
                format!("{n} plain cards put in ({total} cards in the feeder)")
            }),
        ["ribbon", n] => n
            .parse::<u32>()
            .map_err(|_| format!("{n:?} is not a count"))
            .map(|n| {
                sim.with(|p| p.replace_ribbon(n));
                format!("new ribbon, {n} cards")
            }),
        ["status"] => Ok(sim.with(|p| status(p).to_string())),
        _ => Err(format!(
            "unknown command {:?}: load PATTERN FIRST COUNT, unload, fault KIND, clear, plain N, ribbon N, status",
            crate::printer::clip(line, 60)
        )),
    };
    match answer {
        Ok(a) if a.is_empty() => "OK".into(),
        Ok(a) => format!("OK {a}"),
        Err(e) => format!("ERROR {e}"),
    }
}

fn status(p: &mut crate::printer::SimPrinter) -> serde_json::Value {
    p.tick();
    let f = p.feeder();
    serde_json::json!({
        "feeder": f.len(),
        "next": f.cards().next().map(|b| b.label()),
        "taken": f.taken(),
        "printed": p.printed_total(),
        "printing": p.is_printing(),
        "job_open": p.job_open(),
        "fault": p.faults.active.map(|c| c.as_str()),
        "ribbon_left": p.ribbon_left(),
    })
}

/// Listens on `addr` in a thread of its own; returns the address bound.
pub fn listen(addr: &str, sim: SimHandle) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("legitka-sim-control".into())
        .spawn(move || {
            for conn in listener.incoming() {
                match conn {
                    Ok(stream) => {
                        let sim = sim.clone();
                        std::thread::spawn(move || {
                            if let Err(e) = session(stream, &sim) {
                                info!(error = %e, "control connection closed");
                            }
                        });
                    }
                    Err(e) => warn!(error = %e, "control port"),
                }
            }
        })?;
    Ok(bound)
}

fn session(stream: TcpStream, sim: &SimHandle) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        // A line is a command: kilobytes without a newline are not one.
        let n = std::io::Read::take(&mut reader, 4096).read_line(&mut line)?;
        if n == 0 {
            return Ok(());
        }
        let cmd = line.trim();
        if cmd.is_empty() {
            continue;
        }
        let answer = command(sim, cmd);
        info!(command = %crate::printer::clip(cmd, 60), answer = %crate::printer::clip(&answer, 120), "control");
        out.write_all(answer.as_bytes())?;
        out.write_all(b"\n")?;
    }
}
