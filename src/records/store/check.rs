//! The register checked against itself: SQLite's own integrity check, and
//! the accounting a numbered form must satisfy (every card on a blank
//! recorded as printed for that card, every delivery holding the serials it
//! says, every printed order in the register). Run on the live database by
//! `legitka db check`, and on every backup before it is kept or restored.
//!
//! Each check names what is wrong in words an auditor reads, never a
//! pupil's name or PESEL: card numbers, serials, order ids.

use super::{Result, Store};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::SqlitePool;
use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;

/// At most this many findings of one check are listed (a broken import can
/// make thousands; the first ones say what happened).
const LIST: i64 = 20;

/// Something wrong in a database: which check found it, and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub check: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.check, self.detail)
    }
}

/// The accounting rules, each a query answering one line per breach.
const RULES: &[(&str, &str)] = &[
    (
        "card on a blank",
        "SELECT 'card ' || c.card_number || ' is registered on blank ' || c.blank_pattern || ' '
                || c.blank_serial || ', which the blanks record as '
                || CASE WHEN b.status IS NULL THEN 'never received'
                        WHEN b.status = 'printed' THEN 'printed for another card'
                        ELSE b.status END
         FROM cards c
         LEFT JOIN blanks b ON b.pattern = c.blank_pattern AND b.serial = c.blank_serial
         WHERE c.blank_serial IS NOT NULL
           AND (b.status IS NULL OR b.status != 'printed' OR b.order_id IS NOT c.order_id)
           -- A card printed before the station kept blanks (older versions)
           -- names a serial of a pattern never received: not a breach.
           AND (b.status IS NOT NULL
                OR EXISTS (SELECT 1 FROM blank_deliveries d WHERE d.pattern = c.blank_pattern))
         ORDER BY c.id LIMIT ?",
    ),
    (
        "printed blank without a card",
        "SELECT 'blank ' || b.pattern || ' ' || b.serial
                || ' is recorded as printed, but no card in the register is on it'
         FROM blanks b
         WHERE b.status = 'printed'
           AND NOT EXISTS (SELECT 1 FROM cards c
                           WHERE c.blank_serial = b.serial AND c.blank_pattern = b.pattern)
         ORDER BY b.pattern, b.serial LIMIT ?",
    ),
    (
        "spoiled blank",
        "SELECT 'blank ' || s.blank_pattern || ' ' || s.blank_serial
                || ' is in the spoils record, but the blanks record it as '
                || COALESCE(b.status, 'never received')
         FROM spoiled s
         LEFT JOIN blanks b ON b.pattern = s.blank_pattern AND b.serial = s.blank_serial
         WHERE s.blank_serial IS NOT NULL AND b.status IS NOT 'spoiled'
           AND (b.status IS NOT NULL
                OR EXISTS (SELECT 1 FROM blank_deliveries d WHERE d.pattern = s.blank_pattern))
         UNION ALL
         SELECT 'blank ' || b.pattern || ' ' || b.serial
                || ' is recorded as spoiled, but not in the spoils record'
         FROM blanks b
         WHERE b.status = 'spoiled'
           AND NOT EXISTS (SELECT 1 FROM spoiled s
                           WHERE s.blank_serial = b.serial AND s.blank_pattern = b.pattern)
         LIMIT ?",
    ),
    (
        "blank delivery",
        "SELECT 'delivery ' || d.id || ' (' || d.pattern || ' from ' || d.first || ') says '
                || d.count || ' blanks, the register holds ' || COUNT(b.serial)
         FROM blank_deliveries d LEFT JOIN blanks b ON b.delivery_id = d.id
         GROUP BY d.id HAVING COUNT(b.serial) != d.count
         ORDER BY d.id LIMIT ?",
    ),
    (
        "hologram delivery",
        "SELECT 'delivery ' || d.id || ' (' || d.school_year || ' from ' || d.first || ') says '
                || d.count || ' holograms, the register holds ' || COUNT(h.serial)
         FROM hologram_deliveries d LEFT JOIN holograms h ON h.delivery_id = d.id
         GROUP BY d.id HAVING COUNT(h.serial) != d.count
         ORDER BY d.id LIMIT ?",
    ),
    (
        "printed order",
        "SELECT 'order ' || o.order_id || ' (card ' || o.card_number
                || ') is printed, but not in the register'
         FROM orders o
         WHERE o.status = 'printed'
           AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.order_id = o.order_id)
         UNION ALL
         SELECT 'card ' || c.card_number || ' (order ' || c.order_id || ') is in the register, but its order is '
                || COALESCE(o.status, 'missing')
         FROM cards c LEFT JOIN orders o ON o.order_id = c.order_id
         WHERE o.status IS NOT 'printed'
         LIMIT ?",
    ),
    (
        "hologram on a card",
        "SELECT 'hologram ' || h.serial || ' is recorded as applied, but '
                || CASE WHEN h.card_id IS NULL THEN 'on no card'
                        WHEN h.slot IS NULL THEN 'in no field'
                        ELSE 'on a card not in the register' END
         FROM holograms h
         WHERE h.status = 'applied'
           AND (h.card_id IS NULL OR h.slot IS NULL
                OR NOT EXISTS (SELECT 1 FROM cards c WHERE c.id = h.card_id))
         ORDER BY h.serial LIMIT ?",
    ),
    (
        "reserved blank",
        "SELECT 'blank ' || b.pattern || ' ' || b.serial || ' is reserved in the printer for order '
                || b.order_id || ', which is ' || COALESCE(o.status, 'missing')
         FROM blanks b LEFT JOIN orders o ON o.order_id = b.order_id
         WHERE b.status = 'loaded' AND b.order_id IS NOT NULL
           AND o.status IS NOT 'printing' AND o.status IS NOT 'held'
         ORDER BY b.pattern, b.serial LIMIT ?",
    ),
];

/// Every check on the database behind `pool`: integrity first (the
/// accounting of a damaged file means nothing).
pub async fn check_pool(pool: &SqlitePool) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    let integrity: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(pool)
        .await?;
    for (line,) in integrity.into_iter().filter(|(l,)| l != "ok") {
        problems.push(Problem {
            check: "integrity",
            detail: line,
        });
    }
    if !problems.is_empty() {
        return Ok(problems);
    }
    let fks: Vec<(String, Option<i64>, String)> =
        sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
            .fetch_all(pool)
            .await?;
    for (table, rowid, parent) in fks.into_iter().take(LIST as usize) {
        problems.push(Problem {
            check: "references",
            detail: format!(
                "row {} of {table} names a {parent} row that does not exist",
                rowid.map_or("?".into(), |r| r.to_string())
            ),
        });
    }
    problems.extend(schema(pool).await?);
    for &(check, sql) in RULES {
        let found: Vec<(String,)> = sqlx::query_as(sql).bind(LIST).fetch_all(pool).await?;
        problems.extend(found.into_iter().map(|(detail,)| Problem { check, detail }));
    }
    Ok(problems)
}

/// The database's tables, indexes and constraints against those its
/// migrations make: a file changed outside the station (a crafted backup
/// with a trigger that runs on every card recorded, or without the unique
/// index that keeps one card to a blank) is not the station's register.
/// Run on a database at this station's version.
async fn schema(pool: &SqlitePool) -> Result<Vec<Problem>> {
    type Object = (String, String, String);
    const OBJECTS: &str = "SELECT type, name, IFNULL(sql, '') FROM sqlite_master
                           WHERE name NOT LIKE 'sqlite_%' AND name != '_sqlx_migrations'";
    let fresh = SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await?;
    sqlx::migrate!().run(&fresh).await?;
    let want: BTreeSet<Object> = sqlx::query_as(OBJECTS)
        .fetch_all(&fresh)
        .await?
        .into_iter()
        .collect();
    fresh.close().await;
    let have: BTreeSet<Object> = sqlx::query_as(OBJECTS)
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
    let names = |set: &BTreeSet<Object>| -> BTreeSet<(String, String)> {
        set.iter().map(|(t, n, _)| (t.clone(), n.clone())).collect()
    };
    let (want_names, have_names) = (names(&want), names(&have));
    let mut problems = Vec::new();
    for (t, n) in have_names.difference(&want_names) {
        problems.push(Problem {
            check: "foreign schema",
            detail: format!(
                "a {t} named {n} is not the station's: the file was changed outside it"
            ),
        });
    }
    for (t, n, _) in want.difference(&have) {
        let how = if have_names.contains(&(t.clone(), n.clone())) {
            "changed"
        } else {
            "missing"
        };
        problems.push(Problem {
            check: "schema",
            detail: format!("the station's {t} {n} is {how}: the file was changed outside it"),
        });
    }
    Ok(problems)
}

/// The checks on a database file, opened read-only (a backup, or a copy to
/// be restored): nothing in it is changed, not even migrated.
pub async fn check_file(path: &Path) -> Result<Vec<Problem>> {
    let pool = read_only(path).await?;
    let problems = check_pool(&pool).await;
    pool.close().await;
    problems
}

/// One read-only connection to a database file.
pub(crate) async fn read_only(path: &Path) -> Result<SqlitePool> {
    // Not `immutable`: that would read the file without its write-ahead
    // log, and miss what the live database committed since the last
    // checkpoint.
    let opts =
        SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?.read_only(true);
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?)
}

/// The newest migration this station knows.
pub fn schema_version() -> i64 {
    sqlx::migrate!()
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// The newest migration applied to a database file (0: none).
pub async fn schema_version_of(path: &Path) -> Result<i64> {
    let pool = read_only(path).await?;
    let v: Result<(Option<i64>,)> =
        sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&pool)
            .await
            .map_err(Into::into);
    pool.close().await;
    Ok(v?.0.unwrap_or(0))
}

impl Store {
    /// Every check on the live database (`legitka db check`).
    pub async fn check(&self) -> Result<Vec<Problem>> {
        check_pool(&self.pool).await
    }
}
