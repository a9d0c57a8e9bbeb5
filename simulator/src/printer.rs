//! The simulated printer's state machine: what it answers, what it prints.

use crate::feeder::{Blank, Feeder, Outcome, Stack};
use image::{Rgb, RgbImage};
use legitka_drivers::evolis::flags::{self, Words};
use legitka_drivers::evolis::wire::{self, Frame};
use legitka_drivers::evolis::{cmd, error_reply};
use legitka_drivers::{Cause, Mono};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Printed cards a long-running simulator keeps in memory (the newest).
pub const KEEP_PRINTED: usize = 2;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub width: u32,
    pub height: u32,
    pub model: String,
    pub serial: String,
    pub firmware: String,
    pub ribbon: String,
    pub ribbon_capacity: u32,
    /// Plain white cards in the feeder, taken before the numbered stacks.
    pub feeder_cards: u32,
    /// Stacks of numbered blanks behind them, in this order.
    pub blanks: Vec<Stack>,
    /// A job that started (`Ss`) and then hears nothing for this long is
    /// abandoned and its card pushed out, as a printer's job timeout does.
    pub job_timeout: Duration,
    /// How long a card takes from `Se` to ejection, plus `panel_time` for
    /// each panel it prints. Zero in tests; a desktop YMCKO printer takes
    /// 16-24 s a card.
    pub card_time: Duration,
    pub panel_time: Duration,
    /// Where each printed card is written as PNG; `None` keeps them in memory only.
    pub out_dir: Option<PathBuf>,
    /// How many printed cards (each with its images, ~3 MB) are kept in
    /// memory, the newest; `None`: all (tests read every one). A simulator
    /// that runs for hours (the station's built-in one, `legitka-sim`)
    /// keeps a few: a batch of 5,000 would otherwise hold 15 GB.
    pub keep_printed: Option<usize>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            width: 1016,
            height: 648,
            model: "Evolis Primacy 2 (simulated)".into(),
            serial: "SIM-000001".into(),
            firmware: "legitka-sim 1".into(),
            ribbon: "YMCKO".into(),
            ribbon_capacity: 300,
            feeder_cards: 100,
            blanks: Vec::new(),
            job_timeout: Duration::from_secs(30),
            card_time: Duration::ZERO,
            panel_time: Duration::ZERO,
            out_dir: None,
            keep_printed: None,
        }
    }
}

/// Faults a test or a technician can set. A fault that stops the printer
/// (`active`) is reported until it is cleared, as on a real printer.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The Nth card started (1-based) fails mid-print with this cause
    /// (`CardJam`, `CoverOpen`, `RibbonEnded`): the blank is left spoiled.
    pub fail_card: Option<(u64, Cause)>,
    /// A fault present right now, as an error word.
    pub active: Option<Cause>,
    /// The Nth card started: the printer drops off the line (unplugged) for
    /// this long, losing the job.
    pub unplug_card: Option<(u64, Duration)>,
    /// Every Nth reply is preceded by line noise.
    pub garbage_every: Option<u32>,
    /// Every reply comes this late.
    pub reply_delay: Duration,
    /// One reply the driver does not expect, while the printer carries on as
    /// if it had answered normally (an `Se` answered so still prints).
    pub odd_reply: Option<OddReply>,
}

/// Printable line noise: what a driver cannot filter out as non-ASCII.
pub const LINE_NOISE: &str = "~x#?%";

/// During the Nth card's job (from its `Ss` until the next card's `Ss`), the
/// first reply to `command` is `text` instead of the real answer. `command`
/// is a command as sent (`Se`, `Sr`, `Rlr;p`, `Rco;p`), `Db;k` for one panel's
/// download or `Db` for any. A `text` holding CR is two lines on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OddReply {
    pub card: u64,
    pub command: String,
    pub text: String,
}

impl Faults {
    /// Parses a fault as written on the command line: `jam@3`, `cover@2`,
    /// `ribbon@4` (the Nth card fails that way), `unplug@2:5` (the Nth card's
    /// job: off the line for 5 s), `reply@2:Se` or `reply@2:Se:ERROR FOO`
    /// (during the Nth card's job the first reply to that command is line
    /// noise, or the text given, and the printer goes on as if it had said
    /// the right thing: see [`OddReply`]).
    pub fn add(&mut self, spec: &str) -> Result<(), String> {
        let (what, at) = spec
            .split_once('@')
            .ok_or_else(|| format!("{spec:?}: expected kind@card"))?;
        let (card, extra) = at.split_once(':').map_or((at, None), |(c, e)| (c, Some(e)));
        let card: u64 = card.parse().map_err(|_| format!("{spec:?}: card number"))?;
        let cause = match what {
            "jam" => Cause::CardJam,
            "cover" => Cause::CoverOpen,
            "ribbon" => Cause::RibbonEnded,
            "unplug" => {
                let secs: f64 = extra
                    .unwrap_or("5")
                    .parse()
                    .map_err(|_| format!("{spec:?}: seconds"))?;
                self.unplug_card = Some((card, Duration::from_secs_f64(secs)));
                return Ok(());
            }
            "reply" => {
                let (command, text) = extra
                    .map(|e| e.split_once(':').unwrap_or((e, LINE_NOISE)))
                    .filter(|(c, _)| !c.is_empty())
                    .ok_or_else(|| format!("{spec:?}: expected reply@card:command[:text]"))?;
                self.odd_reply = Some(OddReply {
                    card,
                    command: command.to_string(),
                    text: text.to_string(),
                });
                return Ok(());
            }
            _ => {
                return Err(format!(
                    "{spec:?}: kinds are jam, cover, ribbon, unplug, reply"
                ))
            }
        };
        self.fail_card = Some((card, cause));
        Ok(())
    }
}

/// A card as the printer produced it.
#[derive(Debug, Clone)]
pub struct PrintedCard {
    pub number: u64,
    /// When its job started (`Ss`), when the printer began printing it
    /// (`Se`, all data in) and when it left the printer.
    pub started: Instant,
    pub printing_from: Instant,
    pub finished: Instant,
    /// What the card looks like: colour dyes on white, resin on top.
    pub image: RgbImage,
    pub black: Mono,
    pub overlay: Option<Mono>,
    pub panels: Vec<char>,
    pub bytes: usize,
}

struct Job {
    /// The nth card taken from the feeder, and what it was.
    number: u64,
    blank: Blank,
    started: Instant,
    /// When the last frame of this job came.
    heard: Instant,
    /// Each panel as received, decoded: dye density or ink, card-oriented.
    panels: HashMap<char, image::GrayImage>,
    bytes: usize,
}

struct Printing {
    from: Instant,
    until: Instant,
    job: Job,
}

pub struct SimPrinter {
    cfg: SimConfig,
    pub faults: Faults,
    /// Panels printed (`Rco;p`, guide p.31) and blanks taken from the
    /// feeder (`Rco;c`).
    panels_printed: u64,
    cards_inserted: u64,
    ribbon_left: u32,
    feeder: Feeder,
    job: Option<Job>,
    printing: Option<Printing>,
    printed: Vec<PrintedCard>,
    printed_total: u64,
    jobs_started: u64,
    replies: u64,
    unplugged_until: Option<Instant>,
    unplug_mid_job: Option<Duration>,
    /// Commands taken without meaning anything here, each logged once.
    ignored: HashSet<String>,
    images: Option<ImageWriter>,
}

/// Images written so far, and the signal that one more is.
type Written = Arc<(Mutex<u64>, Condvar)>;

/// Writes printed cards' images on a thread of its own.
struct ImageWriter {
    tx: std::sync::mpsc::Sender<PrintedCard>,
    sent: u64,
    written: Written,
}

impl ImageWriter {
    fn start(dir: PathBuf) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<PrintedCard>();
        let written: Written = Arc::new((Mutex::new(0u64), Condvar::new()));
        let count = written.clone();
        std::thread::spawn(move || {
            for card in rx {
                if let Err(e) = save(&dir, &card) {
                    warn!(error = %e, "cannot write printed card");
                }
                *count.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                count.1.notify_all();
            }
        });
        ImageWriter {
            tx,
            sent: 0,
            written,
        }
    }

    fn send(&mut self, card: PrintedCard) {
        if self.tx.send(card).is_ok() {
            self.sent += 1;
        }
    }
}

impl SimPrinter {
    pub fn new(cfg: SimConfig) -> Self {
        let mut feeder = Feeder::new(cfg.feeder_cards, &cfg.blanks);
        if let Some(dir) = &cfg.out_dir {
            if let Err(e) = feeder.log_to(dir) {
                warn!(error = %e, dir = %dir.display(), "cannot open feeder.jsonl");
            }
        }
        SimPrinter {
            ribbon_left: cfg.ribbon_capacity,
            feeder,
            cfg,
            faults: Faults::default(),
            panels_printed: 0,
            cards_inserted: 0,
            job: None,
            printing: None,
            printed: Vec::new(),
            printed_total: 0,
            jobs_started: 0,
            replies: 0,
            unplugged_until: None,
            unplug_mid_job: None,
            ignored: HashSet::new(),
            images: None,
        }
    }

    /// What waits for every printed card's image to be on disk: call it
    /// without holding the simulator, then `wait()`.
    fn images_pending(&self) -> Option<(u64, Written)> {
        self.images.as_ref().map(|w| (w.sent, w.written.clone()))
    }

    /// Off the line: nothing is answered, input is lost.
    pub fn is_unplugged(&mut self) -> bool {
        match self.unplugged_until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                self.unplugged_until = None;
                info!("simulated printer plugged back in");
                false
            }
            None => false,
        }
    }

    /// Cards started, including those that failed.
    pub fn jobs_started(&self) -> u64 {
        self.jobs_started
    }

    /// Plain white cards put in the feeder.
    pub fn refill_feeder(&mut self, cards: u32) {
        self.feeder.add_plain(cards);
    }

    /// A stack of numbered blanks put in behind what is in the feeder.
    pub fn load_blanks(&mut self, stack: &Stack) {
        self.feeder.load(stack);
    }

    /// The feeder emptied by hand: what was in it, first to last.
    pub fn take_all_blanks(&mut self) -> Vec<Blank> {
        self.feeder.unload()
    }

    /// Named blanks pulled out of the feeder by hand.
    pub fn take_out(&mut self, serials: &[String]) -> Vec<Blank> {
        self.feeder.take_out(serials)
    }

    /// The feeder, and the account of every card taken from it.
    pub fn feeder(&self) -> &Feeder {
        &self.feeder
    }

    /// Whether a job has started and not yet been sent to print (a card is
    /// inside, waiting for its panels).
    pub fn job_open(&self) -> bool {
        self.job.is_some()
    }

    /// The next card started fails this way (`jam`, `cover`, `ribbon`,
    /// `unplug:SECONDS`, `reply:COMMAND[:TEXT]`: the kinds of `--fault`).
    pub fn fail_next(&mut self, kind: &str) -> Result<(), String> {
        let (what, extra) = kind
            .split_once(':')
            .map_or((kind, None), |(w, e)| (w, Some(e)));
        let next = self.jobs_started + 1;
        let spec = match extra {
            Some(e) => format!("{what}@{next}:{e}"),
            None => format!("{what}@{next}"),
        };
        self.faults.add(&spec)
    }

    /// A card taken in whose job will not finish: pushed out unfinished.
    fn eject(&mut self, job: Job, why: &str) {
        warn!(card = job.number, blank = %job.blank.label(), why, "card ejected unfinished");
        self.feeder.record(
            job.number,
            &job.blank,
            Outcome::Ejected,
            Some(why.to_string()),
            None,
        );
    }

    pub fn ribbon_left(&self) -> u32 {
        self.ribbon_left
    }

    pub fn replace_ribbon(&mut self, panels: u32) {
        self.ribbon_left = panels;
    }

    /// Line noise to send before the next reply, if the script says so.
    pub fn noise(&mut self) -> Option<&'static [u8]> {
        self.replies += 1;
        match self.faults.garbage_every {
            Some(n) if n > 0 && self.replies.is_multiple_of(u64::from(n)) => {
                Some(b"\x00\xff\x13\x7f\x80")
            }
            _ => None,
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Every card printed since the simulator started, kept or not.
    pub fn printed_total(&self) -> u64 {
        self.printed_total
    }

    /// The printed cards kept in memory, oldest first (all of them unless
    /// `keep_printed` says otherwise).
    pub fn printed(&self) -> &[PrintedCard] {
        &self.printed
    }

    /// How long the printer stood idle between consecutive cards: from one
    /// card leaving to the next one's data being complete.
    pub fn idle_gaps(&self) -> Vec<Duration> {
        self.printed
            .windows(2)
            .map(|w| w[1].printing_from.saturating_duration_since(w[0].finished))
            .collect()
    }

    pub fn is_printing(&self) -> bool {
        self.printing.is_some()
    }

    fn words(&self) -> Words {
        if let Some(cause) = self.faults.active {
            return flags::raise(cause, true);
        }
        let mut w = Words::default();
        if self.feeder.is_empty() {
            w.war |= flags::WAR_FEEDER_EMPTY;
        }
        if self.ribbon_left == 0 {
            w.war |= flags::WAR_RIBBON_ENDED;
        } else if self.ribbon_left <= 10 {
            w.inf |= flags::INF_RIBBON_LOW;
        }
        if self.printing.is_some() {
            w.inf |= flags::INF_PRINTING_RUNNING;
        }
        w
    }

    /// Lets time pass: a card whose printing time is over leaves the printer.
    pub fn tick(&mut self) -> Option<u64> {
        let stale = self
            .job
            .as_ref()
            .is_some_and(|j| j.heard.elapsed() >= self.cfg.job_timeout);
        if stale {
            if let Some(job) = self.job.take() {
                self.eject(job, "job timed out");
            }
        }
        let done = self
            .printing
            .as_ref()
            .is_some_and(|p| Instant::now() >= p.until);
        if !done {
            return None;
        }
        let Printing { from, until, job } = self.printing.take()?;
        if let Some((n, cause)) = self.faults.fail_card {
            if n == job.number {
                // The blank is stuck or ruined: it is not counted as printed.
                self.faults.active = Some(cause);
                warn!(card = n, %cause, "simulated failure mid-card");
                self.feeder.record(
                    job.number,
                    &job.blank,
                    Outcome::Spoiled,
                    Some(cause.as_str().to_string()),
                    Some(from),
                );
                return None;
            }
        }
        self.panels_printed += job.panels.len() as u64;
        self.ribbon_left = self.ribbon_left.saturating_sub(1);
        let blank = job.blank.clone();
        let card = self.develop(job, from, until);
        self.feeder
            .record(card.number, &blank, Outcome::Printed, None, Some(from));
        if let Some(dir) = &self.cfg.out_dir {
            // Written aside: a printer does not stop to photograph its cards,
            // and PNG encoding would stretch the time between them.
            self.images
                .get_or_insert_with(|| ImageWriter::start(dir.clone()))
                .send(card.clone());
        }
        info!(
            card = card.number,
            bytes = card.bytes,
            blank = %blank.label(),
            ribbon_left = self.ribbon_left,
            feeder_left = self.feeder.len(),
            "card printed"
        );
        self.printed.push(card);
        self.printed_total += 1;
        if let Some(keep) = self.cfg.keep_printed {
            let over = self.printed.len().saturating_sub(keep.max(1));
            self.printed.drain(..over);
        }
        Some(self.printed_total)
    }

    /// Builds the card the panels make: dyes subtract from white, resin is black.
    fn develop(&self, job: Job, from: Instant, until: Instant) -> PrintedCard {
        let (w, h) = (self.cfg.width, self.cfg.height);
        let density = |letter: char| job.panels.get(&letter).cloned();
        let (y, m, c) = (density('y'), density('m'), density('c'));
        let black = density('k')
            .map(|g| mono_from_ink(&g))
            .unwrap_or_else(|| Mono::new(w, h));
        let overlay = density('o').map(|g| mono_from_ink(&g));
        let at =
            |p: &Option<image::GrayImage>, x, yy| p.as_ref().map_or(0, |i| i.get_pixel(x, yy).0[0]);
        let image = RgbImage::from_fn(w, h, |x, yy| {
            if black.get(x, yy) {
                return Rgb([0, 0, 0]);
            }
            Rgb([
                255 - at(&c, x, yy),
                255 - at(&m, x, yy),
                255 - at(&y, x, yy),
            ])
        });
        let mut panels: Vec<char> = job.panels.keys().copied().collect();
        panels.sort();
        PrintedCard {
            number: job.number,
            started: job.started,
            printing_from: from,
            finished: until,
            image,
            black,
            overlay,
            panels,
            bytes: job.bytes,
        }
    }

    /// Handles one frame and returns the reply (without the closing CR), or
    /// nothing for frames a printer does not answer.
    pub fn handle(&mut self, frame: Frame) -> Option<String> {
        let label = match &frame {
            Frame::Command(c) => c.clone(),
            // `Db;k` for a panel sent either way (`Db` or `Dbc`).
            Frame::Download { panel, .. } => format!("Db;{panel}"),
            Frame::Garbage(_) => String::new(),
        };
        // A job is alive while its data comes; status questions (`R...`)
        // from a driver that knows nothing of it do not keep it.
        let of_job = match &frame {
            Frame::Download { .. } => true,
            Frame::Command(c) => !c.starts_with('R'),
            Frame::Garbage(_) => false,
        };
        if let (true, Some(job)) = (of_job, self.job.as_mut()) {
            job.heard = Instant::now();
        }
        let reply = self.answer(frame)?;
        let odd = self.faults.odd_reply.as_ref().is_some_and(|o| {
            o.card == self.jobs_started
                && (o.command == label || (o.command == "Db" && label.starts_with("Db;")))
        });
        if odd {
            let text = self.faults.odd_reply.take().map(|o| o.text)?;
            warn!(command = %label, real = %reply, odd = %text.escape_debug(), "simulated odd reply");
            return Some(text);
        }
        Some(reply)
    }

    fn answer(&mut self, frame: Frame) -> Option<String> {
        match frame {
            Frame::Garbage(bytes) => {
                warn!(len = bytes.len(), "garbage on the line ignored");
                None
            }
            Frame::Download {
                panel,
                levels,
                how,
                data,
            } => {
                if let Some(off) = self.unplug_mid_job.take() {
                    warn!(?off, "simulated printer unplugged mid-job");
                    self.unplugged_until = Some(Instant::now() + off);
                    if let Some(job) = self.job.take() {
                        self.eject(job, "unplugged mid-job");
                    }
                    return None;
                }
                let Some(job) = self.job.as_mut() else {
                    return Some("ERROR CDE".into());
                };
                if wire::bits_for_levels(levels).is_none() || !"ymcko".contains(panel) {
                    return Some("ERROR PARAMETRES".into());
                }
                let (w, h) = (self.cfg.width, self.cfg.height);
                // Decoded now, as a printer fills its panel buffer: a panel
                // that does not decode is refused here, not at printing.
                match wire::decode_panel(&data, levels, how, w, h) {
                    Ok(img) => {
                        job.bytes += data.len();
                        job.panels.insert(panel, img);
                        Some("OK".into())
                    }
                    Err(e) => {
                        warn!(%panel, levels, ?how, error = %e, "panel refused");
                        Some("ERROR PARAMETRES".into())
                    }
                }
            }
            Frame::Command(c) => Some(self.command(&c)),
        }
    }

    fn command(&mut self, c: &str) -> String {
        let ok = || "OK".to_string();
        let name = c.split(';').next().unwrap_or_default();
        match c {
            "" => ok(),
            cmd::MODEL => self.cfg.model.clone(),
            cmd::SERIAL => self.cfg.serial.clone(),
            cmd::FIRMWARE => self.cfg.firmware.clone(),
            cmd::PANELS_PRINTED => self.panels_printed.to_string(),
            cmd::CARDS_INSERTED => self.cards_inserted.to_string(),
            cmd::RIBBON_CARDS_LEFT => self.ribbon_left.to_string(),
            cmd::LAST_REPLY_PRINTING => self.last_reply(),
            // No simulated head gets dirty.
            cmd::LAST_REPLY_CLEANING => ok(),
            // The SDK-style status words, for profiles that opt in.
            "Rst" => self.words().encode(),
            cmd::START_SEQUENCE => {
                if let Some(cause) = self.faults.active {
                    return error_reply(cause).to_string();
                }
                if self.printing.is_some() {
                    return "ERROR BUSY".into();
                }
                if self.feeder.is_empty() {
                    return error_reply(Cause::FeederEmpty).into();
                }
                if self.ribbon_left == 0 {
                    return error_reply(Cause::RibbonEnded).into();
                }
                if let Some(old) = self.job.take() {
                    self.eject(old, "a new job started before its panels were printed");
                }
                // The blank leaves the feeder now: the last one raises "feeder
                // empty" while its own card is still printing.
                let Some((number, blank)) = self.feeder.take() else {
                    return error_reply(Cause::FeederEmpty).into();
                };
                self.jobs_started += 1;
                self.cards_inserted += 1;
                if let Some((n, off)) = self.faults.unplug_card {
                    if n == self.jobs_started {
                        // Pulled out during the panel download, after the card
                        // was taken from the feeder.
                        self.unplug_mid_job = Some(off);
                        self.faults.unplug_card = None;
                    }
                }
                info!(card = number, blank = %blank.label(), "card taken from the feeder");
                self.job = Some(Job {
                    number,
                    blank,
                    started: Instant::now(),
                    heard: Instant::now(),
                    panels: HashMap::new(),
                    bytes: 0,
                });
                ok()
            }
            // `Se;1`, as the vendor's driver sends it, ends the job too.
            _ if name == cmd::END_SEQUENCE => match self.job.take() {
                Some(job) => {
                    let time = self.cfg.card_time + self.cfg.panel_time * job.panels.len() as u32;
                    let from = Instant::now();
                    self.printing = Some(Printing {
                        from,
                        until: from + time,
                        job,
                    });
                    self.tick();
                    ok()
                }
                None => "ERROR CDE".into(),
            },
            cmd::FRONT => ok(),
            c if c.starts_with("Pr;") || c.starts_with("Pmi;") => ok(),
            // Parameter and motor commands the simulator has no use for
            // (`Pc`, `Pdt`, `Ppws`, `Mr` from the vendor's driver): taken,
            // as a printer takes them, and said once.
            _ if name.starts_with('P') || name.starts_with('M') => {
                if self.ignored.insert(name.to_string()) {
                    info!(command = %name, "command taken without effect in the simulator");
                }
                ok()
            }
            _ => "ERROR CDE".into(),
        }
    }

    /// `Rlr;p`, read as the guide names it (p.34, "reads the last answer of
    /// the printer"): a fault standing is its error reply; otherwise "ERR
    /// CARD" while a card is in the printing module, "NO CARD" when the
    /// feeder is empty.
    fn last_reply(&self) -> String {
        if let Some(cause) = self.faults.active {
            return error_reply(cause).into();
        }
        if self.printing.is_some() {
            return "ERR CARD".into();
        }
        if self.feeder.is_empty() {
            return "NO CARD".into();
        }
        "OK".into()
    }
}

/// At most `n` characters of `s`, for a log line.
pub fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn mono_from_ink(g: &image::GrayImage) -> Mono {
    let mut m = Mono::new(g.width(), g.height());
    for (x, y, p) in g.enumerate_pixels() {
        m.set(x, y, p.0[0] >= 128);
    }
    m
}

fn save(dir: &std::path::Path, card: &PrintedCard) -> Result<(), image::ImageError> {
    std::fs::create_dir_all(dir)?;
    card.image
        .save(dir.join(format!("card-{:05}.png", card.number)))?;
    card.black
        .to_gray()
        .save(dir.join(format!("card-{:05}-k.png", card.number)))?;
    if let Some(o) = &card.overlay {
        o.to_gray()
            .save(dir.join(format!("card-{:05}-o.png", card.number)))?;
    }
    Ok(())
}

/// A simulator shared between its line and a test or console that watches it.
#[derive(Clone)]
pub struct SimHandle {
    inner: Arc<(Mutex<SimPrinter>, Condvar)>,
}

impl SimHandle {
    pub fn new(printer: SimPrinter) -> Self {
        SimHandle {
            inner: Arc::new((Mutex::new(printer), Condvar::new())),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut SimPrinter) -> R) -> R {
        let mut guard = self.inner.0.lock().unwrap_or_else(|e| e.into_inner());
        let r = f(&mut guard);
        self.inner.1.notify_all();
        r
    }

    /// Waits until `pred` holds or `timeout` passes; returns whether it held.
    pub fn wait_until(&self, timeout: Duration, pred: impl Fn(&SimPrinter) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = self.inner.0.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            guard.tick();
            if pred(&guard) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = self
                .inner
                .1
                .wait_timeout(guard, left.min(Duration::from_millis(20)))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits until every printed card's image is written (at most `timeout`).
    pub fn wait_images_written(&self, timeout: Duration) -> bool {
        let Some((sent, written)) = self.with(|p| p.images_pending()) else {
            return true;
        };
        let guard = written.0.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = written
            .1
            .wait_timeout_while(guard, timeout, |n| *n < sent)
            .unwrap_or_else(|e| e.into_inner());
        *guard >= sent
    }

    pub fn printed_count(&self) -> usize {
        self.with(|p| p.printed_total() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_specs_from_the_command_line_parse_or_say_why_not() {
        let mut f = Faults::default();
        f.add("jam@3").unwrap();
        assert_eq!(f.fail_card, Some((3, Cause::CardJam)));
        f.add("cover@2").unwrap();
        assert_eq!(f.fail_card, Some((2, Cause::CoverOpen)));
        f.add("unplug@4:2.5").unwrap();
        assert_eq!(f.unplug_card, Some((4, Duration::from_millis(2500))));
        f.add("reply@2:Se").unwrap();
        assert_eq!(
            f.odd_reply,
            Some(OddReply {
                card: 2,
                command: "Se".into(),
                text: LINE_NOISE.into()
            })
        );
        f.add("reply@1:Rco;p:ERROR FOO: BAR").unwrap();
        let odd = f.odd_reply.take().unwrap();
        assert_eq!(
            (odd.command.as_str(), odd.text.as_str()),
            ("Rco;p", "ERROR FOO: BAR")
        );
        for bad in [
            "jam",
            "jam@x",
            "fire@1",
            "unplug@2:soon",
            "reply@2",
            "reply@2:",
        ] {
            assert!(f.add(bad).is_err(), "{bad} accepted");
        }
    }
}
