//! Which characters each text field of an order may contain.
//!
//! Every text is NFC-normalised first (a decomposed `z` + U+0307 becomes the
//! precomposed `ż` it is), then, where a field may contain spaces, every run
//! of whitespace becomes one space and the ends are trimmed. What is left must
//! be made of the field's [`Repertoire`], an allow-list: anything not listed
//! is refused as `schema` with the field named. The refusal names the
//! character's position and code point, never the value, which is personal
//! data.
//!
//! Letters are those of Latin-script European alphabets (and Vietnamese):
//! Unicode script Latin, alphabetic, upper or lower case, in the blocks
//! Basic Latin, Latin-1 Supplement, Latin Extended-A and -B and Latin Extended
//! Additional (up to U+1EF9; the medieval Welsh letters after it have no
//! glyph in the card font), plus `Ə ə` (Azerbaijani). Fullwidth forms,
//! ligatures, Roman numerals, small capitals and modifier letters are Latin
//! script too, but nobody's name is written with them: they are refused. A
//! combining mark U+0300-U+0333 (the accents above and below that
//! orthographies use: grave to double low line; not the overlays, the
//! invisible U+034F or the phonetic marks after it) is allowed where NFC
//! leaves one, directly after a letter or after one other mark: at most
//! [`MAX_MARKS`] on one letter.
//!
//! Everything else (control and format characters such as the bidi overrides
//! and zero-width spaces, emoji and other symbols, private-use and unassigned
//! code points, letters and digits of other scripts) is refused because it is
//! not on a list, not because it is on one: [`describe`] only words the
//! refusal.
//!
//! The card font (DejaVu Sans, regular and bold) has a glyph for every
//! character a repertoire accepts; the renderer checks that again per card.

use crate::card::reject::{Code, Rejection};
use unicode_normalization::char::{is_combining_mark, is_public_assigned};
use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};

/// The most combining marks one letter may carry after NFC.
pub const MAX_MARKS: usize = 2;

/// Punctuation in personal names: space, hyphen-minus, apostrophe (typewriter
/// and typographic, U+2019) and dot (`St. John`, a headteacher's `dr hab.`).
pub const NAME_PUNCTUATION: &[char] = &[' ', '-', '\'', '\u{2019}', '.'];

/// Punctuation in school names, addresses and identity document names, as
/// Polish schools write them: `nr 7 im. Marii Skłodowskiej-Curie`,
/// `„Sokół”` (also `"Sokół"` and the common `„Sokół“`),
/// `123/45, 41-600`, `(Łódź)`, an en dash between parts of a name.
pub const SCHOOL_PUNCTUATION: &[char] = &[
    ' ', '.', ',', '-', '\u{2013}', '/', '(', ')', '"', '\u{201E}', '\u{201D}', '\u{201C}', '\'',
    '\u{2019}',
];

/// Punctuation in an identity document's number: space, hyphen, slash.
pub const DOCUMENT_NUMBER_PUNCTUATION: &[char] = &[' ', '-', '/'];

/// Punctuation in a card number (contract: ASCII letters and digits, `/`, `-`).
pub const CARD_NUMBER_PUNCTUATION: &[char] = &['/', '-'];
/// In a student id: what ids such as `S-000123` or `2025/4b/17` need.
pub const STUDENT_ID_PUNCTUATION: &[char] = &['-', '_', '.', '/'];

/// Which characters a field may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repertoire {
    /// `student.first_names`, `student.last_name`, `school.headteacher`:
    /// letters (with their marks) and [`NAME_PUNCTUATION`]; no digits; at
    /// least one letter.
    PersonalName,
    /// `school.name`, `school.address`, `student.identity_document.name`:
    /// letters (with their marks), ASCII digits and [`SCHOOL_PUNCTUATION`].
    SchoolText,
    /// `student.identity_document.number`: ASCII letters and digits and
    /// [`DOCUMENT_NUMBER_PUNCTUATION`].
    DocumentNumber,
    /// `card.number`: ASCII letters and digits and [`CARD_NUMBER_PUNCTUATION`];
    /// no space at all (the number is the school's key, kept exactly).
    CardNumber,
    /// `student.id`: printable ASCII, U+0020 to U+007E (`S-000123`). Never
    /// printed, but it names the student in revocations and the register.
    StudentId,
}

impl Repertoire {
    /// Whether Latin letters and their combining marks are allowed.
    fn latin_letters(self) -> bool {
        matches!(self, Repertoire::PersonalName | Repertoire::SchoolText)
    }

    /// Whether `c`, not being a Latin letter or mark, is allowed.
    fn allows_other(self, c: char) -> bool {
        match self {
            Repertoire::PersonalName => NAME_PUNCTUATION.contains(&c),
            Repertoire::SchoolText => c.is_ascii_digit() || SCHOOL_PUNCTUATION.contains(&c),
            Repertoire::DocumentNumber => {
                c.is_ascii_alphanumeric() || DOCUMENT_NUMBER_PUNCTUATION.contains(&c)
            }
            Repertoire::CardNumber => {
                c.is_ascii_alphanumeric() || CARD_NUMBER_PUNCTUATION.contains(&c)
            }
            Repertoire::StudentId => {
                c.is_ascii_alphanumeric() || STUDENT_ID_PUNCTUATION.contains(&c)
            }
        }
    }

    /// What the field may contain, said to a person.
    pub fn describe(self) -> &'static str {
        match self {
            Repertoire::PersonalName => {
                "letters of Latin-script alphabets, space, hyphen, apostrophe and dot"
            }
            Repertoire::SchoolText => {
                "letters of Latin-script alphabets, digits 0-9, space and . , - \u{2013} / ( ) \" \u{201E} \u{201D} \u{201C} ' \u{2019}"
            }
            Repertoire::DocumentNumber => "ASCII letters, digits 0-9, space, '-' and '/'",
            Repertoire::CardNumber => "ASCII letters, digits 0-9, '/' and '-'",
            Repertoire::StudentId => "ASCII letters, digits, and - _ . /",
        }
    }
}

/// A letter of a Latin-script European alphabet (or Vietnamese).
pub fn is_latin_letter(c: char) -> bool {
    let block = matches!(
        c,
        'A'..='Z' | 'a'..='z' | '\u{C0}'..='\u{24F}' | '\u{259}' | '\u{1E00}'..='\u{1EF9}'
    );
    block
        && c.script() == Script::Latin
        && c.is_alphabetic()
        && (c.is_uppercase() || c.is_lowercase())
}

/// A combining mark that may sit on a Latin letter.
pub fn is_latin_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{333}') && is_combining_mark(c)
}

/// NFC-normalises `value`, collapses whitespace where the field may contain
/// spaces, and checks every character against the field's repertoire.
/// Length and emptiness are the caller's business.
pub fn normalise(field: &str, value: &str, repertoire: Repertoire) -> Result<String, Rejection> {
    let nfc: String = value.nfc().collect();
    let clean = if repertoire.allows_other(' ') {
        nfc.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        nfc
    };
    let latin = repertoire.latin_letters();
    // Marks on the current letter; `None` when the previous character is not
    // a letter or mark a mark can attach to.
    let mut marks: Option<usize> = None;
    for (i, c) in clean.chars().enumerate() {
        if latin && is_latin_mark(c) {
            match marks {
                None => {
                    return Err(refuse(
                        field,
                        i,
                        c,
                        "a combining mark not on a letter",
                        repertoire,
                    ))
                }
                Some(n) if n >= MAX_MARKS => {
                    return Err(refuse(
                        field,
                        i,
                        c,
                        &format!("a combining mark beyond the {MAX_MARKS} one letter may carry"),
                        repertoire,
                    ))
                }
                Some(n) => marks = Some(n + 1),
            }
            continue;
        }
        if latin && is_latin_letter(c) {
            marks = Some(0);
            continue;
        }
        marks = None;
        if !repertoire.allows_other(c) {
            return Err(refuse(field, i, c, &describe(c, repertoire), repertoire));
        }
    }
    if repertoire == Repertoire::PersonalName
        && !clean.is_empty()
        && !clean.chars().any(is_latin_letter)
    {
        return Err(schema(field, &format!("{field} has no letter")));
    }
    Ok(clean)
}

fn schema(field: &str, message: &str) -> Rejection {
    Rejection::new(Code::Schema, Some(field), message)
}

/// The refusal: the position (1-based, in the normalised text) and the code
/// point, never the value or the character itself.
fn refuse(field: &str, index: usize, c: char, kind: &str, repertoire: Repertoire) -> Rejection {
    schema(
        field,
        &format!(
            "{field}: character {} is U+{:04X}, {kind}; {field} may contain only {}",
            index + 1,
            c as u32,
            repertoire.describe()
        ),
    )
}

/// Why a character is not allowed, in words (the allow-list decided already).
pub fn describe(c: char, repertoire: Repertoire) -> String {
    let u = c as u32;
    let latin = repertoire.latin_letters();
    let kind = if c.is_control() {
        "a control character"
    } else if matches!(u, 0x200E | 0x200F | 0x061C | 0x202A..=0x202E | 0x2066..=0x2069) {
        "an invisible bidirectional control that reorders the text as printed"
    } else if matches!(u, 0x200B..=0x200D | 0x2060..=0x2064 | 0xFEFF | 0x180E | 0x034F) {
        "an invisible zero-width character"
    } else if u == 0xAD {
        "a soft hyphen, invisible unless a line breaks there"
    } else if matches!(u, 0xFE00..=0xFE0F | 0xE0100..=0xE01EF) {
        "an invisible variation selector"
    } else if matches!(u, 0xFFF9..=0xFFFB | 0xE0001 | 0xE0020..=0xE007F | 0x206A..=0x206F) {
        "an invisible formatting character"
    } else if matches!(u, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD) {
        "a private-use character"
    } else if !is_public_assigned(c) {
        "not an assigned Unicode character"
    } else if c.is_whitespace() {
        "a space"
    } else if is_combining_mark(c) {
        if latin {
            "a combining mark not used by Latin-script alphabets"
        } else {
            "a combining mark"
        }
    } else if c.is_ascii_digit() {
        "a digit, and names have no digits"
    } else if c.is_numeric() {
        "not one of the digits 0-9"
    } else if c.is_alphabetic() {
        let script = c.script();
        return match (latin, script) {
            (true, Script::Latin) => "a Latin-script character that is not a letter of a \
                 European alphabet (a fullwidth form, ligature, small capital or modifier letter)"
                .to_string(),
            (true, s) if s != Script::Common && s != Script::Inherited && s != Script::Unknown => {
                format!(
                    "a letter of the {} script, not a letter of a Latin-script alphabet",
                    s.full_name()
                )
            }
            (true, _) => "not a letter of a Latin-script alphabet".to_string(),
            (false, _) => "not an ASCII letter".to_string(),
        };
    } else if matches!(u, 0x2600..=0x27BF | 0x1F000..=0x1FAFF | 0x2B00..=0x2BFF) {
        "an emoji or pictograph"
    } else {
        "a symbol or punctuation mark this field does not allow"
    };
    kind.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Repertoire::*;

    /// The refusal for `value`, with the checks every refusal must pass:
    /// code `schema`, the field named, the value not repeated.
    fn refused(field: &str, value: &str, r: Repertoire) -> String {
        let e = normalise(field, value, r).expect_err(&format!("{value:?} must be refused"));
        assert_eq!(e.code, Code::Schema);
        assert_eq!(e.field.as_deref(), Some(field));
        assert!(plain(&e.message), "{}", e.message);
        assert!(!e.message.contains(value), "{}", e.message);
        for word in value.split(|c: char| !c.is_alphanumeric()) {
            if word.chars().count() > 2 {
                assert!(!e.message.contains(word), "{word:?} in {}", e.message);
            }
        }
        e.message
    }

    /// Printable ASCII and the punctuation the message lists: never the
    /// refused character itself.
    fn plain(message: &str) -> bool {
        message
            .chars()
            .all(|c| c == ' ' || c.is_ascii_graphic() || SCHOOL_PUNCTUATION.contains(&c))
    }

    fn ok(value: &str, r: Repertoire) -> String {
        normalise("f", value, r).unwrap_or_else(|e| panic!("{value:?}: {}", e.message))
    }

    #[test]
    fn the_issue_examples_are_refused_and_named_by_position_and_code_point() {
        let m = refused("student.last_name", "Kowal\u{202E}ska", PersonalName);
        assert!(m.contains("character 6 is U+202E"), "{m}");
        assert!(m.contains("bidirectional"), "{m}");
        let m = refused("student.last_name", "Kowal\u{200B}ska", PersonalName);
        assert!(m.contains("U+200B") && m.contains("zero-width"), "{m}");
        let m = refused("student.last_name", "Kowalska\u{1F600}", PersonalName);
        assert!(m.contains("U+1F600") && m.contains("emoji"), "{m}");
        let stacked = format!("Kowa{}lska", "\u{301}".repeat(40));
        let m = refused("student.last_name", &stacked, PersonalName);
        // `a` + U+0301 composes to `á`; the 2nd and 3rd marks stay; the 4th
        // of the original 40 is one too many.
        assert!(m.contains("character 7 is U+0301"), "{m}");
        let m = refused("card.number", "\u{661}\u{662}/2025", CardNumber);
        assert!(m.contains("U+0661") && m.contains("0-9"), "{m}");
    }

    #[test]
    fn two_marks_on_a_letter_are_allowed_three_are_not() {
        // Lithuanian ą̃ and a letter with two marks NFC cannot compose.
        assert_eq!(ok("ą\u{303}", PersonalName), "ą\u{303}");
        assert_eq!(ok("q\u{301}\u{323}", PersonalName), "q\u{323}\u{301}");
        refused("f", "q\u{301}\u{323}\u{30A}", PersonalName);
        let m = refused("f", "Ewa \u{301}", PersonalName);
        assert!(m.contains("not on a letter"), "{m}");
        refused("f", "\u{301}Ewa", PersonalName);
        refused("f", "Ewa-\u{301}", PersonalName);
        // No marks at all where only ASCII is allowed.
        refused("f", "A\u{301}B", CardNumber);
    }

    #[test]
    fn decomposed_input_is_stored_precomposed() {
        assert_eq!(ok("Z\u{307}o\u{301}\u{142}w", PersonalName), "Żółw");
        assert_eq!(ok("z\u{307}", PersonalName), "\u{17C}");
        assert_eq!(ok("Nguye\u{302}\u{303}n", PersonalName), "Nguyễn");
        assert_eq!(ok("S\u{301}wie\u{328}ty", SchoolText), "Święty");
    }

    #[test]
    fn whitespace_runs_become_one_space_where_spaces_are_allowed() {
        assert_eq!(ok("  Zofia \t\u{A0} Maria\n", PersonalName), "Zofia Maria");
        assert_eq!(ok("AB\u{2003}123", DocumentNumber), "AB 123");
        let m = refused("card.number", " 12/2025", CardNumber);
        assert!(m.contains("character 1 is U+0020, a space"), "{m}");
        refused("card.number", "12 /2025", CardNumber);
    }

    #[test]
    fn every_polish_letter_in_both_cases_is_a_letter() {
        let letters = "aąbcćdeęfghijklłmnńoóprsśtuwyzźżAĄBCĆDEĘFGHIJKLŁMNŃOÓPRSŚTUWYZŹŻqvxQVX";
        assert_eq!(ok(letters, PersonalName), letters);
        assert_eq!(ok(letters, SchoolText), letters);
    }

    #[test]
    fn real_names_are_accepted_unchanged() {
        for name in [
            "O'Brien",
            "O\u{2019}Brien",
            "Wiśniewska-Żółkiewska",
            "d'Artagnan",
            "Müller",
            "Straße",
            "Đorđević",
            "Nguyễn Thị Minh Khai",
            "Dvořák",
            "Šťastný",
            "Jurgaitytė",
            "Ålesund Ærø Øster",
            "Çelik Gündoğdu",
            "Əliyev",
            "'t Hooft",
            "St. John",
            "dr hab. Anna Nowak-Kowalska",
            "Zofia Maria",
        ] {
            assert_eq!(ok(name, PersonalName), name);
        }
    }

    #[test]
    fn names_have_letters_and_no_digits() {
        let m = refused("student.first_names", "Jan 3", PersonalName);
        assert!(m.contains("U+0033") && m.contains("no digits"), "{m}");
        let m = refused("student.first_names", "- .", PersonalName);
        assert!(m.contains("has no letter"), "{m}");
        assert_eq!(ok("", PersonalName), "");
    }

    #[test]
    fn latin_script_forms_nobody_writes_a_name_with_are_refused() {
        // Fullwidth A, the fi ligature, Roman numeral one, small capital A,
        // modifier small h, ordinal a, Latin letter dental click (looks like |).
        for c in [
            '\u{FF21}', '\u{FB01}', '\u{2160}', '\u{1D00}', '\u{2B0}', '\u{AA}', '\u{1C0}',
        ] {
            refused("f", &format!("Ab{c}c"), PersonalName);
        }
        let m = refused("f", "Ab\u{3B1}c", PersonalName);
        assert!(m.contains("Greek"), "{m}");
        let m = refused("f", "Ab\u{430}c", PersonalName);
        assert!(m.contains("Cyrillic"), "{m}");
    }

    #[test]
    fn invisible_private_and_unassigned_characters_are_refused_everywhere() {
        let bad = "\u{0}\u{7}\u{1B}\u{7F}\u{AD}\u{34F}\u{61C}\u{180E}\u{200B}\u{200C}\u{200D}\
            \u{200E}\u{200F}\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2060}\u{2066}\u{2067}\
            \u{2068}\u{2069}\u{FE0F}\u{FEFF}\u{E000}\u{F8FF}\u{FFFF}\u{E0041}\u{10FFFD}\
            \u{1F600}\u{2764}\u{20AC}\u{A9}\u{2116}\u{FFFD}";
        for r in [
            PersonalName,
            SchoolText,
            DocumentNumber,
            CardNumber,
            StudentId,
        ] {
            for c in bad.chars() {
                refused("f", &format!("Ab{c}c"), r);
            }
        }
        assert!(describe('\u{E000}', SchoolText).contains("private-use"));
        assert!(describe('\u{0378}', SchoolText).contains("not an assigned"));
        assert!(describe('\u{7}', SchoolText).contains("control"));
        // Whitespace controls (tab, line feed, NEL) are whitespace: where a
        // field has spaces they become one; elsewhere they are refused.
        assert_eq!(ok("Ab\t\n\u{85}c", PersonalName), "Ab c");
        refused("card.number", "12\u{85}/2025", CardNumber);
    }

    #[test]
    fn real_school_names_and_addresses_are_accepted_unchanged() {
        for s in [
            "Szkoła Podstawowa nr 7 im. Marii Skłodowskiej-Curie",
            "Zespół Szkół Ogólnokształcących nr 1 „Sokół” w Nowym Sączu",
            "Zespół Szkół Ogólnokształcących nr 1 „Sokół“ w Nowym Sączu",
            "Zespół Szkół nr 2 \"Sokół\" – Liceum im. Jana Pawła II",
            "ul. Księcia Józefa Poniatowskiego 123/45, 41-600 Świętochłowice",
            "I Liceum Ogólnokształcące im. Tadeusza Kościuszki (Łódź)",
            "ul. Źródlana 4, 00-950 Łódź",
            "Szkoła Podstawowa im. Św. Jadwigi Królowej w O’Donnell’s",
            "Paszport",
            "Legitymacja szkolna (Ukraina)",
        ] {
            assert_eq!(ok(s, SchoolText), s);
        }
        refused("school.name", "Szkoła nr \u{661}", SchoolText);
        refused("school.name", "Szkoła № 7", SchoolText);
        refused("school.name", "Szkoła nr 7; Łódź", SchoolText);
        refused("school.name", "Szkoła <b>7</b>", SchoolText);
    }

    #[test]
    fn numbers_and_ids_are_ascii() {
        assert_eq!(ok("123/2025", CardNumber), "123/2025");
        assert_eq!(ok("A-12/2025b", CardNumber), "A-12/2025b");
        assert_eq!(ok("AB 123456", DocumentNumber), "AB 123456");
        assert_eq!(ok("FR-12/345", DocumentNumber), "FR-12/345");
        assert_eq!(ok("S-000123", StudentId), "S-000123");
        assert_eq!(ok("S_12.ab/3", StudentId), "S_12.ab/3");
    }

    #[test]
    fn ids_refuse_what_is_not_printable_ascii() {
        refused("student.id", "S-00012\u{202E}3", StudentId);
        refused("student.id", "S-ó", StudentId);
        refused("student.id", "uczeń-12", StudentId);
        // A spreadsheet formula is not an id (issue 17: CSV exports).
        refused("student.id", "=HYPERLINK(\"x\")", StudentId);
        refused("student.id", "S 12", StudentId);
        refused("card.number", "12\u{FF0F}2025", CardNumber);
        refused("card.number", "12_2025", CardNumber);
        refused("card.number", "１２/2025", CardNumber);
        refused(
            "student.identity_document.number",
            "AB\u{200B}123",
            DocumentNumber,
        );
        refused("student.identity_document.number", "ÀB123", DocumentNumber);
    }

    #[test]
    fn every_accepted_character_has_a_glyph_in_both_card_fonts() {
        use skrifa::MetadataProvider;
        for font in [
            crate::card::render::FONT_REGULAR,
            crate::card::render::FONT_BOLD,
        ] {
            let font = skrifa::FontRef::new(font).unwrap();
            let map = font.charmap();
            let missing: Vec<String> = (0..=0x10FFFFu32)
                .filter_map(char::from_u32)
                .filter(|&c| {
                    is_latin_letter(c)
                        || is_latin_mark(c)
                        || [
                            PersonalName,
                            SchoolText,
                            DocumentNumber,
                            CardNumber,
                            StudentId,
                        ]
                        .iter()
                        .any(|r| r.allows_other(c))
                })
                .filter(|&c| map.map(c).is_none())
                .map(|c| format!("U+{:04X}", c as u32))
                .collect();
            assert!(missing.is_empty(), "no glyph for {missing:?}");
        }
    }
}
