//! Printer profiles and card patterns: data files in `profiles/`, built into
//! the binary so a fresh station runs without them, and overridable from a
//! directory so a technician can adapt a blank without touching Rust.

use crate::card::geometry::{Rect, CARD_H_MM, CARD_W_MM, MM_PER_INCH};
use crate::card::template::{self, Problem, Template};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("no printer profile named {0:?}")]
    UnknownPrinter(String),
    #[error("reading {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// How panels are downloaded (the Evolis `Db` and `Dbc` commands).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum DownloadForm {
    #[default]
    Dbc,
    Db,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterProfile {
    pub model: String,
    pub protocol: String,
    pub dpi: u32,
    pub width_px: u32,
    pub height_px: u32,
    pub ribbon: String,
    pub ribbons: Vec<String>,
    pub duplex: bool,
    pub colour_levels: u32,
    /// `Dbc` (compressed, the default and what the vendor's driver sends)
    /// or `Db` (every pixel) for the panel downloads.
    #[serde(default)]
    pub download: DownloadForm,
    /// A query answering the SDK-style four status words (`Rst`); unset,
    /// the state comes from the read commands the guide documents.
    #[serde(default)]
    pub status_command: Option<String>,
    pub card_offset_x_px: f32,
    pub card_offset_y_px: f32,
    pub seconds_per_card: f32,
    #[serde(default)]
    pub overlay_holes: Vec<Rect>,
    /// For `protocol = "ipp"`: how a card goes to the printer or CUPS queue.
    #[serde(default)]
    pub ipp: Option<IppProfile>,
}

/// How a card is sent over IPP: the document, the page the driver expects
/// at the profile's dpi, and the job attributes that pick ribbon, resin
/// black and overlay.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IppProfile {
    /// `image/pwg-raster` or `application/vnd.cups-raster`.
    pub document_format: String,
    pub page_width_px: u32,
    pub page_height_px: u32,
    /// The card turned a quarter clockwise onto a portrait page.
    #[serde(default)]
    pub rotate: bool,
    /// Where the card's corner goes on the page (negative: cropped).
    #[serde(default)]
    pub offset_x_px: i64,
    #[serde(default)]
    pub offset_y_px: i64,
    /// `printer-make-and-model` words this profile fits (`printers probe`).
    #[serde(default)]
    pub models: Vec<String>,
    /// Job attributes, name = value (a keyword, or an integer).
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
}

impl PrinterProfile {
    /// Pixels from the panel's corner for a position in mm on the card.
    pub fn px(&self, x_mm: f32, y_mm: f32) -> (f32, f32) {
        (
            self.card_offset_x_px + self.mm(x_mm),
            self.card_offset_y_px + self.mm(y_mm),
        )
    }

    pub fn mm(&self, mm: f32) -> f32 {
        mm * self.dpi as f32 / MM_PER_INCH
    }

    /// Which panels the loaded ribbon carries, in print order.
    pub fn has_colour(&self) -> bool {
        self.ribbon.to_ascii_uppercase().starts_with("YMC")
    }

    pub fn has_overlay(&self) -> bool {
        self.ribbon.to_ascii_uppercase().contains('O')
    }

    /// What `legitka templates check` reports about a printer profile.
    pub fn problems(&self, file: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut say = |element: &str, message: String| {
            out.push(Problem {
                file: file.to_string(),
                element: Some(element.to_string()),
                message,
            })
        };
        match (self.protocol.as_str(), &self.ipp) {
            ("evolis", None) => {}
            ("evolis", Some(_)) => say(
                "ipp",
                "an [ipp] section belongs to protocol = \"ipp\"".into(),
            ),
            ("ipp", None) => say("ipp", "protocol = \"ipp\" needs an [ipp] section".into()),
            ("ipp", Some(i)) => {
                if !["image/pwg-raster", "application/vnd.cups-raster"]
                    .contains(&i.document_format.as_str())
                {
                    say(
                        "ipp.document_format",
                        format!("{:?}: the station sends image/pwg-raster or application/vnd.cups-raster", i.document_format),
                    );
                }
                if i.page_width_px == 0 || i.page_height_px == 0 {
                    say("ipp.page_width_px", "the page needs a size".into());
                }
            }
            (other, _) => say("protocol", format!("no driver for {other:?}")),
        }
        if crate::card::render::KNOWN_RIBBONS
            .iter()
            .all(|r| !r.eq_ignore_ascii_case(&self.ribbon))
        {
            say(
                "ribbon",
                format!(
                    "unknown ribbon {:?}; known: {:?}",
                    self.ribbon,
                    crate::card::render::KNOWN_RIBBONS
                ),
            );
        }
        if !self
            .ribbons
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&self.ribbon))
        {
            say(
                "ribbon",
                format!(
                    "{} is not among this printer's ribbons {:?}",
                    self.ribbon, self.ribbons
                ),
            );
        }
        if ![32, 64, 128].contains(&self.colour_levels) {
            say(
                "colour_levels",
                format!("{} is not 32, 64 or 128", self.colour_levels),
            );
        }
        let (w, h) = self.px(CARD_W_MM, CARD_H_MM);
        if w > self.width_px as f32 + 0.5 || h > self.height_px as f32 + 0.5 {
            say(
                "width_px",
                format!(
                    "the card ({w:.0} x {h:.0} px with its offset) does not fit {} x {}",
                    self.width_px, self.height_px
                ),
            );
        }
        for (i, r) in self.overlay_holes.iter().enumerate() {
            if r.x < 0.0 || r.y < 0.0 || r.x + r.w > CARD_W_MM || r.y + r.h > CARD_H_MM {
                say(&format!("overlay_holes[{i}]"), "leaves the card".into());
            }
        }
        out
    }
}

const BUILTIN_PRINTERS: &[(&str, &str)] = &[
    (
        "evolis-primacy-2",
        include_str!("../../profiles/printers/evolis-primacy-2.toml"),
    ),
    (
        "evolis-zenius",
        include_str!("../../profiles/printers/evolis-zenius.toml"),
    ),
    (
        "ipp-everywhere",
        include_str!("../../profiles/printers/ipp-everywhere.toml"),
    ),
    (
        "magicard-gutenprint",
        include_str!("../../profiles/printers/magicard-gutenprint.toml"),
    ),
    (
        "zebra-zc300",
        include_str!("../../profiles/printers/zebra-zc300.toml"),
    ),
    (
        "evolis-cups",
        include_str!("../../profiles/printers/evolis-cups.toml"),
    ),
];

const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    (
        "mein-i-1",
        include_str!("../../profiles/templates/mein-i-1.svg"),
    ),
    (
        "mein-i-3-n",
        include_str!("../../profiles/templates/mein-i-3-n.svg"),
    ),
];

/// The profiles a station works with.
#[derive(Debug, Clone)]
pub struct Profiles {
    pub printers: BTreeMap<String, PrinterProfile>,
    /// Keyed by pattern symbol (`MEiN-I/1`).
    pub patterns: BTreeMap<String, Template>,
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, ProfileError> {
    toml::from_str(text).map_err(|e| ProfileError::Invalid {
        file: file.to_string(),
        message: e.to_string(),
    })
}

impl Profiles {
    pub fn builtin() -> Self {
        Self::from_sources(
            BUILTIN_PRINTERS
                .iter()
                .map(|(n, t)| (format!("printers/{n}.toml"), t.to_string())),
            BUILTIN_TEMPLATES
                .iter()
                .map(|(n, t)| (format!("templates/{n}.svg"), t.to_string())),
        )
        .expect("built-in profiles are checked by the tests")
    }

    /// Reads `printers/*.toml` and `templates/*.svg` under `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self, ProfileError> {
        let (printers, templates) = Self::read_dir(dir)?;
        Self::from_sources(printers, templates)
    }

    #[allow(clippy::type_complexity)]
    fn read_dir(
        dir: &Path,
    ) -> Result<(Vec<(String, String)>, Vec<(String, String)>), ProfileError> {
        let read = |sub: &str, ext: &str| -> Result<Vec<(String, String)>, ProfileError> {
            let d = dir.join(sub);
            let io = |source| ProfileError::Io {
                file: d.display().to_string(),
                source,
            };
            let mut out = Vec::new();
            for entry in std::fs::read_dir(&d).map_err(io)? {
                let path = entry.map_err(io)?.path();
                if path.extension().is_some_and(|e| e == ext) {
                    let text = std::fs::read_to_string(&path).map_err(io)?;
                    out.push((path.display().to_string(), text));
                }
            }
            out.sort();
            Ok(out)
        };
        Ok((read("printers", "toml")?, read("templates", "svg")?))
    }

    /// Everything wrong with the profiles in `dir`, each with its file and,
    /// for templates, the element.
    pub fn check_dir(dir: &Path) -> Result<Vec<Problem>, ProfileError> {
        let (printers, templates) = Self::read_dir(dir)?;
        let mut problems = Vec::new();
        for (file, text) in &printers {
            match parse::<PrinterProfile>(file, text) {
                Ok(p) => problems.extend(p.problems(file)),
                Err(e) => problems.push(Problem {
                    file: file.clone(),
                    element: None,
                    message: e.to_string(),
                }),
            }
        }
        let mut seen = BTreeMap::new();
        for (file, text) in &templates {
            match template::parse(file, text) {
                Ok(t) => {
                    if let Some(other) = seen.insert(t.pattern.clone(), file.clone()) {
                        problems.push(Problem {
                            file: file.clone(),
                            element: None,
                            message: format!("pattern {} is also in {other}", t.pattern),
                        });
                    }
                }
                Err(p) => problems.extend(p),
            }
        }
        Ok(problems)
    }

    fn from_sources(
        printers: impl IntoIterator<Item = (String, String)>,
        patterns: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ProfileError> {
        let mut out = Profiles {
            printers: BTreeMap::new(),
            patterns: BTreeMap::new(),
        };
        for (file, text) in printers {
            let p: PrinterProfile = parse(&file, &text)?;
            let name = Path::new(&file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.printers.insert(name, p);
        }
        for (file, text) in patterns {
            let t = template::parse(&file, &text).map_err(|problems| ProfileError::Invalid {
                file: file.clone(),
                message: problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            })?;
            out.patterns.insert(t.pattern.clone(), t);
        }
        Ok(out)
    }

    pub fn printer(&self, name: &str) -> Result<&PrinterProfile, ProfileError> {
        self.printers
            .get(name)
            .ok_or_else(|| ProfileError::UnknownPrinter(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_parse_and_pass_their_own_check() {
        let p = Profiles::builtin();
        assert!(p.printers.contains_key("evolis-primacy-2"));
        assert!(p.printers.contains_key("evolis-zenius"));
        for symbol in ["MEiN-I/1", "MEiN-I/3-N"] {
            let pat = &p.patterns[symbol];
            assert!((pat.photo.w - 19.0).abs() < 1e-6 && (pat.photo.h - 26.0).abs() < 1e-6);
            for f in &pat.fields {
                assert!(
                    f.x >= 0.0 && f.x + f.w <= 85.6,
                    "{symbol} {} leaves the card",
                    f.name
                );
                assert!(
                    f.y >= 0.0 && f.y + f.h <= 53.98,
                    "{symbol} {} leaves the card",
                    f.name
                );
                assert!(f.min_size <= f.size);
            }
        }
    }

    #[test]
    fn the_repository_profiles_dir_matches_the_builtin_set() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
        let loaded = Profiles::load_dir(&dir).unwrap();
        let builtin = Profiles::builtin();
        assert_eq!(
            loaded.printers.keys().collect::<Vec<_>>(),
            builtin.printers.keys().collect::<Vec<_>>()
        );
        assert_eq!(
            loaded.patterns.keys().collect::<Vec<_>>(),
            builtin.patterns.keys().collect::<Vec<_>>()
        );
    }
}
