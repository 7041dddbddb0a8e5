//! Whether the reporter marked an investigators' entry as read (ADR 0028): a flag, not a
//! time, since anything a reporter's action causes keeps the hour at most.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseEntries {
    Table,
    ReadByReporter,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CaseEntries::Table)
                    .add_column(boolean(CaseEntries::ReadByReporter).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CaseEntries::Table)
                    .drop_column(CaseEntries::ReadByReporter)
                    .to_owned(),
            )
            .await
    }
}
