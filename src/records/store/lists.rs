//! What the operator's page lists: orders waiting or held with the pupil's
//! name and class, one order's card for a preview, a card's hologram fields.
//! Read only; no PESEL leaves here but inside `CardData` for rendering.

use super::{Result, Store, StoreError};
use crate::card::order::CardData;
use crate::card::photo::Photo;
use sqlx::Row;

/// An order as the queue page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OrderLine {
    pub order_id: String,
    pub card_number: String,
    pub last_name: String,
    pub first_names: String,
    pub class: Option<String>,
    pub reason: String,
    pub received_at: String,
    pub status: String,
    pub batch_id: Option<String>,
    pub hold_code: Option<String>,
    pub hold_message: Option<String>,
}

/// An order's line as lists show it, without reading its photo.
const LINE: &str =
    "SELECT o.order_id, o.card_number, json_extract(o.data, '$.last_name') AS last_name,
        json_extract(o.data, '$.first_names') AS first_names,
        json_extract(o.data, '$.class') AS class, o.reason, o.received_at, o.status,
        bo.batch_id, o.hold_code, o.hold_message
    FROM orders o LEFT JOIN batch_orders bo ON bo.order_id = o.order_id";

fn order_line(r: &sqlx::sqlite::SqliteRow) -> OrderLine {
    OrderLine {
        order_id: r.get("order_id"),
        card_number: r.get("card_number"),
        last_name: r.get::<Option<String>, _>("last_name").unwrap_or_default(),
        first_names: r
            .get::<Option<String>, _>("first_names")
            .unwrap_or_default(),
        class: r.get("class"),
        reason: r.get("reason"),
        received_at: r.get("received_at"),
        status: r.get("status"),
        batch_id: r.get("batch_id"),
        hold_code: r.get("hold_code"),
        hold_message: r.get("hold_message"),
    }
}

/// One of a card's eight hologram fields, filled.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HologramField {
    pub slot: i64,
    pub school_year: String,
    pub serial: String,
    pub applied_at: String,
    pub applied_by: Option<String>,
}

/// A register row as a list shows it.
#[derive(Debug, Clone)]
pub struct RegisterLine {
    pub id: i64,
    pub card_number: String,
    pub last_name: String,
    pub first_names: String,
    pub class: Option<String>,
    /// `YYYY-MM-DD`.
    pub issued: String,
    pub reason: String,
    pub holograms: i64,
    pub superseded: bool,
    pub returned: Option<String>,
    /// The last school year a hologram on it validates.
    pub validated: Option<crate::records::hologram::SchoolYear>,
}

impl RegisterLine {
    pub fn standing(&self, today: chrono::NaiveDate) -> super::Standing {
        super::Standing::of(
            self.returned.is_some(),
            self.superseded,
            self.validated,
            today,
        )
    }
}

/// What a search of the register looks in: name, number and class,
/// lowercased as Polish is (Ł to ł), which SQLite's `lower()` does not.
pub(super) fn search_text(last: &str, first: &str, number: &str, class: Option<&str>) -> String {
    format!("{last} {first} {number} {}", class.unwrap_or("")).to_lowercase()
}

/// Cards registered before the search text was kept get theirs, once.
pub(super) async fn fill_search(pool: &sqlx::SqlitePool) -> Result<()> {
    loop {
        let rows: Vec<(i64, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, last_name, first_names, card_number, class FROM cards
             WHERE search IS NULL LIMIT 5000",
        )
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        for (id, last, first, number, class) in rows {
            sqlx::query("UPDATE cards SET search = ? WHERE id = ?")
                .bind(search_text(&last, &first, &number, class.as_deref()))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
}

fn line_of(r: &sqlx::sqlite::SqliteRow) -> RegisterLine {
    RegisterLine {
        id: r.get("id"),
        card_number: r.get("card_number"),
        last_name: r.get("last_name"),
        first_names: r.get("first_names"),
        class: r.get("class"),
        issued: r.get("issued"),
        reason: r.get("reason"),
        holograms: r.get("holograms"),
        superseded: r.get("superseded"),
        returned: r
            .get::<Option<String>, _>("returned")
            .map(|t| crate::records::clock::local_day(&t)),
        validated: r
            .get::<Option<String>, _>("validated")
            .and_then(|y| y.parse().ok()),
    }
}

impl Store {
    /// Every register row, oldest first, in one pass: a register holds
    /// years of cards and the page searches all of them.
    pub async fn register_lines(&self) -> Result<Vec<RegisterLine>> {
        let rows = sqlx::query(
            "SELECT c.id, c.card_number, c.last_name, c.first_names, c.class,
                    COALESCE(c.issue_date, substr(c.printed_at, 1, 10)) AS issued, c.reason,
                    COALESCE(h.n, 0) AS holograms, h.validated,
                    c.id < MAX(c.id) OVER (PARTITION BY c.student_id) AS superseded,
                    c.returned_at AS returned
             FROM cards c
             LEFT JOIN (SELECT card_id, COUNT(*) AS n, MAX(school_year) AS validated FROM holograms
                        WHERE status = 'applied' GROUP BY card_id) h ON h.card_id = c.id
             ORDER BY c.id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(line_of).collect())
    }

    /// The register's newest cards matching every word (name, number,
    /// class; Polish letters as typed, any case): how many there are in
    /// all, how many match, and the first `limit` of them with their
    /// details. Only the searched columns of a decade's cards are read;
    /// the details only for the cards shown.
    pub async fn register_search(
        &self,
        words: &[String],
        limit: usize,
    ) -> Result<(usize, usize, Vec<RegisterLine>)> {
        let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM cards")
            .fetch_one(&self.pool)
            .await?;
        let (found, ids): (usize, Vec<i64>) = if words.is_empty() {
            let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM cards ORDER BY id DESC LIMIT ?")
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await?;
            (total as usize, ids.into_iter().map(|(id,)| id).collect())
        } else {
            // In the database, on the text the station lowercased: a scan
            // of short strings, no rows carried out.
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT id FROM cards WHERE 1 = 1");
            for w in words {
                q.push(" AND instr(search, ")
                    .push_bind(w.to_lowercase())
                    .push(") > 0");
            }
            q.push(" ORDER BY id DESC");
            let hits: Vec<(i64,)> = q.build_query_as().fetch_all(&self.pool).await?;
            (
                hits.len(),
                hits.into_iter().take(limit).map(|(id,)| id).collect(),
            )
        };
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT c.id, c.card_number, c.last_name, c.first_names, c.class,
                    COALESCE(c.issue_date, substr(c.printed_at, 1, 10)) AS issued, c.reason,
                    (SELECT COUNT(*) FROM holograms h WHERE h.card_id = c.id AND h.status = 'applied') AS holograms,
                    (SELECT MAX(school_year) FROM holograms h WHERE h.card_id = c.id AND h.status = 'applied') AS validated,
                    EXISTS (SELECT 1 FROM cards later
                            WHERE later.student_id = c.student_id AND later.id > c.id) AS superseded,
                    c.returned_at AS returned
             FROM cards c WHERE c.id IN (",
        );
        let mut list = q.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        if ids.is_empty() {
            list.push("NULL");
        }
        q.push(") ORDER BY c.id DESC");
        let rows = q.build().fetch_all(&self.pool).await?;
        Ok((total as usize, found, rows.iter().map(line_of).collect()))
    }

    /// The classes and the calendar years the register has cards of.
    pub async fn register_classes_and_years(&self) -> Result<(Vec<String>, Vec<String>)> {
        let classes: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT class FROM cards WHERE class IS NOT NULL")
                .fetch_all(&self.pool)
                .await?;
        let years: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT substr(COALESCE(issue_date, printed_at), 1, 4) FROM cards ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok((
            classes.into_iter().map(|(c,)| c).collect(),
            years.into_iter().map(|(y,)| y).collect(),
        ))
    }

    /// Orders in these states (`queued`, `printing`, `held`), oldest first.
    pub async fn order_lines(&self, statuses: &[&str]) -> Result<Vec<OrderLine>> {
        self.order_lines_page(statuses, -1, 0).await
    }

    /// A page of them (`limit` -1: all): the API's lists read only the page
    /// they answer, not every order waiting in September; the page is found
    /// on the status index before any order's data is read.
    pub async fn order_lines_page(
        &self,
        statuses: &[&str],
        limit: i64,
        offset: i64,
    ) -> Result<Vec<OrderLine>> {
        let wanted = serde_json::to_string(statuses).expect("strings serialise");
        // Only constants go into the text; every value is bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{LINE} WHERE o.seq IN (SELECT seq FROM orders
                                    WHERE status IN (SELECT value FROM json_each(?))
                                    ORDER BY seq LIMIT ? OFFSET ?)
             ORDER BY o.seq"
        )))
        .bind(wanted)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(order_line).collect())
    }

    /// The queue page's view of what waits: orders outside batches per
    /// class (`""`: none) and how many wait in batches, counted in the
    /// database (September's thousands are not handed over to be counted).
    pub async fn queued_counts(&self) -> Result<(Vec<(String, i64)>, i64)> {
        let classes = sqlx::query_as(
            "SELECT IFNULL(json_extract(o.data, '$.class'), '') AS class, COUNT(*)
             FROM orders o
             WHERE o.status = 'queued'
               AND NOT EXISTS (SELECT 1 FROM batch_orders bo WHERE bo.order_id = o.order_id)
             GROUP BY class",
        )
        .fetch_all(&self.pool)
        .await?;
        let (in_batches,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM orders o INDEXED BY orders_status
             JOIN batch_orders bo ON bo.seq = o.seq
             WHERE o.status = 'queued'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((classes, in_batches))
    }

    /// Queued orders in print order: in batches or outside them, of one
    /// class (`""`: none) or all, at most `limit` (-1: all).
    pub async fn queued_lines(
        &self,
        in_batch: bool,
        class: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OrderLine>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{LINE} WHERE o.status = 'queued' AND (bo.batch_id IS NOT NULL) = ?
               AND (? IS NULL OR IFNULL(json_extract(o.data, '$.class'), '') = ?)
             ORDER BY o.seq LIMIT ?"
        )))
        .bind(in_batch)
        .bind(class)
        .bind(class)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(order_line).collect())
    }

    /// An order's card data and, while it is kept, its photo.
    pub async fn order_card(&self, order_id: &str) -> Result<Option<(CardData, Option<Photo>)>> {
        let row = sqlx::query(
            "SELECT data, photo FROM orders WHERE order_id = ? AND status != 'cancelled'",
        )
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let data = Self::card_data(order_id, row.get("data"))?;
        let photo = match row.get::<Option<Vec<u8>>, _>("photo") {
            Some(j) => Some(
                Photo::from_store(j)
                    .map_err(|r| StoreError::Corrupt(order_id.to_string(), r.message))?,
            ),
            None => None,
        };
        Ok(Some((data, photo)))
    }

    /// The card the register row `card_id` was printed from.
    pub async fn order_of_card(&self, card_id: i64) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT order_id FROM cards WHERE id = ?")
            .bind(card_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(o,)| o))
    }

    /// The hologram fields a register row has filled, by field.
    pub async fn hologram_fields(&self, card_id: i64) -> Result<Vec<HologramField>> {
        let rows = sqlx::query(
            "SELECT slot, school_year, serial, applied_at, applied_by FROM holograms
             WHERE card_id = ? AND status = 'applied' ORDER BY slot",
        )
        .bind(card_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| HologramField {
                slot: r.get("slot"),
                school_year: r.get("school_year"),
                serial: r.get("serial"),
                applied_at: r.get("applied_at"),
                applied_by: r.get("applied_by"),
            })
            .collect())
    }

    /// Cards printed and blanks spoiled, all time.
    pub async fn totals(&self) -> Result<(i64, i64)> {
        Ok(
            sqlx::query_as("SELECT (SELECT COUNT(*) FROM cards), (SELECT COUNT(*) FROM spoiled)")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
