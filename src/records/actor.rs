//! Who changes the records, and through what. Every change to the forms
//! (blanks, holograms, batches, held cards, the register) takes an
//! [`Actor`], and its audit line is written in the change's own
//! transaction: a change without its audit line cannot commit, nor an
//! audit line without its change.

use crate::records::account::User;

/// How a change reached the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Web,
    Api,
    Cli,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Web => "web",
            Via::Api => "api",
            Via::Cli => "cli",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The audit log's name for them: an account's login, or the name an
    /// operator command was given.
    pub login: String,
    /// What the forms record: "Anna Kowalska (anna)" for an account, the
    /// name as typed otherwise.
    pub name: String,
    pub via: Via,
}

impl Actor {
    /// A person with an account.
    pub fn account(user: &User, via: Via) -> Self {
        Actor {
            login: user.login.clone(),
            name: format!("{} ({})", user.name, user.login),
            via,
        }
    }

    /// A name typed at an operator command, with no account behind it.
    pub fn named(name: &str, via: Via) -> Self {
        let name = name.trim().to_string();
        Actor {
            login: name.clone(),
            name,
            via,
        }
    }
}
