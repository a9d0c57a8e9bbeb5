//! Rendering checked on the pixels and in the PDF.

use legitka::message::{self, Inbound, TrustedKeys};
use legitka::order::ValidOrder;
use legitka::profile::Profiles;
use legitka::render::Renderer;
use legitka::sample;
use serde_json::json;

fn renderer() -> Renderer {
    let p = Profiles::builtin();
    let printer = p.printer("evolis-primacy-2").unwrap().clone();
    Renderer::new(p, printer)
}

fn valid(o: &serde_json::Value, r: &Renderer) -> ValidOrder {
    let Ok(Inbound::Order(m, _)) =
        message::parse(o.to_string().as_bytes(), &TrustedKeys::default())
    else {
        panic!("sample order parses")
    };
    legitka::ingest::check(&m, r, sample::SCHOOL_RSPO).unwrap()
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
    let images: Vec<_> = doc
        .objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .filter(|s| {
            s.dict.get(b"Subtype").and_then(|v| v.as_name()).ok() == Some(b"Image".as_slice())
        })
        .map(|s| {
            (
                s.dict.get(b"Width").unwrap().as_i64().unwrap(),
                s.dict.get(b"Height").unwrap().as_i64().unwrap(),
            )
        })
        .collect();
    let mut images = images;
    images.sort();
    // The photo at its 224 x 307 pixels; the blank at 300 dpi over the card.
    assert_eq!(images, vec![(224, 307), (1011, 638)]);
}
