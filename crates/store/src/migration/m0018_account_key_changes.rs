//! An account's own key being changed (ADR 0033): replaced by the person in the portal
//! (`rotation`: the identity being retired kept, sealed to the new one, until every wrap
//! is moved), or recovered by an admin with the recovery identity (`recovery`: the key
//! that was lost, until the cases are wrapped to the identity set up anew). One row per
//! account while it lasts; nothing here opens anything without the account's identity.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccountKeyChanges {
    Table,
    AccountId,
    Kind,
    OldRecipient,
    PreviousIdentity,
    StartedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(AccountKeyChanges::Table)
            .if_not_exists()
            .col(string(AccountKeyChanges::AccountId).primary_key())
            .col(string(AccountKeyChanges::Kind))
            .col(string(AccountKeyChanges::OldRecipient))
            .col(binary_null(AccountKeyChanges::PreviousIdentity))
            .col(big_integer(AccountKeyChanges::StartedAt))
            .foreign_key(
                ForeignKey::create()
                    .from(AccountKeyChanges::Table, AccountKeyChanges::AccountId)
                    .to(Accounts::Table, Accounts::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned();
        super::create_table(manager, table).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountKeyChanges::Table).to_owned())
            .await
    }
}
