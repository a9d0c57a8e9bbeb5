//! Rendering checked on the pixels and in the PDF.

use legitka::card::message::{self, Inbound, TrustedKeys};
use legitka::card::order::ValidOrder;
use legitka::card::profile::Profiles;
use legitka::card::render::{Layout, Renderer};
use legitka::card::sample;
use serde_json::json;

fn renderer() -> Renderer {
    sample::renderer()
}

/// The sample orders 0..n, validated and rendered: a class.
fn rendered(r: &Renderer, n: usize) -> Vec<legitka::card::render::RenderedCard> {
    (0..n)
        .map(|i| {
            let o = valid(&sample::order(i), r);
            r.render(&o.data, &o.photo).unwrap()
        })
        .collect()
}

/// A PDF page's width and height in mm, from its MediaBox.
fn page_mm(doc: &lopdf::Document, page: lopdf::ObjectId) -> (f32, f32) {
    let b = doc
        .get_dictionary(page)
        .unwrap()
        .get(b"MediaBox")
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    let pt = |i: usize| b[i].as_float().unwrap();
    ((pt(2) - pt(0)) * 25.4 / 72.0, (pt(3) - pt(1)) * 25.4 / 72.0)
}

/// Every set pixel of the black panel lies in some field's box: nothing
/// crosses out, nothing runs onto the blank's captions.
fn assert_ink_inside_fields(k: &legitka_drivers::Mono, layout: &Layout, what: &str) {
    for y in 0..k.height() {
        for x in 0..k.width() {
            if k.get(x, y) {
                let inside = layout.fields.iter().any(|g| {
                    let (x, y) = (x as f32, y as f32);
                    x >= g.x_px - 1.0
                        && x <= g.x_px + g.w_px + 1.0
                        && y >= g.y_px - 1.0
                        && y <= g.y_px + g.h_px + 1.0
                });
                assert!(inside, "{what}: ink at ({x}, {y}) outside every field");
            }
        }
    }
}

fn valid(o: &serde_json::Value, r: &Renderer) -> ValidOrder {
    let Ok(Inbound::Order(m)) = message::parse(o.to_string().as_bytes(), &TrustedKeys::default())
    else {
        panic!("sample order parses")
    };
    legitka::runtime::ingest::check(&m, r, sample::SCHOOL_RSPO).unwrap()
}

/// The resin panel inside one field's box, as a bit string.
fn field_bits(r: &Renderer, order: &ValidOrder, field: &str) -> Vec<bool> {
    let layout = r.layout(&order.data).unwrap();
    let k = r.black_panel(&layout).unwrap();
    let f = layout.fields.iter().find(|f| f.name == field).unwrap();
    let mut bits = Vec::new();
    for y in f.y_px as u32..(f.y_px + f.h_px) as u32 {
        for x in f.x_px as u32..(f.x_px + f.w_px) as u32 {
            bits.push(k.get(x, y));
        }
    }
    bits
}

#[test]
fn every_polish_letter_has_its_own_glyph_in_the_black_panel() {
    let r = renderer();
    let letters = "ĄĆĘŁŃÓŚŹŻąćęłńóśźż";
    let bases = "ACELNOSZZacelnoszz";
    let render = |c: char| {
        let mut o = sample::order(0);
        o["student"]["last_name"] = json!(c.to_string());
        field_bits(&r, &valid(&o, &r), "last_name")
    };
    let mut seen: Vec<(char, Vec<bool>)> = Vec::new();
    for (c, base) in letters.chars().zip(bases.chars()) {
        let bits = render(c);
        let ink = bits.iter().filter(|b| **b).count();
        assert!(ink > 50, "{c} left the panel blank");
        assert_ne!(
            bits,
            render(base),
            "{c} renders like {base}: its diacritic is missing"
        );
        for (other, b) in &seen {
            assert_ne!(&bits, b, "{c} renders like {other}: a missing-glyph box?");
        }
        seen.push((c, bits));
    }
}

#[test]
fn a_duplicate_says_so_on_the_card_and_a_new_card_does_not() {
    let r = renderer();
    let mut o = sample::order(0);
    let new = valid(&o, &r);
    assert!(r
        .layout(&new.data)
        .unwrap()
        .fields
        .iter()
        .all(|f| f.name != "duplicate"));
    o["reason"] = json!("duplicate");
    let dup = valid(&o, &r);
    let layout = r.layout(&dup.data).unwrap();
    let mark = layout
        .fields
        .iter()
        .find(|f| f.name == "duplicate")
        .expect("duplicate mark");
    assert_eq!(mark.lines, vec!["DUPLIKAT".to_string()]);
    assert!(
        field_bits(&r, &dup, "duplicate")
            .iter()
            .filter(|b| **b)
            .count()
            > 200
    );
}

#[test]
fn a_long_surname_wraps_into_its_two_lines_and_stays_inside_its_box() {
    let r = renderer();
    let mut o = sample::order(0);
    o["student"]["last_name"] = json!("Wiśniewska-Żółkiewska Brzęczyszczykiewicz-Szczebrzeszyńska");
    let order = valid(&o, &r);
    let layout = r.layout(&order.data).unwrap();
    let f = layout
        .fields
        .iter()
        .find(|f| f.name == "last_name")
        .unwrap();
    assert_eq!(f.lines.len(), 2, "{:?}", f.lines);
    assert!(f.size_px >= 6.0 * 300.0 / 72.0, "below the legible minimum");
    // No resin outside the field boxes' union... checked for this field's
    // neighbourhood: the rows just above and below the box stay clear.
    let k = r.black_panel(&layout).unwrap();
    for x in f.x_px as u32..(f.x_px + f.w_px) as u32 {
        assert!(!k.get(x, (f.y_px - 2.0) as u32), "text above its box");
        assert!(
            !k.get(x, (f.y_px + f.h_px + 2.0) as u32),
            "text below its box"
        );
    }
    for y in f.y_px as u32..(f.y_px + f.h_px) as u32 {
        assert!(
            !k.get((f.x_px + f.w_px + 1.0) as u32, y),
            "text past its box"
        );
    }
}

#[test]
fn the_proof_is_true_scale_with_the_photo_at_19_by_26_mm_and_extractable_polish_text() {
    let r = renderer();
    let order = valid(&sample::order(0), &r);
    let card = r.render(&order.data, &order.photo).unwrap();
    let pdf = r.proof_pdf(&card, "proof").unwrap();
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let (_, page) = doc.get_pages().into_iter().next().unwrap();
    let dict = doc.get_dictionary(page).unwrap();
    let arr = dict.get(b"MediaBox").unwrap().as_array().unwrap();
    let media = [0, 1, 2, 3].map(|i| arr[i].as_float().unwrap());
    let mm = |pt: f32| pt * 25.4 / 72.0;
    assert!(
        (mm(media[2] - media[0]) - 85.6).abs() < 0.05,
        "page width {}",
        mm(media[2])
    );
    assert!(
        (mm(media[3] - media[1]) - 53.98).abs() < 0.05,
        "page height {}",
        mm(media[3])
    );
    let text = doc.extract_text(&[1]).unwrap();
    for s in [
        "Wiśniewska-Żółkiewska",
        "Łódź",
        "Brzęczyszczykiewicz",
        "Zofia Maria",
    ] {
        assert!(
            text.contains(s),
            "{s:?} not extractable from the proof: {text:?}"
        );
    }
    // The photo is embedded at its own pixels, not re-encoded smaller.
    let mut images: Vec<(i64, i64)> = pdf_images(&doc)
        .into_iter()
        .map(|(w, h, _)| (w, h))
        .collect();
    images.sort();
    // The photo at its 224 x 307 pixels; the blank at 300 dpi over the card.
    assert_eq!(images, vec![(224, 307), (1011, 638)]);
}

fn renderer_with_ribbon(ribbon: &str) -> Renderer {
    let p = Profiles::builtin();
    let mut printer = p.printer("evolis-primacy-2").unwrap().clone();
    printer.ribbon = ribbon.into();
    Renderer::new(p, printer)
}

/// Share of set pixels of the resin panel inside the photo box.
fn ink_in_photo(card: &legitka::card::render::RenderedCard) -> f64 {
    let (x0, y0, w, h) = card.photo_box_px;
    let k = card.panels.black.as_ref().unwrap();
    let mut n = 0;
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            n += usize::from(k.get(x, y));
        }
    }
    n as f64 / f64::from(w * h)
}

#[test]
fn the_ribbon_decides_the_panels() {
    let order = valid(&sample::order(0), &renderer());
    let ymcko = renderer_with_ribbon("YMCKO")
        .render(&order.data, &order.photo)
        .unwrap();
    assert!(ymcko.panels.colour.is_some() && ymcko.panels.overlay.is_some());
    assert_eq!(ink_in_photo(&ymcko), 0.0, "the photo is dye, not resin");
    assert!(ymcko.warnings.is_empty());

    for (ribbon, overlay) in [("KO", true), ("K", false)] {
        let card = renderer_with_ribbon(ribbon)
            .render(&order.data, &order.photo)
            .unwrap();
        assert!(
            card.panels.colour.is_none(),
            "{ribbon} has no colour panels"
        );
        assert_eq!(card.panels.overlay.is_some(), overlay, "{ribbon} overlay");
        let ink = ink_in_photo(&card);
        assert!(
            (0.2..0.8).contains(&ink),
            "{ribbon}: the photo dithered into resin covers {ink:.2}"
        );
        assert!(
            card.warnings.iter().any(|w| w.contains("dithered")),
            "{ribbon} warns"
        );
    }
}

#[test]
fn hard_names_and_schools_fit_inside_their_fields_with_every_glyph() {
    let r = renderer();
    let cases: &[(&str, &str)] = &[
        ("last_name", "Wiśniewska-Żółkiewska"),
        ("last_name", "Brzęczyszczykiewicz-Chrząszczewska Grzegórzewska"),
        ("first_names", "Zofia Maria Łucja Ńina"),
        ("first_names", "Świętopełk Bolesław Żegota"),
        ("school_name", "Zespół Szkolno-Przedszkolny nr 12 im. Księdza Jana Twardowskiego w Źródłach Wielkich"),
        ("school_name", "Szkoła Podstawowa z Oddziałami Integracyjnymi nr 340 im. Profesora Bogusława Molskiego"),
        ("school_address", "ul. Gen. Józefa Hallera 154/156, 85-795 Bydgoszcz-Fordon"),
        ("headteacher", "Małgorzata Szczęsna-Ćwiek"),
    ];
    fn json_path(f: &str) -> (&'static str, &'static str) {
        match f {
            "last_name" => ("student", "last_name"),
            "first_names" => ("student", "first_names"),
            "school_name" => ("school", "name"),
            "school_address" => ("school", "address"),
            "headteacher" => ("school", "headteacher"),
            _ => unreachable!(),
        }
    }
    for (field, value) in cases {
        let mut o = sample::order(0);
        let (a, b) = json_path(field);
        o[a][b] = json!(value);
        let order = valid(&o, &r);
        let layout = r.layout(&order.data).unwrap();
        let k = r.black_panel(&layout).unwrap();
        let f = layout.fields.iter().find(|f| f.name == *field).unwrap();
        assert_eq!(f.lines.join(" "), *value, "{field}: text changed");
        // Every set pixel lies in some field's box: nothing crosses out.
        assert_ink_inside_fields(&k, &layout, &format!("{field} = {value:?}"));
        // Every letter left ink: render each word alone and compare counts.
        let ink: usize = (f.y_px as u32..(f.y_px + f.h_px) as u32)
            .flat_map(|y| (f.x_px as u32..(f.x_px + f.w_px) as u32).map(move |x| (x, y)))
            .filter(|&(x, y)| k.get(x, y))
            .count();
        let letters = value.chars().filter(|c| c.is_alphanumeric()).count();
        assert!(
            ink > letters * 20,
            "{field} = {value:?}: only {ink} pixels of ink for {letters} letters"
        );
    }
}

#[test]
fn a_class_proof_puts_eight_cards_on_each_a4_page_at_true_scale() {
    let r = renderer();
    let cards = rendered(&r, 12);
    let pdf = r.batch_proof_pdf(&cards, "class").unwrap();
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let pages = doc.get_pages();
    assert_eq!(pages.len(), 2);
    for id in pages.values() {
        let (w, h) = page_mm(&doc, *id);
        assert!((w - 210.0).abs() < 0.1 && (h - 297.0).abs() < 0.1, "A4");
    }
    let first = doc.extract_text(&[1]).unwrap();
    let second = doc.extract_text(&[2]).unwrap();
    assert_eq!(first.matches("Szkoła Podstawowa nr 7").count(), 8);
    assert_eq!(second.matches("Szkoła Podstawowa nr 7").count(), 4);
    assert!(second.contains("12/2026"));
    // Slots hold whole cards with room for the marks, inside the page.
    for (x, y) in Renderer::a4_slots() {
        assert!(
            x >= 5.0 && x + 85.6 <= 205.0 && y >= 5.0 && y + 53.98 <= 292.0,
            "slot ({x}, {y})"
        );
    }
}

/// A real school's name, cut to the 120 characters a layout must take.
fn long_school_name() -> String {
    let s: String = "Zespół Szkół Ogólnokształcących i Technicznych nr 2 im. Księżnej Anny z Zamoyskich Sapieżyny w Świętochłowicach przy ul. Łódzkiej"
        .chars()
        .take(120)
        .collect();
    assert_eq!(s.chars().count(), 120);
    s
}
const ADDRESS_63: &str = "ul. Księcia Józefa Poniatowskiego 123/45, 41-600 Świętochłowice";
const ADDRESS_80: &str =
    "ul. Księcia Józefa Poniatowskiego 123/45A, Osiedle Źródła, 41-600 Świętochłowice";

fn long_school_order(pattern: &str, name: &str, address: &str) -> serde_json::Value {
    let mut o = sample::order(0);
    o["pattern"] = json!(pattern);
    o["school"]["name"] = json!(name);
    o["school"]["address"] = json!(address);
    o
}

#[test]
fn a_long_school_name_and_address_fit_every_layout_inside_their_fields() {
    let r = renderer();
    let pt = 300.0 / 72.0;
    assert_eq!(ADDRESS_80.chars().count(), 80);
    for pattern in ["MEiN-I/1", "MEiN-I/3-N"] {
        for address in [ADDRESS_63, ADDRESS_80] {
            let order = valid(
                &long_school_order(pattern, &long_school_name(), address),
                &r,
            );
            let layout = r.layout(&order.data).unwrap();
            let k = r.black_panel(&layout).unwrap();
            for (field, value) in [
                ("school_name", long_school_name()),
                ("school_address", address.to_string()),
            ] {
                let f = layout.fields.iter().find(|f| f.name == field).unwrap();
                assert_eq!(f.lines.join(" "), value, "{pattern} {field}: text changed");
                let size_pt = f.size_px / pt;
                eprintln!(
                    "{pattern} {field} ({} chars): {} line(s) at {size_pt:.2} pt",
                    value.chars().count(),
                    f.lines.len()
                );
                assert!(size_pt >= 5.0 - 1e-3, "{pattern} {field} at {size_pt} pt");
                // Each line left ink in its own band of the box.
                let lh = f.size_px * 1.164;
                for (i, base) in f.baselines().iter().enumerate() {
                    let top = (base - f.size_px * 0.928).max(f.y_px) as u32;
                    let bottom = (base - f.size_px * 0.928 + lh).min(f.y_px + f.h_px) as u32;
                    let ink = (top..bottom)
                        .flat_map(|y| {
                            (f.x_px as u32..(f.x_px + f.w_px) as u32).map(move |x| (x, y))
                        })
                        .filter(|&(x, y)| k.get(x, y))
                        .count();
                    let letters = f.lines[i].chars().filter(|c| c.is_alphanumeric()).count();
                    assert!(
                        ink > letters * 10,
                        "{pattern} {field} line {i}: {ink} px of ink for {letters} letters"
                    );
                }
            }
            // Every set pixel lies in some field's box: nothing crosses out,
            // nothing runs onto the blank's captions.
            assert_ink_inside_fields(&k, &layout, pattern);
            if let Ok(dir) = std::env::var("LEGITKA_TEST_PNG") {
                let card = r.render(&order.data, &order.photo).unwrap();
                let file = format!(
                    "{dir}/long-school-{}-{}.png",
                    pattern.replace('/', "-"),
                    address.chars().count()
                );
                r.preview(&card).unwrap().save(file).unwrap();
            }
        }
    }
}

#[test]
fn a_school_line_that_truly_cannot_fit_is_refused_naming_its_field() {
    let r = renderer();
    let long: String = long_school_name().repeat(2).chars().take(200).collect();
    for pattern in ["MEiN-I/1", "MEiN-I/3-N"] {
        for (name, address, field) in [
            (long.as_str(), ADDRESS_80, "school.name"),
            ("Szkoła Podstawowa nr 7", &long[..], "school.address"),
        ] {
            let o = long_school_order(pattern, name, address);
            let Ok(Inbound::Order(m)) =
                message::parse(o.to_string().as_bytes(), &TrustedKeys::default())
            else {
                panic!("the order parses")
            };
            let e = legitka::runtime::ingest::check(&m, &r, sample::SCHOOL_RSPO).unwrap_err();
            assert_eq!(e.code.as_str(), "text_overflow", "{pattern} {field}: {e}");
            assert_eq!(e.field.as_deref(), Some(field), "{pattern}: {e}");
        }
    }
}

/// Image streams of a PDF: (width, height, filter).
fn pdf_images(doc: &lopdf::Document) -> Vec<(i64, i64, String)> {
    let mut v: Vec<_> = doc
        .objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .filter(|s| {
            s.dict.get(b"Subtype").and_then(|v| v.as_name()).ok() == Some(b"Image".as_slice())
        })
        .map(|s| {
            let filter = match s.dict.get(b"Filter") {
                Ok(lopdf::Object::Name(n)) => String::from_utf8_lossy(n).into_owned(),
                Ok(lopdf::Object::Array(a)) => a
                    .iter()
                    .filter_map(|n| n.as_name().ok())
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .collect::<Vec<_>>()
                    .join(","),
                _ => String::new(),
            };
            (
                s.dict.get(b"Width").unwrap().as_i64().unwrap(),
                s.dict.get(b"Height").unwrap().as_i64().unwrap(),
                filter,
            )
        })
        .collect();
    v.sort();
    v
}

/// `pdftotext` (poppler) on a PDF, or None where it is not installed.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("proof.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .ok()?;
    assert!(out.status.success(), "pdftotext failed");
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn a_one_card_proof_is_small_with_the_photo_as_jpeg_and_its_text_extractable() {
    let r = renderer();
    let o = long_school_order("MEiN-I/1", &long_school_name(), ADDRESS_80);
    let order = valid(&o, &r);
    let card = r.render(&order.data, &order.photo).unwrap();
    let pdf = r.proof_pdf(&card, "proof").unwrap();
    eprintln!("one-card proof: {} bytes", pdf.len());
    assert!(pdf.len() <= 300 * 1024, "{} bytes", pdf.len());
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    // The photo as DCT at the printer's pixels for 19 x 26 mm at 300 dpi;
    // the blank at 300 dpi over the card, deflated.
    assert_eq!(
        pdf_images(&doc),
        vec![
            (224, 307, "DCTDecode".to_string()),
            (1011, 638, "FlateDecode".to_string())
        ]
    );
    let (_, page) = doc.get_pages().into_iter().next().unwrap();
    let (w, h) = page_mm(&doc, page);
    assert!((w - 85.6).abs() < 0.05 && (h - 53.98).abs() < 0.05);
    match pdftotext(&pdf) {
        None => eprintln!("pdftotext is not installed: poppler's reading not checked"),
        Some(text) => {
            for s in [
                "Wiśniewska-Żółkiewska",
                "Zofia Maria",
                "Świętochłowice",
                "Księżnej",
            ] {
                assert!(text.contains(s), "{s:?} not found by pdftotext: {text:?}");
            }
        }
    }
}

#[test]
fn a_class_proof_grows_by_a_photo_a_card_not_by_a_blank() {
    let r = renderer();
    let cards = rendered(&r, 30);
    let one = r.batch_proof_pdf(&cards[..1], "one").unwrap().len();
    let class = r.batch_proof_pdf(&cards, "class").unwrap();
    eprintln!(
        "class proof: 1 card {one} bytes, 30 cards {} bytes",
        class.len()
    );
    let doc = lopdf::Document::load_mem(&class).unwrap();
    let images = pdf_images(&doc);
    assert_eq!(images.iter().filter(|i| i.2 == "DCTDecode").count(), 30);
    assert_eq!(
        images.iter().filter(|i| i.0 == 1011).count(),
        1,
        "one blank for the class"
    );
    // Each further card adds its photo and text: well under 100 KB.
    assert!(
        class.len() <= one + 29 * 100 * 1024,
        "{} bytes for 30 cards, {one} for one",
        class.len()
    );
}
