//! The Evolis escape-command family (Primacy, Zenius, Primacy 2, ...).
//!
//! The command table is small on purpose: what the station sends, in the
//! order it sends it, and what it expects back. Where a detail is not in any
//! public source (the status query, how replies end) it is a setting of
//! [`EvolisSettings`], filled from the printer profile.

pub mod flags;
pub mod wire;

use crate::panels::{PanelKind, PanelSet};
use crate::printer::{Capabilities, Identity, PrintError, PrintReport, Printer};
use crate::status::{Cause, Status};
use crate::transport::{Transport, TransportError};
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// The commands, named for what they do.
pub mod cmd {
    pub const MODEL: &str = "Rtp";
    pub const SERIAL: &str = "Rsn";
    pub const FIRMWARE: &str = "Rfv";
    pub const CARDS_PRINTED: &str = "Rco;p";
    pub const RIBBON_REMAINING: &str = "Rrt;count";
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
    /// The status query; its four-word answer is not publicly documented.
    pub status_command: String,
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
            status_command: "Rst".into(),
            reply_timeout: Duration::from_secs(5),
            status_poll: Duration::from_millis(50),
            card_timeout: Duration::from_secs(120),
        }
    }
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
        p.identity = Identity {
            model: p.query(cmd::MODEL)?,
            serial: p.query(cmd::SERIAL)?,
            firmware: p.query(cmd::FIRMWARE)?,
        };
        info!(link = %p.link.describe(), model = %p.identity.model, serial = %p.identity.serial, "printer identified");
        Ok(p)
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
        self.link.write_all(bytes)?;
        let deadline = Instant::now() + self.settings.reply_timeout;
        let mut reply = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(TransportError::Timeout(self.settings.reply_timeout));
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

    /// After a fault mid-card: if the printer did not count the card, its
    /// blank is spoiled; if it did, the card is out; otherwise nobody knows.
    fn judge_fault(
        &mut self,
        before: u64,
        cause: Cause,
        message: String,
    ) -> Result<PrintReport, PrintError> {
        match self.counter(Phase::CardStarted) {
            Ok(n) if n == before => Err(PrintError::Spoiled { cause, message }),
            Ok(n) if n == before + 1 => Ok(PrintReport {
                bytes_sent: 0,
                counter: n,
            }),
            _ => Err(PrintError::MidCard { cause, message }),
        }
    }

    fn expect_ok(&mut self, bytes: &[u8], phase: Phase) -> Result<(), PrintError> {
        let reply = self.send(bytes).map_err(|e| lost(phase, e))?;
        if reply == "OK" {
            return Ok(());
        }
        let cause = error_reply_cause(&reply);
        Err(match phase {
            Phase::BeforeCard => cause.map_or_else(
                || PrintError::Protocol(format!("unexpected reply {reply:?}")),
                PrintError::NotReady,
            ),
            Phase::CardStarted => PrintError::MidCard {
                cause: cause.unwrap_or(Cause::CardJam),
                message: reply,
            },
        })
    }

    fn counter(&mut self, phase: Phase) -> Result<u64, PrintError> {
        let reply = self.query(cmd::CARDS_PRINTED).map_err(|e| lost(phase, e))?;
        reply
            .trim()
            .parse()
            .map_err(|_| PrintError::Protocol(format!("card counter {reply:?}")))
    }

    fn panels(&self, card: &PanelSet) -> Vec<Vec<u8>> {
        let ribbon = self.settings.ribbon.to_ascii_lowercase();
        let mut out = Vec::new();
        for letter in ribbon.chars() {
            let Some(kind) = PanelKind::from_letter(letter) else {
                continue;
            };
            let bytes = match kind {
                k if k.is_colour() => card
                    .colour
                    .as_ref()
                    .map(|c| wire::colour_panel(k, c, self.settings.colour_levels)),
                PanelKind::Black => card.black.as_ref().map(|m| wire::mono_panel(kind, m)),
                _ => card.overlay.as_ref().map(|m| wire::mono_panel(kind, m)),
            };
            // A ribbon may carry a panel twice (YMCKOK); the card sends it once.
            if let Some(b) = bytes {
                if !out.contains(&b) {
                    out.push(b);
                }
            }
        }
        out
    }
}

fn st_cause(st: &Option<Status>) -> Cause {
    st.as_ref().and_then(|s| s.detail).unwrap_or(Cause::CardJam)
}

fn lost(phase: Phase, e: TransportError) -> PrintError {
    match phase {
        Phase::BeforeCard => PrintError::NotStarted(e),
        Phase::CardStarted => PrintError::LostMidCard(e),
    }
}

/// Error replies the vendor library knows (strings in `libevolis`).
fn error_reply_cause(reply: &str) -> Option<Cause> {
    const TABLE: &[(&str, Cause)] = &[
        ("ERROR FEEDER", Cause::FeederEmpty),
        ("ERROR MECHANICAL", Cause::CardJam),
        ("ERROR MECA", Cause::CardJam),
        ("ERROR CARD", Cause::CardJam),
        ("ERROR RIBBON", Cause::RibbonEnded),
        ("ERR RIB", Cause::NoRibbon),
        ("ERROR COVER", Cause::CoverOpen),
    ];
    TABLE
        .iter()
        .find(|(prefix, _)| reply.starts_with(prefix))
        .map(|(_, c)| *c)
}

impl Printer for EvolisPrinter {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn identity(&self) -> &Identity {
        &self.identity
    }

    fn status(&mut self) -> Result<Status, TransportError> {
        let words = self.query(&self.settings.status_command.clone())?;
        let ribbon = self.query(cmd::RIBBON_REMAINING)?;
        let words = flags::Words::parse(&words).ok_or_else(|| {
            TransportError::Io(std::io::Error::other(format!("status reply {words:?}")))
        })?;
        Ok(words.to_status(ribbon.parse().ok()))
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
        let before = self.counter(Phase::BeforeCard)?;
        let panels = self.panels(card);
        let ribbon = format!("Pr;{}", self.settings.ribbon);
        self.expect_ok(&wire::frame(&ribbon), Phase::BeforeCard)?;
        self.expect_ok(&wire::frame(cmd::FROM_FEEDER), Phase::BeforeCard)?;
        self.expect_ok(&wire::frame(cmd::START_SEQUENCE), Phase::BeforeCard)?;
        // From here a blank may be in the printer.
        let phase = Phase::CardStarted;
        let mut bytes_sent = 0;
        let job = std::iter::once(wire::frame(cmd::FRONT))
            .chain(panels)
            .chain(std::iter::once(wire::frame(cmd::END_SEQUENCE)));
        for p in job {
            bytes_sent += p.len();
            match self.expect_ok(&p, phase) {
                Ok(()) => {}
                Err(PrintError::MidCard { cause, message }) => {
                    return self.judge_fault(before, cause, message).map(|mut r| {
                        r.bytes_sent = bytes_sent;
                        r
                    })
                }
                Err(e) => return Err(e),
            }
        }
        let deadline = Instant::now() + self.settings.card_timeout;
        loop {
            std::thread::sleep(self.settings.status_poll);
            let st = self.status().map_err(|e| lost(phase, e))?;
            match st.state {
                // A warning raised while printing (the last blank picked, a
                // filling hopper) is not about this card: keep waiting.
                crate::PrinterState::Printing => {}
                crate::PrinterState::Error => {
                    let cause = st.detail.unwrap_or(Cause::CardJam);
                    let message = format!("printer reported {cause} while printing");
                    return self.judge_fault(before, cause, message).map(|mut r| {
                        r.bytes_sent = bytes_sent;
                        r
                    });
                }
                _ => break,
            }
            if Instant::now() > deadline {
                warn!("card did not leave the printer in time");
                return Err(PrintError::MidCard {
                    cause: Cause::CardJam,
                    message: "card did not leave the printer in time".into(),
                });
            }
        }
        let after = self.counter(phase)?;
        if after != before + 1 {
            // Printing stopped with a warning and the card was not counted:
            // whether a blank was used is for an operator to see.
            return Err(PrintError::MidCard {
                cause: st_cause(&self.status().ok()),
                message: format!("card counter went from {before} to {after}"),
            });
        }
        Ok(PrintReport {
            bytes_sent,
            counter: after,
        })
    }
}
