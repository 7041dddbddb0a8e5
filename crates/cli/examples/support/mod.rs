//! What the benchmarks share.

/// A fresh PostgreSQL database on the server of `admin` (a URL that may create one);
/// its URL.
pub async fn fresh_postgres(admin: &str) -> String {
    use sea_orm::{ConnectionTrait, Database};
    let name = format!("redress_bench_{}", uuid::Uuid::new_v4().simple());
    let db = Database::connect(admin).await.unwrap();
    db.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    format!("{base}/{name}")
}
