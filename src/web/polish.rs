//! The page's Polish: dates as a Polish form writes them, the printer's
//! state with what to do about it, and the records' refusals.

use crate::records::account::AccountError;
use crate::records::hologram::HologramError;
use crate::records::store::{BatchError, BlankError, CardError, StoreError};

/// `2025-09-01T10:15:00Z` as `01.09.2025 12:15` (local time); a date alone
/// as `01.09.2025`.
/// A stored time as Poland reads it: `29.11.2026 23:05`.
pub fn when(iso: &str) -> String {
    if chrono::DateTime::parse_from_rfc3339(iso).is_ok() {
        return crate::records::clock::local(iso);
    }
    day(iso)
}

/// A date, or a stored time's Polish day: `29.11.2026`.
pub fn day(iso: &str) -> String {
    crate::records::report::catalogue::date_pl(iso)
}

/// The printer's state word.
pub fn printer_state(state: &str) -> &'static str {
    match state {
        "ready" => "gotowa",
        "printing" => "drukuje",
        "warning" => "ostrzeżenie",
        "error" => "błąd",
        _ => "niedostępna",
    }
}

/// The printer badge in every page's header, from the station's state
/// message: (text, kind for the style).
pub fn badge(state: &serde_json::Value) -> (String, &'static str) {
    let word = state["printer"]["state"].as_str().unwrap_or("offline");
    let kind = match word {
        "ready" | "printing" => "ok",
        "warning" => "warn",
        _ => "err",
    };
    (format!("Drukarka: {}", printer_state(word)), kind)
}

/// What stopped the printer and what to do about it.
pub fn cause(detail: &str) -> &'static str {
    match detail {
        "cover_open" => "Otwarta pokrywa — zamknij pokrywę drukarki",
        "feeder_empty" => "Pusty podajnik — włóż blankiety legitymacji do podajnika",
        "card_jam" => "Zacięta karta — otwórz pokrywę, wyjmij kartę i zamknij pokrywę",
        "ribbon_ended" => "Taśma się skończyła — załóż nową taśmę",
        "no_ribbon" => "Brak taśmy — załóż taśmę barwiącą",
        "ribbon_low" => "Taśma się kończy — przygotuj nową taśmę",
        "hopper_full" => "Pełny odbiornik — wyjmij wydrukowane karty",
        "cleaning_required" => "Drukarka wymaga czyszczenia — użyj karty czyszczącej",
        "unsupported_ribbon" => "Nieobsługiwana taśma — załóż taśmę YMCKO z profilu drukarki",
        "disconnected" => "Brak połączenia — sprawdź kabel USB i zasilanie drukarki",
        _ => "Sprawdź drukarkę",
    }
}

pub fn reason(r: &str) -> &'static str {
    match r {
        "new" => "nowa",
        "duplicate" => "duplikat",
        "replacement" => "zmiana danych",
        _ => "inna",
    }
}

pub fn batch_status(s: &str) -> &'static str {
    match s {
        "running" => "w toku",
        "paused" => "wstrzymana",
        "cancelled" => "anulowana",
        "done" => "zakończona",
        _ => "inny",
    }
}

/// Why a card is held, in the operator's words.
pub fn hold(code: &str) -> &'static str {
    match code {
        "needs_check" => "Druk przerwany — sprawdź kartę w drukarce",
        "photo_revoked" => "Zdjęcie wycofane — potrzebne nowe zamówienie",
        "render_failed" => "Nie da się złożyć karty z tych danych",
        "printer_rejected" => "Drukarka odrzuciła zadanie",
        _ => "Wstrzymana przez stację",
    }
}

/// A PESEL as the page shows it: the last four digits.
pub fn mask_pesel(p: &str) -> String {
    let n = p.chars().count();
    if n <= 4 {
        return "•".repeat(n);
    }
    let tail: String = p.chars().skip(n - 4).collect();
    format!("{}{tail}", "•".repeat(n - 4))
}

/// The records' refusals, said in Polish with what to do.
pub fn store_error(e: &StoreError) -> String {
    match e {
        StoreError::Hologram(h) => hologram(h),
        StoreError::Blank(b) => match b {
            BlankError::NotReceived { pattern, serial } => format!(
                "Druk {pattern} nr {serial} nie był przyjęty na stan. Najpierw zapisz dostawę druków."
            ),
            BlankError::Used { pattern, serial, status } => format!(
                "Druk {pattern} nr {serial} jest już wykorzystany ({status}). Sprawdź numer pierwszego druku w podajniku."
            ),
            BlankError::AlreadyReceived { pattern, serial } => {
                format!("Druk {pattern} nr {serial} był już przyjęty.")
            }
            BlankError::Serial(s) => format!("Numer druku jest nieprawidłowy: {s}"),
            BlankError::Disposal(_) => "Nieznany sposób rozchodu druku.".into(),
            BlankError::Reserved { pattern, serial, .. } => format!(
                "Druk {pattern} nr {serial} jest zarezerwowany przez kartę, która jest w drukarce albo czeka na sprawdzenie. Najpierw rozstrzygnij tę kartę (Do sprawdzenia)."
            ),
            BlankError::LargeDelivery { count } => format!(
                "Dostawa {count} druków to więcej niż {}. Sprawdź liczbę na dokumencie dostawy i potwierdź ją.",
                crate::records::store::LARGE_DELIVERY
            ),
            BlankError::TooLarge { count } => format!(
                "Dostawa {count} druków to więcej, niż szkoła kiedykolwiek otrzymuje. Sprawdź liczbę."
            ),
            BlankError::NotItsBlank { reserved, typed, .. } => format!(
                "Karta zaczęła się drukować na druku nr {reserved}, nie {typed}. Sprawdź numer na karcie."
            ),
            BlankError::NeverStarted { .. } => "Ta karta nie trafiła do drukarki: żaden druk nie został zużyty. Wybierz „Drukuj ponownie”.".into(),
            BlankError::NoneLoaded(p) => format!("W drukarce nie ma załadowanych druków {p}."),
            BlankError::Voided { pattern, serial, .. } => format!(
                "Druk {pattern} nr {serial} został anulowany jako zapisany błędnie."
            ),
        },
        StoreError::Batch(b) => match b {
            BatchError::NothingWaiting(_) => "Nie ma oczekujących zamówień do tej partii.".into(),
            BatchError::MixedPatterns(p) => format!(
                "Zamówienia są na różnych wzorach druków ({p}). Uruchom osobną partię dla każdego wzoru."
            ),
            BatchError::NoSuchBatch(id) => format!("Nie ma partii {id}."),
            BatchError::Finished { id, status } => format!("Partia {id} jest już {status}."),
            BatchError::OtherStackLoaded { pattern, loaded, first_loaded } => format!(
                "W podajniku są zapisane druki {pattern} {loaded}. Uruchom partię od nr {first_loaded} albo wyjmij je i zapisz to (Druki → Wyjmij z drukarki)."
            ),
        },
        StoreError::Card(c) => card(c),
        StoreError::NotHeld { order_id, status } => {
            format!("Zamówienie {order_id} nie jest wstrzymane ({status}).")
        }
        StoreError::NoSuchOrder(id) => format!("Nie ma zamówienia {id}."),
        StoreError::NotDiscardable(id) => format!(
            "Zamówienie {id} nie czeka z powodu wycofanego zdjęcia: usunąć można tylko takie. Kartę, która mogła się wydrukować, rozstrzyga się przyciskami obok."
        ),
        StoreError::Account(a) => match a {
            AccountError::Exists(l) => format!("Konto {l} już istnieje."),
            AccountError::NoSuchUser(l) => format!("Nie ma konta {l}."),
            AccountError::NoSuchToken(l, id) => format!("Konto {l} nie ma tokenu #{id}."),
            AccountError::ShortPassword => format!(
                "Hasło musi mieć co najmniej {} znaków.",
                crate::records::account::MIN_PASSWORD
            ),
            AccountError::Login(_) => {
                "Login: od 2 do 32 znaków, małe litery bez polskich znaków, cyfry, kropka, podkreślnik, myślnik.".into()
            }
            AccountError::Role(_) => "Nieznana rola.".into(),
            AccountError::EmptyName => "Podaj imię i nazwisko.".into(),
        },
        other => other.to_string(),
    }
}

pub fn card(c: &CardError) -> String {
    match c {
        CardError::NotInRegister(c) => {
            format!("Legitymacji {c} nie ma w rejestrze tej stacji. Sprawdź numer.")
        }
        CardError::AlreadyReturned(c) => format!("Legitymacja {c} jest już zwrócona."),
        CardError::Ambiguous { card, rows } => format!(
            "Pod numerem {card} w rejestrze jest {} legitymacji: {}. Podaj numer druku z legitymacji, którą masz w ręku.",
            rows.len(),
            rows.iter()
                .map(|r| format!(
                    "druk {} z {}{}",
                    r.blank_serial.as_deref().unwrap_or("bez numeru"),
                    day(&r.issue_date),
                    if r.superseded { " (zastąpiona)" } else { "" }
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

pub fn hologram(h: &HologramError) -> String {
    match h {
        HologramError::SchoolYear(y) => format!("{y} to nie rok szkolny. Wpisz go jako 2025/2026."),
        HologramError::Serial(s) => format!("Numer hologramu jest nieprawidłowy: {s}"),
        HologramError::Superseded { card, by } => format!(
            "Legitymacja nr {card} została zastąpiona legitymacją nr {by} tego ucznia. Naklej hologram na nową."
        ),
        HologramError::YearOnCard { card, year, serial } => format!(
            "Legitymacja nr {card} ma już hologram na rok {year} (nr {serial})."
        ),
        HologramError::Returned { card, on, .. } => format!(
            "Legitymacja nr {card} została zwrócona {}; nie przyjmuje hologramów.",
            day(on)
        ),
        HologramError::FieldsFull(c) => format!(
            "Legitymacja nr {c} ma zajęte wszystkie 8 pól. Uczeń potrzebuje duplikatu."
        ),
        HologramError::NotReceived(s) => format!(
            "Hologramu nr {s} nie przyjęto na stan. Najpierw zapisz dostawę hologramów."
        ),
        HologramError::Used { serial, .. } => {
            format!("Hologram nr {serial} jest już wykorzystany albo zepsuty.")
        }
        HologramError::OtherYear { serial, its_year, year } => format!(
            "Hologram nr {serial} jest na rok {its_year}, nie na {year}."
        ),
        HologramError::AlreadyReceived(s, y) => format!("Hologram nr {s} był już przyjęty (rok {y})."),
        HologramError::EmptyClass(c, y) => format!(
            "Klasa {c} nie ma legitymacji wydanych w roku szkolnym {y}, które czekają na ten hologram."
        ),
        HologramError::NoCards => "Nie podano żadnej legitymacji.".into(),
        HologramError::YearNotOpen { year, open } => format!(
            "Hologramów na rok {year} nie można dziś naklejać; można na {}.",
            open.replace(" or ", " albo ")
        ),
        HologramError::YearOver { year, .. } => format!("Rok szkolny {year} już minął."),
        HologramError::BeforeIssue { card, issued, year, .. } => format!(
            "Legitymacja nr {card} została wydana {}; nie przyjmuje hologramu na wcześniejszy rok {year}.",
            day(issued)
        ),
        HologramError::OnAnotherCard { serial, on, .. } => format!(
            "Hologram nr {serial} jest naklejony na legitymację nr {on}. Podaj tę legitymację."
        ),
        HologramError::CardNeeded(s) => format!(
            "Hologram nr {s} jest naklejony na legitymację: podaj jej numer."
        ),
        HologramError::LargeDelivery { count, max } => format!(
            "Dostawa {count} hologramów to więcej niż {max}. Sprawdź liczbę i potwierdź ją."
        ),
        HologramError::NotEnough { class, year, have, need, .. } => format!(
            "Klasa {class} potrzebuje {need} hologramów na rok {year}, a od podanego numeru w magazynie jest {have}."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pesel_shows_its_last_four_digits_only() {
        assert_eq!(mask_pesel("02270803628"), "•••••••3628");
        assert!(!mask_pesel("02270803628").contains("0227080"));
    }

    #[test]
    fn dates_are_written_the_polish_way() {
        assert_eq!(day("2025-09-01"), "01.09.2025");
        assert!(when("2025-09-01T10:15:00Z").starts_with("01.09.2025 "));
    }
}
