//! The station's local accounts: who may use the web page and the API, in
//! which role, and the secrets that prove it (argon2id password hashes,
//! random session and API tokens kept only as SHA-256).

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AccountError {
    #[error("login {0:?} must be 2-32 of a-z, 0-9, '.', '_' and '-'")]
    Login(String),
    #[error("role {0:?} is none of operator, admin, auditor")]
    Role(String),
    #[error("a password needs at least {MIN_PASSWORD} characters")]
    ShortPassword,
    #[error("no account {0:?}")]
    NoSuchUser(String),
    #[error("account {0:?} has no API token #{1}")]
    NoSuchToken(String, i64),
    #[error("an account {0:?} exists already")]
    Exists(String),
    #[error("the name must not be empty")]
    EmptyName,
}

pub const MIN_PASSWORD: usize = 10;

/// What a person may do. Checked on every request that changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Prints, runs batches, settles held cards, applies holograms, reports.
    Operator,
    /// An operator who also manages accounts and the printer's settings.
    Admin,
    /// Reads everything, changes nothing.
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    pub fn label_pl(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "administrator",
            Role::Auditor => "audytor",
        }
    }

    pub fn may_change(self) -> bool {
        self != Role::Auditor
    }

    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AccountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            "auditor" => Ok(Role::Auditor),
            other => Err(AccountError::Role(other.to_string())),
        }
    }
}

/// An account as the page and the API see it (never its hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
}

pub fn check_login(login: &str) -> Result<(), AccountError> {
    let ok = (2..=32).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Login(login.to_string()))
    }
}

pub fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AccountError::ShortPassword);
    }
    Ok(())
}

/// An argon2id hash in PHC form (salt and parameters inside). Slow on
/// purpose: call it off the async runtime.
pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to spend the same time on a login that does not exist, so the
/// answer's delay does not tell which logins do.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("not a password of anyone"))
}

/// A new random secret (256 bits, URL-safe) and the hash it is stored as.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source");
    let token = hex::encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash_password("Zażółć gęślą jaźń");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "Zażółć gęślą jaźń"));
        assert!(!verify_password(&h, "zażółć gęślą jaźń"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn logins_roles_and_tokens_are_checked() {
        assert!(check_login("anna.kowalska").is_ok());
        assert!(check_login("Anna").is_err());
        assert!(check_login("a").is_err());
        assert_eq!("auditor".parse::<Role>().unwrap(), Role::Auditor);
        assert!("root".parse::<Role>().is_err());
        assert!(!Role::Auditor.may_change() && Role::Operator.may_change());
        let (t1, h1) = new_token();
        let (t2, _) = new_token();
        assert_ne!(t1, t2);
        assert_eq!(t1.len(), 64);
        assert_eq!(token_hash(&t1), h1);
        assert!(check_password("krótkie").is_err());
    }
}
