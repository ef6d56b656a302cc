//! The operator console under `/ui`: server-rendered pages over the same
//! state as the JSON API.
//!
//! maud templates are Rust: the compiler checks every page and escapes
//! every value, and there is no template file to ship. Every read page
//! works without JavaScript (the console ships none); every change is a
//! POST form carrying the session's CSRF token, answered with a redirect
//! (so a reload never repeats it). `:read` sessions see everything and get
//! no forms but sign-out; a POST from one is refused anyway.

mod employee;
mod layout;
mod mappings;
mod runs;
mod session;
mod status;
mod triage;

use super::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use layout::Page;
use maud::html;
use serde::Deserialize;
use session::{Flash, Keys, Viewer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The console's own state beside the API's.
#[derive(Clone)]
pub(super) struct UiState {
    app: AppState,
    console: Arc<Console>,
}

struct Console {
    keys: Keys,
    /// Credentials waiting to be shown once, by a random slot id. Held in
    /// memory a moment, never written anywhere.
    shown_once: Mutex<HashMap<String, ShowOnce>>,
}

struct ShowOnce {
    /// Only the person who asked sees them.
    actor: String,
    until: Instant,
    employee_id: i64,
    name: String,
    /// The sign-in name that goes with the password.
    email: Option<String>,
    account: String,
    issued: super::Issued,
}

/// How long issued credentials wait for their one showing.
const SHOW_ONCE_WITHIN: Duration = Duration::from_secs(120);

pub(super) fn router(app: AppState) -> Router<AppState> {
    let state = UiState {
        console: Arc::new(Console {
            keys: Keys::from_settings(&app.ctx.settings.serve),
            shown_once: Mutex::new(HashMap::new()),
        }),
        app,
    };
    Router::new()
        .route("/", get(status::page))
        .route("/login", get(sign_in_page).post(sign_in))
        .route("/logout", post(sign_out))
        .route("/style.css", get(stylesheet))
        .route("/runs", get(runs::list).post(runs::trigger))
        .route("/runs/{id}", get(runs::detail))
        .route("/runs/{id}/approve", post(runs::approve))
        .route("/runs/{id}/reject", post(runs::reject))
        .route("/triage", get(triage::queue))
        .route("/triage/link", post(triage::link))
        .route("/triage/not-employee", post(triage::not_employee))
        .route("/triage/undo-not-employee", post(triage::undo_not_employee))
        .route("/triage/acknowledge", post(triage::acknowledge))
        .route("/triage/unacknowledge", post(triage::unacknowledge))
        .route("/employees", get(employee::find))
        .route("/employees/{id}", get(employee::page))
        .route("/employees/{id}/credentials", post(employee::credentials))
        .route("/credentials/{slot}", get(employee::show_once))
        .route("/mappings", get(mappings::page))
        .route("/mappings/{id}/delete", post(mappings::delete))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
}

async fn not_found(viewer: Option<Viewer>) -> Response {
    Page::new("Not found")
        .status(StatusCode::NOT_FOUND)
        .error("No such page.")
        .render(viewer.as_ref(), html! {})
}

/// A GET of a form's address (a bookmark, a pasted link): a page, not the
/// API's JSON.
async fn wrong_method(viewer: Option<Viewer>) -> Response {
    Page::new("Not a page")
        .status(StatusCode::METHOD_NOT_ALLOWED)
        .error("This address is where a form sends a decision; it is not a page to open.")
        .render(
            viewer.as_ref(),
            html! { p { a href="/ui" { "Go to the status page" } } },
        )
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("style.css"),
    )
        .into_response()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A page that needs a session and has none: sign in, then come back.
pub(super) enum SignIn {
    Needed(String),
    /// The sign-outs could not be read: no page is shown rather than one
    /// to a session that may have ended.
    Unavailable,
    /// A link followed from another site (the digest in a mail client):
    /// the browser withheld the `SameSite=Strict` cookie, so load the page
    /// again from here, which sends it.
    FromElsewhere(String),
}

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        match self {
            SignIn::Unavailable => Page::new("Unavailable")
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .error("rosterd cannot reach its database to check your session; try again in a moment (the rosterd log says why).")
                .render(None, html! {}),
            SignIn::Needed(back) => {
                let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
                Redirect::to(&format!("/ui/login?next={next}")).into_response()
            }
            SignIn::FromElsewhere(back) => Page::new("Opening rosterd").render(
                None,
                html! {
                    // The same address again, now from this site.
                    meta http-equiv="refresh" content="0";
                    p { a href=(safe_next(Some(&back))) { "Continue to the console" } }
                },
            ),
        }
    }
}

impl FromRequestParts<UiState> for Viewer {
    type Rejection = SignIn;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, SignIn> {
        // Nested under /ui, the request's own URI has lost the prefix.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |o| &o.0);
        let back = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .filter(|p| parts.method == axum::http::Method::GET && is_console_path(p))
            .unwrap_or_else(|| "/ui".into());
        let cookie = session::cookie(&parts.headers, session::SESSION_COOKIE);
        let signed = cookie.and_then(|c| {
            state
                .console
                .keys
                .viewer(&state.app.ctx.settings.serve, c, now())
        });
        if let Some(viewer) = signed {
            // Signed out (on any replica)? A store that cannot say counts
            // as yes: this check guards a session, so it fails closed.
            match state.app.ctx.store.session_ended(&viewer.sid).await {
                Ok(false) => return Ok(viewer),
                Ok(true) => {}
                // Fail closed, and say so: signing in again would not help.
                Err(e) => {
                    tracing::error!(error = %e, "console: cannot check sign-outs");
                    return Err(SignIn::Unavailable);
                }
            }
        }
        let cross_site = parts
            .headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site");
        if cookie.is_none() && cross_site && parts.method == axum::http::Method::GET {
            return Err(SignIn::FromElsewhere(back));
        }
        Err(SignIn::Needed(back))
    }
}

impl axum::extract::OptionalFromRequestParts<UiState> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &UiState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <Viewer as FromRequestParts<UiState>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}

/// A submitted form from a session allowed to change things, its CSRF
/// token checked; otherwise the request is refused before any handler runs.
pub(super) struct Decision {
    viewer: Viewer,
    fields: HashMap<String, String>,
}

/// A refused change: 403 with the reason, nothing done.
pub(super) struct Refused(Option<Viewer>, &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        tracing::warn!(actor = ?self.0.as_ref().map(|v| &v.actor), reason = self.1, "console: change refused");
        Page::new("Not allowed")
            .status(StatusCode::FORBIDDEN)
            .error(self.1)
            .render(self.0.as_ref(), html! {})
    }
}

impl axum::extract::FromRequest<UiState> for Decision {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &UiState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let viewer = <Viewer as FromRequestParts<UiState>>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let bytes = Bytes::from_request(axum::extract::Request::from_parts(parts, body), state)
            .await
            .map_err(|e| {
                // An HTML page, not the API's JSON, for a pasted novel.
                Page::new("Too large")
                    .status(e.status())
                    .error(format!(
                        "The form could not be read ({}). Notes hold at most 1000 characters.",
                        e.body_text()
                    ))
                    .render(Some(&viewer), html! {})
            })?;
        let fields: HashMap<String, String> = form_urlencoded::parse(&bytes).into_owned().collect();
        if !fields.get("csrf").is_some_and(|t| viewer.csrf_ok(t)) {
            return Err(Refused(
                Some(viewer),
                "This form is out of date or did not come from the console (no valid CSRF token). Reload the page and try again.",
            )
            .into_response());
        }
        if viewer.read_only {
            return Err(Refused(
                Some(viewer),
                "Your session is read-only: it can see everything and change nothing.",
            )
            .into_response());
        }
        Ok(Decision { viewer, fields })
    }
}

impl Decision {
    /// A text field, trimmed; empty counts as absent.
    fn text(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn id(&self, name: &str) -> Result<i64, String> {
        let raw = self.text(name).ok_or(format!("{name} is missing"))?;
        raw.parse()
            .map_err(|_| format!("{name} must be a number, not {raw:?}"))
    }
}

/// Back to `to` with a message for the page there.
fn redirect_with(state: &UiState, to: &str, flash: Flash) -> Response {
    let s = &state.app.ctx.settings.serve;
    let value = state.console.keys.flash(&flash);
    let mut r = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(
        s,
        session::FLASH_COOKIE,
        &value,
        "/ui",
        60,
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

fn done(state: &UiState, to: &str, text: impl Into<String>) -> Response {
    redirect_with(
        state,
        to,
        Flash {
            error: false,
            text: text.into(),
        },
    )
}

fn failed(state: &UiState, to: &str, text: impl Into<String>) -> Response {
    redirect_with(
        state,
        to,
        Flash {
            error: true,
            text: text.into(),
        },
    )
}

/// The message left by the last redirect, if any, and the cookie that
/// clears it, so a reload does not show it again.
pub(super) struct Flashed(Option<(Flash, String)>);

impl FromRequestParts<UiState> for Flashed {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &UiState,
    ) -> Result<Self, Self::Rejection> {
        let flash = session::cookie(&parts.headers, session::FLASH_COOKIE)
            .and_then(|c| state.console.keys.read_flash(c));
        let clear = session::set_cookie(
            &state.app.ctx.settings.serve,
            session::FLASH_COOKIE,
            "",
            "/ui",
            0,
        );
        Ok(Flashed(flash.map(|f| (f, clear))))
    }
}

impl Flashed {
    /// Put the message on `page`.
    fn onto(self, page: Page) -> Page {
        match self.0 {
            Some((f, clear)) => page.flash(f, clear),
            None => page,
        }
    }
}

/// A page's query string, or a 400 page saying what is wrong with it.
fn query<T>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
    viewer: &Viewer,
    title: &str,
) -> Result<T, Box<Response>> {
    q.map(|Query(q)| q).map_err(|e| {
        Box::new(
            Page::new(title)
                .status(StatusCode::BAD_REQUEST)
                .error(format!(
                    "This address has a bad query: {}",
                    e.body_text()
                        .trim_start_matches("Failed to deserialize query string: ")
                ))
                .render(Some(viewer), html! {}),
        )
    })
}

/// A query parameter from a closed vocabulary (a run status, a finding
/// kind): absent or empty is `None`, an unknown value a 400 page listing
/// the known ones.
fn vocabulary_param<T>(
    raw: Option<&str>,
    name: &str,
    viewer: &Viewer,
    title: &str,
) -> Result<Option<T>, Box<Response>>
where
    T: std::str::FromStr<Err = rosterd_core::vocabulary::UnknownValue>,
{
    raw.filter(|v| !v.is_empty())
        .map(str::parse::<T>)
        .transpose()
        .map_err(|e| {
            Box::new(
                Page::new(title)
                    .status(StatusCode::BAD_REQUEST)
                    .error(format!("{name} must be one of {}", e.known))
                    .render(Some(viewer), html! {}),
            )
        })
}

/// An internal failure: logged in full, shown without detail.
fn internal(viewer: &Viewer, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console page failed");
    Page::new("Error")
        .status(StatusCode::INTERNAL_SERVER_ERROR)
        .error("Something went wrong reading rosterd's state; the rosterd log has the details.")
        .render(Some(viewer), html! {})
}

// ---------------------------------------------------------------------------
// Sign-in and sign-out
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only a console path: never an absolute URL (an open redirect).
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| is_console_path(n)).unwrap_or("/ui")
}

/// A path this console may redirect to: under `/ui`, never another site
/// (`//host`, `\`), and only visible ASCII (a header cannot carry the rest).
pub(super) fn is_console_path(p: &str) -> bool {
    let under_ui = p == "/ui" || p.starts_with("/ui/") || p.starts_with("/ui?");
    under_ui && !p.contains("//") && !p.contains('\\') && p.bytes().all(|b| b.is_ascii_graphic())
}

async fn sign_in_page(
    State(state): State<UiState>,
    q: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = q.ok().and_then(|Query(q)| q.next);
    login_form(&state, safe_next(next.as_deref()), None, StatusCode::OK)
}

fn login_form(state: &UiState, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let s = &state.app.ctx.settings.serve;
    let keys = &state.console.keys;
    let nonce = keys.login_nonce();
    let csrf = keys.login_csrf(&nonce);
    let mut page = Page::new("Sign in").status(status);
    if let Some(e) = error {
        page = page.error(e);
    }
    if s.admin_tokens.is_empty() {
        page = page.error("No admin tokens are configured: set ROSTERD_ADMIN_TOKENS to sign in.");
    }
    let mut r = page.render(
        None,
        html! {
            form #login method="post" action="/ui/login" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="token" { "Admin token" }
                input #token name="token" type="password" autocomplete="current-password" required autofocus;
                p.hint { "A token from " code { "ROSTERD_ADMIN_TOKENS" } ". Tokens named "
                    code { "…:read" } " can see everything and change nothing." }
                button type="submit" { "Sign in" }
            }
        },
    );
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(
        s,
        session::LOGIN_COOKIE,
        &nonce,
        "/ui/login",
        600,
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn sign_in(State(state): State<UiState>, headers: HeaderMap, body: Bytes) -> Response {
    let fields: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let next = safe_next(fields.get("next").map(String::as_str)).to_string();
    let keys = &state.console.keys;
    let csrf_ok = session::cookie(&headers, session::LOGIN_COOKIE)
        .zip(fields.get("csrf"))
        .is_some_and(|(nonce, given)| {
            use subtle::ConstantTimeEq;
            bool::from(keys.login_csrf(nonce).as_bytes().ct_eq(given.as_bytes()))
        });
    if !csrf_ok {
        return login_form(
            &state,
            &next,
            Some("The sign-in form expired or cookies are off; try again (the console needs cookies)."),
            StatusCode::FORBIDDEN,
        );
    }
    let s = &state.app.ctx.settings.serve;
    let token = fields.get("token").map(|t| t.trim()).unwrap_or("");
    let Some(name) = session::token_name(s, token) else {
        tracing::warn!("console: sign-in with an unknown token");
        return login_form(
            &state,
            &next,
            Some("That token is not one of rosterd's admin tokens."),
            StatusCode::UNAUTHORIZED,
        );
    };
    tracing::info!(actor = %name, "console: signed in");
    let cookie = keys.new_session(s, name, token, now());
    let mut r = Redirect::to(&next).into_response();
    for c in [
        session::set_cookie(
            s,
            session::SESSION_COOKIE,
            &cookie,
            "/ui",
            s.session_ttl_secs as i64,
        ),
        session::set_cookie(s, session::LOGIN_COOKIE, "", "/ui/login", 0),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// Signing out is allowed to `:read` sessions too, but still needs the
/// form's CSRF token (a forged sign-out is a nuisance, not harmless).
async fn sign_out(State(state): State<UiState>, viewer: Viewer, body: Bytes) -> Response {
    let csrf = form_urlencoded::parse(&body).find(|(k, _)| k == "csrf");
    if !csrf.is_some_and(|(_, t)| viewer.csrf_ok(&t)) {
        return Refused(
            Some(viewer),
            "This form did not come from the console (no valid CSRF token).",
        )
        .into_response();
    }
    tracing::info!(actor = %viewer.actor, "console: signed out");
    let recorded = state
        .app
        .ctx
        .store
        .end_session(&viewer.sid, viewer.exp, now())
        .await;
    let s = &state.app.ctx.settings.serve;
    let mut r = match recorded {
        Ok(()) => Redirect::to("/ui/login").into_response(),
        // The cookie goes anyway; the person learns a copy would not.
        Err(e) => {
            tracing::error!(error = %e, "console: could not record a sign-out");
            Page::new("Signed out here only")
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .error("This browser is signed out, but rosterd could not record it: a copy of this session's cookie keeps working until it expires. Close the browser if others use it.")
                .render(None, html! { p { a href="/ui/login" { "Sign in again" } } })
        }
    };
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(
        s,
        session::SESSION_COOKIE,
        "",
        "/ui",
        0,
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::is_console_path;

    #[test]
    fn only_console_paths_are_redirect_targets() {
        for ok in [
            "/ui",
            "/ui/runs?status=held",
            "/ui?x=1",
            "/ui/triage?kind=orphaned#finding-ab",
        ] {
            assert!(is_console_path(ok), "{ok}");
        }
        for bad in [
            "https://evil.example/ui",
            "//evil.example/ui",
            "/ui//evil.example",
            "/ui\\evil",
            "/uix",
            "/ui/x\ny",
            "/ui/ü",
            "/api/v1/runs",
            "",
        ] {
            assert!(!is_console_path(bad), "{bad:?}");
        }
    }
}
