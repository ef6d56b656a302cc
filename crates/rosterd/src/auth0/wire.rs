//! Auth0's user JSON → [`Auth0User`]. Lenient where tenants are messy
//! (an `employee_id` stored as a string, missing fields), strict where a
//! wrong reading would be dangerous (no `user_id`).

use crate::model::{Auth0User, Auth0UserId, Email, ManagedAppMetadata, ManagedUserMetadata};
use serde_json::Value;

pub fn user_from_json(v: &Value) -> Result<Auth0User, String> {
    let user_id = v["user_id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or("user without a user_id")?;
    let text = |v: &Value| v.as_str().map(str::to_string);
    let int = |v: &Value| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
    };
    let am = &v["app_metadata"];
    let um = &v["user_metadata"];
    Ok(Auth0User {
        created_at: timestamp(&v["created_at"]),
        last_login: timestamp(&v["last_login"]),
        connection: connection(v),
        app_metadata_flags: am
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| **v == Value::Bool(true))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default(),
        user_id: Auth0UserId(user_id.to_string()),
        email: v["email"].as_str().and_then(|e| Email::parse(e).ok()),
        name: text(&v["name"]),
        email_verified: v["email_verified"].as_bool().unwrap_or(false),
        blocked: v["blocked"].as_bool().unwrap_or(false),
        app_metadata: ManagedAppMetadata {
            employee_id: int(&am["employee_id"]),
            department: text(&am["department"]),
            role_code: text(&am["role_code"]),
            workspace: text(&am["workspace"]),
            created_by: text(&am["created_by"]),
            previous_names: am["previous_names"]
                .as_array()
                .map(|a| a.iter().filter_map(text).collect())
                .unwrap_or_default(),
            podfactory_sync: Some(&am["podfactory_sync"])
                .filter(|v| !v.is_null())
                .cloned(),
        },
        user_metadata: ManagedUserMetadata {
            employee_id: int(&um["employee_id"]),
            full_name: text(&um["full_name"]),
            department: text(&um["department"]),
        },
    })
}

/// An Auth0 date (`2026-11-30T10:00:00.000Z`) as UNIX seconds; anything
/// else is None: a date rosterd cannot read only means "unknown".
fn timestamp(v: &Value) -> Option<i64> {
    let text = v.as_str()?;
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp())
}

/// The first identity's connection: exported as `connection` (rosterd asks
/// for `identities[0].connection` under that name), or as Auth0's user JSON
/// holds it when the export or an API answer carries the whole array.
fn connection(v: &Value) -> Option<String> {
    [
        &v["connection"],
        &v["identities[0].connection"],
        &v["identities"][0]["connection"],
    ]
    .into_iter()
    .find_map(|c| c.as_str().filter(|c| !c.is_empty()))
    .map(str::to_string)
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
}
