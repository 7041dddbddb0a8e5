//! Key rotation (ADR 0030): the registry of the organisation's key versions with the
//! day each was made and retired; a row per rotation with its progress, for the CLI, the
//! worker and the portal's key pages; and the public keys each intake process seals to,
//! on its heartbeat, so a rotation knows when no door uses the old key any more. Nothing
//! here is caused by a reporter, and nothing here is secret: public keys and keyed
//! fingerprints only.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KeyVersions {
    Table,
    Kind,
    Fingerprint,
    State,
    CreatedDay,
    RetiredDay,
}

#[derive(DeriveIden)]
enum KeyRotations {
    Table,
    Id,
    Kind,
    Subject,
    State,
    NewFingerprint,
    Done,
    Total,
    Note,
    StartedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum KeyWraps {
    Table,
    HolderKind,
    Id,
}

#[derive(DeriveIden)]
enum Heartbeats {
    Table,
    TriageRecipient,
    RecoveryRecipient,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let versions = Table::create()
            .table(KeyVersions::Table)
            .if_not_exists()
            .col(string(KeyVersions::Kind))
            .col(string(KeyVersions::Fingerprint))
            .col(string(KeyVersions::State))
            .col(string(KeyVersions::CreatedDay))
            .col(string_null(KeyVersions::RetiredDay))
            .primary_key(
                Index::create()
                    .col(KeyVersions::Kind)
                    .col(KeyVersions::Fingerprint),
            )
            .to_owned();
        super::create_table(manager, versions).await?;
        let rotations = Table::create()
            .table(KeyRotations::Table)
            .if_not_exists()
            .col(string(KeyRotations::Id).primary_key())
            .col(string(KeyRotations::Kind))
            .col(string_null(KeyRotations::Subject))
            .col(string(KeyRotations::State))
            .col(string_null(KeyRotations::NewFingerprint))
            .col(big_integer(KeyRotations::Done).default(0))
            .col(big_integer(KeyRotations::Total).default(0))
            .col(string_null(KeyRotations::Note))
            .col(big_integer(KeyRotations::StartedAt))
            .col(big_integer(KeyRotations::UpdatedAt))
            .to_owned();
        super::create_table(manager, rotations).await?;
        for column in [Heartbeats::TriageRecipient, Heartbeats::RecoveryRecipient] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Heartbeats::Table)
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        // A rotation reads one holder kind's wraps in id order, a batch at a time.
        manager
            .create_index(
                Index::create()
                    .name("key_wraps_by_holder_kind")
                    .table(KeyWraps::Table)
                    .col(KeyWraps::HolderKind)
                    .col(KeyWraps::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("key_wraps_by_holder_kind")
                    .table(KeyWraps::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Heartbeats::TriageRecipient, Heartbeats::RecoveryRecipient] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Heartbeats::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(KeyRotations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(KeyVersions::Table).to_owned())
            .await
    }
}
