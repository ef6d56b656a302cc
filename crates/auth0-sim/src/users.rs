//! `/api/v2/users`, `/api/v2/users/{id}`, `/api/v2/users-by-email` and the
//! password-change ticket: validation, creation, the PATCH merge and search.

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use super::errors::{check_type, json_object, reject_unknown, ApiError, ApiResult};
use super::params::{Page, Params, Projection};
use super::query;
use super::server::{public_base, Sim};
use super::state::{self, now_iso, random_alnum, random_hex, Doc, State as Tenant};

/// What `POST /api/v2/users` accepts (Auth0's schema; anything else is a 400).
const CREATE_FIELDS: &[&str] = &[
    "connection",
    "email",
    "phone_number",
    "user_metadata",
    "blocked",
    "email_verified",
    "phone_verified",
    "app_metadata",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "user_id",
    "password",
    "verify_email",
    "username",
];

/// Seeds may also carry history a real tenant would have.
const SEED_EXTRA_FIELDS: &[&str] = &["created_at", "updated_at", "logins_count", "last_login"];

const PATCH_FIELDS: &[&str] = &[
    "blocked",
    "email_verified",
    "email",
    "phone_number",
    "phone_verified",
    "user_metadata",
    "app_metadata",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "verify_email",
    "verify_phone_number",
    "password",
    "connection",
    "client_id",
    "username",
];

const STRING_FIELDS: &[&str] = &[
    "connection",
    "email",
    "phone_number",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "user_id",
    "password",
    "username",
    "client_id",
    "created_at",
    "updated_at",
    "last_login",
];
const BOOL_FIELDS: &[&str] = &[
    "blocked",
    "email_verified",
    "phone_verified",
    "verify_email",
    "verify_phone_number",
];
const OBJECT_FIELDS: &[&str] = &["app_metadata", "user_metadata"];
/// Profile strings a PATCH may clear with `null`.
const CLEARABLE: &[&str] = &[
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "phone_number",
    "username",
];

/// Who is creating the user: the API enforces the password policy; seeds
/// (control API, `--seed`) and import jobs carry no password.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Origin {
    Api,
    Seed,
}

fn check_types(body: &Map<String, Value>, nullable: bool) -> ApiResult<()> {
    for key in STRING_FIELDS {
        check_type(body, key, "string", nullable && CLEARABLE.contains(key))?;
    }
    for key in BOOL_FIELDS {
        check_type(body, key, "boolean", false)?;
    }
    for key in OBJECT_FIELDS {
        check_type(body, key, "object", nullable)?;
    }
    check_type(body, "logins_count", "integer", false)
}

fn check_lengths(body: &Map<String, Value>) -> ApiResult<()> {
    for (key, max) in [
        ("given_name", 150),
        ("family_name", 150),
        ("name", 300),
        ("nickname", 300),
    ] {
        if let Some(Value::String(s)) = body.get(key) {
            let n = s.chars().count();
            if n == 0 {
                return Err(ApiError::payload_on(
                    "String is too short (0 chars), minimum 1",
                    key,
                ));
            }
            if n > max {
                return Err(ApiError::payload_on(
                    format!("String is too long ({n} chars), maximum {max}"),
                    key,
                ));
            }
        }
    }
    Ok(())
}

/// A deliberately plain check: one `@`, a dotted domain, no spaces.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        && !local.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn email_format_error(email: &str) -> ApiError {
    ApiError::payload_on(
        format!("Object didn't pass validation for format email: {email}"),
        "email",
    )
}

/// Auth0's "good" policy (its default for new database connections): the
/// minimum length and at least three of lower case, upper case, digits and
/// special characters.
pub(crate) fn password_ok(password: &str, min_length: usize) -> bool {
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    password.chars().count() >= min_length.max(1) && classes.iter().filter(|&&c| c).count() >= 3
}

fn weak_password() -> ApiError {
    ApiError::bad_request(
        "PasswordStrengthError: Password is too weak",
        "invalid_body",
    )
}

fn picture_for(email: &str) -> String {
    let digest = hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()));
    format!("https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d=mp")
}

/// Validates a create body and builds the user document Auth0 would store,
/// checking that neither its id nor its email is taken in `tenant`.
pub(crate) fn new_user(
    tenant: &Tenant,
    body: &Map<String, Value>,
    origin: Origin,
    password_min_length: usize,
) -> ApiResult<Doc> {
    if origin == Origin::Seed {
        let allowed: Vec<&str> = CREATE_FIELDS
            .iter()
            .chain(SEED_EXTRA_FIELDS)
            .copied()
            .collect();
        reject_unknown(body, &allowed)?;
    } else {
        reject_unknown(body, CREATE_FIELDS)?;
    }
    check_types(body, false)?;
    let text = |k: &str| body.get(k).and_then(Value::as_str);

    let connection = match (text("connection"), origin) {
        (Some(c), _) if !c.is_empty() => c.to_string(),
        (_, Origin::Seed) => state::DEFAULT_CONNECTION.to_string(),
        _ => return Err(ApiError::payload("Missing required property: connection")),
    };
    let email = text("email")
        .ok_or_else(|| ApiError::payload("Missing required property: email"))?
        .trim()
        .to_lowercase();
    if !valid_email(&email) {
        return Err(email_format_error(&email));
    }
    check_lengths(body)?;
    match (text("password"), origin) {
        (Some(pw), _) if !password_ok(pw, password_min_length) => return Err(weak_password()),
        (None, Origin::Api) => {
            return Err(ApiError::payload("Missing required property: password"))
        }
        _ => {}
    }

    // A custom id is the part after the provider; seeds may give it whole.
    let (provider, raw_id) = match text("user_id") {
        Some(given) if origin == Origin::Seed && given.contains('|') => {
            let (p, r) = given.split_once('|').unwrap_or(("auth0", given));
            (p.to_string(), r.to_string())
        }
        Some(given) if !given.is_empty() && !given.contains('|') => {
            ("auth0".to_string(), given.to_string())
        }
        Some(_) => {
            return Err(ApiError::payload_on(
                "Object didn't pass validation for format user-id",
                "user_id",
            ))
        }
        None => ("auth0".to_string(), random_hex(24)),
    };
    let user_id = format!("{provider}|{raw_id}");
    if tenant.contains(&user_id) || tenant.find_email(&connection, &email).is_some() {
        return Err(ApiError::user_exists());
    }

    let now = now_iso();
    let local = email.split('@').next().unwrap_or(&email).to_string();
    let mut doc = Map::new();
    doc.insert("user_id".into(), json!(user_id));
    doc.insert("email".into(), json!(email));
    doc.insert(
        "email_verified".into(),
        json!(body
            .get("email_verified")
            .and_then(Value::as_bool)
            .unwrap_or(false)),
    );
    doc.insert("name".into(), json!(text("name").unwrap_or(&email)));
    doc.insert("nickname".into(), json!(text("nickname").unwrap_or(&local)));
    doc.insert(
        "picture".into(),
        json!(text("picture")
            .map(str::to_string)
            .unwrap_or_else(|| picture_for(&email))),
    );
    doc.insert(
        "identities".into(),
        json!([{
            "connection": connection,
            "user_id": raw_id,
            "provider": provider,
            "isSocial": false,
        }]),
    );
    for key in ["given_name", "family_name", "username", "phone_number"] {
        if let Some(v) = text(key) {
            doc.insert(key.into(), json!(v));
        }
    }
    for key in ["blocked", "phone_verified", "app_metadata", "user_metadata"] {
        if let Some(v) = body.get(key) {
            doc.insert(key.into(), v.clone());
        }
    }
    doc.insert(
        "created_at".into(),
        json!(text("created_at").unwrap_or(&now)),
    );
    doc.insert(
        "updated_at".into(),
        json!(text("updated_at").unwrap_or(&now)),
    );
    if origin == Origin::Seed {
        for key in ["logins_count", "last_login"] {
            if let Some(v) = body.get(key) {
                doc.insert(key.into(), v.clone());
            }
        }
    }
    Ok(doc)
}

/// Applies a PATCH body to a copy of `doc`: profile fields replaced,
/// metadata merged one level deep with `null` deleting a key.
fn patched(
    tenant: &Tenant,
    doc: &Doc,
    body: &Map<String, Value>,
    password_min_length: usize,
) -> ApiResult<Doc> {
    reject_unknown(body, PATCH_FIELDS)?;
    if body.is_empty() {
        return Err(ApiError::payload(
            "Too few properties defined (0), minimum 1",
        ));
    }
    check_types(body, true)?;
    check_lengths(body)?;
    let mut out = doc.clone();

    if let Some(Value::String(email)) = body.get("email") {
        let email = email.trim().to_lowercase();
        if !valid_email(&email) {
            return Err(email_format_error(&email));
        }
        let connection = state::connection(doc).unwrap_or(state::DEFAULT_CONNECTION);
        let taken_by_other = tenant
            .find_email(connection, &email)
            .is_some_and(|other| state::user_id(other) != state::user_id(doc));
        if taken_by_other {
            return Err(ApiError::bad_request(
                "The specified new email already exists",
                "auth0_idp_error",
            ));
        }
        if state::email(doc) != Some(email.as_str()) && !body.contains_key("email_verified") {
            out.insert("email_verified".into(), json!(false));
        }
        out.insert("email".into(), json!(email));
    }
    if let Some(Value::String(pw)) = body.get("password") {
        if !password_ok(pw, password_min_length) {
            return Err(weak_password());
        }
    }
    for key in ["blocked", "email_verified", "phone_verified"] {
        if let Some(v) = body.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    for key in [
        "name",
        "given_name",
        "family_name",
        "nickname",
        "picture",
        "phone_number",
        "username",
    ] {
        match body.get(key) {
            Some(Value::Null) => {
                out.remove(key);
            }
            Some(v) => {
                out.insert(key.into(), v.clone());
            }
            None => {}
        }
    }
    for key in OBJECT_FIELDS {
        match body.get(*key) {
            None => {}
            Some(Value::Object(patch)) if patch.is_empty() => {
                out.insert((*key).into(), json!({}));
            }
            Some(Value::Object(patch)) => {
                let mut merged = match out.get(*key) {
                    Some(Value::Object(current)) => current.clone(),
                    _ => Map::new(),
                };
                for (k, v) in patch {
                    if v.is_null() {
                        merged.remove(k);
                    } else {
                        merged.insert(k.clone(), v.clone());
                    }
                }
                out.insert((*key).into(), Value::Object(merged));
            }
            Some(_) => {
                out.insert((*key).into(), json!({}));
            }
        }
    }
    out.insert("updated_at".into(), json!(now_iso()));
    Ok(out)
}

pub(crate) fn path_id(path: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::bad_request("Path validation error: invalid id", "invalid_uri"))
}

type Q = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(crate) async fn create(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = json_object(&headers, body, sim.cfg.max_body_bytes).await?;
    let doc = {
        let mut tenant = sim.tenant();
        let doc = new_user(&tenant, &body, Origin::Api, sim.cfg.password_min_length)?;
        tenant.insert(doc.clone());
        doc
    };
    sim.changed();
    Ok((StatusCode::CREATED, Json(Value::Object(doc))))
}

pub(crate) async fn get_one(
    State(sim): State<Arc<Sim>>,
    id: Result<Path<String>, PathRejection>,
    query: Q,
) -> ApiResult<Json<Value>> {
    let id = path_id(id)?;
    let projection = Projection::parse(&Params::from_query(query)?)?;
    let tenant = sim.tenant();
    let doc = tenant.get(&id).ok_or_else(ApiError::user_not_found)?;
    Ok(Json(projection.apply(doc)))
}

pub(crate) async fn patch(
    State(sim): State<Arc<Sim>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let id = path_id(id)?;
    let body = json_object(&headers, body, sim.cfg.max_body_bytes).await?;
    let doc = {
        let mut tenant = sim.tenant();
        let current = tenant.get(&id).ok_or_else(ApiError::user_not_found)?;
        let doc = patched(&tenant, current, &body, sim.cfg.password_min_length)?;
        tenant.replace(doc.clone());
        doc
    };
    sim.changed();
    Ok(Json(Value::Object(doc)))
}

pub(crate) async fn delete(
    State(sim): State<Arc<Sim>>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    let id = path_id(id)?;
    if sim.tenant().remove(&id).is_some() {
        sim.changed();
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn by_email(State(sim): State<Arc<Sim>>, query: Q) -> ApiResult<Json<Value>> {
    let params = Params::from_query(query)?;
    let projection = Projection::parse(&params)?;
    let email = params
        .str("email")
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::query_on("Missing required property: email", "email"))?;
    let tenant = sim.tenant();
    let users = tenant
        .with_email(email.trim())
        .into_iter()
        .map(|doc| projection.apply(doc))
        .collect();
    Ok(Json(Value::Array(users)))
}

/// Auth0 refuses to page past this many results of a search.
const PAGING_CAP: usize = 1000;

pub(crate) async fn list(State(sim): State<Arc<Sim>>, query: Q) -> ApiResult<Json<Value>> {
    let params = Params::from_query(query)?;
    let page = Page::parse(&params, 0)?;
    let projection = Projection::parse(&params)?;
    match params.str("search_engine") {
        None | Some("v2") | Some("v3") => {}
        Some(other) => {
            return Err(ApiError::query_on(
                format!("No enum match for: {other}"),
                "search_engine",
            ))
        }
    }
    if page.start().saturating_add(page.per_page) > PAGING_CAP {
        return Err(ApiError::bad_request(
            "You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation",
            "invalid_paging",
        ));
    }
    let filter = match params.str("q").filter(|q| !q.trim().is_empty()) {
        Some(q) => Some(query::parse(q).map_err(|why| {
            ApiError::bad_request(
                format!("Query validation error: {why}"),
                "invalid_query_string",
            )
        })?),
        None => None,
    };
    let sort = match params.str("sort") {
        Some(s) => Some(parse_sort(s)?),
        None => None,
    };

    let tenant = sim.tenant();
    let mut hits: Vec<&Doc> = tenant
        .users()
        .filter(|doc| filter.as_ref().is_none_or(|f| f.matches(doc)))
        .collect();
    if let Some((field, descending)) = &sort {
        hits.sort_by(|a, b| {
            let order = compare_field(a, b, field);
            if *descending {
                order.reverse()
            } else {
                order
            }
        });
    }
    let total = hits.len();
    let users = page
        .slice(&hits)
        .into_iter()
        .map(|doc| projection.apply(doc))
        .collect();
    Ok(Json(page.answer("users", users, total)))
}

fn parse_sort(raw: &str) -> ApiResult<(String, bool)> {
    let invalid = || {
        ApiError::query_on(
            "String does not match pattern ^(([a-zA-Z\\-_0-9.]+):(1|-1))$",
            "sort",
        )
    };
    let (field, dir) = raw.split_once(':').ok_or_else(invalid)?;
    let field_ok = !field.is_empty()
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    match dir {
        "1" if field_ok => Ok((field.to_string(), false)),
        "-1" if field_ok => Ok((field.to_string(), true)),
        _ => Err(invalid()),
    }
}

/// Missing values sort last; numbers numerically; text case-insensitively.
fn compare_field(a: &Doc, b: &Doc, field: &str) -> Ordering {
    let first = |d: &Doc| query::resolve(d, field).into_iter().next().cloned();
    match (first(a), first(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(x), Some(y)) => text_of(&x).to_lowercase().cmp(&text_of(&y).to_lowercase()),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `GET /api/v2/connections` (`name`, `strategy`): how a client finds the
/// `connection_id` an import job needs.
/// `GET /api/v2/connections`: a plain array, or with `take`/`from`
/// (checkpoint paging, what auth0-python 6 asks for) `{connections, next?}`.
pub(crate) async fn connections(State(sim): State<Arc<Sim>>, query: Q) -> ApiResult<Json<Value>> {
    let params = Params::from_query(query)?;
    let take = params.int("take", 1, 100)?;
    let from = params.str("from");
    let tenant = sim.tenant();
    let list: Vec<Value> = tenant
        .connections()
        .into_iter()
        .filter(|name| params.str("name").is_none_or(|n| n == *name))
        .filter(|_| params.str("strategy").is_none_or(|s| s == "auth0"))
        .map(|name| {
            json!({
                "id": state::connection_id_of(name),
                "name": name,
                "strategy": "auth0",
                "enabled_clients": [sim.cfg.client_id],
            })
        })
        .collect();
    if take.is_none() && from.is_none() {
        return Ok(Json(Value::Array(list)));
    }
    let start = from.map_or(0, |id| {
        list.iter()
            .position(|c| c["id"] == id)
            .unwrap_or(list.len())
    });
    let take = take.map_or(50, |n| n as usize);
    let page: Vec<Value> = list.iter().skip(start).take(take).cloned().collect();
    let mut answer = json!({ "connections": page });
    if let Some(next) = list.get(start + take) {
        answer["next"] = next["id"].clone();
    }
    Ok(Json(answer))
}

const TICKET_FIELDS: &[&str] = &[
    "result_url",
    "user_id",
    "client_id",
    "organization_id",
    "connection_id",
    "email",
    "ttl_sec",
    "mark_email_as_verified",
    "includeEmailInRedirect",
    "identity",
];

pub(crate) async fn password_ticket(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = json_object(&headers, body, sim.cfg.max_body_bytes).await?;
    reject_unknown(&body, TICKET_FIELDS)?;
    for key in [
        "result_url",
        "user_id",
        "client_id",
        "organization_id",
        "connection_id",
        "email",
    ] {
        check_type(&body, key, "string", false)?;
    }
    check_type(&body, "ttl_sec", "integer", false)?;
    check_type(&body, "mark_email_as_verified", "boolean", false)?;
    check_type(&body, "includeEmailInRedirect", "boolean", false)?;
    check_type(&body, "identity", "object", false)?;
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    {
        let tenant = sim.tenant();
        match (text("user_id"), text("email"), text("connection_id")) {
            (Some(id), _, _) => {
                tenant.get(id).ok_or_else(ApiError::user_not_found)?;
            }
            (None, Some(email), Some(connection_id)) => {
                let connection = tenant.connection_by_id(connection_id).ok_or_else(|| {
                    ApiError::bad_request("The connection does not exist", "inexistent_connection")
                })?;
                tenant
                    .find_email(&connection, email)
                    .ok_or_else(ApiError::user_not_found)?;
            }
            _ => return Err(ApiError::payload("Missing required property: user_id")),
        }
    }
    let ticket = format!(
        "{}/lo/reset?ticket={}#",
        public_base(&headers, &sim),
        random_alnum(32)
    );
    Ok((StatusCode::CREATED, Json(json!({ "ticket": ticket }))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy_is_three_of_four_classes() {
        assert!(password_ok("Abcdefg1", 8));
        assert!(password_ok("abcdef1!", 8));
        assert!(!password_ok("abcdefg1", 8));
        assert!(!password_ok("Abc1!", 8));
        assert!(!password_ok("Abcdefg1", 10));
    }

    #[test]
    fn emails() {
        assert!(valid_email("jane.doe+x@example.co.uk"));
        for bad in [
            "",
            "jane",
            "jane@",
            "@x.com",
            "a@b",
            "a b@x.com",
            "a@x..com",
            "a@@x.com",
            "a@.x.com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
