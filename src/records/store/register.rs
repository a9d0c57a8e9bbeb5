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
        // Only the conditions asked for, each on its index: a register of
        // ten years is not scanned to print a batch's protocol.
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT c.id, c.card_number, c.last_name, c.first_names, c.student_id, c.class,
                    json_extract(o.data, '$.birth_date') AS birth_date,
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
             FROM cards c LEFT JOIN orders o ON o.order_id = c.order_id WHERE 1 = 1",
        );
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
        q.push(" ORDER BY c.id");
        if let Some(n) = f.limit {
            q.push(" LIMIT ")
                .push_bind(n)
                .push(" OFFSET ")
                .push_bind(f.offset);
        }
        let rows = q.build().fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| RegisterEntry {
                id: r.get("id"),
                card_number: r.get("card_number"),
                last_name: r.get("last_name"),
                first_names: r.get("first_names"),
                student_id: r.get("student_id"),
                class: r.get("class"),
                birth_date: r.get("birth_date"),
                issued: r.get("issued"),
                reason: r.get("reason"),
                blank_pattern: r.get("blank_pattern"),
                blank_serial: r.get("blank_serial"),
                printer: r.get("printer"),
                operator: r.get("operator"),
                batch_id: r.get("batch_id"),
                holograms: r
                    .get::<Option<String>, _>("holograms")
                    .map(|h| h.split(", ").map(str::to_string).collect())
                    .unwrap_or_default(),
                superseded: r.get("superseded"),
                returned: r
                    .get::<Option<String>, _>("returned")
                    .map(|t| crate::records::clock::local_day(&t)),
                validated: r
                    .get::<Option<String>, _>("validated")
                    .and_then(|y| y.parse().ok()),
            })
            .collect())
    }
}

impl Store {
    /// The school's name as the latest order gave it, for report headings.
    pub async fn school_name(&self) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT json_extract(data, '$.school_name') FROM orders ORDER BY seq DESC LIMIT 1",
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
        for row in self.register().await? {
            w.serialize(row)
                .map_err(|e| StoreError::Corrupt("register".into(), e.to_string()))?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| StoreError::Corrupt("register".into(), e.to_string()))?;
        Ok(String::from_utf8(bytes).expect("csv of UTF-8 strings is UTF-8"))
    }
}
