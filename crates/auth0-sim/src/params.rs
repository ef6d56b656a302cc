//! Query-string parameters with Auth0's validation messages, and the paging
//! and field-projection rules shared by the list endpoints.

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

use super::errors::{ApiError, ApiResult};

pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn from_query(
        query: Result<Query<HashMap<String, String>>, QueryRejection>,
    ) -> ApiResult<Params> {
        query.map(|Query(map)| Params(map)).map_err(|_| {
            ApiError::bad_request(
                "Query validation error: invalid query string",
                "invalid_query_string",
            )
        })
    }

    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub(crate) fn int(&self, name: &str, min: i64, max: i64) -> ApiResult<Option<i64>> {
        let Some(raw) = self.str(name) else {
            return Ok(None);
        };
        let n: i64 = raw
            .trim()
            .parse()
            .map_err(|_| ApiError::query_on("Expected type integer but found type string", name))?;
        if n < min {
            return Err(ApiError::query_on(
                format!("Too small: must be at least {min}"),
                name,
            ));
        }
        if n > max {
            return Err(ApiError::query_on(
                format!("Too big: must be at most {max}"),
                name,
            ));
        }
        Ok(Some(n))
    }

    pub(crate) fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.str(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::query_on(
                "Expected type boolean but found type string",
                name,
            )),
        }
    }
}

/// `page`/`per_page` as the list endpoints take them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    pub page: usize,
    pub per_page: usize,
    pub include_totals: bool,
}

impl Page {
    pub(crate) fn parse(params: &Params, min_per_page: i64) -> ApiResult<Page> {
        let per_page = params.int("per_page", min_per_page, 100)?.unwrap_or(50);
        let page = params.int("page", 0, i64::from(u32::MAX))?.unwrap_or(0);
        Ok(Page {
            page: usize::try_from(page).unwrap_or(0),
            per_page: usize::try_from(per_page).unwrap_or(50),
            include_totals: params.bool("include_totals")?.unwrap_or(false),
        })
    }

    pub(crate) fn start(&self) -> usize {
        self.page.saturating_mul(self.per_page)
    }

    pub(crate) fn slice<T: Clone>(&self, items: &[T]) -> Vec<T> {
        items
            .iter()
            .skip(self.start())
            .take(self.per_page)
            .cloned()
            .collect()
    }

    /// `{start, limit, length, total, <key>: [...]}` or the bare array.
    pub(crate) fn answer(&self, key: &str, items: Vec<Value>, total: usize) -> Value {
        if !self.include_totals {
            return Value::Array(items);
        }
        let mut body = json!({
            "start": self.start(),
            "limit": self.per_page,
            "length": items.len(),
            "total": total,
        });
        body[key] = Value::Array(items);
        body
    }
}

/// `fields` + `include_fields`: which top-level properties to return.
pub(crate) struct Projection {
    fields: Option<Vec<String>>,
    include: bool,
}

impl Projection {
    pub(crate) fn parse(params: &Params) -> ApiResult<Projection> {
        let fields = params
            .str("fields")
            .filter(|f| !f.trim().is_empty())
            .map(|f| {
                f.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            });
        Ok(Projection {
            fields,
            include: params.bool("include_fields")?.unwrap_or(true),
        })
    }

    pub(crate) fn apply(&self, doc: &Map<String, Value>) -> Value {
        let Some(fields) = &self.fields else {
            return Value::Object(doc.clone());
        };
        let keep = |k: &String| fields.contains(k) == self.include;
        Value::Object(
            doc.iter()
                .filter(|(k, _)| keep(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }
}
