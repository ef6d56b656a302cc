//! A database URL, parsed in one place for the store, the PodFactory source
//! and the configuration check: the backend its scheme names (`mariadb://`
//! is MySQL's driver), the password from its own secret setting, and a
//! `Display` (and `Debug`) that never shows a password.

use crate::config::Secret;
#[cfg(feature = "mysql")]
use sqlx::mysql::MySqlConnectOptions;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnectOptions;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnectOptions;
use std::fmt;
use std::str::FromStr;

/// A database URL as a driver takes it. Made only by [`DbUrl::parse`].
#[derive(Clone)]
pub struct DbUrl {
    options: Options,
    redacted: String,
    target: String,
}

/// The driver options a URL parsed into, with the password set.
#[derive(Clone)]
pub(crate) enum Options {
    #[cfg(feature = "postgres")]
    Postgres(PgConnectOptions),
    #[cfg(feature = "mysql")]
    MySql(MySqlConnectOptions),
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteConnectOptions),
}

/// What is wrong with a URL, naming its setting (`key`) and never the
/// password.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("{key}: expected a postgres://, mysql:// (or mariadb://) or sqlite:// URL")]
    Scheme { key: &'static str },
    #[error("{key}: this rosterd is built without {feature} (cargo feature `{feature}`)")]
    NotBuilt {
        key: &'static str,
        feature: &'static str,
    },
    /// The driver refused it. Its parse errors name the part at fault (port,
    /// option), never the userinfo.
    #[error("{key}: not a valid URL: {cause}")]
    Invalid {
        key: &'static str,
        cause: sqlx::Error,
    },
}

impl DbUrl {
    /// Parse the URL of setting `key`; `password`, the secret setting, is
    /// used instead of any password in the URL.
    #[cfg_attr(
        not(any(feature = "postgres", feature = "mysql")),
        allow(unused_variables)
    )]
    pub fn parse(
        key: &'static str,
        url: &str,
        password: Option<&Secret>,
    ) -> Result<DbUrl, UrlError> {
        let invalid = |cause| UrlError::Invalid { key, cause };
        #[cfg(not(all(feature = "postgres", feature = "mysql", feature = "sqlite")))]
        let not_built = |feature| UrlError::NotBuilt { key, feature };
        let options = match url.split("://").next().unwrap_or("") {
            #[cfg(feature = "postgres")]
            "postgres" | "postgresql" => {
                let opts = PgConnectOptions::from_str(url).map_err(invalid)?;
                Options::Postgres(match password {
                    Some(p) => opts.password(p.expose()),
                    None => opts,
                })
            }
            #[cfg(feature = "mysql")]
            "mysql" | "mariadb" => {
                let url = url.replacen("mariadb://", "mysql://", 1);
                let opts = MySqlConnectOptions::from_str(&url).map_err(invalid)?;
                Options::MySql(match password {
                    Some(p) => opts.password(p.expose()),
                    None => opts,
                })
            }
            #[cfg(feature = "sqlite")]
            "sqlite" => Options::Sqlite(SqliteConnectOptions::from_str(url).map_err(invalid)?),
            #[cfg(not(feature = "postgres"))]
            "postgres" | "postgresql" => return Err(not_built("postgres")),
            #[cfg(not(feature = "mysql"))]
            "mysql" | "mariadb" => return Err(not_built("mysql")),
            #[cfg(not(feature = "sqlite"))]
            "sqlite" => return Err(not_built("sqlite")),
            _ => return Err(UrlError::Scheme { key }),
        };
        Ok(DbUrl {
            options,
            redacted: redact(url).0,
            target: target(url),
        })
    }

    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    /// The file of a SQLite database (`None` for the servers, and for an
    /// in-memory one).
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        match &self.options {
            #[cfg(feature = "sqlite")]
            // In memory: `:memory:` or sqlx's own `file:` name for it.
            Options::Sqlite(o) => Some(o.get_filename()).filter(|f| {
                f.to_str()
                    .is_none_or(|f| !f.starts_with(':') && !f.starts_with("file:"))
            }),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// `host:port/database`: no user, no password, no options.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// The URL itself holds a password (configuration wants it in its
    /// secret setting instead), whether or not it parses.
    pub fn has_password(url: &str) -> bool {
        redact(url).1
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// The driver options' own `Debug` prints the password.
impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({})", self.redacted)
    }
}

/// The URL with any password replaced by `***`, and whether it had one: in
/// the user info (`user:pw@`) or as a `password=` option (PostgreSQL and
/// MySQL both take one in the query string).
fn redact(url: &str) -> (String, bool) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), false);
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => before_query.split_at(i),
        None => (before_query, ""),
    };
    let (authority, mut has_password) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                (format!("{user}:***@{host}"), true)
            } else {
                (format!("{user}@{host}"), false)
            }
        }
        None => (authority.to_string(), false),
    };
    let query = query.map(|q| {
        q.split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                    has_password = true;
                    format!("{key}=***")
                }
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    let mut out = format!("{scheme}://{authority}{path}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(&q);
    }
    (out, has_password)
}

fn target(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or("");
    match rest.rsplit_once('@') {
        Some((_, host)) => host.to_string(),
        None => rest.to_string(),
    }
}

#[cfg(all(test, feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod tests {
    use super::*;

    fn parse(url: &str) -> DbUrl {
        DbUrl::parse("database.url", url, None).unwrap()
    }

    #[test]
    fn every_scheme_names_its_driver() {
        for url in [
            "postgres://app@db:5433/prod",
            "postgresql://app@db:5433/prod",
        ] {
            let Options::Postgres(o) = parse(url).options else {
                panic!("{url}: not PostgreSQL");
            };
            assert_eq!(
                (o.get_host(), o.get_port(), o.get_username()),
                ("db", 5433, "app")
            );
            assert_eq!(o.get_database(), Some("prod"));
        }
        for url in [
            "mysql://root@127.0.0.1:3306/hr",
            "mariadb://root@127.0.0.1:3306/hr",
        ] {
            let u = parse(url);
            assert!(matches!(u.options, Options::MySql(_)), "{url}: not MySQL");
            assert_eq!(u.target(), "127.0.0.1:3306/hr");
        }
        let u = parse("sqlite://rosterd.db?mode=rwc");
        let Options::Sqlite(o) = &u.options else {
            panic!("not SQLite");
        };
        assert_eq!(o.get_filename(), std::path::Path::new("rosterd.db"));
        assert_eq!(u.target(), "rosterd.db");
    }

    #[test]
    fn the_mariadb_alias_is_shown_as_written() {
        assert_eq!(
            parse("mariadb://app:pw@db/hr").to_string(),
            "mariadb://app:***@db/hr"
        );
    }

    #[test]
    fn a_password_never_shows() {
        let url = "postgres://app:hunter2@db:5432/prod?sslmode=disable";
        let u = parse(url);
        assert!(DbUrl::has_password(url));
        assert_eq!(
            u.to_string(),
            "postgres://app:***@db:5432/prod?sslmode=disable"
        );
        assert!(!format!("{u:?}").contains("hunter2"));
        assert_eq!(u.target(), "db:5432/prod");

        let secret = Secret::new("s3cret");
        for url in ["postgres://app@db/prod", "mysql://app@db/hr"] {
            let u = DbUrl::parse("database.url", url, Some(&secret)).unwrap();
            assert_eq!(u.to_string(), url);
            assert!(!format!("{u:?}").contains("s3cret"));
            let driver = match &u.options {
                Options::Postgres(o) => format!("{o:?}"),
                Options::MySql(o) => format!("{o:?}"),
                Options::Sqlite(_) => unreachable!(),
            };
            assert!(driver.contains("s3cret"), "{url}: password not set");
        }
        assert!(!DbUrl::has_password("mysql://app@db/hr"));
        assert!(DbUrl::has_password("oracle://app:pw@db/hr"));

        // PostgreSQL and MySQL also take the password as an option.
        let url = "postgres://app@db/prod?sslmode=require&password=hunter2";
        assert!(DbUrl::has_password(url));
        let u = parse(url);
        assert_eq!(
            u.to_string(),
            "postgres://app@db/prod?sslmode=require&password=***"
        );
        assert!(!format!("{u:?}").contains("hunter2"));
        assert!(!DbUrl::has_password(
            "postgres://app@db/prod?sslmode=require"
        ));
    }

    #[test]
    fn a_bad_url_names_its_setting_never_the_password() {
        for (key, url, expected) in [
            (
                "database.url",
                "oracle://app:hunter2@db/x",
                "database.url: expected a postgres://",
            ),
            (
                "database.url",
                "hunter2",
                "database.url: expected a postgres://",
            ),
            (
                "podfactory.url",
                "",
                "podfactory.url: expected a postgres://",
            ),
            (
                "database.url",
                "postgres://app:hunter2@db:notaport/x",
                "database.url: not a valid URL",
            ),
            (
                "podfactory.url",
                "mysql://app:hunter2@db:99999/x",
                "podfactory.url: not a valid URL",
            ),
        ] {
            let e = DbUrl::parse(key, url, None).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{url}: {e}");
            assert!(!e.contains("hunter2"), "{url}: password in {e}");
        }
    }
}

#[cfg(all(test, not(feature = "postgres")))]
mod without_postgres {
    #[test]
    fn a_url_of_a_backend_not_built_says_so() {
        let e = super::DbUrl::parse("database.url", "postgres://app:hunter2@db/x", None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "database.url: this rosterd is built without postgres (cargo feature `postgres`)"
        );
    }
}
