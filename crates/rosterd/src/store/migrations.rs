//! Applying the per-backend migrations under `migrations/`, and what sqlx
//! cannot say in them: the auth0 columns added to an employees table that
//! predates rosterd (looked for first, as neither SQLite nor MySQL has
//! `ADD COLUMN IF NOT EXISTS`), and the checksums of the MySQL migrations
//! rewritten to run on MySQL 8 as well as MariaDB.

use super::{sql, table_missing, with_pool, Result, Store};
use crate::config::DatabaseSettings;
#[cfg(feature = "mysql")]
use sqlx::MySqlPool;
#[cfg(feature = "sqlite")]
use sqlx::SqlitePool;

impl Store {
    /// Apply the migrations for this backend (idempotent).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            #[cfg(feature = "postgres")]
            Store::Postgres(pool) => {
                sqlx::migrate!("../../migrations/postgres")
                    .run(pool)
                    .await?
            }
            #[cfg(feature = "sqlite")]
            Store::Sqlite(pool) => {
                add_missing_sqlite_employee_columns(pool).await?;
                sqlx::migrate!("../../migrations/sqlite").run(pool).await?
            }
            #[cfg(feature = "mysql")]
            Store::MySql(pool) => {
                add_missing_mysql_employee_columns(pool).await?;
                let m = sqlx::migrate!("../../migrations/mysql");
                adopt_rewritten_mysql_migrations(pool, &m).await?;
                m.run(pool).await?
            }
        }
        Ok(())
    }

    /// Migrate for these settings: with a custom `employees_query` the
    /// `employees` table is neither created nor altered (rosterd does not
    /// read it; a write-back table is the operator's to extend).
    pub async fn migrate_for(&self, db: &DatabaseSettings) -> Result<()> {
        if db.employees_query.is_none() {
            return self.migrate().await;
        }
        fn rosterd_only(mut m: sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
            // The checksums stay those of the shipped files, which are what
            // the history records either way.
            for migration in m.migrations.to_mut() {
                migration.sql = super::employees::without_employees_table(&migration.sql).into();
            }
            m
        }
        match self {
            #[cfg(feature = "postgres")]
            Store::Postgres(pool) => {
                rosterd_only(sqlx::migrate!("../../migrations/postgres"))
                    .run(pool)
                    .await?
            }
            #[cfg(feature = "sqlite")]
            Store::Sqlite(pool) => {
                rosterd_only(sqlx::migrate!("../../migrations/sqlite"))
                    .run(pool)
                    .await?
            }
            #[cfg(feature = "mysql")]
            Store::MySql(pool) => {
                let m = rosterd_only(sqlx::migrate!("../../migrations/mysql"));
                adopt_rewritten_mysql_migrations(pool, &m).await?;
                m.run(pool).await?
            }
        }
        Ok(())
    }

    /// Have rosterd's migrations run on this database?
    pub async fn is_migrated(&self) -> Result<bool> {
        let probe = "SELECT 1 FROM _sqlx_migrations LIMIT 1";
        let answer = with_pool!(self, pool => {
            sqlx::query(probe).fetch_optional(pool).await.map(drop)
        });
        match answer {
            Ok(()) => Ok(true),
            Err(e) if table_missing(&e) => Ok(false),
            Err(e) => Err(sql("read migrations")(e)),
        }
    }
}

#[cfg(feature = "sqlite")]
/// An `employees` table made before rosterd lacks its columns; SQLite cannot
/// `ADD COLUMN IF NOT EXISTS`, so look first.
async fn add_missing_sqlite_employee_columns(pool: &SqlitePool) -> Result<()> {
    let cols: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info('employees')")
        .fetch_all(pool)
        .await
        .map_err(sql("inspect employees"))?;
    if cols.is_empty() {
        return Ok(()); // no table yet: the migration creates it whole
    }
    for col in ["auth0_user_id", "auth0_linked_at"] {
        if !cols.iter().any(|(c,)| c == col) {
            sqlx::query(&format!("ALTER TABLE employees ADD COLUMN {col} TEXT"))
                .execute(pool)
                .await
                .map_err(sql("add auth0 columns to employees"))?;
        }
    }
    Ok(())
}

#[cfg(feature = "mysql")]
/// The same for MySQL/MariaDB, with the index the migration gives a new
/// table.
async fn add_missing_mysql_employee_columns(pool: &MySqlPool) -> Result<()> {
    // Counted, not listed: MySQL 8 may type information_schema's names as
    // binary strings.
    let count = |sql_text: &'static str, name: &'static str| async move {
        let (n,): (i64,) = sqlx::query_as(sql_text)
            .bind(name)
            .fetch_one(pool)
            .await
            .map_err(sql("inspect employees"))?;
        Result::Ok(n)
    };
    let table = "SELECT COUNT(*) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?";
    if count(table, "employees").await? == 0 {
        return Ok(()); // no table yet: the migration creates it whole
    }
    let column = "SELECT COUNT(*) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'employees' AND COLUMN_NAME = ?";
    for (col, ty) in [
        ("auth0_user_id", "VARCHAR(255)"),
        ("auth0_linked_at", "DATETIME(6)"),
    ] {
        if count(column, col).await? == 0 {
            sqlx::query(&format!("ALTER TABLE employees ADD COLUMN {col} {ty}"))
                .execute(pool)
                .await
                .map_err(sql("add auth0 columns to employees"))?;
        }
    }
    let index = "SELECT COUNT(*) FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'employees' AND INDEX_NAME = ?";
    if count(index, "employees_auth0_user_id_idx").await? == 0 {
        sqlx::query("CREATE INDEX employees_auth0_user_id_idx ON employees (auth0_user_id)")
            .execute(pool)
            .await
            .map_err(sql("index employees.auth0_user_id"))?;
    }
    Ok(())
}

#[cfg(feature = "mysql")]
/// The MySQL migrations as first shipped, for MariaDB only (`ADD COLUMN IF
/// NOT EXISTS`, `CREATE INDEX IF NOT EXISTS`, a CHECK replaced by `MODIFY`):
/// version and the SHA-384 sqlx recorded for the text. Their rewrite leaves
/// the same schema on MariaDB, so a database they migrated takes the new
/// checksum rather than being refused as "previously applied but modified".
/// The old texts are kept in tests/fixtures/mariadb_only_migrations.
const MARIADB_ONLY_CHECKSUMS: [(i64, &str); 3] = [
    (
        1,
        "12071bf12efbc4ce57ed58fc1bf9473c7faf27a1d03ca0069f2a131d07ad0efd428d8fab74bdab50ca915b38dbe4e05d",
    ),
    (
        3,
        "b9f46e7b73581ed782f1b8a08cf251d8ef840ab7de402d357bb138493695cc3e114f9db13cd890f291451dfe6e90d15a",
    ),
    (
        4,
        "8ac959e38d4939892a534e257264799161090078298714e7918ac5d5b60f9acd6b33c106c35c86b30d4565852e6b951c",
    ),
];

#[cfg(feature = "mysql")]
/// Record the rewritten migrations' checksums where the MariaDB-only texts
/// were applied (only those exact texts: any other difference is still
/// sqlx's error).
async fn adopt_rewritten_mysql_migrations(
    pool: &MySqlPool,
    m: &sqlx::migrate::Migrator,
) -> Result<()> {
    for (version, old) in MARIADB_ONLY_CHECKSUMS {
        let Some(new) = m.iter().find(|x| x.version == version) else {
            continue;
        };
        let done = sqlx::query(
            "UPDATE _sqlx_migrations SET checksum = ? WHERE version = ? AND checksum = UNHEX(?)",
        )
        .bind(new.checksum.as_ref())
        .bind(version)
        .bind(old)
        .execute(pool)
        .await;
        match done {
            Ok(_) => {}
            Err(e) if table_missing(&e) => return Ok(()), // never migrated
            Err(e) => return Err(sql("update migration checksums")(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Syntax MariaDB takes and MySQL 8 refuses (or, for a CHECK in `MODIFY`,
    /// takes differently: it adds a constraint beside the old one).
    const MARIADB_ONLY: [&str; 20] = [
        "ADD COLUMN IF NOT EXISTS",
        "DROP COLUMN IF EXISTS",
        "MODIFY IF EXISTS",
        "MODIFY COLUMN IF EXISTS",
        "CHANGE COLUMN IF EXISTS",
        "ADD INDEX IF NOT EXISTS",
        "ADD KEY IF NOT EXISTS",
        "CREATE INDEX IF NOT EXISTS",
        "CREATE UNIQUE INDEX IF NOT EXISTS",
        "DROP INDEX IF EXISTS",
        "ADD CONSTRAINT IF NOT EXISTS",
        "DROP CONSTRAINT IF EXISTS",
        "ALTER TABLE IF EXISTS",
        "CREATE OR REPLACE",
        "CREATE SEQUENCE",
        "RETURNING",
        "INET6",
        "INET4",
        "DELIMITER",
        "WITH SYSTEM VERSIONING",
    ];

    /// What in `dir`'s migrations MySQL 8 would not run as MariaDB does.
    fn mariadb_only(dir: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|f| f.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let code: String = text
                .lines()
                .map(|l| l.split("--").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(" ");
            for statement in code.split(';') {
                let s = statement
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_ascii_uppercase();
                let name = file.file_name().unwrap().to_string_lossy();
                for construct in MARIADB_ONLY.iter().filter(|c| s.contains(*c)) {
                    found.push(format!("{name}: {construct}"));
                }
                let alters_a_column = s.contains(" MODIFY ") || s.contains(" CHANGE ");
                if s.starts_with("ALTER TABLE") && alters_a_column && s.contains("CHECK") {
                    found.push(format!("{name}: CHECK in MODIFY/CHANGE"));
                }
            }
        }
        found
    }

    /// No MySQL 8 server here: the migrations are checked for MariaDB-only
    /// syntax instead (they run on MariaDB in the integration tests).
    #[test]
    fn mysql_migrations_use_nothing_mysql_8_lacks() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let found = mariadb_only(&root.join("migrations/mysql"));
        assert!(found.is_empty(), "{found:#?}");
        // The scan finds what the first, MariaDB-only texts had.
        let old = mariadb_only(&root.join("tests/fixtures/mariadb_only_migrations"));
        for construct in [
            "0001_rosterd.sql: ADD COLUMN IF NOT EXISTS",
            "0001_rosterd.sql: CREATE INDEX IF NOT EXISTS",
            "0003_leader_fencing.sql: ADD COLUMN IF NOT EXISTS",
            "0004_audit_evidence_and_valid_baseline.sql: CHECK in MODIFY/CHANGE",
        ] {
            assert!(
                old.iter().any(|f| f == construct),
                "{construct} not found in {old:#?}"
            );
        }
    }
}
