//! Blobs in the database (ADR 0019): with `blobs.backend = "postgres"` every object is
//! rows of `blob_chunks`, and `blob_objects` says which objects exist, whether each is
//! complete, and the hour it was last written (the sweep's grace period; no finer time).
//! Made on SQLite too, where they stay empty (the backend needs PostgreSQL), so the
//! schema is one.

use sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BlobObjects {
    Table,
    ObjectId,
    WrittenHour,
    Bytes,
}

#[derive(DeriveIden)]
enum BlobChunks {
    Table,
    ObjectId,
    Seq,
    Bytes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sqlite = manager.get_database_backend() == DbBackend::Sqlite;
        let objects = Table::create()
            .table(BlobObjects::Table)
            .if_not_exists()
            .col(string(BlobObjects::ObjectId).primary_key())
            .col(big_integer(BlobObjects::WrittenHour))
            .col(big_integer_null(BlobObjects::Bytes))
            .to_owned();
        let chunks = Table::create()
            .table(BlobChunks::Table)
            .if_not_exists()
            .col(string(BlobChunks::ObjectId))
            .col(integer(BlobChunks::Seq))
            .col(blob(BlobChunks::Bytes))
            .primary_key(Index::create().col(BlobChunks::ObjectId).col(BlobChunks::Seq))
            .to_owned();
        super::create_table(manager, objects).await?;
        super::create_table(manager, chunks).await?;
        if !sqlite {
            // Ciphertext does not compress: store it out of line as it is, without
            // PostgreSQL first trying (and failing) to compress every piece.
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE blob_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(BlobChunks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(BlobObjects::Table).to_owned())
            .await
    }
}
