//! What the case list needs besides the case row (ADR 0024): each assignee's own marks
//! on their assignment (the last entry they have seen, their star), a case's labels
//! sealed to its case key, and the indexes that find one person's cases and a case's
//! links from either side without reading every row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CaseAssignments {
    Table,
    CaseId,
    InvestigatorId,
    SeenSeq,
    Starred,
}

#[derive(DeriveIden)]
enum CaseLinks {
    Table,
    CaseB,
}

#[derive(DeriveIden)]
enum CaseLabels {
    Table,
    CaseId,
    Ciphertext,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for col in [
            integer_null(CaseAssignments::SeenSeq),
            boolean(CaseAssignments::Starred).default(false).to_owned(),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table(CaseAssignments::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("case_assignments_by_person")
                    .table(CaseAssignments::Table)
                    .col(CaseAssignments::InvestigatorId)
                    .col(CaseAssignments::CaseId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("case_links_by_second")
                    .table(CaseLinks::Table)
                    .col(CaseLinks::CaseB)
                    .to_owned(),
            )
            .await?;
        let labels = Table::create()
            .table(CaseLabels::Table)
            .if_not_exists()
            .col(string(CaseLabels::CaseId).primary_key())
            .col(binary(CaseLabels::Ciphertext))
            .foreign_key(
                ForeignKey::create()
                    .from(CaseLabels::Table, CaseLabels::CaseId)
                    .to(Cases::Table, Cases::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned();
        super::create_table(manager, labels).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseLabels::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("case_links_by_second")
                    .table(CaseLinks::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("case_assignments_by_person")
                    .table(CaseAssignments::Table)
                    .to_owned(),
            )
            .await?;
        for col in [CaseAssignments::SeenSeq, CaseAssignments::Starred] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CaseAssignments::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
