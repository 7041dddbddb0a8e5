//! How many handed-over cases named each product (ADR 0027): one counter per product,
//! raised in the hand-over's transaction. Nothing ties a count to a case; the case rows
//! keep no product (the answers that name it are sealed).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProductCounts {
    Table,
    Product,
    Cases,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let counts = Table::create()
            .table(ProductCounts::Table)
            .if_not_exists()
            .col(string(ProductCounts::Product).primary_key())
            .col(big_integer(ProductCounts::Cases))
            .to_owned();
        super::create_table(manager, counts).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProductCounts::Table).to_owned())
            .await
    }
}
