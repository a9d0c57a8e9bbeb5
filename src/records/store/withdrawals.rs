//! Orders withdrawn by the central system: cancels (an order, before its
//! card exists) and photo revocations (a student's photo, wherever it waits).
//! Nothing already printed is erased; a card that may exist stays held.

use super::*;

impl Store {
    pub async fn cancel(&self, order_id: &str) -> Result<CancelOutcome> {
        let mut tx = self.write_tx().await?;
        let outcome = self.cancel_in(&mut tx, order_id).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// `cancel`, as part of a larger transaction.
    pub async fn cancel_in(&self, tx: &mut WriteTx, order_id: &str) -> Result<CancelOutcome> {
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT status, hold_code FROM orders WHERE order_id = ?")
                .bind(order_id)
                .fetch_optional(&mut **tx)
                .await?;
        let refuse = |why: &str| Event::cancel_refused(order_id, why);
        let outcome = match row {
            None => {
                let now = chrono::Utc::now();
                sqlx::query("INSERT OR IGNORE INTO early_cancels (order_id, at) VALUES (?, ?)")
                    .bind(order_id)
                    .bind(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                    .execute(&mut **tx)
                    .await?;
                // An order that never came within a month will not come.
                let cutoff = now - chrono::Duration::days(EARLY_CANCEL_DAYS);
                sqlx::query("DELETE FROM early_cancels WHERE at < ?")
                    .bind(cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                    .execute(&mut **tx)
                    .await?;
                CancelOutcome::Remembered
            }
            // A card held for checking may exist: only the operator can say.
            Some((status, code)) if status == "held" && code.as_deref() == Some(NEEDS_CHECK) => {
                self.emit(
                    tx,
                    &[refuse(
                        "the card may already be printed; it is held for the operator to check",
                    )],
                )
                .await?;
                CancelOutcome::Printing
            }
            Some((status, ..)) if status == "printed" => {
                self.emit(
                    tx,
                    &[refuse(
                        "the card was already printed; a cancel changes nothing on it",
                    )],
                )
                .await?;
                CancelOutcome::AlreadyPrinted
            }
            Some((status, ..)) if status == "printing" => {
                self.emit(
                    tx,
                    &[refuse(
                        "the card is in the printer; a cancel changes nothing on it",
                    )],
                )
                .await?;
                CancelOutcome::Printing
            }
            Some((status, ..)) if status == "cancelled" => CancelOutcome::AlreadyCancelled,
            Some(_) => {
                // Only what recognises a redelivery stays (issue 17).
                self.forget_order(tx, order_id).await?;
                self.emit(tx, &[Event::cancelled(order_id)]).await?;
                CancelOutcome::Cancelled
            }
        };
        Ok(outcome)
    }

    /// Deletes every stored copy of a student's photo and holds the orders
    /// that needed it. Returns the held order ids.
    pub async fn revoke_photo(
        &self,
        student_id: &str,
        revoked_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<String>> {
        let mut tx = self.write_tx().await?;
        let held = self.revoke_in(&mut tx, student_id, revoked_at).await?;
        tx.commit().await?;
        Ok(held)
    }

    /// `revoke_photo`, as part of a larger transaction.
    ///
    /// Only photos the school accepted at or before the revocation are
    /// covered: a photo accepted later is a new photo. A card held for
    /// checking keeps its hold (it may exist; only the operator can say):
    /// its photo is deleted all the same.
    pub async fn revoke_in(
        &self,
        tx: &mut WriteTx,
        student_id: &str,
        revoked_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<String>> {
        let at = revoked_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        sqlx::query("INSERT INTO revocations (student_id, revoked_at) VALUES (?, ?)")
            .bind(student_id)
            .bind(&at)
            .execute(&mut **tx)
            .await?;
        // A card already in the printer finishes; if it fails, it is held
        // then (see `back_to_queue`).
        let to_hold: Vec<(String,)> = sqlx::query_as(
            "SELECT order_id FROM orders
              WHERE student_id = ? AND photo IS NOT NULL
                AND (photo_accepted_at IS NULL OR photo_accepted_at <= ?)
                AND (status = 'queued' OR (status = 'held' AND IFNULL(hold_code, '') != 'needs_check'))",
        )
        .bind(student_id)
        .bind(&at)
        .fetch_all(&mut **tx)
        .await?;
        let message = REVOKED;
        let mut events = Vec::new();
        for (id,) in &to_hold {
            sqlx::query("UPDATE orders SET status = 'held', hold_code = 'photo_revoked', hold_message = ? WHERE order_id = ?")
                .bind(message)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            events.push(Event::held(id, "photo_revoked", message));
        }
        // The PESEL (or document number) goes with the photo: an order that
        // cannot print without a new photo needs neither, and a held order
        // may stay held for long (issue 17). A card that may exist keeps
        // its names for the operator's decision; the PESEL is never in the
        // register anyway.
        sqlx::query(
            "UPDATE orders SET photo = NULL, updated_at = ?,
                    data = CASE
                      WHEN status NOT IN ('queued', 'held') THEN data
                      WHEN json_extract(data, '$.identity.pesel') IS NOT NULL
                        THEN json_set(data, '$.identity.pesel', '')
                      WHEN json_extract(data, '$.identity.document.number') IS NOT NULL
                        THEN json_set(data, '$.identity.document.number', '')
                      ELSE data END
              WHERE student_id = ? AND photo IS NOT NULL
                AND (photo_accepted_at IS NULL OR photo_accepted_at <= ?)",
        )
        .bind(event::now())
        .bind(student_id)
        .bind(&at)
        .execute(&mut **tx)
        .await?;
        self.purged();
        events.push(Event::photo_purged(student_id));
        self.emit(tx, &events).await?;
        Ok(to_hold.into_iter().map(|(id,)| id).collect())
    }
}
