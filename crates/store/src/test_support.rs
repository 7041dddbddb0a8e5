//! Throwaway databases for tests: a fresh SQLite file, or — when
//! `REDRESS_TEST_DATABASE_URL` names a PostgreSQL server — a fresh PostgreSQL database
//! that is dropped when the handle is dropped.
//!
//! A test that cannot set up its database must fail loudly, so this module panics.
#![allow(clippy::panic)]

use std::path::Path;

use sea_orm::{ConnectionTrait, Database};

/// Environment variable naming the PostgreSQL server for tests.
pub const TEST_DATABASE_URL: &str = "REDRESS_TEST_DATABASE_URL";

/// A database created for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    drop_with: Option<(String, String)>,
}

impl TestDatabase {
    /// Creates a database for one test: PostgreSQL if `REDRESS_TEST_DATABASE_URL` is set,
    /// otherwise a SQLite file in `dir`.
    pub async fn create(dir: &Path) -> Self {
        match std::env::var(TEST_DATABASE_URL) {
            Ok(admin_url) if !admin_url.is_empty() => Self::create_postgres(&admin_url).await,
            _ => Self {
                url: format!("sqlite://{}?mode=rwc", dir.join("redress.db").display()),
                drop_with: None,
            },
        }
    }

    async fn create_postgres(admin_url: &str) -> Self {
        let name = format!("redress_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to {TEST_DATABASE_URL}: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("create test database: {e}"));
        let _ = admin.close().await;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
        Self {
            url: format!("{base}/{name}"),
            drop_with: Some((admin_url.to_owned(), name)),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.drop_with.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.drop_with.take() else {
            return;
        };
        // Drop runs outside any async context we can rely on: use a private runtime on a
        // plain thread.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}
