//! The page shell every console page shares, and small pieces of markup.

use super::session::{Flash, Viewer};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

/// A page under construction: its title, status and messages.
pub struct Page {
    title: String,
    status: StatusCode,
    flashes: Vec<Flash>,
    /// The `Set-Cookie` that clears a flash once shown.
    clear_flash: Option<String>,
    /// Reload every so many seconds (a run in progress), with no script.
    refresh: Option<u32>,
}

impl Page {
    pub fn new(title: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            status: StatusCode::OK,
            flashes: Vec::new(),
            clear_flash: None,
            refresh: None,
        }
    }

    pub fn status(mut self, status: StatusCode) -> Page {
        self.status = status;
        self
    }

    pub fn error(mut self, text: impl Into<String>) -> Page {
        self.flashes.push(Flash {
            error: true,
            text: text.into(),
        });
        self
    }

    /// The message a redirect left, and the cookie that clears it once
    /// shown.
    pub fn flash(mut self, f: Flash, clear: String) -> Page {
        self.flashes.push(f);
        self.clear_flash = Some(clear);
        self
    }

    /// Reload the page every `secs` seconds.
    pub fn refresh(mut self, secs: u32) -> Page {
        self.refresh = Some(secs);
        self
    }

    pub fn render(self, viewer: Option<&Viewer>, body: Markup) -> Response {
        let doc = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · rosterd" }
                    link rel="stylesheet" href="/ui/style.css";
                    @if let Some(secs) = self.refresh { meta http-equiv="refresh" content=(secs); }
                }
                body {
                    header.top {
                        a.brand href="/ui" { "rosterd" }
                        @if let Some(v) = viewer {
                            nav {
                                a href="/ui" { "Status" }
                                a href="/ui/runs" { "Runs" }
                                a href="/ui/triage" { "Triage" }
                                a href="/ui/mappings" { "Mappings" }
                                form.inline.find method="get" action="/ui/employees" {
                                    label.visually-hidden for="find-employee" { "Employee id" }
                                    input #find-employee name="id" type="search" inputmode="numeric" placeholder="Employee id";
                                }
                            }
                            div.who {
                                span { (v.actor) @if v.read_only { " (read-only)" } }
                                form #sign-out.inline method="post" action="/ui/logout" {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    button.link type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                    main {
                        h1 { (self.title) }
                        @for f in &self.flashes {
                            p.flash.error[f.error] role=(if f.error { "alert" } else { "status" }) { (f.text) }
                        }
                        (body)
                    }
                }
            }
        };
        let mut r = (self.status, doc).into_response();
        let h = r.headers_mut();
        // People's data: never kept, so Back after signing out on a shared
        // floor PC shows nothing (operator finding).
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // No scripts at all, nothing framed, forms only back to us.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        if let Some(clear) = self.clear_flash {
            if let Ok(v) = HeaderValue::from_str(&clear) {
                h.append(header::SET_COOKIE, v);
            }
        }
        r
    }
}

/// A hidden CSRF field for a form of `viewer`'s.
pub fn csrf(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf); }
}

/// A time as UTC text with how long ago it was.
pub fn when(t: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(t.to_rfc3339()) title=(t.to_rfc3339()) {
            (t.format("%Y-%m-%d %H:%M:%S UTC")) " (" (ago(t)) ")"
        }
    }
}

pub fn ago(t: DateTime<Utc>) -> String {
    let secs = (Utc::now() - t).num_seconds();
    let (n, unit) = match secs.abs() {
        s if s < 90 => (s, "s"),
        s if s < 90 * 60 => (s / 60, "min"),
        s if s < 36 * 3600 => (s / 3600, "h"),
        s => (s / 86400, "d"),
    };
    if secs >= 0 {
        format!("{n} {unit} ago")
    } else {
        format!("in {n} {unit}")
    }
}

pub fn duration(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> String {
    match to {
        Some(to) => {
            let ms = (to - from).num_milliseconds();
            if ms < 10_000 {
                format!("{:.1} s", ms as f64 / 1000.0)
            } else {
                format!("{} s", ms / 1000)
            }
        }
        None => "—".into(),
    }
}

/// A status word as a coloured badge (the word itself carries the meaning).
pub fn badge(word: &str) -> Markup {
    html! { span class={ "badge " (tone(word)) } { (word) } }
}

/// The badge colour of a status word.
pub fn tone(word: &str) -> &'static str {
    match word {
        "succeeded" | "applied" | "approved" => "good",
        "failed" | "quarantined" | "rejected" => "bad",
        "partial" | "held" | "skipped" => "warn",
        _ => "neutral",
    }
}

pub fn employee_link(id: i64) -> Markup {
    html! { a href={ "/ui/employees/" (id) } { "employee " (id) } }
}
