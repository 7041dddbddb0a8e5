//! Related cases stay bounded (ADR 0016).
//!
//! - Fingerprints are looked up by (kind, fingerprint) and read in case-id order with a
//!   limit, so the index carries the case id: a bounded read stops after `limit` index
//!   entries instead of sorting a whole class of cases. The index is unique (a case
//!   holds each fingerprint once, as triage always wrote them), which lets a count stop
//!   after a fixed number of rows.
//! - Links made by the earlier rule on weak features alone (two of product, country and
//!   target group) go: they linked nearly every case to every other. Links that name an
//!   indicator or the customer stay.
//!
//! Frozen: the kind names below are those that existed when this was written.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseFingerprints {
    Table,
    Kind,
    Fingerprint,
    CaseId,
}

const OLD_INDEX: &str = "case_fingerprints_lookup";
const NEW_INDEX: &str = "case_fingerprints_by_case";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(OLD_INDEX)
                    .table(CaseFingerprints::Table)
                    .to_owned(),
            )
            .await?;
        // Triage never wrote a fingerprint twice for a case; should a copy exist, the
        // unique index below would refuse it, so keep one.
        manager
            .get_connection()
            .execute_unprepared(
                "DELETE FROM case_fingerprints WHERE id NOT IN \
                 (SELECT MIN(id) FROM case_fingerprints GROUP BY case_id, kind, fingerprint)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(NEW_INDEX)
                    .unique()
                    .table(CaseFingerprints::Table)
                    .col(CaseFingerprints::Kind)
                    .col(CaseFingerprints::Fingerprint)
                    .col(CaseFingerprints::CaseId)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "DELETE FROM case_links \
                 WHERE reasons NOT LIKE '%indicator%' AND reasons NOT LIKE '%customer%'",
            )
            .await?;
        Ok(())
    }

    /// Gives back the old index; the weak links removed are not made again.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(NEW_INDEX)
                    .table(CaseFingerprints::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(OLD_INDEX)
                    .table(CaseFingerprints::Table)
                    .col(CaseFingerprints::Kind)
                    .col(CaseFingerprints::Fingerprint)
                    .to_owned(),
            )
            .await
    }
}
