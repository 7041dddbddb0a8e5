//! Re-keying a revoked investigator's cases (ADR 0032): which cases a `keys revoke
//! --rekey` still has to re-key, written in the revocation's transaction so that a run
//! killed at any point knows them afterwards; and the old blobs a committed re-key left
//! to delete. Ids only: nothing here is secret or caused by a reporter.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RekeyCases {
    Table,
    RotationId,
    CaseId,
    Done,
}

#[derive(DeriveIden)]
enum RekeyLeftovers {
    Table,
    ObjectId,
    RotationId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let cases = Table::create()
            .table(RekeyCases::Table)
            .if_not_exists()
            .col(string(RekeyCases::RotationId))
            .col(string(RekeyCases::CaseId))
            .col(boolean(RekeyCases::Done).default(false))
            .primary_key(
                Index::create()
                    .col(RekeyCases::RotationId)
                    .col(RekeyCases::CaseId),
            )
            .to_owned();
        super::create_table(manager, cases).await?;
        let leftovers = Table::create()
            .table(RekeyLeftovers::Table)
            .if_not_exists()
            .col(string(RekeyLeftovers::ObjectId).primary_key())
            .col(string(RekeyLeftovers::RotationId))
            .to_owned();
        super::create_table(manager, leftovers).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RekeyLeftovers::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RekeyCases::Table).to_owned())
            .await
    }
}
