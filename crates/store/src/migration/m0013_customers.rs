//! The customer register (ADR 0025): the vendor's customers and each change of their
//! status, by an admin's hand or by a concluded case. Random ids; a change's place in
//! its customer's history is a number of its own, so no row order dates anything.
//! Everything here is written by staff: nothing a reporter wrote.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    Name,
    Country,
    Products,
    Status,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CustomerChanges {
    Table,
    Id,
    CustomerId,
    Seq,
    FromStatus,
    ToStatus,
    Reason,
    At,
    Actor,
    CaseId,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let customers = Table::create()
            .table(Customers::Table)
            .if_not_exists()
            .col(string(Customers::Id).primary_key())
            .col(string_uniq(Customers::Name))
            .col(string(Customers::Country))
            .col(string(Customers::Products))
            .col(string(Customers::Status))
            .col(big_integer(Customers::CreatedAt))
            .to_owned();
        super::create_table(manager, customers).await?;
        let changes = Table::create()
            .table(CustomerChanges::Table)
            .if_not_exists()
            .col(string(CustomerChanges::Id).primary_key())
            .col(string(CustomerChanges::CustomerId))
            .col(integer(CustomerChanges::Seq))
            .col(string(CustomerChanges::FromStatus))
            .col(string(CustomerChanges::ToStatus))
            .col(text(CustomerChanges::Reason))
            .col(big_integer(CustomerChanges::At))
            .col(string(CustomerChanges::Actor))
            .col(string_null(CustomerChanges::CaseId))
            .foreign_key(
                ForeignKey::create()
                    .from(CustomerChanges::Table, CustomerChanges::CustomerId)
                    .to(Customers::Table, Customers::Id),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(CustomerChanges::Table, CustomerChanges::Actor)
                    .to(Accounts::Table, Accounts::Id),
            )
            .foreign_key(
                // No cascade and no nulling: a change made by a case must not turn into
                // one made by hand. Deleting the row of a case a change names fails.
                ForeignKey::create()
                    .from(CustomerChanges::Table, CustomerChanges::CaseId)
                    .to(Cases::Table, Cases::Id),
            )
            .to_owned();
        super::create_table(manager, changes).await?;
        manager
            .create_index(
                Index::create()
                    .name("customer_changes_order")
                    .table(CustomerChanges::Table)
                    .col(CustomerChanges::CustomerId)
                    .col(CustomerChanges::Seq)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [CustomerChanges::Table.into_iden(), Customers::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
