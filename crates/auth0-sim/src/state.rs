//! The tenant's data: users (as the JSON documents Auth0 returns), roles,
//! role assignments and jobs, with the indexes that keep lookups O(1).
//!
//! Users are kept as JSON maps rather than a struct: Auth0 is a document
//! store whose answers are those documents, metadata is free-form, and the
//! Lucene subset, `fields` projection and PATCH merge all work on paths into
//! the document. Keeping that one form avoids converting on every request.

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::jobs::Job;

pub(crate) type Doc = Map<String, Value>;

/// The database connection every Auth0 tenant starts with.
pub(crate) const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Role {
    pub id: String,
    pub name: String,
    pub description: String,
}

impl Role {
    pub(crate) fn named(name: &str) -> Role {
        Role {
            id: format!("rol_{}", derived_alnum(&format!("role:{name}"), 16)),
            name: name.to_string(),
            description: format!("{name} (seeded by rosterd auth0-sim)"),
        }
    }
}

/// What `--state FILE` holds, and what `GET /__sim/state` shows besides the
/// request log.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub users: Vec<Doc>,
    pub roles: Vec<Role>,
    pub user_roles: BTreeMap<String, Vec<String>>,
}

pub(crate) struct State {
    next_seq: u64,
    /// Creation order is the listing order, as on a tenant without `sort`.
    users: BTreeMap<u64, Doc>,
    by_id: HashMap<String, u64>,
    /// Lowercased email → `(connection, seq)`: emails are unique per
    /// connection, and one address may have an account in several.
    by_email: HashMap<String, Vec<(String, u64)>>,
    pub roles: Vec<Role>,
    pub user_roles: HashMap<String, BTreeSet<String>>,
    pub jobs: HashMap<String, Job>,
}

impl State {
    pub(crate) fn new(roles: Vec<Role>) -> State {
        State {
            next_seq: 0,
            users: BTreeMap::new(),
            by_id: HashMap::new(),
            by_email: HashMap::new(),
            roles,
            user_roles: HashMap::new(),
            jobs: HashMap::new(),
        }
    }

    pub(crate) fn from_snapshot(snap: Snapshot) -> State {
        let mut state = State::new(snap.roles);
        for doc in snap.users {
            if user_id(&doc).is_some() {
                state.insert(doc);
            }
        }
        state.user_roles = snap
            .user_roles
            .into_iter()
            .map(|(user, roles)| (user, roles.into_iter().collect()))
            .collect();
        state
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            users: self.users.values().cloned().collect(),
            roles: self.roles.clone(),
            user_roles: self
                .user_roles
                .iter()
                .filter(|(_, roles)| !roles.is_empty())
                .map(|(user, roles)| (user.clone(), roles.iter().cloned().collect()))
                .collect(),
        }
    }

    pub(crate) fn users(&self) -> impl Iterator<Item = &Doc> {
        self.users.values()
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Doc> {
        self.by_id.get(id).and_then(|seq| self.users.get(seq))
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    pub(crate) fn find_email(&self, connection: &str, email: &str) -> Option<&Doc> {
        self.by_email
            .get(&email.to_lowercase())?
            .iter()
            .find(|(c, _)| c == connection)
            .and_then(|(_, seq)| self.users.get(seq))
    }

    /// Every connection's account with this email (Auth0 answers an array).
    pub(crate) fn with_email(&self, email: &str) -> Vec<&Doc> {
        self.by_email
            .get(&email.to_lowercase())
            .into_iter()
            .flatten()
            .filter_map(|(_, seq)| self.users.get(seq))
            .collect()
    }

    fn index_email(&mut self, doc: &Doc, seq: u64) {
        if let (Some(connection), Some(email)) = (connection(doc), email(doc)) {
            self.by_email
                .entry(email.to_lowercase())
                .or_default()
                .push((connection.to_string(), seq));
        }
    }

    fn unindex_email(&mut self, seq: u64) {
        let Some(email) = self.users.get(&seq).and_then(email).map(str::to_lowercase) else {
            return;
        };
        if let Some(entries) = self.by_email.get_mut(&email) {
            entries.retain(|(_, s)| *s != seq);
            if entries.is_empty() {
                self.by_email.remove(&email);
            }
        }
    }

    /// Adds a validated document; the caller has checked id and email are free.
    pub(crate) fn insert(&mut self, doc: Doc) {
        let Some(id) = user_id(&doc).map(str::to_string) else {
            return;
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.index_email(&doc, seq);
        self.by_id.insert(id, seq);
        self.users.insert(seq, doc);
    }

    /// Replaces a user's document in place (keeping its listing position).
    pub(crate) fn replace(&mut self, doc: Doc) {
        let Some(&seq) = user_id(&doc).and_then(|id| self.by_id.get(id)) else {
            return;
        };
        self.unindex_email(seq);
        self.index_email(&doc, seq);
        self.users.insert(seq, doc);
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<Doc> {
        let seq = self.by_id.remove(id)?;
        self.unindex_email(seq);
        let doc = self.users.remove(&seq)?;
        self.user_roles.remove(id);
        Some(doc)
    }

    pub(crate) fn role(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// Connections in use: the default one plus any a user was created in
    /// (any name is accepted on create, since a staging tenant's database
    /// connection name is not known in advance).
    pub(crate) fn connections(&self) -> BTreeSet<&str> {
        let mut names: BTreeSet<&str> = self
            .users
            .values()
            .filter_map(|doc| connection(doc))
            .collect();
        names.insert(DEFAULT_CONNECTION);
        names
    }

    pub(crate) fn connection_by_id(&self, connection_id: &str) -> Option<String> {
        self.connections()
            .into_iter()
            .find(|name| connection_id_of(name) == connection_id)
            .map(str::to_string)
    }
}

pub(crate) fn user_id(doc: &Doc) -> Option<&str> {
    doc.get("user_id").and_then(Value::as_str)
}

pub(crate) fn email(doc: &Doc) -> Option<&str> {
    doc.get("email").and_then(Value::as_str)
}

pub(crate) fn connection(doc: &Doc) -> Option<&str> {
    doc.get("identities")?.get(0)?.get("connection")?.as_str()
}

/// A connection's id, stable across restarts: `con_` + 16 alphanumerics.
pub(crate) fn connection_id_of(name: &str) -> String {
    format!("con_{}", derived_alnum(&format!("connection:{name}"), 16))
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Deterministic alphanumerics from a seed, for ids that must survive a reset.
fn derived_alnum(seed: &str, len: usize) -> String {
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(len)
        .map(|b| ALNUM[usize::from(*b) % ALNUM.len()] as char)
        .collect()
}

pub(crate) fn random_alnum(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| ALNUM[rng.gen_range(0..ALNUM.len())] as char)
        .collect()
}

pub(crate) fn random_hex(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// Auth0's timestamp form, e.g. `2023-01-25T19:00:26.187Z`.
pub(crate) fn now_iso() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str, connection: &str, email: &str) -> Doc {
        json!({"user_id": id, "email": email, "identities": [{"connection": connection}]})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn email_index_follows_insert_replace_and_remove() {
        let mut s = State::new(Vec::new());
        s.insert(user("auth0|1", "db", "a@x.com"));
        s.insert(user("auth0|2", "other", "a@x.com"));
        assert_eq!(s.with_email("A@X.com").len(), 2);
        assert!(s.find_email("db", "a@x.com").is_some());

        s.replace(user("auth0|1", "db", "b@x.com"));
        assert!(s.find_email("db", "a@x.com").is_none());
        assert!(s.find_email("db", "b@x.com").is_some());
        assert_eq!(s.with_email("a@x.com").len(), 1);

        s.remove("auth0|2");
        assert!(s.with_email("a@x.com").is_empty());
        assert!(s.get("auth0|2").is_none());
        assert_eq!(s.users().count(), 1);
        assert!(s.connection_by_id(&connection_id_of("db")).is_some());
        assert!(s.connection_by_id(&connection_id_of("other")).is_none());
    }
}
