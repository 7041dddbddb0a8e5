/// Storage failures. Callers map these to a generic server error; the cause is logged
/// (it never contains report content, only SQL and file-system errors).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    #[error("blob store I/O error")]
    Io(#[from] std::io::Error),
    #[error("unsupported database URL (expected sqlite://… or postgres://…)")]
    UnsupportedUrl,
    #[error("{0}")]
    Duplicate(&'static str),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(&'static str),
}

impl StoreError {
    /// A failure that may pass if tried again shortly (the database or the disk was
    /// briefly out of reach), as opposed to one in the data.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Db(_) | Self::Io(_))
    }
}
