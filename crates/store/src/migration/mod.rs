//! Schema migrations; each runs on SQLite and PostgreSQL (m0004 with SQL of its own
//! for each).

use sea_orm_migration::prelude::*;

mod m0001_initial;
mod m0002_jobs;
mod m0003_triage;
mod m0004_no_row_order;
mod m0005_related_bounded;
mod m0006_uploads;
mod m0007_blobs_in_database;
mod m0008_audit_log;
mod m0009_invitations;
mod m0010_portal_accounts;
mod m0011_case_life;
mod m0012_case_marks;
mod m0013_customers;
mod m0014_product_counts;
mod m0015_followup_sessions;
mod m0016_reporter_reads;
mod m0017_key_rotation;
mod m0018_account_key_changes;
mod m0019_rekey;

pub(crate) struct Migrator;

/// Creates `table`, on SQLite `WITHOUT ROWID` like every Redress table: no implicit
/// rowid to order its rows (ADR 0015).
pub(crate) async fn create_table(
    manager: &SchemaManager<'_>,
    mut table: TableCreateStatement,
) -> Result<(), DbErr> {
    if manager.get_database_backend() == sea_orm::DbBackend::Sqlite {
        table.extra("WITHOUT ROWID");
    }
    manager.create_table(table).await
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_jobs::Migration),
            Box::new(m0003_triage::Migration),
            Box::new(m0004_no_row_order::Migration),
            Box::new(m0005_related_bounded::Migration),
            Box::new(m0006_uploads::Migration),
            Box::new(m0007_blobs_in_database::Migration),
            Box::new(m0008_audit_log::Migration),
            Box::new(m0009_invitations::Migration),
            Box::new(m0010_portal_accounts::Migration),
            Box::new(m0011_case_life::Migration),
            Box::new(m0012_case_marks::Migration),
            Box::new(m0013_customers::Migration),
            Box::new(m0014_product_counts::Migration),
            Box::new(m0015_followup_sessions::Migration),
            Box::new(m0016_reporter_reads::Migration),
            Box::new(m0017_key_rotation::Migration),
            Box::new(m0018_account_key_changes::Migration),
            Box::new(m0019_rekey::Migration),
        ]
    }
}
