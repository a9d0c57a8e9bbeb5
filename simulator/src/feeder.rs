//! The feeder: plain white cards and stacks of numbered blanks, taken one at
//! a time, and the simulator's own account of every card it took: which
//! blank, and what became of it (`feeder.jsonl`). That account is the
//! physical truth the station's register is tested against.

use legitka_drivers::serial::{self, SerialError};
use serde::Serialize;
use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use tracing::warn;

/// One card in the feeder: a plain white card, or a numbered blank of a
/// pattern (its serial pre-printed by the supplier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blank {
    pub pattern: Option<String>,
    pub serial: Option<String>,
}

impl Blank {
    pub fn plain() -> Self {
        Blank {
            pattern: None,
            serial: None,
        }
    }

    pub fn numbered(pattern: &str, serial: &str) -> Self {
        Blank {
            pattern: Some(pattern.to_string()),
            serial: Some(serial.to_string()),
        }
    }

    /// `MEiN-I/1 000101`, or `plain` for a white card.
    pub fn label(&self) -> String {
        match (&self.pattern, &self.serial) {
            (Some(p), Some(s)) => format!("{p} {s}"),
            _ => "plain".into(),
        }
    }
}

/// A stack of consecutive numbered blanks, as a technician puts it in:
/// `MEiN-I/1:000101:20` on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub pattern: String,
    pub serials: Vec<String>,
}

impl Stack {
    pub fn new(pattern: &str, first: &str, count: u32) -> Result<Self, SerialError> {
        Ok(Stack {
            pattern: pattern.to_string(),
            serials: serial::range(first, count)?,
        })
    }
}

impl FromStr for Stack {
    type Err = String;

    /// `PATTERN:FIRST:COUNT`; the pattern may itself hold `:` or `/`, so the
    /// two numbers are read from the right.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.rsplitn(3, ':');
        let (count, first, pattern) = (parts.next(), parts.next(), parts.next());
        let (Some(count), Some(first), Some(pattern)) = (count, first, pattern) else {
            return Err(format!("{s:?}: expected PATTERN:FIRST:COUNT"));
        };
        if pattern.is_empty() {
            return Err(format!("{s:?}: no pattern"));
        }
        let count: u32 = count
            .parse()
            .map_err(|_| format!("{s:?}: {count:?} is not a count"))?;
        Stack::new(pattern, first, count).map_err(|e| e.to_string())
    }
}

/// What became of a card taken from the feeder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Printed and out in the output hopper.
    Printed,
    /// Ruined mid-card by a fault (jam, cover, ribbon): the printer did not
    /// count it.
    Spoiled,
    /// Taken in, then its job was abandoned (the line went dead, a new job
    /// started, nothing came for too long): pushed out unfinished.
    Ejected,
}

/// One line of `feeder.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Taken {
    /// The nth card taken from the feeder, from 1.
    pub card: u64,
    pub pattern: Option<String>,
    pub serial: Option<String>,
    pub outcome: Outcome,
    /// The fault that spoiled it, or why it was ejected.
    pub cause: Option<String>,
    /// The card as printed (`card-0000n.png`, in the same directory).
    pub image: Option<String>,
    /// Milliseconds since the simulator started: when the card's data was
    /// complete and it began to print (none if it never did), and when this
    /// outcome came. The printer's idle time between two cards is the
    /// next one's `printing_ms` less this one's `done_ms`.
    pub printing_ms: Option<u64>,
    pub done_ms: u64,
}

/// The cards waiting in the feeder, first to be taken first.
pub struct Feeder {
    cards: VecDeque<Blank>,
    started: std::time::Instant,
    taken: u64,
    log: Vec<Taken>,
    file: Option<std::fs::File>,
}

impl Feeder {
    /// `plain` white cards, then the stacks in the order given.
    pub fn new(plain: u32, stacks: &[Stack]) -> Self {
        let mut f = Feeder {
            cards: VecDeque::new(),
            started: std::time::Instant::now(),
            taken: 0,
            log: Vec::new(),
            file: None,
        };
        f.add_plain(plain);
        for s in stacks {
            f.load(s);
        }
        f
    }

    /// Writes the account to `dir/feeder.jsonl` from now on, a line a card,
    /// each flushed as it is written.
    pub fn log_to(&mut self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        self.file = Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("feeder.jsonl"))?,
        );
        Ok(())
    }

    pub fn add_plain(&mut self, n: u32) {
        self.cards.extend((0..n).map(|_| Blank::plain()));
    }

    /// A stack put in behind what is there.
    pub fn load(&mut self, s: &Stack) {
        self.cards
            .extend(s.serials.iter().map(|n| Blank::numbered(&s.pattern, n)));
    }

    /// Every card taken out by hand, first to last.
    pub fn unload(&mut self) -> Vec<Blank> {
        self.cards.drain(..).collect()
    }

    /// Named blanks pulled out of the stack by hand, wherever they are in
    /// it; the ones found, in feeder order.
    pub fn take_out(&mut self, serials: &[String]) -> Vec<Blank> {
        let (out, stay): (Vec<Blank>, Vec<Blank>) = self
            .cards
            .drain(..)
            .partition(|b| b.serial.as_ref().is_some_and(|s| serials.contains(s)));
        self.cards = stay.into();
        out
    }

    /// The printer picks the next card: its number (the nth taken) and what it is.
    pub fn take(&mut self) -> Option<(u64, Blank)> {
        let b = self.cards.pop_front()?;
        self.taken += 1;
        Some((self.taken, b))
    }

    pub fn len(&self) -> usize {
        self.cards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }

    pub fn cards(&self) -> impl Iterator<Item = &Blank> {
        self.cards.iter()
    }

    /// Cards taken so far.
    pub fn taken(&self) -> u64 {
        self.taken
    }

    /// Writes down what became of card `card`.
    pub fn record(
        &mut self,
        card: u64,
        blank: &Blank,
        outcome: Outcome,
        cause: Option<String>,
        printing_from: Option<std::time::Instant>,
    ) {
        let ms =
            |t: std::time::Instant| t.saturating_duration_since(self.started).as_millis() as u64;
        let t = Taken {
            card,
            pattern: blank.pattern.clone(),
            serial: blank.serial.clone(),
            outcome,
            cause,
            image: (outcome == Outcome::Printed).then(|| format!("card-{card:05}.png")),
            printing_ms: printing_from.map(ms),
            done_ms: ms(std::time::Instant::now()),
        };
        if let Some(f) = &mut self.file {
            let mut line = serde_json::to_vec(&t).expect("a feeder line serialises");
            line.push(b'\n');
            if let Err(e) = f.write_all(&line).and_then(|()| f.flush()) {
                warn!(error = %e, "cannot write feeder.jsonl");
            }
        }
        self.log.push(t);
    }

    /// Everything taken so far, in order.
    pub fn log(&self) -> &[Taken] {
        &self.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_from_the_command_line_parse_or_say_why_not() {
        let s: Stack = "MEiN-I/1:000101:3".parse().unwrap();
        assert_eq!(s.pattern, "MEiN-I/1");
        assert_eq!(s.serials, ["000101", "000102", "000103"]);
        let s: Stack = "A:B:0099:2".parse().unwrap();
        assert_eq!((s.pattern.as_str(), s.serials[1].as_str()), ("A:B", "0100"));
        for bad in [
            "MEiN-I/1",
            "MEiN-I/1:000101",
            ":000101:2",
            "P:000101:x",
            "P:ABC:2",
            "P:9:2",
        ] {
            assert!(bad.parse::<Stack>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn plain_cards_go_first_then_stacks_in_the_order_given_and_each_take_is_counted() {
        let a = Stack::new("P", "001", 2).unwrap();
        let b = Stack::new("Q", "7", 1).unwrap();
        let mut f = Feeder::new(1, &[a, b]);
        assert_eq!(f.len(), 4);
        let order: Vec<(u64, String)> = std::iter::from_fn(|| f.take())
            .map(|(n, b)| (n, b.label()))
            .collect();
        assert_eq!(
            order,
            [
                (1, "plain".to_string()),
                (2, "P 001".into()),
                (3, "P 002".into()),
                (4, "Q 7".into())
            ]
        );
        f.load(&Stack::new("P", "003", 2).unwrap());
        let out = f.unload();
        assert_eq!(out.len(), 2);
        assert!(f.is_empty());
        assert_eq!(f.taken(), 4);
    }

    #[test]
    fn the_account_is_one_json_line_a_card_flushed_at_once() {
        let dir = std::env::temp_dir().join(format!("feeder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut f = Feeder::new(0, &[Stack::new("MEiN-I/1", "000101", 2).unwrap()]);
        f.log_to(&dir).unwrap();
        let (n, b) = f.take().unwrap();
        f.record(
            n,
            &b,
            Outcome::Printed,
            None,
            Some(std::time::Instant::now()),
        );
        let (n, b) = f.take().unwrap();
        f.record(n, &b, Outcome::Spoiled, Some("card_jam".into()), None);
        let text = std::fs::read_to_string(dir.join("feeder.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0]["printing_ms"].as_u64().unwrap() <= lines[0]["done_ms"].as_u64().unwrap());
        assert!(lines[1]["printing_ms"].is_null());
        let mut first = lines[0].clone();
        first.as_object_mut().unwrap().remove("printing_ms");
        first.as_object_mut().unwrap().remove("done_ms");
        assert_eq!(
            first,
            serde_json::json!({"card": 1, "pattern": "MEiN-I/1", "serial": "000101",
                               "outcome": "printed", "cause": null, "image": "card-00001.png"})
        );
        assert_eq!(lines[1]["outcome"], "spoiled");
        assert_eq!(lines[1]["serial"], "000102");
        assert_eq!(lines[1]["image"], serde_json::Value::Null);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
