//! Schema migrations; each runs unchanged on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

mod m0001_initial;
mod m0002_jobs;
mod m0003_triage;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_jobs::Migration),
            Box::new(m0003_triage::Migration),
        ]
    }
}
