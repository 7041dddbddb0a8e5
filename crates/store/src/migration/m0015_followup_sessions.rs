//! A reporter's follow-up sessions (ADR 0028): found by the hash of a key only the
//! reporter's cookie holds; the case's thread key, and the times that bound the session,
//! sealed to that key. The one time in the clear is the hour after which the row may be
//! forgotten, so a copy of the database dates a visit to the hour at most.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FollowupSessions {
    Table,
    Id,
    CaseId,
    Sealed,
    ForgetAfter,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sessions = Table::create()
            .table(FollowupSessions::Table)
            .if_not_exists()
            .col(string(FollowupSessions::Id).primary_key())
            .col(string(FollowupSessions::CaseId))
            .col(binary(FollowupSessions::Sealed))
            .col(big_integer(FollowupSessions::ForgetAfter))
            .foreign_key(
                ForeignKey::create()
                    .from(FollowupSessions::Table, FollowupSessions::CaseId)
                    .to(Cases::Table, Cases::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned();
        super::create_table(manager, sessions).await?;
        manager
            .create_index(
                Index::create()
                    .name("followup_sessions_by_case")
                    .table(FollowupSessions::Table)
                    .col(FollowupSessions::CaseId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FollowupSessions::Table).to_owned())
            .await
    }
}
