//! The audit log (ADR 0020): append-only, each entry chained to the one before by
//! SHA-256. Its order is its point, so `seq` is explicit; it records what people do in
//! the portal and at the command line, and an entry a reporter's action causes keeps
//! the hour only.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Seq,
    At,
    Actor,
    Action,
    Target,
    PrevHash,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(AuditLog::Table)
            .if_not_exists()
            .col(big_integer(AuditLog::Seq).primary_key())
            .col(big_integer(AuditLog::At))
            .col(string(AuditLog::Actor))
            .col(string(AuditLog::Action))
            .col(string_null(AuditLog::Target))
            .col(string(AuditLog::PrevHash))
            .col(string(AuditLog::Hash))
            .to_owned();
        super::create_table(manager, table).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
