use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    IdempotencyKey,
    Payload,
    State,
    Attempts,
    MaxAttempts,
    RunAt,
    LeasedBy,
    LeaseUntil,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(string(Jobs::Id).primary_key())
                    .col(string(Jobs::Kind))
                    .col(string_uniq(Jobs::IdempotencyKey))
                    .col(text(Jobs::Payload))
                    .col(string(Jobs::State))
                    .col(integer(Jobs::Attempts))
                    .col(integer(Jobs::MaxAttempts))
                    .col(big_integer(Jobs::RunAt))
                    .col(string_null(Jobs::LeasedBy))
                    .col(big_integer_null(Jobs::LeaseUntil))
                    .col(text_null(Jobs::LastError))
                    .col(big_integer(Jobs::CreatedAt))
                    .col(big_integer(Jobs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The claim query scans by state and time.
        manager
            .create_index(
                Index::create()
                    .name("jobs_claim")
                    .table(Jobs::Table)
                    .col(Jobs::State)
                    .col(Jobs::RunAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Jobs::Table).to_owned())
            .await
    }
}
