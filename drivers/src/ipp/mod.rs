//! The second printer family: any printer reached over IPP, an IPP
//! Everywhere printer itself or a CUPS queue in front of a vendor's driver
//! (Zebra, Magicard, Fargo, an Evolis through its CUPS driver).
//!
//! A job is a card: Print-Job with the card as one raster page ([`page`],
//! [`raster`]), then the job and the printer are followed until the job
//! ends. CUPS is not a verdict: through CUPS 2.4 a job the printer aborted
//! still ends `completed`, and a failing filter leaves the job stopped; so
//! a card is reported printed only when its job completed with no fault
//! raised on the printer meanwhile, and every other end is a card whose
//! fate a person must check (`MidCard`), never a card to print again.

pub mod page;
pub mod raster;

use crate::printer::{Capabilities, Identity, PrintError, PrintReport, Printer};
use crate::status::{Cause, PrinterState, Status};
use crate::transport::TransportError;
use crate::PanelSet;
use ipp::prelude::*;
use std::time::{Duration, Instant};

pub use page::PageLayout;

/// How a profile says to send a card to an IPP printer.
#[derive(Debug, Clone)]
pub struct IppSettings {
    /// `image/pwg-raster` (IPP Everywhere) or `application/vnd.cups-raster`
    /// (a CUPS queue with a raster driver: no filter in between).
    pub document_format: String,
    pub layout: PageLayout,
    /// Job attributes that choose the ribbon, resin black and overlay; a
    /// CUPS queue hands one named like a PPD option to its driver.
    pub attributes: Vec<(String, String)>,
    /// How long a card may take before nobody knows what became of it.
    pub card_timeout: Duration,
    /// How often the job and the printer are asked while a card prints.
    pub poll: Duration,
}

/// What a printer says of itself (Get-Printer-Attributes), as the station
/// and `legitka printers probe` use it.
#[derive(Debug, Clone, Default)]
pub struct Description {
    pub make_and_model: String,
    pub uuid: String,
    pub firmware: String,
    pub state: i32,
    pub reasons: Vec<String>,
    pub formats: Vec<String>,
    pub media: Vec<String>,
    /// CUPS queues only: what CUPS does with a job that failed.
    pub error_policy: Option<String>,
    pub marker_levels: Vec<i32>,
}

impl Description {
    /// The fault a CUPS queue would make of a failed card: sending it again.
    pub fn retries_jobs(&self) -> bool {
        self.error_policy
            .as_deref()
            .is_some_and(|p| p.starts_with("retry"))
    }
}

/// The `lpadmin` line that makes a CUPS queue abort a failed job instead of
/// printing it again.
pub fn abort_policy_fix(uri: &str) -> String {
    let queue = uri
        .rsplit_once("/printers/")
        .map_or("QUEUE", |(_, q)| q.trim_end_matches('/'));
    format!("lpadmin -p {queue} -o printer-error-policy=abort-job")
}

/// `cups:QUEUE` is the local CUPS's queue; anything else is the printer's
/// own IPP address.
pub fn resolve(uri: &str) -> String {
    match uri.strip_prefix("cups:") {
        Some(queue) => format!("ipp://localhost:631/printers/{queue}"),
        None => uri.to_string(),
    }
}

/// Where an IPP printer is, and what proves it over `ipps://` besides the
/// system's authorities: a printer's own certificate is self-signed, so the
/// school saves it once and names it (`printer.ca_file`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    uri: String,
    trusted: Vec<Vec<u8>>,
}

impl Endpoint {
    pub fn new(uri: &str) -> Self {
        Endpoint {
            uri: uri.to_string(),
            trusted: Vec::new(),
        }
    }

    /// Also trusts the certificates of a PEM file (the printer's own, or
    /// the authority that signed it).
    pub fn trusting(mut self, pem: &[u8]) -> Result<Self, TransportError> {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
            .map(|c| c.map(|c| c.as_ref().to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|e| TransportError::Io(std::io::Error::other(format!("{e:?}"))))?;
        if certs.is_empty() {
            return Err(TransportError::Io(std::io::Error::other(
                "no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
            )));
        }
        self.trusted.extend(certs);
        Ok(self)
    }

    /// The address as configured (`cups:QUEUE` as such).
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    fn parsed(&self) -> Result<Uri, TransportError> {
        parse_uri(&self.uri)
    }

    fn client(&self, uri: &Uri, timeout: Duration) -> IppClient {
        // ipps:// uses the process's rustls provider: ring, as the broker
        // link and the web page do; whichever installs it first wins.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = IppClient::builder(uri.clone()).request_timeout(timeout);
        for der in &self.trusted {
            b = b.ca_cert(der);
        }
        b.build()
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.uri)
    }
}

fn parse_uri(uri: &str) -> Result<Uri, TransportError> {
    resolve(uri)
        .parse()
        .map_err(|_| TransportError::BadUri(uri.to_string()))
}

fn unreachable(uri: &Uri, e: impl std::fmt::Display) -> TransportError {
    TransportError::Io(std::io::Error::other(format!("{uri}: {e}")))
}

fn strings(v: &IppValue) -> Vec<String> {
    match v {
        IppValue::Array(a) => a.iter().map(|v| v.to_string()).collect(),
        IppValue::NoValue => Vec::new(),
        other => vec![other.to_string()],
    }
}

fn ints(v: &IppValue) -> Vec<i32> {
    match v {
        IppValue::Array(a) => a.iter().flat_map(ints).collect(),
        IppValue::Integer(i) | IppValue::Enum(i) => vec![*i],
        _ => Vec::new(),
    }
}

/// What the printer is and how it is: asked at connect and by `probe`.
const EVERYTHING: &[&str] = &[
    "printer-make-and-model",
    "printer-uuid",
    "printer-firmware-string-version",
    "printer-state",
    "printer-state-reasons",
    "document-format-supported",
    "media-supported",
    "printer-error-policy",
    "marker-levels",
];

/// How it is: asked before each card and four times a second while one
/// prints, so only what a status needs (a printer's media list alone can
/// be kilobytes).
const STATE: &[&str] = &["printer-state", "printer-state-reasons", "marker-levels"];

/// Asks the printer what it is and how it is.
pub fn describe(printer: &Endpoint) -> Result<Description, TransportError> {
    ask(printer, EVERYTHING)
}

/// Asks the printer how it is, and nothing else.
pub fn reading(printer: &Endpoint) -> Result<Description, TransportError> {
    ask(printer, STATE)
}

fn ask(printer: &Endpoint, attributes: &[&str]) -> Result<Description, TransportError> {
    let uri = printer.parsed()?;
    let op = IppOperationBuilder::get_printer_attributes(uri.clone())
        .attributes(attributes.iter().copied())
        .build()
        .map_err(|e| unreachable(&uri, e))?;
    let resp = printer
        .client(&uri, Duration::from_secs(10))
        .send(op)
        .map_err(|e| unreachable(&uri, e))?;
    if !resp.header().status_code().is_success() {
        return Err(unreachable(
            &uri,
            format!("Get-Printer-Attributes: {:?}", resp.header().status_code()),
        ));
    }
    let mut d = Description::default();
    if let Some(g) = resp
        .attributes()
        .groups_of(DelimiterTag::PrinterAttributes)
        .next()
    {
        for a in g.attributes() {
            let v = a.value();
            match a.name().as_str() {
                "printer-make-and-model" => d.make_and_model = v.to_string(),
                "printer-uuid" => d.uuid = v.to_string(),
                "printer-firmware-string-version" => d.firmware = strings(v).join(", "),
                "printer-state" => d.state = ints(v).first().copied().unwrap_or(0),
                "printer-state-reasons" => d.reasons = strings(v),
                "document-format-supported" => d.formats = strings(v),
                "media-supported" => d.media = strings(v),
                "printer-error-policy" => d.error_policy = Some(v.to_string()),
                "marker-levels" => d.marker_levels = ints(v),
                _ => {}
            }
        }
    }
    Ok(d)
}

/// A reason without its severity suffix; `-report` ones are information
/// only and are dropped.
fn reasons_that_count(reasons: &[String]) -> Vec<&str> {
    reasons
        .iter()
        .filter(|r| !r.ends_with("-report") && r.as_str() != "none")
        .map(|r| r.trim_end_matches("-error").trim_end_matches("-warning"))
        .collect()
}

/// The station's causes for IPP's printer-state-reasons (RFC 8011 and PWG
/// 5100.9), as the Evolis path reports them.
pub fn cause_of(reason: &str) -> Option<Cause> {
    Some(match reason {
        "media-empty" | "media-needed" | "input-tray-missing" => Cause::FeederEmpty,
        "media-jam" => Cause::CardJam,
        "cover-open" | "door-open" | "interlock-open" => Cause::CoverOpen,
        "marker-supply-empty" | "marker-supply-missing" => Cause::RibbonEnded,
        "marker-supply-low" => Cause::RibbonLow,
        "output-area-full" | "output-tray-missing" => Cause::HopperFull,
        "offline" | "shutdown" | "connecting-to-device" => Cause::Disconnected,
        _ => return None,
    })
}

/// One reading of an IPP printer as the station's [`Status`].
pub fn status_of(d: &Description) -> Status {
    let causes: Vec<Cause> = reasons_that_count(&d.reasons)
        .into_iter()
        .filter_map(cause_of)
        .collect();
    // The worst first: a fault that stops printing before advice.
    let detail = causes
        .iter()
        .copied()
        .find(|c| c.blocks_printing())
        .or_else(|| causes.first().copied());
    let state = match detail {
        Some(Cause::Disconnected) => PrinterState::Offline,
        Some(c) if c.blocks_printing() => PrinterState::Error,
        Some(_) => PrinterState::Warning,
        // Stopped with no reason we know: not ready, say so.
        None if d.state == 5 => PrinterState::Error,
        None if d.state == 4 => PrinterState::Printing,
        None => PrinterState::Ready,
    };
    let ribbon_remaining = d
        .marker_levels
        .iter()
        .copied()
        .filter(|l| *l >= 0)
        .min()
        .map(|l| l as u32);
    Status {
        state,
        detail,
        ribbon_remaining,
        feeder_empty: detail == Some(Cause::FeederEmpty),
    }
}

/// A printer over IPP.
pub struct IppPrinter {
    at: Endpoint,
    settings: IppSettings,
    caps: Capabilities,
    identity: Identity,
    dpi: u32,
}

impl IppPrinter {
    /// Asks the printer who it is. A CUPS queue that retries failed jobs is
    /// refused: it could print a card twice.
    pub fn connect(
        at: Endpoint,
        settings: IppSettings,
        caps: Capabilities,
    ) -> Result<Self, TransportError> {
        let uri = at.as_str();
        let d = describe(&at)?;
        if d.retries_jobs() {
            return Err(TransportError::Io(std::io::Error::other(format!(
                "the CUPS queue {uri} sends a failed job again (printer-error-policy={}), which can print a card twice: run `{}`",
                d.error_policy.as_deref().unwrap_or_default(),
                abort_policy_fix(&resolve(uri))
            ))));
        }
        if !d.formats.is_empty() && !d.formats.iter().any(|f| f == &settings.document_format) {
            return Err(TransportError::Io(std::io::Error::other(format!(
                "{uri} does not take {} (it takes {}): choose the profile that fits (`legitka printers probe {uri}`)",
                settings.document_format,
                d.formats.join(", ")
            ))));
        }
        let identity = Identity {
            model: if d.make_and_model.is_empty() {
                "IPP printer".into()
            } else {
                d.make_and_model.clone()
            },
            serial: d.uuid.rsplit(':').next().unwrap_or_default().to_string(),
            firmware: d.firmware.clone(),
        };
        Ok(IppPrinter {
            at,
            dpi: caps.dpi,
            settings,
            caps,
            identity,
        })
    }

    fn uri(&self) -> Result<Uri, TransportError> {
        self.at.parsed()
    }

    /// The job's state and reasons.
    fn job(&self, uri: &Uri, id: i32) -> Result<(i32, Vec<String>), TransportError> {
        let op = IppOperationBuilder::get_job_attributes(uri.clone(), id)
            .build()
            .map_err(|e| unreachable(uri, e))?;
        let resp = self
            .at
            .client(uri, Duration::from_secs(10))
            .send(op)
            .map_err(|e| unreachable(uri, e))?;
        let mut state = 0;
        let mut reasons = Vec::new();
        if let Some(g) = resp
            .attributes()
            .groups_of(DelimiterTag::JobAttributes)
            .next()
        {
            for a in g.attributes() {
                match a.name().as_str() {
                    "job-state" => state = ints(a.value()).first().copied().unwrap_or(0),
                    "job-state-reasons" => reasons = strings(a.value()),
                    _ => {}
                }
            }
        }
        Ok((state, reasons))
    }

    fn cancel(&self, uri: &Uri, id: i32) {
        if let Ok(op) = IppOperationBuilder::cancel_job(uri.clone(), id).build() {
            if let Err(e) = self.at.client(uri, Duration::from_secs(10)).send(op) {
                tracing::warn!(job = id, error = %e, "cannot cancel the job");
            }
        }
    }
}

impl Printer for IppPrinter {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn identity(&self) -> &Identity {
        &self.identity
    }

    fn status(&mut self) -> Result<Status, TransportError> {
        reading(&self.at).map(|d| status_of(&d))
    }

    fn print(&mut self, card: &PanelSet) -> Result<PrintReport, PrintError> {
        let before = reading(&self.at).map_err(PrintError::NotStarted)?;
        let status = status_of(&before);
        if !status.can_print() {
            return Err(PrintError::NotReady(
                status.detail.unwrap_or(Cause::Disconnected),
            ));
        }
        let flavour =
            raster::Flavour::from_mime(&self.settings.document_format).ok_or_else(|| {
                PrintError::Protocol(format!(
                    "document format {} is not a raster this station writes",
                    self.settings.document_format
                ))
            })?;
        let page = page::compose(card, &self.settings.layout);
        let bytes = raster::encode(&page, self.dpi, flavour);
        let sent = bytes.len();
        let uri = self.uri().map_err(PrintError::NotStarted)?;
        let mut builder = IppOperationBuilder::print_job(
            uri.clone(),
            IppPayload::new(std::io::Cursor::new(bytes)),
        )
        .user_name("legitka")
        .job_title("legitymacja")
        .document_format(self.settings.document_format.clone());
        for (name, value) in &self.settings.attributes {
            let v: IppValue = match value.parse::<i32>() {
                Ok(i) => IppValue::Integer(i),
                Err(_) => IppValue::Keyword(
                    value
                        .as_str()
                        .try_into()
                        .map_err(|e| PrintError::Protocol(format!("{name}={value}: {e}")))?,
                ),
            };
            let attr = IppAttribute::with_name(name.as_str(), v)
                .map_err(|e| PrintError::Protocol(format!("{name}: {e}")))?;
            builder = builder.attribute(attr);
        }
        let op = builder
            .build()
            .map_err(|e| PrintError::Protocol(e.to_string()))?;
        // Whether the job reached the printer is known only from its answer:
        // a request that fails on the way may have been taken.
        let resp = match self.at.client(&uri, Duration::from_secs(60)).send(op) {
            Ok(r) => r,
            Err(e) => {
                return Err(PrintError::LostMidCard(unreachable(&uri, e)));
            }
        };
        if !resp.header().status_code().is_success() {
            // Refused before it was a job: nothing was printed.
            return Err(PrintError::NotStarted(unreachable(
                &uri,
                format!("Print-Job refused: {:?}", resp.header().status_code()),
            )));
        }
        let job_id = resp
            .attributes()
            .groups_of(DelimiterTag::JobAttributes)
            .next()
            .and_then(|g| g.get("job-id"))
            .and_then(|a| ints(a.value()).first().copied())
            .ok_or_else(|| PrintError::Protocol("Print-Job answered without a job-id".into()))?;
        let started = Instant::now();
        let mut fault: Option<Cause> = None;
        loop {
            std::thread::sleep(self.settings.poll);
            let (state, reasons) = match self.job(&uri, job_id) {
                Ok(j) => j,
                Err(e) if started.elapsed() > self.settings.card_timeout => {
                    return Err(PrintError::LostMidCard(e))
                }
                Err(_) => continue,
            };
            if let Ok(d) = reading(&self.at) {
                let s = status_of(&d);
                if let Some(c) = s.detail.filter(|c| c.blocks_printing()) {
                    fault = Some(c);
                }
            }
            match state {
                // pending, held, processing: not yet.
                3..=5 if started.elapsed() < self.settings.card_timeout => {}
                9 if fault.is_none() => {
                    return Ok(PrintReport {
                        bytes_sent: sent,
                        counter: 0,
                        panels: 1,
                    })
                }
                9 => {
                    // CUPS says completed for a job its printer aborted.
                    return Err(PrintError::MidCard {
                        cause: fault.unwrap_or(Cause::CardJam),
                        message: format!(
                            "job {job_id} ended completed, but the printer reported {} meanwhile",
                            fault.map_or("a fault", Cause::as_str)
                        ),
                    });
                }
                _ => {
                    // Stopped (a filter failed), aborted, canceled, or
                    // no end in time: the job must not go on by itself.
                    if state != 7 && state != 8 && state != 9 {
                        self.cancel(&uri, job_id);
                    }
                    return Err(PrintError::MidCard {
                        cause: fault.unwrap_or(Cause::CardJam),
                        message: format!(
                            "job {job_id} ended {} ({}): the card may be partly printed",
                            match state {
                                6 => "stopped",
                                7 => "canceled",
                                8 => "aborted",
                                _ => "without an answer in time",
                            },
                            reasons.join(", ")
                        ),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_become_the_stations_causes() {
        let d = |reasons: &[&str], state| Description {
            state,
            reasons: reasons.iter().map(|s| s.to_string()).collect(),
            ..Description::default()
        };
        assert_eq!(status_of(&d(&["none"], 3)).state, PrinterState::Ready);
        let jam = status_of(&d(&["media-jam-error"], 5));
        assert_eq!(
            (jam.state, jam.detail),
            (PrinterState::Error, Some(Cause::CardJam))
        );
        let low = status_of(&d(&["marker-supply-low-warning"], 3));
        assert_eq!(
            (low.state, low.detail),
            (PrinterState::Warning, Some(Cause::RibbonLow))
        );
        assert!(low.can_print());
        let empty = status_of(&d(&["marker-supply-low-warning", "media-empty-error"], 5));
        assert_eq!(
            empty.detail,
            Some(Cause::FeederEmpty),
            "the blocking one wins"
        );
        assert!(empty.feeder_empty);
        assert_eq!(
            status_of(&d(&["cover-open"], 5)).detail,
            Some(Cause::CoverOpen)
        );
        assert_eq!(
            status_of(&d(&["offline-report"], 3)).state,
            PrinterState::Ready,
            "-report is information"
        );
        assert_eq!(status_of(&d(&["offline"], 5)).state, PrinterState::Offline);
        assert_eq!(
            status_of(&d(&["marker-supply-empty-error"], 5)).detail,
            Some(Cause::RibbonEnded)
        );
    }

    #[test]
    fn a_retrying_queue_is_named_with_its_fix() {
        let d = Description {
            error_policy: Some("retry-job".into()),
            ..Description::default()
        };
        assert!(d.retries_jobs());
        assert_eq!(
            abort_policy_fix("ipp://127.0.0.1:631/printers/ZC300"),
            "lpadmin -p ZC300 -o printer-error-policy=abort-job"
        );
        assert_eq!(
            resolve("cups:Magicard"),
            "ipp://localhost:631/printers/Magicard"
        );
    }
}
