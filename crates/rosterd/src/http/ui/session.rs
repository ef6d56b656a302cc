//! Console sessions: who signed in, until when, and the CSRF token of their
//! forms.
//!
//! A session is a signed cookie (HMAC-SHA256), not a server row: replicas
//! that share `ROSTERD_SESSION_KEY` accept each other's sessions, and a
//! restart without one ends them all. It names how the person signed in
//! (`via`), so an OIDC login can later issue the same session. A session
//! carries a keyed fingerprint of the admin token it came from: removing or
//! rotating that token ends its sessions at the next request.

use crate::config::ServeSettings;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "rosterd_session";
/// Binds the sign-in form's CSRF token to the browser that loaded it.
pub const LOGIN_COOKIE: &str = "rosterd_login";
/// A one-line message for the next page (after a redirect).
pub const FLASH_COOKIE: &str = "rosterd_flash";

/// The key sessions, CSRF tokens and flash messages are signed with.
pub struct Keys {
    mac: Vec<u8>,
}

impl Keys {
    /// `ROSTERD_SESSION_KEY`, or a random key for this process.
    pub fn from_settings(s: &ServeSettings) -> Keys {
        let mac = match &s.session_key {
            Some(k) => k.expose().as_bytes().to_vec(),
            None => {
                let mut k = vec![0u8; 32];
                rand::thread_rng().fill_bytes(&mut k);
                k
            }
        };
        Keys { mac }
    }

    fn sign(&self, purpose: &str, data: &[u8]) -> Vec<u8> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.mac).expect("HMAC takes any key length");
        m.update(purpose.as_bytes());
        m.update(b"\0");
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }

    /// `payload.signature`, both base64url.
    fn seal(&self, purpose: &str, payload: &[u8]) -> String {
        format!(
            "{}.{}",
            B64.encode(payload),
            B64.encode(self.sign(purpose, payload))
        )
    }

    /// The payload of a sealed value, if its signature holds.
    fn open(&self, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
        let (payload, mac) = sealed.split_once('.')?;
        let payload = B64.decode(payload).ok()?;
        let mac = B64.decode(mac).ok()?;
        let want = self.sign(purpose, &payload);
        bool::from(want.ct_eq(&mac)).then_some(payload)
    }

    /// A keyed fingerprint of an admin token: tells whether a session's
    /// token is still the configured one, and tells nothing about the token
    /// without the key.
    fn fingerprint(&self, token: &str) -> String {
        hex::encode(&self.sign("token", token.as_bytes())[..12])
    }

    fn csrf_for(&self, bound_to: &str) -> String {
        hex::encode(&self.sign("csrf", bound_to.as_bytes())[..16])
    }
}

/// How a person signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// An admin token from `ROSTERD_ADMIN_TOKENS`.
    Token,
}

/// A signed-in person, as the cookie carries them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Who: the admin token's name (`alice`, `viewer:read`).
    pub sub: String,
    pub via: Via,
    /// Expiry, UNIX seconds.
    pub exp: i64,
    /// This session's own random id (the CSRF token is derived from it).
    sid: String,
    /// The token's keyed fingerprint.
    fp: String,
}

/// A session that checked out, for a request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub actor: String,
    /// `:read` tokens see everything and change nothing.
    pub read_only: bool,
    pub csrf: String,
    /// The session's id and expiry, so signing out can end it (see
    /// `store::sessions`).
    pub sid: String,
    pub exp: i64,
}

impl Viewer {
    pub fn csrf_ok(&self, given: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(given.as_bytes()))
    }
}

/// The admin token's name if `token` is a configured one (every token is
/// compared, in constant time, as the API does).
pub fn token_name<'a>(s: &'a ServeSettings, token: &str) -> Option<&'a str> {
    let mut who = None;
    for (name, secret) in &s.admin_tokens {
        if crate::http::auth::same_secret(secret.expose(), token) {
            who = Some(name.as_str());
        }
    }
    who
}

impl Keys {
    /// A new session for the token named `name`, as its cookie value.
    pub fn new_session(&self, s: &ServeSettings, name: &str, token: &str, now: i64) -> String {
        let mut sid = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut sid);
        let session = Session {
            sub: name.to_string(),
            via: Via::Token,
            exp: now + s.session_ttl_secs as i64,
            sid: hex::encode(sid),
            fp: self.fingerprint(token),
        };
        let json = serde_json::to_vec(&session).expect("a session serializes");
        self.seal("session", &json)
    }

    /// The viewer of a session cookie, if it is signed by us, unexpired, and
    /// its token is still configured as it was.
    pub fn viewer(&self, s: &ServeSettings, cookie: &str, now: i64) -> Option<Viewer> {
        let session: Session = serde_json::from_slice(&self.open("session", cookie)?).ok()?;
        if session.exp <= now {
            return None;
        }
        let Via::Token = session.via;
        let (name, _) = s.admin_tokens.iter().find(|(name, secret)| {
            *name == session.sub
                && bool::from(
                    self.fingerprint(secret.expose())
                        .as_bytes()
                        .ct_eq(session.fp.as_bytes()),
                )
        })?;
        Some(Viewer {
            actor: name.clone(),
            read_only: name.ends_with(":read"),
            csrf: self.csrf_for(&session.sid),
            sid: session.sid,
            exp: session.exp,
        })
    }

    /// A fresh nonce for the sign-in form's cookie.
    pub fn login_nonce(&self) -> String {
        let mut n = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut n);
        hex::encode(n)
    }

    /// The sign-in form's CSRF token for the browser holding `nonce`.
    pub fn login_csrf(&self, nonce: &str) -> String {
        self.csrf_for(&format!("login:{nonce}"))
    }

    pub fn flash(&self, f: &Flash) -> String {
        self.seal("flash", &serde_json::to_vec(f).expect("a flash serializes"))
    }

    pub fn read_flash(&self, cookie: &str) -> Option<Flash> {
        serde_json::from_slice(&self.open("flash", cookie)?).ok()
    }
}

/// A message shown once on the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub error: bool,
    pub text: String,
}

/// A cookie's value from the request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure over https.
pub fn set_cookie(s: &ServeSettings, name: &str, value: &str, path: &str, max_age: i64) -> String {
    let secure = if s.https() { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn settings(tokens: &[(&str, &str)]) -> ServeSettings {
        ServeSettings {
            admin_tokens: tokens
                .iter()
                .map(|(n, t)| (n.to_string(), Secret::new(t.to_string())))
                .collect(),
            session_key: Some(Secret::new("k".repeat(32))),
            ..ServeSettings::default()
        }
    }

    #[test]
    fn a_session_holds_until_it_expires_and_only_with_its_token() {
        let s = settings(&[("alice", "tok-a"), ("viewer:read", "tok-r")]);
        let keys = Keys::from_settings(&s);
        let cookie = keys.new_session(&s, "alice", "tok-a", 1000);
        let v = keys.viewer(&s, &cookie, 1001).expect("valid");
        assert_eq!(v.actor, "alice");
        assert!(!v.read_only);
        assert!(
            keys.viewer(&s, &cookie, 1000 + 8 * 3600).is_none(),
            "expired"
        );

        let read = keys.new_session(&s, "viewer:read", "tok-r", 1000);
        assert!(keys.viewer(&s, &read, 1001).unwrap().read_only);

        // The token rotated: its sessions end.
        let rotated = settings(&[("alice", "tok-a2")]);
        assert!(keys.viewer(&rotated, &cookie, 1001).is_none());
        // Another key (a restart without ROSTERD_SESSION_KEY): refused.
        let other = Keys {
            mac: b"another key entirely, 32 bytes..".to_vec(),
        };
        assert!(other.viewer(&s, &cookie, 1001).is_none());
        // Tampered payload: refused.
        let (payload, mac) = cookie.split_once('.').unwrap();
        let mut json: serde_json::Value =
            serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
        json["exp"] = serde_json::json!(i64::MAX);
        let forged = format!("{}.{mac}", B64.encode(serde_json::to_vec(&json).unwrap()));
        assert!(keys.viewer(&s, &forged, 1001).is_none());
    }

    #[test]
    fn cookies_are_secure_when_rosterd_is_reached_over_https() {
        let mut s = settings(&[]);
        let plain = set_cookie(&s, SESSION_COOKIE, "v", "/ui", 60);
        assert_eq!(
            plain,
            "rosterd_session=v; Path=/ui; Max-Age=60; HttpOnly; SameSite=Strict"
        );
        s.public_url = "https://rosterd.example.com".into();
        assert!(set_cookie(&s, SESSION_COOKIE, "v", "/ui", 60).ends_with("; Secure"));
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_the_cookie_names_no_token() {
        let s = settings(&[("alice", "tok-a")]);
        let keys = Keys::from_settings(&s);
        let a = keys.new_session(&s, "alice", "tok-a", 0);
        let b = keys.new_session(&s, "alice", "tok-a", 0);
        let (va, vb) = (
            keys.viewer(&s, &a, 1).unwrap(),
            keys.viewer(&s, &b, 1).unwrap(),
        );
        assert_ne!(va.csrf, vb.csrf);
        assert!(va.csrf_ok(&va.csrf) && !va.csrf_ok(&vb.csrf) && !va.csrf_ok(""));
        let payload = B64.decode(a.split_once('.').unwrap().0).unwrap();
        assert!(!String::from_utf8(payload).unwrap().contains("tok-a"));
    }
}
