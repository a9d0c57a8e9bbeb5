//! The register as the school reports it: every card with its pupil, class,
//! issue details, holograms, and whether it is still the pupil's card.

use super::{Result, Store, StoreError};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq)]
pub struct RegisterEntry {
    /// The register row (a duplicate under the same number is another row).
    pub id: i64,
    pub card_number: String,
    pub last_name: String,
    pub first_names: String,
    pub student_id: String,
    pub class: Option<String>,
    pub birth_date: Option<String>,
    /// Date of issue as printed on the card, `YYYY-MM-DD`.
    pub issued: String,
    pub reason: String,
    pub blank_pattern: Option<String>,
    pub blank_serial: Option<String>,
    pub printer: String,
    pub operator: Option<String>,
    pub batch_id: Option<String>,
    /// `year serial` per hologram applied, oldest first.
    pub holograms: Vec<String>,
    /// A later card exists for the same pupil.
    pub superseded: bool,
    /// Handed back: when (`YYYY-MM-DD`, Polish date).
    pub returned: Option<String>,
    /// The last school year a hologram on it validates (none: no hologram).
    pub validated: Option<crate::records::hologram::SchoolYear>,
}

/// What a card in the register is worth today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Returned,
    Superseded,
    /// A hologram validates it today: until this day.
    Valid(chrono::NaiveDate),
    /// No hologram validates it today: it needs this school year's.
    NeedsHologram(crate::records::hologram::SchoolYear),
}

impl Standing {
    /// Returned, superseded, validated by a hologram until a day, or
    /// waiting for this school year's hologram (a card without a current
    /// hologram is not a valid document).
    pub fn of(
        returned: bool,
        superseded: bool,
        validated: Option<crate::records::hologram::SchoolYear>,
        today: chrono::NaiveDate,
    ) -> Self {
        use crate::records::hologram::SchoolYear;
        if returned {
            return Standing::Returned;
        }
        if superseded {
            return Standing::Superseded;
        }
        match validated.map(|y| y.valid_until()) {
            Some(until) if until >= today => Standing::Valid(until),
            _ => Standing::NeedsHologram(SchoolYear::of(today)),
        }
    }

    pub fn is_valid(&self) -> bool {
        matches!(self, Standing::Valid(_))
    }
}

/// In Polish, as the register and the page say it.
impl std::fmt::Display for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Standing::Returned => f.write_str("zwrócona"),
            Standing::Superseded => f.write_str("zastąpiona"),
            Standing::Valid(until) => write!(f, "ważna do {}", until.format("%d.%m.%Y")),
            Standing::NeedsHologram(year) => write!(f, "brak hologramu {year}"),
        }
    }
}

impl RegisterEntry {
    pub fn standing(&self, today: chrono::NaiveDate) -> Standing {
        Standing::of(
            self.returned.is_some(),
            self.superseded,
            self.validated,
            today,
        )
    }
}

/// Which cards a report lists; the default is all of them.
#[derive(Debug, Clone, Default)]
pub struct RegisterFilter {
    /// Issued (by the date on the card) in this calendar year.
    pub year: Option<i32>,
    pub class: Option<String>,
    pub batch: Option<String>,
    /// One register row.
    pub id: Option<i64>,
    /// At most this many, after skipping `offset` (a page of an answer).
    pub limit: Option<i64>,
    pub offset: i64,
}

impl Store {
    /// Cards in register order, filtered in the database: a register holds
    /// years of cards and a report wants a class or a batch of them.
    pub async fn register_entries(&self, f: &RegisterFilter) -> Result<Vec<RegisterEntry>> {
        // Rows come a few thousand at a time as one JSON array each: sqlx
        // hands every row over between threads, and a decade's register
        // row by row spends most of its time waking them.
        const CHUNK: i64 = 4000;
        let mut out = Vec::new();
        // A page further on starts after the id the offset lands behind,
        // found on the index: the rows skipped are never built.
        let mut after = 0i64;
        if f.offset > 0 {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT c.id FROM cards c WHERE 1");
            push_filters(&mut q, f);
            q.push(" ORDER BY c.id LIMIT 1 OFFSET ")
                .push_bind(f.offset - 1);
            match q
                .build_query_as::<(i64,)>()
                .fetch_optional(&self.pool)
                .await?
            {
                Some((id,)) => after = id,
                None => return Ok(out),
            }
        }
        loop {
            let mut want = CHUNK;
            if let Some(n) = f.limit {
                want = want.min(n - out.len() as i64);
            }
            if want <= 0 {
                break;
            }
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "SELECT json_group_array(json_array(
                        id, card_number, last_name, first_names, student_id, class, birth_date,
                        issued, reason, blank_pattern, blank_serial, printer, operator, batch_id,
                        superseded, returned, holograms, validated)), MAX(id)
                 FROM (SELECT c.id, c.card_number, c.last_name, c.first_names, c.student_id, c.class,
                    c.birth_date,
                    COALESCE(c.issue_date, substr(c.printed_at, 1, 10)) AS issued, c.reason,
                    c.blank_pattern, c.blank_serial,
                    c.printer_model || ' ' || c.printer_serial AS printer, c.operator, c.batch_id,
                    EXISTS (SELECT 1 FROM cards later
                            WHERE later.student_id = c.student_id AND later.id > c.id) AS superseded,
                    c.returned_at AS returned,
                    (SELECT group_concat(h.school_year || ' ' || h.serial, ', ')
                     FROM (SELECT school_year, serial FROM holograms
                           WHERE card_id = c.id AND status = 'applied' ORDER BY slot) h) AS holograms,
                    (SELECT MAX(school_year) FROM holograms
                      WHERE card_id = c.id AND status = 'applied') AS validated
                 FROM cards c WHERE c.id > ",
            );
            q.push_bind(after);
            push_filters(&mut q, f);
            q.push(" ORDER BY c.id LIMIT ").push_bind(want).push(")");
            let (json, last): (Option<String>, Option<i64>) =
                q.build_query_as().fetch_one(&self.pool).await?;
            let Some(last) = last else { break };
            let mut rows: Vec<EntryRow> = serde_json::from_str(json.as_deref().unwrap_or("[]"))
                .map_err(|e| StoreError::Corrupt("register".into(), e.to_string()))?;
            rows.sort_by_key(|r| r.0);
            let got = rows.len() as i64;
            out.extend(rows.into_iter().map(RegisterEntry::from));
            after = last;
            if got < want {
                break;
            }
        }
        Ok(out)
    }
}

/// The filter's conditions, each on its index: a register of ten years is
/// not scanned to print a batch's protocol.
fn push_filters(q: &mut sqlx::QueryBuilder<sqlx::Sqlite>, f: &RegisterFilter) {
    if let Some(y) = f.year {
        q.push(" AND c.issue_date >= ")
            .push_bind(format!("{y:04}-01-01"))
            .push(" AND c.issue_date <= ")
            .push_bind(format!("{y:04}-12-31"));
    }
    if let Some(c) = &f.class {
        q.push(" AND c.class = ").push_bind(c.clone());
    }
    if let Some(b) = &f.batch {
        q.push(" AND c.batch_id = ").push_bind(b.clone());
    }
    if let Some(id) = f.id {
        q.push(" AND c.id = ").push_bind(id);
    }
}

/// One register row as the database hands it over (a JSON array).
#[derive(serde::Deserialize)]
struct EntryRow(
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl From<EntryRow> for RegisterEntry {
    fn from(r: EntryRow) -> Self {
        RegisterEntry {
            id: r.0,
            card_number: r.1,
            last_name: r.2,
            first_names: r.3,
            student_id: r.4,
            class: r.5,
            birth_date: r.6,
            issued: r.7,
            reason: r.8,
            blank_pattern: r.9,
            blank_serial: r.10,
            printer: r.11,
            operator: r.12,
            batch_id: r.13,
            superseded: r.14 != 0,
            returned: r.15.map(|t| crate::records::clock::local_day(&t)),
            holograms: r
                .16
                .map(|h| h.split(", ").map(str::to_string).collect())
                .unwrap_or_default(),
            validated: r.17.and_then(|y| y.parse().ok()),
        }
    }
}

impl Store {
    /// The school's name as the latest order gave it, for report headings.
    pub async fn school_name(&self) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT json_extract(data, '$.school_name') FROM orders WHERE status != 'cancelled' ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(n,)| n))
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RegisterRow {
    pub card_number: String,
    pub order_id: String,
    pub student_id: String,
    pub last_name: String,
    pub first_names: String,
    pub reason: String,
    /// As printed on the card.
    pub issue_date: Option<String>,
    pub printed_at: String,
    pub printer_model: String,
    pub printer_serial: String,
    pub batch_id: Option<String>,
    pub operator: Option<String>,
    pub blank_pattern: Option<String>,
    pub blank_serial: Option<String>,
}

impl Store {
    pub async fn register(&self) -> Result<Vec<RegisterRow>> {
        let rows = sqlx::query("SELECT * FROM cards ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| RegisterRow {
                card_number: r.get("card_number"),
                order_id: r.get("order_id"),
                student_id: r.get("student_id"),
                last_name: r.get("last_name"),
                first_names: r.get("first_names"),
                reason: r.get("reason"),
                issue_date: r.get("issue_date"),
                printed_at: r.get("printed_at"),
                printer_model: r.get("printer_model"),
                printer_serial: r.get("printer_serial"),
                batch_id: r.get("batch_id"),
                operator: r.get("operator"),
                blank_pattern: r.get("blank_pattern"),
                blank_serial: r.get("blank_serial"),
            })
            .collect())
    }

    /// Writes the register as CSV (UTF-8, a header row).
    pub async fn register_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for mut row in self.register().await? {
            // Every text a central system or an operator typed, as text.
            for f in [
                &mut row.card_number,
                &mut row.student_id,
                &mut row.last_name,
                &mut row.first_names,
                &mut row.printer_model,
                &mut row.printer_serial,
            ] {
                *f = crate::records::spreadsheet::safe(f).into_owned();
            }
            for f in [
                &mut row.batch_id,
                &mut row.operator,
                &mut row.blank_pattern,
                &mut row.blank_serial,
            ]
            .into_iter()
            .flatten()
            {
                *f = crate::records::spreadsheet::safe(f).into_owned();
            }
            w.serialize(row)
                .map_err(|e| StoreError::Corrupt("register".into(), e.to_string()))?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| StoreError::Corrupt("register".into(), e.to_string()))?;
        Ok(String::from_utf8(bytes).expect("csv of UTF-8 strings is UTF-8"))
    }
}
