//! Accounts, sessions, API tokens and the audit log.

use super::{Result, Store};
use crate::records::account::{self, AccountError, Role, User};
use crate::records::actor::Actor;
use crate::records::event;
use sqlx::Row;

/// One line of the audit log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub login: String,
    /// `web`, `api` or `cli`.
    pub via: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// An API token as listed: never the token, only its id and dates.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub created_at: String,
    pub expires_at: String,
    pub expired: bool,
}

/// A live session: whose, and the token its forms must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
}

fn user_of(r: &sqlx::sqlite::SqliteRow) -> User {
    User {
        login: r.get("login"),
        name: r.get("name"),
        role: r.get::<String, _>("role").parse().unwrap_or(Role::Auditor),
        disabled: r.get::<Option<String>, _>("disabled_at").is_some(),
    }
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// `password_hash` comes from [`account::hash_password`].
    pub async fn add_user(
        &self,
        login: &str,
        name: &str,
        role: Role,
        password_hash: &str,
        actor: &Actor,
    ) -> Result<()> {
        account::check_login(login)?;
        if name.trim().is_empty() {
            return Err(AccountError::EmptyName.into());
        }
        let mut tx = self.write_tx().await?;
        let r = sqlx::query("INSERT INTO users (login, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(login)
            .bind(name.trim())
            .bind(role.as_str())
            .bind(password_hash)
            .bind(event::now())
            .execute(&mut *tx)
            .await;
        match r {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AccountError::Exists(login.to_string()).into())
            }
            r => r.map(|_| ())?,
        }
        audit_in(&mut tx, actor, "user.add", Some(login), Some(role.as_str())).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query("SELECT login, name, role, disabled_at FROM users ORDER BY login")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(user_of).collect())
    }

    pub async fn user(&self, login: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT login, name, role, disabled_at FROM users WHERE login = ?")
            .bind(login)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_of))
    }

    /// The stored hash of an enabled account, to check a password against.
    pub async fn password_hash(&self, login: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT password_hash FROM users WHERE login = ? AND disabled_at IS NULL",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(h,)| h))
    }

    /// A new password ends every session and API token of the account.
    pub async fn set_password(
        &self,
        login: &str,
        password_hash: &str,
        actor: &Actor,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("UPDATE users SET password_hash = ? WHERE login = ?")
            .bind(password_hash)
            .bind(login)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // A password changed because it leaked: the scripts' tokens made by
        // whoever knew it end too.
        Self::end_sessions(&mut tx, n, login, true).await?;
        audit_in(&mut tx, actor, "user.passwd", Some(login), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// After an account's row was updated (`updated` rows): its sessions
    /// end, and with `tokens` its API tokens too; no row is no account.
    async fn end_sessions(
        tx: &mut super::WriteTx,
        updated: u64,
        login: &str,
        tokens: bool,
    ) -> Result<()> {
        if updated == 0 {
            return Err(AccountError::NoSuchUser(login.to_string()).into());
        }
        sqlx::query("DELETE FROM sessions WHERE login = ?")
            .bind(login)
            .execute(&mut **tx)
            .await?;
        if tokens {
            sqlx::query("DELETE FROM api_tokens WHERE login = ?")
                .bind(login)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// A disabled account keeps its name in the records but can no longer
    /// log in; its sessions and tokens end at once.
    pub async fn disable_user(&self, login: &str, actor: &Actor) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n =
            sqlx::query("UPDATE users SET disabled_at = COALESCE(disabled_at, ?) WHERE login = ?")
                .bind(event::now())
                .bind(login)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        Self::end_sessions(&mut tx, n, login, true).await?;
        audit_in(&mut tx, actor, "user.disable", Some(login), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A disabled account may log in again (with the password it had; its
    /// ended sessions and tokens stay ended).
    pub async fn enable_user(&self, login: &str, actor: &Actor) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("UPDATE users SET disabled_at = NULL WHERE login = ?")
            .bind(login)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(AccountError::NoSuchUser(login.to_string()).into());
        }
        audit_in(&mut tx, actor, "user.enable", Some(login), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new session: its cookie token and its CSRF token.
    pub async fn open_session(&self, login: &str) -> Result<(String, String)> {
        let (token, hash) = account::new_token();
        let (csrf, _) = account::new_token();
        sqlx::query("INSERT INTO sessions (token_sha256, login, csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?)")
            .bind(&hash)
            .bind(login)
            .bind(&csrf)
            .bind(event::now())
            .bind(unix_now())
            .execute(&self.pool)
            .await?;
        Ok((token, csrf))
    }

    /// The session a cookie names, if it is still live: used within
    /// `idle_secs`, younger than `max_secs`, and its account enabled. Using
    /// it keeps it live.
    pub async fn session(
        &self,
        token: &str,
        idle_secs: i64,
        max_secs: i64,
    ) -> Result<Option<Session>> {
        let hash = account::token_hash(token);
        let now = unix_now();
        let Some((session, last_seen)) = self.session_row(&hash, idle_secs, max_secs).await? else {
            self.close_session(token).await?;
            return Ok(None);
        };
        // Written at most once a minute: every page and every live update
        // would otherwise be a database write.
        if now - last_seen >= 60 {
            sqlx::query("UPDATE sessions SET last_seen = ? WHERE token_sha256 = ?")
                .bind(now)
                .bind(&hash)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(session))
    }

    /// Whether a session is still live, without counting this as its use:
    /// a live stream asks it every few seconds and must not keep an idle
    /// session alive by asking.
    pub async fn session_is_live(
        &self,
        token: &str,
        idle_secs: i64,
        max_secs: i64,
    ) -> Result<bool> {
        Ok(self
            .session_row(&account::token_hash(token), idle_secs, max_secs)
            .await?
            .is_some())
    }

    async fn session_row(
        &self,
        hash: &str,
        idle_secs: i64,
        max_secs: i64,
    ) -> Result<Option<(Session, i64)>> {
        let row = sqlx::query(
            "SELECT u.login, u.name, u.role, u.disabled_at, s.csrf, s.last_seen, s.created_at
             FROM sessions s JOIN users u ON u.login = s.login
             WHERE s.token_sha256 = ?",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_of(&row);
        let last_seen: i64 = row.get("last_seen");
        let born = chrono::DateTime::parse_from_rfc3339(row.get::<&str, _>("created_at"))
            .map(|t| t.timestamp())
            .unwrap_or(0);
        let now = unix_now();
        if user.disabled || now - last_seen > idle_secs || now - born > max_secs {
            return Ok(None);
        }
        Ok(Some((
            Session {
                user,
                csrf: row.get("csrf"),
            },
            last_seen,
        )))
    }

    pub async fn close_session(&self, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = ?")
            .bind(account::token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sessions idle or older past the limits are deleted (they would be
    /// refused anyway), and API tokens expired a month ago.
    pub async fn expire_sessions(&self, idle_secs: i64, max_secs: i64) -> Result<u64> {
        let born_after = chrono::DateTime::from_timestamp(unix_now() - max_secs, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let month_ago = (chrono::Utc::now() - chrono::Duration::days(31))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        sqlx::query("DELETE FROM api_tokens WHERE expires_at < ?")
            .bind(month_ago)
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query("DELETE FROM sessions WHERE last_seen < ? OR created_at < ?")
                .bind(unix_now() - idle_secs)
                .bind(born_after)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// A new API token for an account, valid `days` days; the token is
    /// shown once, only its hash is kept. Returns its id and the token.
    pub async fn add_api_token(
        &self,
        login: &str,
        days: u32,
        actor: &Actor,
    ) -> Result<(i64, String)> {
        if self.user(login).await?.is_none() {
            return Err(AccountError::NoSuchUser(login.to_string()).into());
        }
        let (token, hash) = account::new_token();
        let expires = (chrono::Utc::now() + chrono::Duration::days(days.into()))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut tx = self.write_tx().await?;
        let id = sqlx::query("INSERT INTO api_tokens (token_sha256, login, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(hash)
            .bind(login)
            .bind(event::now())
            .bind(&expires)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
        audit_in(
            &mut tx,
            actor,
            "user.token",
            Some(login),
            Some(&format!("#{id}, until {expires}")),
        )
        .await?;
        tx.commit().await?;
        Ok((id, token))
    }

    /// An account's API tokens, live or expired (never the tokens themselves).
    pub async fn api_tokens(&self, login: &str) -> Result<Vec<ApiToken>> {
        let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
            "SELECT rowid, created_at, expires_at FROM api_tokens WHERE login = ? ORDER BY rowid",
        )
        .bind(login)
        .fetch_all(&self.pool)
        .await?;
        let now = event::now();
        Ok(rows
            .into_iter()
            .map(|(id, created_at, expires_at)| ApiToken {
                id,
                expired: expires_at.as_deref().is_none_or(|e| e <= now.as_str()),
                created_at,
                expires_at: expires_at.unwrap_or_default(),
            })
            .collect())
    }

    /// Ends one of an account's API tokens.
    pub async fn revoke_api_token(&self, login: &str, id: i64, actor: &Actor) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("DELETE FROM api_tokens WHERE login = ? AND rowid = ?")
            .bind(login)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(AccountError::NoSuchToken(login.to_string(), id).into());
        }
        audit_in(
            &mut tx,
            actor,
            "user.token_revoke",
            Some(login),
            Some(&format!("#{id}")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn user_by_token(&self, token: &str) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT u.login, u.name, u.role, u.disabled_at FROM api_tokens t
             JOIN users u ON u.login = t.login
             WHERE t.token_sha256 = ? AND u.disabled_at IS NULL AND t.expires_at > ?",
        )
        .bind(account::token_hash(token))
        .bind(event::now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(user_of))
    }

    /// Records what a person did that changes no record (a login, a
    /// download); changes write theirs with [`audit_in`].
    pub async fn audit(
        &self,
        login: &str,
        via: &str,
        action: &str,
        target: Option<&str>,
        detail: Option<&str>,
    ) -> Result<()> {
        insert_audit(&self.pool, login, via, action, target, detail).await
    }

    /// The audit line of one change, `actor`'s, in the change's transaction.
    pub async fn audit_as(
        &self,
        actor: &crate::records::actor::Actor,
        action: &str,
        target: Option<&str>,
        detail: Option<&str>,
    ) -> Result<()> {
        self.audit(&actor.login, actor.via.as_str(), action, target, detail)
            .await
    }

    /// The newest entries first, `limit` of them, optionally one person's.
    pub async fn audit_entries(&self, login: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>> {
        self.audit_page(login, limit, 0).await
    }

    /// A page of the audit log, newest first.
    pub async fn audit_page(
        &self,
        login: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AuditEntry>> {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT id, at, login, via, action, target, detail FROM audit",
        );
        if let Some(l) = login {
            // On its index (login, id).
            q.push(" WHERE login = ").push_bind(l.to_string());
        }
        q.push(" ORDER BY id DESC LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let rows = q.build().fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                id: r.get("id"),
                at: r.get("at"),
                login: r.get("login"),
                via: r.get("via"),
                action: r.get("action"),
                target: r.get("target"),
                detail: r.get("detail"),
            })
            .collect())
    }
}

/// Writes the audit line of a change inside the change's own transaction:
/// both commit, or neither.
pub(crate) async fn audit_in(
    tx: &mut super::WriteTx,
    actor: &crate::records::actor::Actor,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    insert_audit(
        &mut **tx,
        &actor.login,
        actor.via.as_str(),
        action,
        target,
        detail,
    )
    .await
}

async fn insert_audit(
    db: impl sqlx::SqliteExecutor<'_>,
    login: &str,
    via: &str,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit (at, login, via, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(event::now())
    .bind(login)
    .bind(via)
    .bind(action)
    .bind(target)
    .bind(detail)
    .execute(db)
    .await?;
    Ok(())
}
