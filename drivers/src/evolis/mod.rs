//! The Evolis escape-command family (Primacy, Zenius, Primacy 2, ...).
//!
//! The command table is small on purpose: what the station sends, in the
//! order it sends it, and what it expects back, each from the programming
//! guide A5013 rev. E (pages in `drivers/README.md`). Where a detail is not
//! in any public source (the SDK-style status words, how replies end) it is
//! a setting of [`EvolisSettings`], filled from the printer profile.

pub mod dbc;
pub mod flags;
pub mod replies;
pub mod wire;

pub use replies::{error_reply, error_reply_cause};

use crate::panels::PanelSet;
use crate::printer::{Capabilities, Identity, PrintError, PrintReport, Printer};
use crate::status::{Cause, PrinterState, Status};
use crate::transport::{Transport, TransportError};
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// The commands, named for what they do.
pub mod cmd {
    pub const MODEL: &str = "Rtp";
    pub const SERIAL: &str = "Rsn";
    pub const FIRMWARE: &str = "Rfv";
    /// Panels printed so far (p.31): a card adds one per panel sent.
    pub const PANELS_PRINTED: &str = "Rco;p";
    /// Blanks taken from the feeder (p.31).
    pub const CARDS_INSERTED: &str = "Rco;c";
    /// Cards the ribbon still prints, "not accurate" (p.31).
    pub const RIBBON_CARDS_LEFT: &str = "Rco;l";
    /// The last answer about cards: "NO CARD", "ERR CARD" (p.34).
    pub const LAST_REPLY_PRINTING: &str = "Rlr;p";
    /// "ERR NEED CLEANING" when the cleaning counter ran out (p.34).
    pub const LAST_REPLY_CLEANING: &str = "Rlr;r";
    pub const START_SEQUENCE: &str = "Ss";
    pub const FRONT: &str = "Sr";
    pub const END_SEQUENCE: &str = "Se";
    /// Insert the card from the feeder.
    pub const FROM_FEEDER: &str = "Pmi;F;s";
}

#[derive(Debug, Clone)]
pub struct EvolisSettings {
    /// The ribbon name for `Pr;...` (`ymcko`, `ymckok`, `ko`, `k`).
    pub ribbon: String,
    /// Levels for Y, M and C downloads: 32, 64 or 128.
    pub colour_levels: u32,
    /// `Dbc` (compressed, what the vendor's driver sends) or `Db`.
    pub download: wire::Download,
    /// How the printer's state is read.
    pub status: StatusQuery,
    pub reply_timeout: Duration,
    pub status_poll: Duration,
    /// How long one card may take from `Se` to ejection.
    pub card_timeout: Duration,
}

impl Default for EvolisSettings {
    fn default() -> Self {
        EvolisSettings {
            ribbon: "ymcko".into(),
            colour_levels: 128,
            download: wire::Download::Compressed,
            status: StatusQuery::Documented,
            reply_timeout: Duration::from_secs(5),
            status_poll: Duration::from_millis(10),
            card_timeout: Duration::from_secs(120),
        }
    }
}

/// Where the printer's state comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusQuery {
    /// The read commands the guide documents: `Rlr;p`, `Rlr;r`, `Rco;l`.
    Documented,
    /// A query answering the SDK's four status words (`CFG;INF;WAR;ERR`),
    /// which no public source documents: opt-in, for printers known to
    /// answer it.
    Words(String),
}

pub struct EvolisPrinter {
    link: Box<dyn Transport>,
    settings: EvolisSettings,
    caps: Capabilities,
    identity: Identity,
}

/// Which side of `Ss` a failure happened on decides whether a card may be in
/// the printer.
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    BeforeCard,
    CardStarted,
}

/// Where the printer stands after a card, once it stopped working or the
/// card's time ran out.
enum Settled {
    /// Not printing any more: ready, a warning, or an error.
    Stopped(Status),
    /// Still printing when the card's time ran out.
    StillBusy,
    /// No status could be read before the card's time ran out.
    Unreadable,
}

/// A reply other than `OK` to a command of the card (`Sr`, `Db`, `Se`).
struct OddReply {
    command: String,
    reply: String,
}

/// How long the first question at connect waits before the line is taken
/// for one left in the middle of a download.
const PROBE_WAIT: Duration = Duration::from_secs(1);

/// NULs sent between probes while resynchronising: about 1.4 s of a
/// 115200-baud serial line, a millisecond on USB.
const RESYNC_CHUNK: usize = 16 * 1024;

/// How often an unreadable card counter is asked again.
const COUNTER_ATTEMPTS: usize = 3;

impl EvolisPrinter {
    /// Connects and reads who the printer is.
    pub fn connect(
        link: Box<dyn Transport>,
        settings: EvolisSettings,
        caps: Capabilities,
    ) -> Result<Self, TransportError> {
        let mut p = EvolisPrinter {
            link,
            settings,
            caps,
            identity: Identity {
                model: String::new(),
                serial: String::new(),
                firmware: String::new(),
            },
        };
        // A half-sent command from an earlier connection would swallow our
        // first query: a lone CR ends it.
        p.link.write_all(&[wire::CR])?;
        p.drain();
        if p.probe(PROBE_WAIT)?.is_none() {
            p.resync()?;
        }
        p.identity = Identity {
            model: p.query(cmd::MODEL)?,
            serial: p.query(cmd::SERIAL)?,
            firmware: p.query(cmd::FIRMWARE)?,
        };
        info!(link = %p.link.describe(), model = %p.identity.model, serial = %p.identity.serial, "printer identified");
        Ok(p)
    }

    /// Asks who the printer is and waits at most `wait` for an answer.
    fn probe(&mut self, wait: Duration) -> Result<Option<String>, TransportError> {
        match self.send_within(&wire::frame(cmd::MODEL), wait) {
            Ok(r) => Ok(Some(r)),
            Err(TransportError::Timeout(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A download cut off by an earlier connection (a station killed in the
    /// middle of a panel) leaves the printer counting bytes into that panel:
    /// everything sent is taken as pixels until the panel is full, and the
    /// printer looks dead. NULs fill the panel (a printer ignores NULs
    /// between commands; the vendor's own driver sends them), and a probe
    /// after each chunk finds the moment it listens again. At most one
    /// panel's bytes are sent, and only when the first probe went unanswered.
    fn resync(&mut self) -> Result<(), TransportError> {
        let pixels = (self.caps.width_px * self.caps.height_px) as usize;
        // The longest panel is a run-length coded colour one at its worst:
        // a byte a pixel and a blank-line mark a line.
        let most = pixels + 2 * self.caps.width_px as usize + 1;
        warn!(link = %self.link.describe(), "the printer does not answer: finishing a download an earlier connection left open");
        let filler = vec![0u8; RESYNC_CHUNK];
        let mut sent = 0;
        while sent < most + RESYNC_CHUNK {
            self.link.write_all(&filler)?;
            sent += filler.len();
            if self.probe(Duration::from_millis(100))?.is_some() {
                self.drain();
                info!(bytes = sent, "printer listening again");
                return Ok(());
            }
        }
        // Not a cut-off download: the printer is off or not an Evolis. The
        // queries below say so with their own error.
        Ok(())
    }

    fn drain(&mut self) {
        let mut buf = [0u8; 256];
        while let Ok(n) = self.link.read_some(&mut buf, Duration::from_millis(20)) {
            if n == 0 {
                break;
            }
        }
    }

    /// Sends one command and returns its reply, up to the closing CR.
    pub fn query(&mut self, command: &str) -> Result<String, TransportError> {
        self.send(&wire::frame(command))
    }

    fn send(&mut self, bytes: &[u8]) -> Result<String, TransportError> {
        self.send_within(bytes, self.settings.reply_timeout)
    }

    fn send_within(&mut self, bytes: &[u8], wait: Duration) -> Result<String, TransportError> {
        self.link.write_all(bytes)?;
        let deadline = Instant::now() + wait;
        let mut reply = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(TransportError::Timeout(wait));
            }
            let n = self
                .link
                .read_some(&mut buf, left.min(Duration::from_millis(200)))?;
            for &b in &buf[..n] {
                if b == wire::CR {
                    let text = String::from_utf8_lossy(&reply).trim().to_string();
                    debug!(reply = %text, "printer replied");
                    return Ok(text);
                }
                // Replies are printable ASCII: anything else is line noise.
                if b.is_ascii_graphic() || b == b' ' {
                    reply.push(b);
                }
            }
        }
    }

    /// Sends a command of the job before the card starts (`Pr`, `Pmi`,
    /// `Ss`): a refusal there uses no blank.
    fn expect_ok(&mut self, bytes: &[u8]) -> Result<(), PrintError> {
        let reply = self.send(bytes).map_err(|e| lost(Phase::BeforeCard, e))?;
        if reply == "OK" {
            return Ok(());
        }
        Err(error_reply_cause(&reply).map_or_else(
            || PrintError::Protocol(format!("unexpected reply {reply:?}")),
            PrintError::NotReady,
        ))
    }

    /// The printer's state, or `None` when the reply is no reading (line
    /// noise, or a reply meant for an earlier command).
    fn read_status(&mut self) -> Result<Option<Status>, TransportError> {
        let ribbon = self.query(cmd::RIBBON_CARDS_LEFT)?.parse().ok();
        match self.settings.status.clone() {
            StatusQuery::Documented => {
                let last = self.query(cmd::LAST_REPLY_PRINTING)?;
                let cleaning = self.query(cmd::LAST_REPLY_CLEANING)?;
                Ok(replies::documented_status(&last, &cleaning, ribbon))
            }
            StatusQuery::Words(command) => {
                let words = self.query(&command)?;
                Ok(flags::Words::parse(&words).map(|w| w.to_status(ribbon)))
            }
        }
    }

    /// The panel counter, asked again (after dropping whatever is left on
    /// the line) when the reply is not a number; `None` if it never is.
    fn counter(&mut self, phase: Phase) -> Result<Option<u64>, PrintError> {
        for _ in 0..COUNTER_ATTEMPTS {
            let reply = self
                .query(cmd::PANELS_PRINTED)
                .map_err(|e| lost(phase, e))?;
            if let Ok(n) = reply.trim().parse() {
                return Ok(Some(n));
            }
            warn!(reply = %reply, "card counter unreadable; asking again");
            self.drain();
        }
        Ok(None)
    }

    /// Polls the status until the printer is no longer working on the card
    /// or `deadline` passes. A reply that is not a status is no reading: the
    /// line is drained and the printer asked again.
    fn settle(&mut self, deadline: Instant) -> Result<Settled, PrintError> {
        let mut busy = false;
        loop {
            std::thread::sleep(self.settings.status_poll);
            // While the card is inside, one short question a poll (`Rlr;p`)
            // rather than the whole status: polled often, the printer's idle
            // time between cards stays short (issue 10).
            if self.settings.status == StatusQuery::Documented {
                let last = self
                    .query(cmd::LAST_REPLY_PRINTING)
                    .map_err(|e| lost(Phase::CardStarted, e))?;
                if last == replies::CARD_INSIDE {
                    busy = true;
                    if Instant::now() > deadline {
                        return Ok(Settled::StillBusy);
                    }
                    continue;
                }
            }
            match self
                .read_status()
                .map_err(|e| lost(Phase::CardStarted, e))?
            {
                // A warning raised while printing (the last blank picked, a
                // filling hopper) is not about this card: keep waiting.
                Some(st) if st.state == PrinterState::Printing => busy = true,
                Some(st) => return Ok(Settled::Stopped(st)),
                None => {
                    warn!("status reply unreadable while the card prints; asking again");
                    self.drain();
                }
            }
            if Instant::now() > deadline {
                return Ok(if busy {
                    Settled::StillBusy
                } else {
                    Settled::Unreadable
                });
            }
        }
    }

    /// Decides what became of a card that may be in the printer. Nothing the
    /// printer replied to a command decides it: the printer is left to
    /// settle, then its counter and status speak. One more card counted: it
    /// is out. Not counted, and the status reports a fault (an error word):
    /// the blank is spoiled. Anything else: nobody knows, an operator checks.
    fn conclude(
        &mut self,
        before: u64,
        panels: u64,
        bytes_sent: usize,
        odd: Option<OddReply>,
    ) -> Result<PrintReport, PrintError> {
        let budget = self.settings.card_timeout;
        let settled = self.settle(Instant::now() + budget)?;
        let hint = odd.as_ref().and_then(|o| error_reply_cause(&o.reply));
        let what = odd.as_ref().map_or_else(String::new, |o| {
            format!("{:?} answered {:?}; ", o.command, o.reply)
        });
        let st = match settled {
            Settled::Stopped(st) => st,
            Settled::StillBusy | Settled::Unreadable => {
                let how = if matches!(settled, Settled::StillBusy) {
                    "still printing"
                } else {
                    "no readable status"
                };
                warn!(?budget, how, "card did not leave the printer in time");
                return Err(PrintError::MidCard {
                    cause: hint.unwrap_or(Cause::CardJam),
                    message: format!(
                        "{what}{how} after {budget:?}: the card did not leave the printer in time"
                    ),
                });
            }
        };
        if odd.is_some() {
            // What followed the odd reply (a reply of its own after a CR in
            // the noise) must not be read as the counter.
            self.drain();
        }
        let after = self.counter(Phase::CardStarted)?;
        let spoiling = (st.state == PrinterState::Error)
            .then_some(st.detail)
            .flatten();
        match (after, spoiling) {
            (Some(n), _) if n == before + panels => {
                if let Some(o) = &odd {
                    warn!(command = %o.command, reply = %o.reply, counter = n, "odd reply, but the printer counted the card: printed");
                }
                Ok(PrintReport {
                    bytes_sent,
                    counter: n,
                    panels,
                })
            }
            (Some(n), Some(cause)) if (before..before + panels).contains(&n) => Err(PrintError::Spoiled {
                cause,
                message: format!(
                    "{what}printer reported {cause} and printed {} of the card's {panels} panels",
                    n - before
                ),
            }),
            (after, _) => Err(PrintError::MidCard {
                cause: st.detail.or(hint).unwrap_or(Cause::CardJam),
                message: match after {
                    Some(n) => format!(
                        "{what}panel counter went from {before} to {n} ({panels} panels sent), printer {:?}",
                        st.state
                    ),
                    None => format!("{what}panel counter unreadable after the card"),
                },
            }),
        }
    }

    fn panels(&self, card: &PanelSet) -> Vec<Vec<u8>> {
        wire::encode_panels(
            card,
            &self.settings.ribbon,
            self.settings.colour_levels,
            self.settings.download,
        )
    }
}

/// A command frame's name for messages: `Se`, `Sr`, `Db;y`.
fn command_name(frame: &[u8]) -> String {
    let body = frame.strip_prefix(&[wire::ESC]).unwrap_or(frame);
    let mut fields = 0;
    let name: Vec<u8> = body
        .iter()
        .copied()
        .take_while(|&b| {
            fields += usize::from(b == b';');
            b != wire::CR && fields < 2 && b.is_ascii_graphic()
        })
        .take(16)
        .collect();
    String::from_utf8_lossy(&name).into_owned()
}

fn lost(phase: Phase, e: TransportError) -> PrintError {
    match phase {
        Phase::BeforeCard => PrintError::NotStarted(e),
        Phase::CardStarted => PrintError::LostMidCard(e),
    }
}

impl Printer for EvolisPrinter {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn identity(&self) -> &Identity {
        &self.identity
    }

    fn status(&mut self) -> Result<Status, TransportError> {
        self.read_status()?.ok_or_else(|| {
            TransportError::Io(std::io::Error::other(
                "status reply is not four status words",
            ))
        })
    }

    fn print(&mut self, card: &PanelSet) -> Result<PrintReport, PrintError> {
        if card.dimensions() != Some((self.caps.width_px, self.caps.height_px)) {
            return Err(PrintError::Protocol(format!(
                "card is {:?}, printer takes {}x{}",
                card.dimensions(),
                self.caps.width_px,
                self.caps.height_px
            )));
        }
        let status = self.status().map_err(PrintError::NotStarted)?;
        if !status.can_print() {
            return Err(PrintError::NotReady(
                status.detail.unwrap_or(Cause::Disconnected),
            ));
        }
        let before = self
            .counter(Phase::BeforeCard)?
            .ok_or_else(|| PrintError::Protocol("panel counter unreadable".into()))?;
        let panels = self.panels(card);
        let count = panels.len() as u64;
        let ribbon = format!("Pr;{}", self.settings.ribbon);
        self.expect_ok(&wire::frame(&ribbon))?;
        self.expect_ok(&wire::frame(cmd::FROM_FEEDER))?;
        // `Ss` takes a blank from the feeder. A refusal (`ERROR ...`) took
        // none; but a reply that never came may mean it took one: the card
        // is then uncertain, never "not started" (a blank would be recorded
        // one off in the register).
        let reply = self
            .send(&wire::frame(cmd::START_SEQUENCE))
            .map_err(|e| lost(Phase::CardStarted, e))?;
        if reply != "OK" {
            return Err(match error_reply_cause(&reply) {
                Some(cause) => PrintError::NotReady(cause),
                None => PrintError::Protocol(format!("Ss answered {reply:?}")),
            });
        }
        // From here a blank may be in the printer, and from `Se` on a card
        // may be printing: no reply, whatever it says, spoils the blank by
        // itself (issue 7). Only the printer's counter and status, once it
        // has settled, say what became of the card.
        let mut bytes_sent = 0;
        let job = std::iter::once(wire::frame(cmd::FRONT))
            .chain(panels)
            .chain(std::iter::once(wire::frame(cmd::END_SEQUENCE)));
        for p in job {
            bytes_sent += p.len();
            let reply = self.send(&p).map_err(|e| lost(Phase::CardStarted, e))?;
            if reply != "OK" {
                let command = command_name(&p);
                warn!(%command, %reply, "unexpected reply mid-card; waiting for the printer to settle");
                // Nothing more is sent: a half-sent card must not print.
                self.drain();
                return self.conclude(before, count, bytes_sent, Some(OddReply { command, reply }));
            }
        }
        self.conclude(before, count, bytes_sent, None)
    }
}

#[cfg(test)]
mod tests {
    //! The judgement after a card, against a scripted printer: what the
    //! simulator cannot be made to do (a counter that jumps, a status that
    //! never reads). The simulator's own tests (`simulator/tests`) cover the
    //! same rule over a real line.
    use super::*;
    use crate::panels::Mono;
    use flags::Words;
    use std::collections::VecDeque;

    const W: u32 = 16;
    const H: u32 = 8;

    type Answer = Box<dyn FnMut(&str) -> String + Send>;

    /// Answers each frame (`Db;k` for a download) as `answer` says.
    struct Scripted {
        parser: wire::Parser,
        out: VecDeque<u8>,
        answer: Answer,
    }

    impl Transport for Scripted {
        fn write_all(&mut self, data: &[u8]) -> Result<(), TransportError> {
            self.parser.push(data);
            while let Some(frame) = self.parser.next_frame() {
                let label = match frame {
                    wire::Frame::Command(c) => c,
                    wire::Frame::Download { panel, .. } => format!("Db;{panel}"),
                    wire::Frame::Garbage(_) => continue,
                };
                let reply = (self.answer)(&label);
                self.out.extend(reply.bytes());
                self.out.push_back(wire::CR);
            }
            Ok(())
        }

        fn read_some(
            &mut self,
            buf: &mut [u8],
            timeout: Duration,
        ) -> Result<usize, TransportError> {
            if self.out.is_empty() {
                std::thread::sleep(timeout.min(Duration::from_millis(2)));
                return Ok(0);
            }
            let n = buf.len().min(self.out.len());
            for (b, o) in buf.iter_mut().zip(self.out.drain(..n)) {
                *b = o;
            }
            Ok(n)
        }

        fn describe(&self) -> String {
            "scripted".into()
        }
    }

    /// A printer whose counter reads `counters` in turn (the last one
    /// repeating), whose status after `Se` is `after_se`, and which answers
    /// `Se` with `se`.
    fn printer(counters: &[u64], se: &str, after_se: Option<Words>) -> EvolisPrinter {
        let mut counters: VecDeque<u64> = counters.iter().copied().collect();
        let se = se.to_string();
        let mut printing = false;
        let answer: Answer = Box::new(move |c| match c {
            "Rco;p" => {
                let n = counters[0];
                if counters.len() > 1 {
                    counters.pop_front();
                }
                n.to_string()
            }
            "Rst" => match (printing, after_se) {
                (true, Some(w)) => w.encode(),
                (true, None) => "?#".into(),
                (false, _) => Words::default().encode(),
            },
            "Rco;l" => "100".into(),
            "Se" => {
                printing = true;
                se.clone()
            }
            "Rtp" | "Rsn" | "Rfv" => "scripted".into(),
            _ => "OK".into(),
        });
        let link = Scripted {
            parser: wire::Parser::new(W, H),
            out: VecDeque::new(),
            answer,
        };
        let settings = EvolisSettings {
            ribbon: "k".into(),
            status: StatusQuery::Words("Rst".into()),
            reply_timeout: Duration::from_millis(300),
            status_poll: Duration::from_millis(1),
            card_timeout: Duration::from_millis(100),
            ..EvolisSettings::default()
        };
        let caps = Capabilities {
            dpi: 300,
            width_px: W,
            height_px: H,
            ribbons: vec!["K".into()],
            duplex: false,
        };
        EvolisPrinter::connect(Box::new(link), settings, caps).unwrap()
    }

    fn card() -> PanelSet {
        PanelSet {
            colour: None,
            black: Some(Mono::filled(W, H)),
            overlay: None,
        }
    }

    fn jam() -> Option<Words> {
        Some(flags::raise(Cause::CardJam, true))
    }

    fn ready() -> Option<Words> {
        Some(Words::default())
    }

    #[test]
    fn counted_once_is_printed_whatever_se_was_answered() {
        for se in ["OK", "ERROR FOO", "ERROR MECA", "~#"] {
            let r = printer(&[5, 6], se, ready()).print(&card()).unwrap();
            assert_eq!(r.counter, 6, "{se}");
            // Counted once even with a fault standing: the card left first.
            let r = printer(&[5, 6], se, jam()).print(&card()).unwrap();
            assert_eq!(r.counter, 6, "{se}");
        }
    }

    #[test]
    fn not_counted_with_a_fault_in_the_status_is_spoiled() {
        for se in ["OK", "ERROR FOO"] {
            let err = printer(&[5], se, jam()).print(&card()).unwrap_err();
            assert!(
                matches!(
                    err,
                    PrintError::Spoiled {
                        cause: Cause::CardJam,
                        ..
                    }
                ),
                "{se}: {err:?}"
            );
        }
    }

    #[test]
    fn an_odd_reply_without_a_fault_in_the_status_is_never_spoiled() {
        let warning = Some(flags::raise(Cause::FeederEmpty, false));
        let printing = Some(Words {
            inf: flags::INF_PRINTING_RUNNING,
            ..Words::default()
        });
        for se in ["ERROR FOO", "ERROR MECA", "ERROR COVER", "~#"] {
            for (counters, after) in [
                (&[5u64][..], ready()), // not counted, no fault
                (&[5], warning),        // not counted, only a warning
                (&[5, 7], ready()),     // counted twice
                (&[5, 4], ready()),     // counted backwards
                (&[5], printing),       // still printing after the budget
                (&[5], None),           // no readable status
            ] {
                let err = printer(counters, se, after).print(&card()).unwrap_err();
                assert!(
                    matches!(err, PrintError::MidCard { .. }),
                    "{se} {counters:?} {after:?}: {err:?}"
                );
            }
        }
    }

    #[test]
    fn command_names_for_messages() {
        assert_eq!(command_name(&wire::frame("Se")), "Se");
        assert_eq!(command_name(&wire::frame("Db;k;2;\x01\x02")), "Db;k");
    }
}
