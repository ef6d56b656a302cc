//! Auth0's user JSON → [`Auth0User`]. Lenient where tenants are messy
//! (an `employee_id` stored as a string, missing fields), strict where a
//! wrong reading would be dangerous (no `user_id`).

use crate::model::{Auth0User, Auth0UserId, Email, ManagedAppMetadata, ManagedUserMetadata};
use serde::Deserialize;
use serde_json::Value;

/// A user as Auth0 sends it, with the fields rosterd reads; the rest is
/// skipped unread. A field is a JSON value, so a field of an unexpected type
/// is read leniently (as today), and taken apart by [`WireUser::into_user`]
/// without copying its strings: the export's 100,000 lines are parsed
/// straight into this and moved into [`Auth0User`].
#[derive(Deserialize, Default)]
#[serde(default)]
struct WireUser {
    user_id: Value,
    email: Value,
    name: Value,
    email_verified: Value,
    blocked: Value,
    created_at: Value,
    last_login: Value,
    /// The export's `identities[0].connection`, as rosterd asks for it.
    connection: Value,
    /// The same under its own name, when an export is asked without
    /// `export_as`.
    #[serde(rename = "identities[0].connection")]
    first_identity_connection: Value,
    /// The whole array, as the API's user answers carry it.
    identities: Value,
    app_metadata: Value,
    user_metadata: Value,
}

/// A user from the API's JSON.
pub fn user_from_json(v: &Value) -> Result<Auth0User, String> {
    WireUser::deserialize(v)
        .map_err(|e| format!("not a user: {e}"))?
        .into_user()
}

/// A user from one line of the export (NDJSON).
pub(super) fn user_from_line(line: &[u8]) -> Result<Auth0User, String> {
    serde_json::from_slice::<WireUser>(line)
        .map_err(|e| e.to_string())?
        .into_user()
}

fn text(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        _ => None,
    }
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

impl WireUser {
    /// Lenient where tenants are messy, strict where a wrong reading would
    /// be dangerous (no `user_id`).
    fn into_user(self) -> Result<Auth0User, String> {
        let user_id = text(self.user_id)
            .filter(|s| !s.is_empty())
            .ok_or("user without a user_id")?;
        let first_identity = match self.identities {
            Value::Array(a) => a.into_iter().next().map(|mut i| i["connection"].take()),
            _ => None,
        };
        let connection = [
            self.connection,
            self.first_identity_connection,
            first_identity.unwrap_or_default(),
        ]
        .into_iter()
        .find_map(|c| text(c).filter(|c| !c.is_empty()));
        let mut app_metadata = ManagedAppMetadata::default();
        let mut app_metadata_flags = Vec::new();
        if let Value::Object(am) = self.app_metadata {
            for (key, v) in am {
                let flag = v == Value::Bool(true);
                match key.as_str() {
                    "employee_id" => app_metadata.employee_id = int(&v),
                    "department" => app_metadata.department = text(v),
                    "role_code" => app_metadata.role_code = text(v),
                    "workspace" => app_metadata.workspace = text(v),
                    "created_by" => app_metadata.created_by = text(v),
                    "previous_names" => {
                        if let Value::Array(names) = v {
                            app_metadata.previous_names =
                                names.into_iter().filter_map(text).collect();
                        }
                    }
                    "podfactory_sync" => {
                        app_metadata.podfactory_sync = Some(v).filter(|v| !v.is_null())
                    }
                    _ => {}
                }
                if flag {
                    app_metadata_flags.push(key);
                }
            }
        }
        let mut user_metadata = ManagedUserMetadata::default();
        if let Value::Object(um) = self.user_metadata {
            for (key, v) in um {
                match key.as_str() {
                    "employee_id" => user_metadata.employee_id = int(&v),
                    "full_name" => user_metadata.full_name = text(v),
                    "department" => user_metadata.department = text(v),
                    _ => {}
                }
            }
        }
        Ok(Auth0User {
            created_at: timestamp(self.created_at),
            last_login: timestamp(self.last_login),
            connection,
            app_metadata_flags,
            user_id: Auth0UserId(user_id),
            email: text(self.email).and_then(|e| Email::parse(&e).ok()),
            name: text(self.name),
            email_verified: self.email_verified.as_bool().unwrap_or(false),
            blocked: self.blocked.as_bool().unwrap_or(false),
            app_metadata,
            user_metadata,
        })
    }
}

/// An Auth0 date (`2026-11-30T10:00:00.000Z`) as UNIX seconds; anything
/// else is None: a date rosterd cannot read only means "unknown".
fn timestamp(v: Value) -> Option<i64> {
    let text = text(v)?;
    chrono::DateTime::parse_from_rfc3339(&text)
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_managed_account() {
        let u = user_from_json(&json!({
            "user_id": "auth0|abc", "email": "A@B.co", "name": "Ann",
            "app_metadata": {"employee_id": "12", "created_by": "productivity_system", "other": 1,
                             "previous_names": ["Ann X"]},
            "user_metadata": {"employee_id": 12}
        }))
        .unwrap();
        assert_eq!(u.email.unwrap().as_str(), "a@b.co");
        assert_eq!(u.app_metadata.employee_id, Some(12));
        assert_eq!(u.app_metadata.previous_names, vec!["Ann X".to_string()]);
        assert_eq!(u.app_metadata.podfactory_sync, None);
        assert!(!u.blocked);
    }

    #[test]
    fn a_podfactory_sync_block_is_read_as_it_is_even_hand_edited() {
        let block = json!({"podfactory_user_id": 7, "note": "edited by hand"});
        let u = user_from_json(&json!({
            "user_id": "auth0|abc",
            "app_metadata": {"podfactory_sync": block.clone()}
        }))
        .unwrap();
        assert_eq!(u.app_metadata.podfactory_sync, Some(block));
    }

    #[test]
    fn an_account_without_id_is_an_error_not_a_guess() {
        assert!(user_from_json(&json!({"email": "a@b.co"})).is_err());
    }

    #[test]
    fn reads_usage_dates_connection_and_true_flags() {
        let u = user_from_json(&json!({
            "user_id": "auth0|abc",
            "created_at": "2026-11-30T10:00:00.000Z",
            "last_login": "2026-12-01T10:00:00.500Z",
            "logins_count": 3,
            "connection": "Username-Password-Authentication",
            "app_metadata": {"rosterd_ignore": true, "vip": false, "note": "true", "employee_id": 1}
        }))
        .unwrap();
        assert_eq!(u.created_at, Some(1_796_032_800));
        assert_eq!(u.last_login, Some(1_796_032_800 + 86_400));
        assert_eq!(
            u.connection.as_deref(),
            Some("Username-Password-Authentication")
        );
        assert_eq!(u.app_metadata_flags, vec!["rosterd_ignore".to_string()]);
    }

    #[test]
    fn the_connection_is_read_from_the_identities_as_auth0_returns_them() {
        let u = user_from_json(&json!({
            "user_id": "google-oauth2|1",
            "identities": [{"connection": "google-oauth2", "provider": "google-oauth2"},
                           {"connection": "db"}]
        }))
        .unwrap();
        assert_eq!(u.connection.as_deref(), Some("google-oauth2"));
    }

    #[test]
    fn an_unreadable_or_missing_date_is_unknown_not_an_error() {
        for bad in [
            json!("yesterday"),
            json!(12),
            json!(null),
            json!("2026-13-01T00:00:00Z"),
        ] {
            let u = user_from_json(&json!({
                "user_id": "auth0|abc", "created_at": bad.clone(), "last_login": bad
            }))
            .unwrap();
            assert_eq!((u.created_at, u.last_login), (None, None));
        }
        let u = user_from_json(&json!({"user_id": "auth0|abc"})).unwrap();
        assert_eq!(
            (u.created_at, u.last_login, u.connection),
            (None, None, None)
        );
        assert!(u.app_metadata_flags.is_empty());
    }

    /// The shapes the simulator and Auth0 put on an export line: fields
    /// missing or null, unknown ones (objects and arrays included), an
    /// id stored as text, the connection under each of its names.
    #[test]
    fn an_export_line_reads_as_its_json_value_does() {
        let lines = [
            r#"{"user_id":"auth0|1","email":"Ann@Example.com","email_verified":true,"name":"Ann","blocked":false,"app_metadata":{"employee_id":"7","created_by":"productivity_system","rosterd_ignore":true,"previous_names":["A",3,null],"podfactory_sync":{"podfactory_user_id":"pf1"}},"user_metadata":{"employee_id":7,"full_name":"Ann A","x":[1]},"created_at":"2026-11-30T10:00:00.000Z","logins_count":4,"connection":"db"}"#,
            r#"{"user_id":"auth0|2","email":null,"name":null,"blocked":null,"app_metadata":null,"user_metadata":null,"last_login":null,"connection":null}"#,
            r#"{"user_id":"google-oauth2|3","identities":[{"connection":"google-oauth2","access_token":"t"}],"extra":{"deep":[{"a":1}]},"multifactor":["guardian"]}"#,
            r#"{"user_id":"auth0|4","identities[0].connection":"Username-Password-Authentication","app_metadata":{"employee_id":12.5,"department":7,"podfactory_sync":null}}"#,
            r#"{"user_id":"auth0|5","email":"not an email","email_verified":"yes","app_metadata":"oops","user_metadata":[1]}"#,
        ];
        for line in lines {
            let from_line = user_from_line(line.as_bytes()).unwrap();
            let value: Value = serde_json::from_str(line).unwrap();
            assert_eq!(from_line, user_from_json(&value).unwrap(), "{line}");
        }
        let ann = user_from_line(lines[0].as_bytes()).unwrap();
        assert_eq!(ann.app_metadata.employee_id, Some(7));
        assert_eq!(ann.app_metadata.previous_names, vec!["A".to_string()]);
        assert_eq!(ann.app_metadata_flags, vec!["rosterd_ignore".to_string()]);
        assert_eq!(ann.email.unwrap().as_str(), "ann@example.com");
        assert!(ann.email_verified);
        assert_eq!(ann.user_metadata.full_name.as_deref(), Some("Ann A"));
        let google = user_from_line(lines[2].as_bytes()).unwrap();
        assert_eq!(google.connection.as_deref(), Some("google-oauth2"));
        let asked = user_from_line(lines[3].as_bytes()).unwrap();
        assert_eq!(
            asked.connection.as_deref(),
            Some("Username-Password-Authentication")
        );
        assert_eq!(
            (
                asked.app_metadata.employee_id,
                asked.app_metadata.department
            ),
            (None, None)
        );
        let odd = user_from_line(lines[4].as_bytes()).unwrap();
        assert_eq!((odd.email, odd.email_verified), (None, false));
    }

    #[test]
    fn a_bad_export_line_is_an_error_naming_what_is_wrong() {
        let err = |line: &str| user_from_line(line.as_bytes()).unwrap_err();
        assert_eq!(err(r#"{"email":"a@b.co"}"#), "user without a user_id");
        assert_eq!(err(r#"{"user_id":""}"#), "user without a user_id");
        assert_eq!(err(r#"{"user_id":42}"#), "user without a user_id");
        assert!(err(r#"{"user_id":"auth0|1","#).contains("EOF"));
        assert!(err("null").contains("invalid type"), "{}", err("null"));
    }
}
