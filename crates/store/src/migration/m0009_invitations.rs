//! Invitations to the portal: one-time setup links, stored as token hashes (ADR 0021).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    TokenHash,
    Email,
    Role,
    Teams,
    Capacity,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(Invitations::Table)
            .if_not_exists()
            .col(string(Invitations::TokenHash).primary_key())
            .col(string(Invitations::Email))
            .col(string(Invitations::Role))
            .col(string(Invitations::Teams))
            .col(integer(Invitations::Capacity))
            .col(big_integer(Invitations::ExpiresAt))
            .to_owned();
        super::create_table(manager, table).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Invitations::Table).to_owned())
            .await
    }
}
