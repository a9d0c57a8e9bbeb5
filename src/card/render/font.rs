//! The shipped fonts in documents: cut down to the characters a document
//! prints, and measured without asking the font for every character again.

use std::collections::{BTreeSet, HashMap};

/// The shipped font cut down to the characters a document prints: whole,
/// DejaVu Sans is 760 KB, and printpdf subsets only with its own text layout
/// engine, which we do not build. The cmap is kept, so text stays
/// extractable.
pub fn subset(font: &[u8], chars: &BTreeSet<char>) -> Result<Vec<u8>, String> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{CmapTarget, SubsetProfile};
    use skrifa::MetadataProvider;
    let map = skrifa::FontRef::new(font)
        .map_err(|e| format!("the font: {e}"))?
        .charmap();
    // Glyph 0 (.notdef) first, no duplicates: allsorts requires both.
    let mut gids: Vec<u16> = chars
        .iter()
        .filter_map(|c| map.map(*c))
        .filter_map(|g| u16::try_from(g.to_u32()).ok())
        .filter(|g| *g != 0)
        .collect();
    gids.sort_unstable();
    gids.dedup();
    gids.insert(0, 0);
    let data = ReadScope::new(font)
        .read::<FontData<'_>>()
        .map_err(|e| format!("the font: {e}"))?;
    let provider = data
        .table_provider(0)
        .map_err(|e| format!("the font: {e}"))?;
    allsorts::subset::subset(
        &provider,
        &gids,
        &SubsetProfile::Minimal,
        CmapTarget::Unicode,
    )
    .map_err(|e| format!("subsetting the font: {e}"))
}

/// Advance widths of one font, each character looked up once: a report of
/// ten thousand rows measures every cell.
pub struct Widths<'a> {
    font: skrifa::FontRef<'a>,
    em: HashMap<char, f32>,
}

impl<'a> Widths<'a> {
    pub fn new(font: &'a [u8]) -> Result<Self, String> {
        Ok(Widths {
            font: skrifa::FontRef::new(font).map_err(|e| e.to_string())?,
            em: HashMap::new(),
        })
    }

    /// Width of `text` in mm at `size` points.
    pub fn mm(&mut self, text: &str, size: f32) -> f32 {
        use skrifa::MetadataProvider;
        let mut em = 0.0;
        for c in text.chars() {
            em += match self.em.get(&c) {
                Some(w) => *w,
                None => {
                    let w = self
                        .font
                        .charmap()
                        .map(c)
                        .and_then(|g| {
                            self.font
                                .glyph_metrics(
                                    skrifa::instance::Size::new(1.0),
                                    skrifa::instance::LocationRef::default(),
                                )
                                .advance_width(g)
                        })
                        .unwrap_or(0.6);
                    self.em.insert(c, w);
                    w
                }
            };
        }
        em * size * 25.4 / 72.0
    }
}
