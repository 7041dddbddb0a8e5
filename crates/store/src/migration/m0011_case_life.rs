//! A case's life in the portal (portal part 2): what its assessment and conclusion
//! were, when each step was taken (staff acts, kept to the second), and its
//! conversation and notes, each entry sealed as standard age to the thread key (what
//! the reporter reads) or the case key (internal).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    Assessment,
    Outcome,
    AcknowledgedAt,
    ConcludedAt,
    FeedbackGivenAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum CaseEntries {
    Table,
    Id,
    CaseId,
    Seq,
    Kind,
    Author,
    At,
    Ciphertext,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for col in [
            string_null(Cases::Assessment),
            string_null(Cases::Outcome),
            big_integer_null(Cases::AcknowledgedAt),
            big_integer_null(Cases::ConcludedAt),
            big_integer_null(Cases::FeedbackGivenAt),
            big_integer_null(Cases::ClosedAt),
        ] {
            let mut col = col;
            manager
                .alter_table(Table::alter().table(Cases::Table).add_column(&mut col).to_owned())
                .await?;
        }
        let entries = Table::create()
            .table(CaseEntries::Table)
            .if_not_exists()
            .col(string(CaseEntries::Id).primary_key())
            .col(string(CaseEntries::CaseId))
            .col(integer(CaseEntries::Seq))
            .col(string(CaseEntries::Kind))
            .col(string_null(CaseEntries::Author))
            .col(big_integer(CaseEntries::At))
            .col(binary(CaseEntries::Ciphertext))
            .foreign_key(
                ForeignKey::create()
                    .from(CaseEntries::Table, CaseEntries::CaseId)
                    .to(Cases::Table, Cases::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned();
        super::create_table(manager, entries).await?;
        manager
            .create_index(
                Index::create()
                    .name("case_entries_order")
                    .table(CaseEntries::Table)
                    .col(CaseEntries::CaseId)
                    .col(CaseEntries::Seq)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseEntries::Table).to_owned())
            .await?;
        for col in [
            Cases::Assessment,
            Cases::Outcome,
            Cases::AcknowledgedAt,
            Cases::ConcludedAt,
            Cases::FeedbackGivenAt,
            Cases::ClosedAt,
        ] {
            manager
                .alter_table(Table::alter().table(Cases::Table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
