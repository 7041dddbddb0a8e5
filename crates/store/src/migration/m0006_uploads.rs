//! Uploads in progress are known from the database (ADR 0019): one row per pending
//! evidence blob, naming the process writing it, whose heartbeat says whether it is
//! alive. The row holds no time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Uploads {
    Table,
    ObjectId,
    Holder,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let uploads = Table::create()
            .table(Uploads::Table)
            .if_not_exists()
            .col(string(Uploads::ObjectId).primary_key())
            .col(string(Uploads::Holder))
            .to_owned();
        super::create_table(manager, uploads).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Uploads::Table).to_owned())
            .await
    }
}
