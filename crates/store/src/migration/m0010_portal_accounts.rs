//! Portal accounts (ADR 0021, ADR 0022): people with a password-wrapped identity and an
//! authenticator, their one-time recovery codes, sessions whose secrets live in the
//! browser, the guards that slow password guessing, and forms kept across a login.
//! Nothing here is a reporter's: these rows keep the times people act, to the second.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Email,
    Role,
    State,
    Recipient,
    PasswordRecipient,
    IdentityWrap,
    TotpSealed,
    TotpLastStep,
    KdfSalt,
    KdfMKib,
    KdfT,
    KdfP,
    InvestigatorId,
    CreatedAt,
    LastLoginDay,
}

#[derive(DeriveIden)]
enum Investigators {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    CodeHash,
    AccountId,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    AccountId,
    Stage,
    SealedIdentity,
    PendingTotp,
    CreatedAt,
    LastSeen,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum LoginGuards {
    Table,
    Address,
    Failures,
    LastFailure,
    BlockedUntil,
    Locked,
}

#[derive(DeriveIden)]
enum LoginBudget {
    Table,
    Minute,
    Failures,
}

#[derive(DeriveIden)]
enum KeptForms {
    Table,
    Id,
    Path,
    Sealed,
    ExpiresAt,
}

fn cascade_to_account(
    table: impl IntoIden + 'static,
    column: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Accounts::Table, Accounts::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let accounts = Table::create()
            .table(Accounts::Table)
            .if_not_exists()
            .col(string(Accounts::Id).primary_key())
            .col(string_uniq(Accounts::Email))
            .col(string(Accounts::Role))
            .col(string(Accounts::State))
            .col(string(Accounts::Recipient))
            .col(string(Accounts::PasswordRecipient))
            .col(binary(Accounts::IdentityWrap))
            .col(binary_null(Accounts::TotpSealed))
            .col(big_integer_null(Accounts::TotpLastStep))
            .col(binary(Accounts::KdfSalt))
            .col(integer(Accounts::KdfMKib))
            .col(integer(Accounts::KdfT))
            .col(integer(Accounts::KdfP))
            .col(string_null(Accounts::InvestigatorId).unique_key())
            .col(big_integer(Accounts::CreatedAt))
            .col(big_integer_null(Accounts::LastLoginDay))
            .foreign_key(
                ForeignKey::create()
                    .from(Accounts::Table, Accounts::InvestigatorId)
                    .to(Investigators::Table, Investigators::Id)
                    .on_delete(ForeignKeyAction::SetNull),
            )
            .to_owned();
        super::create_table(manager, accounts).await?;

        let codes = Table::create()
            .table(RecoveryCodes::Table)
            .if_not_exists()
            .col(string(RecoveryCodes::CodeHash).primary_key())
            .col(string(RecoveryCodes::AccountId))
            .foreign_key(&mut cascade_to_account(
                RecoveryCodes::Table,
                RecoveryCodes::AccountId,
            ))
            .to_owned();
        super::create_table(manager, codes).await?;

        let sessions = Table::create()
            .table(Sessions::Table)
            .if_not_exists()
            .col(string(Sessions::Id).primary_key())
            .col(string(Sessions::AccountId))
            .col(string(Sessions::Stage))
            .col(binary(Sessions::SealedIdentity))
            .col(binary_null(Sessions::PendingTotp))
            .col(big_integer(Sessions::CreatedAt))
            .col(big_integer(Sessions::LastSeen))
            .col(big_integer(Sessions::ExpiresAt))
            .foreign_key(&mut cascade_to_account(Sessions::Table, Sessions::AccountId))
            .to_owned();
        super::create_table(manager, sessions).await?;
        manager
            .create_index(
                Index::create()
                    .name("sessions_by_account")
                    .table(Sessions::Table)
                    .col(Sessions::AccountId)
                    .to_owned(),
            )
            .await?;

        let guards = Table::create()
            .table(LoginGuards::Table)
            .if_not_exists()
            .col(string(LoginGuards::Address).primary_key())
            .col(integer(LoginGuards::Failures))
            .col(big_integer(LoginGuards::LastFailure))
            .col(big_integer(LoginGuards::BlockedUntil))
            .col(boolean(LoginGuards::Locked))
            .to_owned();
        super::create_table(manager, guards).await?;

        let budget = Table::create()
            .table(LoginBudget::Table)
            .if_not_exists()
            .col(big_integer(LoginBudget::Minute).primary_key())
            .col(integer(LoginBudget::Failures))
            .to_owned();
        super::create_table(manager, budget).await?;

        let kept = Table::create()
            .table(KeptForms::Table)
            .if_not_exists()
            .col(string(KeptForms::Id).primary_key())
            .col(string(KeptForms::Path))
            .col(binary(KeptForms::Sealed))
            .col(big_integer(KeptForms::ExpiresAt))
            .to_owned();
        super::create_table(manager, kept).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            KeptForms::Table.into_iden(),
            LoginBudget::Table.into_iden(),
            LoginGuards::Table.into_iden(),
            Sessions::Table.into_iden(),
            RecoveryCodes::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
