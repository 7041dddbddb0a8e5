//! What a key rotation needs from the database (ADR 0030): the wraps still made to an
//! old key, a batch of them replaced in one transaction, the registry of key versions,
//! the keys each intake process seals to, and a row per rotation with its progress.
//!
//! A rotation keeps no cursor of its own: what is left to do is exactly the wraps whose
//! recorded recipient is not the new key, so a rotation killed at any point starts again
//! where the database says, and a batch that did not commit did nothing.

use redress_domain::{CaseId, Holder};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use crate::connection::parsed;
use crate::entity::{heartbeat, key_rotation, key_version};
use crate::{Sql, Store, StoreError};

/// A wrap a rotation reads to re-make it.
#[derive(Clone, Debug)]
pub struct WrapToRedo {
    pub id: String,
    pub case: CaseId,
    /// The key it is made to now.
    pub recipient: String,
    pub ciphertext: Vec<u8>,
}

/// A wrap a rotation's verification opens: it must hold the case's own key.
#[derive(Clone, Debug)]
pub struct WrapToCheck {
    pub id: String,
    pub case: CaseId,
    pub ciphertext: Vec<u8>,
    /// The case's case-key public half, which the opened secret must match.
    pub case_recipient: String,
}

/// Which of the wraps made to a key a verification reads.
#[derive(Clone, Copy, Debug)]
pub enum Pick<'a> {
    /// Up to `limit` in id order after `after`.
    After { after: Option<&'a str>, limit: u64 },
    /// Up to this many at random.
    Random(u64),
}

/// A wrap re-made to a new key, to replace the one read.
#[derive(Clone, Debug)]
pub struct RedoneWrap {
    pub id: String,
    /// The recipient it was made to when it was read: if that changed since (another
    /// rotation, a hand-over that deleted it), this one is not written.
    pub old_recipient: String,
    pub new_recipient: String,
    pub ciphertext: Vec<u8>,
}

/// Wraps per `UPDATE … FROM (VALUES …)`: four values each, far below the bind limits.
const REPLACE_CHUNK: usize = 1000;

#[derive(FromQueryResult)]
struct RedoRow {
    id: String,
    case_id: String,
    holder_recipient: String,
    ciphertext: Vec<u8>,
}

#[derive(FromQueryResult)]
struct CheckRow {
    id: String,
    case_id: String,
    ciphertext: Vec<u8>,
    case_recipient: String,
}

#[derive(FromQueryResult)]
struct Counted {
    n: i64,
}

/// The state of a key version in the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionState {
    Current,
    /// A rotation away from it is under way: wraps may still need it.
    Retiring,
    /// No wrap needs it: its identity may be destroyed.
    Retired,
}

impl VersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Current, Self::Retiring, Self::Retired]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One version of an organisation key in the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVersion {
    /// `triage`, `recovery`, …
    pub kind: String,
    /// Its public key (`age1…`) or, for a secret, its keyed fingerprint.
    pub fingerprint: String,
    pub state: VersionState,
    /// `YYYY-MM-DD`.
    pub created_day: String,
    pub retired_day: Option<String>,
}

/// The keys one live intake process seals new cases to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoorKeys {
    pub process: String,
    pub triage: String,
    pub recovery: String,
}

/// One rotation and how far it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub id: String,
    pub kind: String,
    pub subject: Option<String>,
    pub state: String,
    pub new_fingerprint: Option<String>,
    pub done: u64,
    pub total: u64,
    pub note: Option<String>,
    pub started_at: i64,
    pub updated_at: i64,
}

/// Where a rotation is. Stored by these names in `key_rotations.state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationState {
    /// Asked for on the portal; a worker has not taken it yet.
    Requested,
    /// A process is moving wraps (the CLI, or the worker that claimed it).
    Running,
    Done,
    /// Stopped with a note saying why.
    Failed,
}

impl RotationState {
    pub const ALL: &[Self] = &[Self::Requested, Self::Running, Self::Done, Self::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s)
    }

    /// Requested or running: a process has it to do.
    pub fn unfinished(self) -> bool {
        matches!(self, Self::Requested | Self::Running)
    }
}

/// What asking for a rotation found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotationRequest {
    /// A new rotation, in state `requested`.
    Opened(Rotation),
    /// Refused: this one is requested or running already.
    Unfinished(Rotation),
}

impl Rotation {
    /// Its state, if it is one this code knows.
    pub fn known_state(&self) -> Option<RotationState> {
        RotationState::parse(&self.state)
    }
}

fn rotation(m: key_rotation::Model) -> Rotation {
    Rotation {
        id: m.id,
        kind: m.kind,
        subject: m.subject,
        state: m.state,
        new_fingerprint: m.new_fingerprint,
        done: u64::try_from(m.done).unwrap_or(0),
        total: u64::try_from(m.total).unwrap_or(0),
        note: m.note,
        started_at: m.started_at,
        updated_at: m.updated_at,
    }
}

fn holder_filter(sql: &mut Sql, holder: Holder) {
    sql.push(" w.holder_kind = ").bind(holder.kind().as_str());
    match holder.investigator() {
        Some(id) => {
            sql.push(" AND w.holder_id = ").bind(id.to_string());
        }
        None => {
            sql.push(" AND w.holder_id IS NULL");
        }
    }
}

/// `holder`'s wraps that are (`made_to`) or are not made to `recipient`.
fn rotation_filter(sql: &mut Sql, holder: Holder, made_to: bool, recipient: &str) {
    holder_filter(sql, holder);
    sql.push(if made_to {
        " AND w.holder_recipient = "
    } else {
        " AND w.holder_recipient <> "
    })
    .bind(recipient);
}

/// A batch of [`rotation_filter`]'s wraps after `after`, in id order.
fn wrap_batch(
    sql: &mut Sql,
    holder: Holder,
    made_to: bool,
    recipient: &str,
    after: Option<&str>,
    limit: u64,
) {
    rotation_filter(sql, holder, made_to, recipient);
    if let Some(after) = after {
        sql.push(" AND w.id > ").bind(after);
    }
    sql.push(" ORDER BY w.id LIMIT ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
}

impl Store {
    /// Up to `limit` of `holder`'s wraps not made to `recipient`, in id order after
    /// `after`: what a rotation to `recipient` has still to re-make. Read from
    /// `key_wraps` alone, through the index on (holder_kind, id), so the limit stops the
    /// scan and a batch costs the same at the end of a table as at its start.
    pub async fn wraps_for_rotation(
        &self,
        holder: Holder,
        recipient: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<WrapToRedo>, StoreError> {
        let mut sql = Sql::new(self.backend());
        sql.push("SELECT w.id, w.case_id, w.holder_recipient, w.ciphertext FROM key_wraps w WHERE");
        wrap_batch(&mut sql, holder, false, recipient, after, limit);
        let rows = self.connection().query_all_raw(sql.statement()).await?;
        rows.iter()
            .map(|row| {
                let r = RedoRow::from_query_result(row, "")?;
                Ok(WrapToRedo {
                    case: parsed(&r.case_id, CaseId::parse, "wrap case id")?,
                    id: r.id,
                    recipient: r.holder_recipient,
                    ciphertext: r.ciphertext,
                })
            })
            .collect()
    }

    /// `holder`'s wraps made to `recipient`, each with its case's public key: what a
    /// rotation's verification opens, a batch in id order or a sample at random.
    pub async fn wraps_to_verify(
        &self,
        holder: Holder,
        recipient: &str,
        pick: Pick<'_>,
    ) -> Result<Vec<WrapToCheck>, StoreError> {
        // The wraps are chosen from `key_wraps` alone, and only then joined.
        let mut sql = Sql::new(self.backend());
        sql.push(
            "SELECT w.id, w.case_id, w.ciphertext, c.case_recipient \
             FROM (SELECT * FROM key_wraps w WHERE",
        );
        match pick {
            Pick::After { after, limit } => wrap_batch(&mut sql, holder, true, recipient, after, limit),
            Pick::Random(n) => {
                // One scan for the whole sample, where batches would read every wrap.
                rotation_filter(&mut sql, holder, true, recipient);
                sql.push(" ORDER BY random() LIMIT ")
                    .bind(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        sql.push(") w JOIN cases c ON c.id = w.case_id ORDER BY w.id");
        let rows = self.connection().query_all_raw(sql.statement()).await?;
        rows.iter()
            .map(|row| {
                let r = CheckRow::from_query_result(row, "")?;
                Ok(WrapToCheck {
                    case: parsed(&r.case_id, CaseId::parse, "wrap case id")?,
                    id: r.id,
                    ciphertext: r.ciphertext,
                    case_recipient: r.case_recipient,
                })
            })
            .collect()
    }

    /// Refreshes PostgreSQL's statistics of the wraps before a rotation, so its planner
    /// reads a batch through the index rather than sorting every wrap of the holder (a
    /// role that may not analyse the table gets a warning, not an error). SQLite:
    /// nothing.
    pub async fn refresh_wrap_statistics(&self) -> Result<(), StoreError> {
        if self.backend() == sea_orm::DbBackend::Postgres {
            self.connection().execute_unprepared("ANALYZE key_wraps").await?;
        }
        Ok(())
    }

    /// How many of `holder`'s wraps are (`made_to`) or are not made to `recipient`.
    pub async fn count_wraps_for_rotation(
        &self,
        holder: Holder,
        recipient: &str,
        made_to: bool,
    ) -> Result<u64, StoreError> {
        let mut sql = Sql::new(self.backend());
        sql.push("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM key_wraps w WHERE");
        rotation_filter(&mut sql, holder, made_to, recipient);
        let row = self
            .connection()
            .query_one_raw(sql.statement())
            .await?
            .ok_or(StoreError::Corrupt("count"))?;
        let n = Counted::from_query_result(&row, "")?.n;
        u64::try_from(n).map_err(|_| StoreError::Corrupt("wrap count"))
    }

    /// Replaces a batch of wraps in one transaction, each only if it
    /// is still made to the recipient it was read with. Returns how many were replaced.
    /// `VALUES` columns are `column1…` on both SQLite and PostgreSQL.
    pub async fn replace_wraps(&self, batch: &[RedoneWrap]) -> Result<u64, StoreError> {
        self.injected(crate::connection::Fault::WrapReplace)?;
        let txn = self.connection().begin().await?;
        let mut replaced = 0;
        for chunk in batch.chunks(REPLACE_CHUNK) {
            let mut sql = Sql::new(self.backend());
            sql.push(
                "UPDATE key_wraps SET ciphertext = v.column4, holder_recipient = v.column3 FROM (VALUES ",
            );
            for (i, w) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind(w.id.clone()).push(", ");
                sql.bind(w.old_recipient.clone()).push(", ");
                sql.bind(w.new_recipient.clone()).push(", ");
                sql.bind(w.ciphertext.clone()).push(")");
            }
            sql.push(") AS v WHERE key_wraps.id = v.column1 AND key_wraps.holder_recipient = v.column2");
            replaced += txn.execute_raw(sql.statement()).await?.rows_affected();
        }
        txn.commit().await?;
        Ok(replaced)
    }

    /// Every version of `kind` the registry knows, current first.
    pub async fn key_versions(&self, kind: &str) -> Result<Vec<KeyVersion>, StoreError> {
        let mut versions: Vec<KeyVersion> = key_version::Entity::find()
            .filter(key_version::Column::Kind.eq(kind))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|m| {
                Ok(KeyVersion {
                    state: parsed(&m.state, VersionState::parse, "key version state")?,
                    kind: m.kind,
                    fingerprint: m.fingerprint,
                    created_day: m.created_day,
                    retired_day: m.retired_day,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        versions.sort_by(|a, b| {
            (a.state != VersionState::Current, &b.created_day)
                .cmp(&(b.state != VersionState::Current, &a.created_day))
        });
        Ok(versions)
    }

    /// Records `fingerprint` as the current version of `kind` made on `day`, unless the
    /// registry already knows it.
    pub async fn register_key(&self, kind: &str, fingerprint: &str, day: &str) -> Result<(), StoreError> {
        key_version::Entity::insert(key_version::ActiveModel {
            kind: Set(kind.to_owned()),
            fingerprint: Set(fingerprint.to_owned()),
            state: Set(VersionState::Current.as_str().to_owned()),
            created_day: Set(day.to_owned()),
            retired_day: Set(None),
        })
        .on_conflict(
            OnConflict::columns([key_version::Column::Kind, key_version::Column::Fingerprint])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(self.connection())
        .await?;
        Ok(())
    }

    /// Starts a rotation of `kind` from `old` to `new` in the registry: `new` is current
    /// (made on `day`), every other current version retiring. Repeating it changes nothing.
    pub async fn begin_key_version(
        &self,
        kind: &str,
        old: &str,
        new: &str,
        day: &str,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        for (fingerprint, state) in [(old, VersionState::Retiring), (new, VersionState::Current)] {
            key_version::Entity::insert(key_version::ActiveModel {
                kind: Set(kind.to_owned()),
                fingerprint: Set(fingerprint.to_owned()),
                state: Set(state.as_str().to_owned()),
                created_day: Set(day.to_owned()),
                retired_day: Set(None),
            })
            .on_conflict(
                OnConflict::columns([key_version::Column::Kind, key_version::Column::Fingerprint])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        }
        key_version::Entity::update_many()
            .col_expr(
                key_version::Column::State,
                Expr::value(VersionState::Retiring.as_str()),
            )
            .filter(key_version::Column::Kind.eq(kind))
            .filter(key_version::Column::State.eq(VersionState::Current.as_str()))
            .filter(key_version::Column::Fingerprint.ne(new))
            .exec(&txn)
            .await?;
        key_version::Entity::update_many()
            .col_expr(
                key_version::Column::State,
                Expr::value(VersionState::Current.as_str()),
            )
            .col_expr(
                key_version::Column::RetiredDay,
                Expr::value(Option::<String>::None),
            )
            .filter(key_version::Column::Kind.eq(kind))
            .filter(key_version::Column::Fingerprint.eq(new))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Marks every retiring version of `kind` retired on `day`: no wrap needs it.
    pub async fn retire_key_versions(&self, kind: &str, day: &str) -> Result<Vec<String>, StoreError> {
        let retiring: Vec<String> = key_version::Entity::find()
            .filter(key_version::Column::Kind.eq(kind))
            .filter(key_version::Column::State.eq(VersionState::Retiring.as_str()))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|m| m.fingerprint)
            .collect();
        key_version::Entity::update_many()
            .col_expr(
                key_version::Column::State,
                Expr::value(VersionState::Retired.as_str()),
            )
            .col_expr(key_version::Column::RetiredDay, Expr::value(day))
            .filter(key_version::Column::Kind.eq(kind))
            .filter(key_version::Column::State.eq(VersionState::Retiring.as_str()))
            .exec(self.connection())
            .await?;
        Ok(retiring)
    }

    /// Records that intake process `process` is alive at `now` and seals new cases to
    /// `triage` and `recovery`. Called on the intake's fixed cadence and when it picks
    /// up a new key, never because a report arrived.
    pub async fn beat_sealing(
        &self,
        process: &str,
        lease_secs: i64,
        now: i64,
        triage: &str,
        recovery: &str,
    ) -> Result<(), StoreError> {
        heartbeat::Entity::insert(heartbeat::ActiveModel {
            worker: Set(process.to_owned()),
            alive_until: Set(now + lease_secs),
            triage_recipient: Set(Some(triage.to_owned())),
            recovery_recipient: Set(Some(recovery.to_owned())),
        })
        .on_conflict(
            OnConflict::column(heartbeat::Column::Worker)
                .update_columns([
                    heartbeat::Column::AliveUntil,
                    heartbeat::Column::TriageRecipient,
                    heartbeat::Column::RecoveryRecipient,
                ])
                .to_owned(),
        )
        .exec_without_returning(self.connection())
        .await?;
        Ok(())
    }

    /// The keys every intake process alive at `now` seals to.
    pub async fn doors_sealing(&self, now: i64) -> Result<Vec<DoorKeys>, StoreError> {
        Ok(heartbeat::Entity::find()
            .filter(heartbeat::Column::AliveUntil.gte(now))
            .filter(heartbeat::Column::TriageRecipient.is_not_null())
            .all(self.connection())
            .await?
            .into_iter()
            .map(|h| DoorKeys {
                process: h.worker,
                triage: h.triage_recipient.unwrap_or_default(),
                recovery: h.recovery_recipient.unwrap_or_default(),
            })
            .collect())
    }

    /// The unfinished rotation of `kind` (for `subject`), if there is one, or a new one
    /// in state `state`.
    pub async fn open_rotation(
        &self,
        kind: &str,
        subject: Option<&str>,
        state: &str,
        now: i64,
    ) -> Result<Rotation, StoreError> {
        if let Some(open) = self.unfinished_rotation(kind, subject).await? {
            return Ok(open);
        }
        insert_rotation(self.connection(), kind, subject, state, now).await
    }

    /// The rotation of `kind` (for `subject`) that is requested or running, if any.
    pub async fn unfinished_rotation(
        &self,
        kind: &str,
        subject: Option<&str>,
    ) -> Result<Option<Rotation>, StoreError> {
        unfinished_on(self.connection(), kind, subject).await
    }

    /// Every rotation, of any key, that is requested or running, oldest first.
    pub async fn unfinished_rotations(&self) -> Result<Vec<Rotation>, StoreError> {
        Ok(key_rotation::Entity::find()
            .filter(key_rotation::Column::State.is_in(UNFINISHED))
            .order_by_asc(key_rotation::Column::StartedAt)
            .order_by_asc(key_rotation::Column::Id)
            .all(self.connection())
            .await?
            .into_iter()
            .map(rotation)
            .collect())
    }

    /// Takes rotation `id` for this process: from `requested`, or from `running` when
    /// nothing has touched the row since `stale_before` (the process running it died).
    /// A compare-and-set, so of several workers asking at once, one gets it.
    pub async fn claim_rotation(&self, id: &str, now: i64, stale_before: i64) -> Result<bool, StoreError> {
        let claimed = key_rotation::Entity::update_many()
            .col_expr(
                key_rotation::Column::State,
                Expr::value(RotationState::Running.as_str()),
            )
            .col_expr(key_rotation::Column::UpdatedAt, Expr::value(now))
            .filter(key_rotation::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(key_rotation::Column::State.eq(RotationState::Requested.as_str()))
                    .add(
                        Condition::all()
                            .add(key_rotation::Column::State.eq(RotationState::Running.as_str()))
                            .add(key_rotation::Column::UpdatedAt.lt(stale_before)),
                    ),
            )
            .exec(self.connection())
            .await?
            .rows_affected;
        Ok(claimed == 1)
    }

    /// Says that the process running rotation `id` is still at it (its lease).
    pub async fn touch_rotation(&self, id: &str, now: i64) -> Result<(), StoreError> {
        key_rotation::Entity::update_many()
            .col_expr(key_rotation::Column::UpdatedAt, Expr::value(now))
            .filter(key_rotation::Column::Id.eq(id))
            .filter(key_rotation::Column::State.eq(RotationState::Running.as_str()))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Gives a running rotation back, to be claimed again at once: its process is
    /// stopping. Its progress stays.
    pub async fn release_rotation(&self, id: &str, note: &str, now: i64) -> Result<(), StoreError> {
        key_rotation::Entity::update_many()
            .col_expr(
                key_rotation::Column::State,
                Expr::value(RotationState::Requested.as_str()),
            )
            .col_expr(key_rotation::Column::Note, Expr::value(note))
            .col_expr(key_rotation::Column::UpdatedAt, Expr::value(now))
            .filter(key_rotation::Column::Id.eq(id))
            .filter(key_rotation::Column::State.eq(RotationState::Running.as_str()))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Records how far rotation `id` has got.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_rotation(
        &self,
        id: &str,
        state: &str,
        new_fingerprint: Option<&str>,
        done: u64,
        total: u64,
        note: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut update = key_rotation::Entity::update_many()
            .col_expr(key_rotation::Column::State, Expr::value(state))
            .col_expr(
                key_rotation::Column::Done,
                Expr::value(i64::try_from(done).unwrap_or(i64::MAX)),
            )
            .col_expr(
                key_rotation::Column::Total,
                Expr::value(i64::try_from(total).unwrap_or(i64::MAX)),
            )
            .col_expr(key_rotation::Column::Note, Expr::value(note.map(str::to_owned)))
            .col_expr(key_rotation::Column::UpdatedAt, Expr::value(now));
        if let Some(fp) = new_fingerprint {
            update = update.col_expr(key_rotation::Column::NewFingerprint, Expr::value(fp));
        }
        update
            .filter(key_rotation::Column::Id.eq(id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// The latest rotations, newest first.
    pub async fn rotations(&self, limit: u64) -> Result<Vec<Rotation>, StoreError> {
        Ok(key_rotation::Entity::find()
            .order_by_desc(key_rotation::Column::StartedAt)
            .order_by_desc(key_rotation::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?
            .into_iter()
            .map(rotation)
            .collect())
    }

    /// One rotation by id.
    pub async fn rotation(&self, id: &str) -> Result<Option<Rotation>, StoreError> {
        Ok(key_rotation::Entity::find_by_id(id.to_owned())
            .one(self.connection())
            .await?
            .map(rotation))
    }
}

/// The states of a rotation that a process has still to finish.
const UNFINISHED: [&str; 2] = [RotationState::Requested.as_str(), RotationState::Running.as_str()];

async fn unfinished_on(
    db: &impl ConnectionTrait,
    kind: &str,
    subject: Option<&str>,
) -> Result<Option<Rotation>, StoreError> {
    let mut q = key_rotation::Entity::find()
        .filter(key_rotation::Column::Kind.eq(kind))
        .filter(key_rotation::Column::State.is_in(UNFINISHED));
    q = match subject {
        Some(s) => q.filter(key_rotation::Column::Subject.eq(s)),
        None => q.filter(key_rotation::Column::Subject.is_null()),
    };
    Ok(q.one(db).await?.map(rotation))
}

async fn insert_rotation(
    db: &impl ConnectionTrait,
    kind: &str,
    subject: Option<&str>,
    state: &str,
    now: i64,
) -> Result<Rotation, StoreError> {
    let m = key_rotation::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        kind: Set(kind.to_owned()),
        subject: Set(subject.map(str::to_owned)),
        state: Set(state.to_owned()),
        new_fingerprint: Set(None),
        done: Set(0),
        total: Set(0),
        note: Set(None),
        started_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(rotation(m))
}

impl crate::Audited {
    /// Asks for a rotation of `kind` (for `subject`), for a worker to perform, unless
    /// one is requested or running already. Inside the audited transaction, whose lock
    /// makes two requests at once open one rotation, not two.
    pub async fn request_rotation(
        &self,
        kind: &str,
        subject: Option<&str>,
        now: i64,
    ) -> Result<RotationRequest, StoreError> {
        if let Some(open) = unfinished_on(&self.txn, kind, subject).await? {
            return Ok(RotationRequest::Unfinished(open));
        }
        let state = RotationState::Requested.as_str();
        Ok(RotationRequest::Opened(
            insert_rotation(&self.txn, kind, subject, state, now).await?,
        ))
    }
}
