use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    CaseRef,
    State,
    QuestionnaireVersion,
    ReceivedAt,
    CaseRecipient,
    ThreadRecipient,
}

#[derive(DeriveIden)]
enum KeyWraps {
    Table,
    Id,
    CaseId,
    KeyKind,
    HolderKind,
    HolderId,
    HolderRecipient,
    Ciphertext,
}

#[derive(DeriveIden)]
enum Receipts {
    Table,
    Lookup,
    CaseId,
    KdfSalt,
    KdfMKib,
    KdfT,
    KdfP,
}

#[derive(DeriveIden)]
enum CaseObjects {
    Table,
    Id,
    CaseId,
    Kind,
    SealedTo,
    CiphertextBytes,
}

fn case_fk<T: IntoIden + 'static>(table: T, column: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Cases::Table, Cases::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .col(string(Settings::Key).primary_key())
                    .col(binary(Settings::Value))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Cases::Table)
                    .col(string(Cases::Id).primary_key())
                    .col(string_uniq(Cases::CaseRef))
                    .col(string(Cases::State))
                    .col(integer(Cases::QuestionnaireVersion))
                    .col(big_integer(Cases::ReceivedAt))
                    .col(string(Cases::CaseRecipient))
                    .col(string(Cases::ThreadRecipient))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KeyWraps::Table)
                    .col(string(KeyWraps::Id).primary_key())
                    .col(string(KeyWraps::CaseId))
                    .col(string(KeyWraps::KeyKind))
                    .col(string(KeyWraps::HolderKind))
                    .col(string_null(KeyWraps::HolderId))
                    .col(string(KeyWraps::HolderRecipient))
                    .col(binary(KeyWraps::Ciphertext))
                    .foreign_key(&mut case_fk(KeyWraps::Table, KeyWraps::CaseId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("key_wraps_case")
                    .table(KeyWraps::Table)
                    .col(KeyWraps::CaseId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Receipts::Table)
                    .col(string(Receipts::Lookup).primary_key())
                    .col(string_uniq(Receipts::CaseId))
                    .col(binary(Receipts::KdfSalt))
                    .col(integer(Receipts::KdfMKib))
                    .col(integer(Receipts::KdfT))
                    .col(integer(Receipts::KdfP))
                    .foreign_key(&mut case_fk(Receipts::Table, Receipts::CaseId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseObjects::Table)
                    .col(string(CaseObjects::Id).primary_key())
                    .col(string(CaseObjects::CaseId))
                    .col(string(CaseObjects::Kind))
                    .col(string(CaseObjects::SealedTo))
                    .col(big_integer(CaseObjects::CiphertextBytes))
                    .foreign_key(&mut case_fk(CaseObjects::Table, CaseObjects::CaseId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("case_objects_case")
                    .table(CaseObjects::Table)
                    .col(CaseObjects::CaseId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CaseObjects::Table.into_iden(),
            Receipts::Table.into_iden(),
            KeyWraps::Table.into_iden(),
            Cases::Table.into_iden(),
            Settings::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
