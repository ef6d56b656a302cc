//! Auth0-shaped error answers, and reading request bodies into them.
//!
//! The Management API (a hapi service) answers every failure with
//! `{statusCode, error, message, errorCode?}`; clients match on `statusCode`
//! and `errorCode`, so every error the simulator produces goes through
//! [`ApiError`] and no handler can answer in another shape.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    error_code: Option<&'static str>,
    /// Auth0's token errors repeat the message under `attributes.error`.
    with_attributes: bool,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            error_code: None,
            with_attributes: false,
        }
    }

    pub(crate) fn code(mut self, code: &'static str) -> Self {
        self.error_code = Some(code);
        self
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// `Payload validation error: '<what>'.` with `errorCode: invalid_body`.
    pub(crate) fn payload(what: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("Payload validation error: '{what}'."),
        )
        .code("invalid_body")
    }

    /// A payload error about one property, as Auth0 phrases it.
    pub(crate) fn payload_on(what: impl std::fmt::Display, property: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("Payload validation error: '{what}' on property {property}."),
        )
        .code("invalid_body")
    }

    pub(crate) fn query_on(what: impl std::fmt::Display, property: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("Query validation error: '{what}' on property {property}."),
        )
        .code("invalid_query_string")
    }

    pub(crate) fn bad_request(message: impl Into<String>, code: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message).code(code)
    }

    pub(crate) fn user_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "The user does not exist.").code("inexistent_user")
    }

    pub(crate) fn user_exists() -> Self {
        Self::new(StatusCode::CONFLICT, "The user already exists.").code("auth0_idp_error")
    }

    pub(crate) fn unauthorized(message: &str) -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: message.to_string(),
            error_code: None,
            with_attributes: true,
        }
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Payload content length greater than maximum allowed: {limit}"),
        )
    }

    /// hapi's (boom's) name for the status, which is what Auth0 sends;
    /// it differs from today's HTTP reason phrase for 413.
    fn error_name(&self) -> &'static str {
        match self.status {
            StatusCode::PAYLOAD_TOO_LARGE => "Request Entity Too Large",
            status => status.canonical_reason().unwrap_or("Error"),
        }
    }

    pub(crate) fn body(&self) -> Value {
        let mut body = json!({
            "statusCode": self.status.as_u16(),
            "error": self.error_name(),
            "message": self.message,
        });
        if let Some(code) = self.error_code {
            body["errorCode"] = json!(code);
        }
        if self.with_attributes {
            body["attributes"] = json!({ "error": self.message });
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Reads a whole body, refusing it with 413 past `limit` bytes (checked on
/// `Content-Length` first so a huge upload is refused before it is read).
pub(crate) async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> ApiResult<Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes),
        Err(e) => {
            let inner = e.into_inner();
            if inner
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(ApiError::too_large(limit))
            } else {
                Err(ApiError::bad_request(
                    "Invalid request payload input",
                    "invalid_body",
                ))
            }
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// A JSON request body: the right content type, within the size limit,
/// well-formed, and (for the endpoints that take one) an object.
pub(crate) async fn json_value(headers: &HeaderMap, body: Body, limit: usize) -> ApiResult<Value> {
    if !is_json(headers) {
        // Drain the body first so an oversized one still gets its 413.
        read_body(headers, body, limit).await?;
        return Err(ApiError::bad_request(
            "Invalid request payload: expected Content-Type application/json",
            "invalid_body",
        ));
    }
    let bytes = read_body(headers, body, limit).await?;
    serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::bad_request("Invalid request payload JSON format", "invalid_body"))
}

pub(crate) async fn json_object(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> ApiResult<Map<String, Value>> {
    match json_value(headers, body, limit).await? {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::payload(format!(
            "Expected type object but found type {}",
            type_name(&other)
        ))),
    }
}

/// JSON-schema type names, as they appear in Auth0's validation messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Refuses properties outside `allowed`, naming them as Auth0 does.
pub(crate) fn reject_unknown(body: &Map<String, Value>, allowed: &[&str]) -> ApiResult<()> {
    let unknown: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::payload(format!(
            "Additional properties not allowed: {}",
            unknown.join(",")
        )))
    }
}

/// Checks that `key`, when present, has the JSON type `want`
/// (`null` accepted only where `nullable`).
pub(crate) fn check_type(
    body: &Map<String, Value>,
    key: &str,
    want: &'static str,
    nullable: bool,
) -> ApiResult<()> {
    match body.get(key) {
        None => Ok(()),
        Some(Value::Null) if nullable => Ok(()),
        Some(v) => {
            let found = type_name(v);
            let ok = found == want || (want == "number" && found == "integer");
            if ok {
                Ok(())
            } else {
                Err(ApiError::payload_on(
                    format!("Expected type {want} but found type {found}"),
                    key,
                ))
            }
        }
    }
}
