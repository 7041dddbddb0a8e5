use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    Triaged,
    Priority,
    AckDue,
    FeedbackDue,
    DeadlineFlag,
}

#[derive(DeriveIden)]
enum Investigators {
    Table,
    Id,
    Email,
    Recipient,
    Teams,
    Capacity,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CaseAssignments {
    Table,
    Id,
    CaseId,
    InvestigatorId,
    AssignedAt,
}

#[derive(DeriveIden)]
enum CaseFingerprints {
    Table,
    Id,
    CaseId,
    Kind,
    Fingerprint,
}

#[derive(DeriveIden)]
enum CaseLinks {
    Table,
    Id,
    CaseA,
    CaseB,
    Reasons,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    IdempotencyKey,
    Recipient,
    Notice,
    State,
    MessageId,
    CreatedAt,
    SentAt,
}

fn fk(
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for col in [
            boolean(Cases::Triaged).default(false).to_owned(),
            string_null(Cases::Priority),
            big_integer_null(Cases::AckDue),
            big_integer_null(Cases::FeedbackDue),
            string(Cases::DeadlineFlag).default("ok").to_owned(),
        ] {
            let mut col = col;
            manager
                .alter_table(Table::alter().table(Cases::Table).add_column(&mut col).to_owned())
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Investigators::Table)
                    .col(string(Investigators::Id).primary_key())
                    .col(string_uniq(Investigators::Email))
                    .col(string(Investigators::Recipient))
                    .col(text(Investigators::Teams))
                    .col(integer(Investigators::Capacity))
                    .col(boolean(Investigators::Active))
                    .col(big_integer(Investigators::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseAssignments::Table)
                    .col(string(CaseAssignments::Id).primary_key())
                    .col(string(CaseAssignments::CaseId))
                    .col(string(CaseAssignments::InvestigatorId))
                    .col(big_integer(CaseAssignments::AssignedAt))
                    .foreign_key(&mut fk(
                        (CaseAssignments::Table, CaseAssignments::CaseId),
                        (Cases::Table, Cases::Id),
                    ))
                    .foreign_key(&mut fk(
                        (CaseAssignments::Table, CaseAssignments::InvestigatorId),
                        (Investigators::Table, Investigators::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("case_assignments_unique")
                    .table(CaseAssignments::Table)
                    .col(CaseAssignments::CaseId)
                    .col(CaseAssignments::InvestigatorId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseFingerprints::Table)
                    .col(string(CaseFingerprints::Id).primary_key())
                    .col(string(CaseFingerprints::CaseId))
                    .col(string(CaseFingerprints::Kind))
                    .col(string(CaseFingerprints::Fingerprint))
                    .foreign_key(&mut fk(
                        (CaseFingerprints::Table, CaseFingerprints::CaseId),
                        (Cases::Table, Cases::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("case_fingerprints_lookup")
                    .table(CaseFingerprints::Table)
                    .col(CaseFingerprints::Kind)
                    .col(CaseFingerprints::Fingerprint)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseLinks::Table)
                    .col(string(CaseLinks::Id).primary_key())
                    .col(string(CaseLinks::CaseA))
                    .col(string(CaseLinks::CaseB))
                    .col(string(CaseLinks::Reasons))
                    .foreign_key(&mut fk(
                        (CaseLinks::Table, CaseLinks::CaseA),
                        (Cases::Table, Cases::Id),
                    ))
                    .foreign_key(&mut fk(
                        (CaseLinks::Table, CaseLinks::CaseB),
                        (Cases::Table, Cases::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("case_links_unique")
                    .table(CaseLinks::Table)
                    .col(CaseLinks::CaseA)
                    .col(CaseLinks::CaseB)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(string(Outbox::Id).primary_key())
                    .col(string_uniq(Outbox::IdempotencyKey))
                    .col(string(Outbox::Recipient))
                    .col(text(Outbox::Notice))
                    .col(string(Outbox::State))
                    .col(string(Outbox::MessageId))
                    .col(big_integer(Outbox::CreatedAt))
                    .col(big_integer_null(Outbox::SentAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Outbox::Table.into_iden(),
            CaseLinks::Table.into_iden(),
            CaseFingerprints::Table.into_iden(),
            CaseAssignments::Table.into_iden(),
            Investigators::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        for col in [
            Cases::Triaged,
            Cases::Priority,
            Cases::AckDue,
            Cases::FeedbackDue,
            Cases::DeadlineFlag,
        ] {
            manager
                .alter_table(Table::alter().table(Cases::Table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
